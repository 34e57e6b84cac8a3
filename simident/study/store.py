"""Trained cells, kept under DIR/cache/ (reproduce and sweep) so that a rerun resumes.

One entry per cell (the seeds × grid points trained in one program), named by the
cell's content key (`Cell.key`): a hash of the world (id and spec), the resolved
TrainConfig, the grid (weight decays, init scales) and the library versions that
decide the numbers (simident, jax, jaxlib, x64, backend). Different settings give a
different key, so a stale entry is never reused.

    DIR/cache/<key>.npz    per grid point i: F_i, G_i, kl_mean_i, kl_max_i, ... and the
                           trained weights, `param/<i>/<path>` stacked over seeds (numpy)
    DIR/cache/<key>.json   the world's id and spec, configs, seeds, model shapes, best
                           steps, timings, history, the checksums of every array of the
                           .npz and a digest of the record itself; written last, so its
                           presence marks a complete entry

This is the one store of trained models: claims and sweeps read it (`obtain`), and
`simident embed DIR/cache/<key>.json --point i` rebuilds a grid point's models from it
(`saved_run`) and writes their seed files in the `compare` format.

Both files are written atomically; a process killed mid-write leaves no entry. A read
verifies the entry (digest, checksums, shapes, finiteness) and a bad one is reported in
one line naming its file and trained again, never reused.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from simident.util.io import atomic_write, npz_writer, read_json, to_json, write_json

ARRAYS = (
    "F",
    "G",
    "kl_mean",
    "kl_max",
    "kl_mean_train",
    "kl_mean_heldout",
    "final_loss",
    "diverged_step",
)
VERSION_KEYS = ("simident", "jax", "jaxlib", "x64", "backend")


def _stacked_weights(r, i: int) -> dict:
    """{"param/<i>/<path>": N×... array}: grid point i's weights stacked over its seeds."""
    from simident.training.outputs import PARAM_PREFIX, flat_weights

    per_seed = [flat_weights(w) for w in r.weights]
    if not per_seed:
        return {}
    return {
        f"{PARAM_PREFIX}{i}/{name[len(PARAM_PREFIX) :]}": np.stack([w[name] for w in per_seed])
        for name in per_seed[0]
    }


def _seed_weights(arrays: dict, i: int, n_seeds: int) -> list[dict]:
    """Per seed, the flat {"<path>": array} weights of grid point i (empty: none stored)."""
    from simident.training.outputs import PARAM_PREFIX

    head = f"{PARAM_PREFIX}{i}/"
    stacked = {k[len(head) :]: v for k, v in arrays.items() if k.startswith(head)}
    if not stacked:
        return []
    return [{k: np.asarray(v[j]) for k, v in stacked.items()} for j in range(n_seeds)]


def digest(obj) -> str:
    """A short stable hash of a JSON-able object (keys sorted)."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def numeric_versions() -> dict:
    """The versions that decide trained numbers (part of every cache key)."""
    from simident.util.env import versions

    v = versions()
    return {k: v.get(k) for k in VERSION_KEYS}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _noise(entries):
    """The stored ν̂ of a cell's seeds (None when it ran no bootstrap)."""
    from simident.theory.noise import NoiseLevel

    return None if entries is None else [NoiseLevel(**e) for e in entries]


class CellStore:
    """Finished cells in one folder, by content key. `log(line)` reports a bad entry
    (default: stderr)."""

    def __init__(self, root, log=_log):
        self.root = Path(root)
        self.log = log

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.npz", self.root / f"{key}.json"

    def has(self, key: str) -> bool:
        return all(p.is_file() for p in self._paths(key))

    def load(self, key: str, expect: dict | None = None):
        """The TrainResults of entry `key` (one per grid point), or None when absent or
        bad (then it is trained again). A present entry is verified first: its record's
        own digest and key, the checksums, shapes and dtypes of its arrays, the shapes in
        `expect` ({"points", "seeds": [...], "world_id", "n", "V", "d"}, each optional)
        and finite F, G and KL for every seed that did not diverge. A bad entry is
        reported in one line naming its file and is never reused."""
        from simident.util.errors import SimidentError

        if not self.has(key):
            return None
        try:
            return self._read(key, expect or {})
        except SimidentError as e:
            if self.log:
                self.log(f"cache entry {e}; training the cell again")
            return None

    def _read(self, key: str, expect: dict) -> list:
        from simident.training import TrainConfig
        from simident.training.outputs import TrainResult
        from simident.util.errors import SimidentError
        from simident.util.integrity import check_finite, read_npz, record_digest, recorded, verify

        arrays_path, meta_path = self._paths(key)
        meta = read_json(meta_path, "cache entry")
        if not isinstance(meta, dict):
            raise SimidentError(f"{meta_path}: not a JSON object")
        seal = meta.get("integrity")
        if not isinstance(seal, dict):
            raise SimidentError(f"{meta_path}: has no checksums (from an older simident?)")
        if seal.get("record_sha256") != record_digest(meta):
            raise SimidentError(f"{meta_path}: its record does not match its digest (edited?)")
        if meta.get("key") != key:
            raise SimidentError(f"{meta_path}: holds entry {meta.get('key')!r}, not {key}")
        try:
            points, seeds = list(meta["points"]), [int(s) for s in meta["seeds"]]
            world_id = meta["world_id"]
        except (KeyError, TypeError, ValueError) as e:
            raise SimidentError(f"{meta_path}: malformed record ({e!r:.80})") from None
        for name, value in (("seeds", seeds), ("world_id", world_id), ("points", len(points))):
            if name in expect and expect[name] != value:
                raise SimidentError(
                    f"{meta_path}: {name} {value!r} differ from the cell's {expect[name]!r}"
                )
        N = len(seeds)
        n, V, d = (expect.get(k) for k in ("n", "V", "d"))
        shapes = {"F": (N, n, d), "G": (N, V, d), "diverged_step": (N,)}
        want = {f"{a}_{i}": shapes.get(a, (N,)) for i in range(len(points)) for a in ARRAYS}
        arrays = read_npz(arrays_path, "cache entry", expect=want, required=tuple(want))
        verify(arrays, recorded(meta, arrays_path.name, meta_path), arrays_path)
        weights = [_seed_weights(arrays, i, N) for i in range(len(points))]
        out = []
        for i, point in enumerate(points):
            alive = np.asarray(arrays[f"diverged_step_{i}"]) < 0
            check_finite(
                arrays_path,
                {f"{a}_{i}": np.asarray(arrays[f"{a}_{i}"])[alive] for a in ("F", "G", "kl_mean")},
                [f"{a}_{i}" for a in ("F", "G", "kl_mean")],
            )
            try:
                config = TrainConfig.from_dict(point["config"])
                out.append(
                    TrainResult(
                        config=config,
                        world_id=world_id,
                        seeds=seeds,
                        **{name: arrays[f"{name}_{i}"] for name in ARRAYS},
                        seconds=float(meta["seconds"]),
                        eval_seconds=float(meta["eval_seconds"]),
                        history=point.get("history", {}),
                        shared=point.get("shared", {}),
                        noise=_noise(point.get("noise")),
                        bootstrap=point.get("bootstrap") or {},
                        weights=weights[i],
                        model_shape=dict(point.get("model_shape") or {}),
                        best_step=None
                        if point.get("best_step") is None
                        else np.asarray(point["best_step"], np.int64),
                    )
                )
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise SimidentError(f"{meta_path}: malformed point {i} ({e!r:.80})") from None
        return out

    def save(self, key: str, results: list, world_name=None, learner=None, world_spec=None) -> None:
        """Store one cell's results, weights included: arrays first, the JSON record
        (with the checksums of the arrays and its own digest, the world's name and spec
        and the learner's config as it was given) last."""
        from simident.util.integrity import record_digest, seal

        arrays_path, meta_path = self._paths(key)
        arrays = {
            f"{name}_{i}": np.asarray(getattr(r, name))
            for i, r in enumerate(results)
            for name in ARRAYS
        }
        for i, r in enumerate(results):
            arrays.update(_stacked_weights(r, i))
        atomic_write(arrays_path, npz_writer(arrays))
        first = results[0]
        meta = {
            "key": key,
            "world_id": first.world_id,
            "world_spec": world_spec,
            "seeds": [int(s) for s in first.seeds],
            "seconds": float(first.seconds),
            "eval_seconds": float(first.eval_seconds),
            "points": [
                {
                    "config": r.config.to_dict(),
                    "history": r.history,
                    "shared": r.shared,
                    "noise": None if r.noise is None else [n.to_dict() for n in r.noise],
                    "bootstrap": r.bootstrap or None,
                    "model_shape": r.model_shape,
                    "best_step": None if r.best_step is None else np.asarray(r.best_step).tolist(),
                }
                for r in results
            ],
            "about": {"world": world_name, "learner": learner.to_dict()} if learner else {},
            "versions": numeric_versions(),
        }
        meta["integrity"] = {
            **seal({arrays_path.name: arrays}),
            "record_sha256": record_digest(json.loads(to_json(meta))),  # as it reads back
        }
        write_json(meta_path, meta)


def load_entry(path, point: int = 0):
    """Grid point `point` of the cache entry `path` (DIR/cache/<key>.json) as a
    `SavedRun` (config, seeds, weights, model shape; its record holds the world's id and
    spec), so `simident embed` rebuilds its models. Errors name the file."""
    from simident.training.saved import SavedRun
    from simident.util.errors import SimidentError

    path = Path(path)
    if path.suffix != ".json" or not path.is_file():
        raise SimidentError(f"{path}: not a cache entry (expected DIR/cache/<key>.json)")
    store = CellStore(path.parent, log=None)
    if not store.has(path.stem):
        raise SimidentError(f"{path}: its arrays {path.with_suffix('.npz').name} are missing")
    results = store._read(path.stem, {})
    if isinstance(point, bool) or not isinstance(point, int) or not 0 <= point < len(results):
        raise SimidentError(
            f"--point {point}: the entry {path.name} has {len(results)} grid point(s), "
            f"0..{len(results) - 1}"
        )
    r = results[point]
    if not r.weights or not r.model_shape:
        raise SimidentError(
            f"{path}: holds no trained weights (an entry written before the store kept "
            "them); train the cell again in a fresh --out"
        )
    meta = read_json(path, "cache entry")
    record = {
        "world_id": r.world_id,
        "world_spec": meta.get("world_spec"),
        "n_contexts": int(r.F.shape[1]),
        "vocab_size": int(r.G.shape[1]),
        "d": int(r.F.shape[2]),
        "cell": path.stem,
        "point": point,
    }
    seeds = [int(s) for s in r.seeds]
    return SavedRun(path, r.config, record, seeds, list(r.weights), dict(r.model_shape))


def entry_world(run):
    """The world a cache entry's models were trained on, generated again from the spec
    the entry records (refused when it no longer gives the same world id)."""
    from simident.util.errors import SimidentError
    from simident.worlds import generate_world, spec_from_dict

    spec = run.record.get("world_spec")
    if not isinstance(spec, dict):
        raise SimidentError(f"{run.run_dir}: records no world spec; pass --world WORLD_DIR")
    world = generate_world(spec_from_dict(dict(spec), source=str(run.run_dir)))
    if world.world_id != run.world_id:
        raise SimidentError(
            f"{run.run_dir}: its world spec now generates world {world.world_id}, not "
            f"{run.world_id}; pass --world WORLD_DIR"
        )
    return world
