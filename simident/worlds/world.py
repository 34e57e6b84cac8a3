"""The World container: a ground truth (F*, G*) with the token sequences of its contexts.

On disk a world is a folder:
  truth.npz        arrays F (n×d), G (V×d) in the `compare` format, rows in context order
  properties.json  planted properties in the `compare --properties` format
  world.json       world_id, resolved spec, contexts (token lists), split, queries, measured,
                   and `integrity`: checksums of every array of truth.npz and data.npz
  data.npz         optional: `samples` (n × n_samples int32) of sampled next tokens, and
                   a process world's sampled sequences (`sequences`, ... int32 arrays)

Context order: base contexts 0..n_base-1, then for each query q (in spec order) the
extended contexts s ⊕ q in the order of their base context.
Token ids of contexts are in {0..V-1}; `pad_id = V` left-pads `tokens` to a common length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simident.util.errors import SimidentError
from simident.util.io import (
    json_writer,
    load_model,
    model_arrays,
    npz_writer,
    read_json,
    replace_files,
)


@dataclass(frozen=True, eq=False)
class World:
    """A synthetic ground truth. p*(y|s) = softmax(F[s] · G[y])."""

    world_id: str
    spec: dict  # resolved spec (JSON form)
    F: np.ndarray  # n × d
    G: np.ndarray  # V × d
    contexts: list  # list of token lists, one per context, world order
    train_ids: np.ndarray  # contexts used for training (int)
    heldout_ids: np.ndarray  # contexts held out (int), may be empty
    queries: list = field(default_factory=list)  # [{"name","tokens","inclusion","pairs"}]
    measured: dict = field(default_factory=dict)  # {"dim_E","dim_U","k",...}
    properties: list = field(default_factory=list)  # `compare --properties` entries
    samples: np.ndarray | None = None  # n × n_samples int32 or None (population loss)
    extra: dict = field(default_factory=dict)  # anything else stored in world.json
    sequences: dict = field(default_factory=dict)  # name -> (m × T) int32 token sequences

    @property
    def n(self) -> int:
        return int(self.F.shape[0])

    @property
    def V(self) -> int:
        return int(self.G.shape[0])

    @property
    def d(self) -> int:
        return int(self.F.shape[1])

    @property
    def pad_id(self) -> int:
        return self.V

    def tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """(tokens n×T_max int32 left-padded with pad_id, lengths n int32), built once per
        world (read-only arrays: planning, training data and evaluation all share them)."""
        cached = self.__dict__.get("_tokens")
        if cached is None:
            lengths = np.array([len(c) for c in self.contexts], dtype=np.int32)
            T = int(lengths.max()) if len(lengths) else 0
            out = np.full((len(self.contexts), T), self.pad_id, dtype=np.int32)
            for i, c in enumerate(self.contexts):
                if len(c):
                    out[i, T - len(c) :] = c
            out.setflags(write=False)
            lengths.setflags(write=False)
            cached = self.__dict__["_tokens"] = (out, lengths)
        return cached

    def save(self, out_dir) -> None:
        """Write truth.npz, properties.json, data.npz (with samples) and world.json, last:
        an earlier world in `out_dir` is replaced only once all of them are written
        (`io.replace_files`), and its data.npz is removed when this world has none."""
        from simident.util.env import versions
        from simident.util.integrity import seal

        files = {
            "truth.npz": model_arrays(
                self.F, self.G, **{"meta/data": "exact", "meta/data_id": f"{self.world_id}/truth"}
            )
        }
        arrays = {k: np.asarray(v, dtype=np.int32) for k, v in self.sequences.items()}
        if self.samples is not None:
            arrays["samples"] = np.asarray(self.samples, dtype=np.int32)
        if arrays:
            files["data.npz"] = arrays
        writers = {name: npz_writer(arrays) for name, arrays in files.items()}
        writers["properties.json"] = json_writer({"properties": self.properties})
        writers["world.json"] = json_writer(
            {
                "world_id": self.world_id,
                "spec": self.spec,
                "n_contexts_total": self.n,
                "vocab_size": self.V,
                "d": self.d,
                "contexts": [list(map(int, c)) for c in self.contexts],
                "split": {
                    "train": [int(i) for i in self.train_ids],
                    "heldout": [int(i) for i in self.heldout_ids],
                },
                "queries": self.queries,
                "measured": self.measured,
                "extra": self.extra,
                "versions": versions(),
                "integrity": seal(files),  # checksums of truth.npz and data.npz
            }
        )
        replace_files(out_dir, writers, stale=["data.npz"])


def load_world(world_dir) -> World:
    """Read a world folder written by `simident world`; errors name the file and field."""
    d = Path(world_dir)
    if not d.is_dir():
        raise SimidentError(f"{d}: world directory not found")
    for name in ("truth.npz", "world.json"):
        if not (d / name).is_file():
            raise SimidentError(f"{d}: missing {name} (is this a `simident world` output?)")
    F, G = load_model(d / "truth.npz")  # verified against world.json's checksums
    wj = d / "world.json"
    meta = read_json(wj, "world file")
    if not isinstance(meta, dict):
        raise SimidentError(f"{wj}: expected a JSON object")
    from simident.util.integrity import recorded

    recorded(meta, "truth.npz", wj)  # a record with checksums must list truth.npz
    for key in ("world_id", "spec", "contexts", "split"):
        if key not in meta:
            raise SimidentError(f"{wj}: missing field '{key}'")
    n, V = int(F.shape[0]), int(G.shape[0])
    for key, value, what in (
        ("vocab_size", V, "truth.npz G rows"),
        ("n_contexts_total", n, "truth.npz F rows"),
        ("d", int(F.shape[1]), "truth.npz columns"),
    ):
        if key in meta and meta[key] != value:
            raise SimidentError(f"{wj}: field '{key}' is {meta[key]!r} but {what} give {value}")
    if not isinstance(meta["spec"], dict):
        raise SimidentError(f"{wj}: field 'spec' must be an object")
    if meta["spec"].get("vocab_size", V) != V:
        raise SimidentError(
            f"{wj}: spec.vocab_size is {meta['spec']['vocab_size']!r} but truth.npz G has {V} rows"
        )
    contexts = meta["contexts"]
    if not isinstance(contexts, list):
        raise SimidentError(f"{wj}: field 'contexts' must be a list of token lists")
    if len(contexts) != n:
        raise SimidentError(f"{wj}: {len(contexts)} contexts but truth.npz F has {n} rows")
    for i, c in enumerate(contexts):
        if not isinstance(c, list) or not c or not all(_is_id(t, V) for t in c):
            raise SimidentError(
                f"{wj}: contexts[{i}] must be a non-empty list of token ids in [0, {V}) "
                f"(got {c!r:.80})"
            )
    split = meta["split"]
    if not isinstance(split, dict):
        raise SimidentError(f"{wj}: field 'split' must be an object with 'train' and 'heldout'")
    ids = {}
    for key in ("train", "heldout"):
        value = split.get(key, [])
        if not isinstance(value, list) or not all(_is_id(i, n) for i in value):
            raise SimidentError(f"{wj}: split.{key} must be a list of context ids in [0, {n})")
        if len(set(value)) != len(value):
            raise SimidentError(f"{wj}: split.{key} repeats a context id")
        ids[key] = value
    if set(ids["train"]) & set(ids["heldout"]):
        raise SimidentError(f"{wj}: split.train and split.heldout share context ids")
    props = []
    if (d / "properties.json").is_file():
        props = read_json(d / "properties.json", "properties file")
        props = props.get("properties", []) if isinstance(props, dict) else props
        if not isinstance(props, list):
            raise SimidentError(f"{d / 'properties.json'}: field 'properties' must be a list")
    samples, sequences = None, {}
    if (d / "data.npz").is_file():
        samples, sequences = _load_samples(d / "data.npz", n, V, meta)
    return World(
        world_id=str(meta["world_id"]),
        spec=meta["spec"],
        F=F,
        G=G,
        contexts=contexts,
        train_ids=np.asarray(ids["train"], dtype=np.int64),
        heldout_ids=np.asarray(ids["heldout"], dtype=np.int64),
        queries=meta.get("queries", []),
        measured=meta.get("measured", {}),
        properties=props,
        samples=samples,
        extra=meta.get("extra", {}),
        sequences=sequences,
    )


def _is_id(x, bound: int) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < bound


def _load_samples(path: Path, n: int, V: int, meta: dict) -> tuple[np.ndarray | None, dict]:
    """data.npz's `samples` (n × S token ids in [0, V)) and its other arrays (token
    sequences of a process world), read in bounds and checked against the checksums
    world.json records for them."""
    from simident.util.integrity import read_npz, recorded, verify

    arrays = read_npz(path, "world data file", expect={"samples": (n, None)})
    want = recorded(meta, path.name, path.parent / "world.json")
    if want is not None:
        verify(arrays, want, path)
    samples = arrays.pop("samples", None)
    for key, seq in arrays.items():
        if seq.ndim != 2 or not np.issubdtype(seq.dtype, np.integer):
            raise SimidentError(
                f"{path}: {key} must be a 2-d integer array (got {seq.dtype} {seq.shape})"
            )
        if seq.size and (seq.min() < 0 or seq.max() >= V):
            raise SimidentError(f"{path}: {key} must hold token ids in [0, {V})")
    if samples is None:
        return None, arrays
    if samples.ndim != 2 or samples.shape[0] != n or not np.issubdtype(samples.dtype, np.integer):
        raise SimidentError(
            f"{path}: samples must be an integer array with {n} rows (got {samples.dtype} "
            f"{samples.shape})"
        )
    if samples.size and (samples.min() < 0 or samples.max() >= V):
        raise SimidentError(f"{path}: samples must be token ids in [0, {V})")
    return samples, arrays
