"""Trained cells, kept under DIR/cache/ (reproduce and sweep) so that a rerun resumes.

One entry per cell (the seeds × grid points trained in one program), named by the
cell's content key (`Cell.key`): a hash of the world (id and spec), the resolved
TrainConfig, the grid (weight decays, init scales) and the library versions that
decide the numbers (simident, jax, jaxlib, x64, backend). Different settings give a
different key, so a stale entry is never reused.

    DIR/cache/<key>.npz    per grid point i: F_i, G_i, kl_mean_i, kl_max_i, ... (numpy)
    DIR/cache/<key>.json   configs, seeds, timings, history; written last, so its
                           presence marks a complete entry

Both files are written atomically; a process killed mid-write leaves no entry.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from simident.io import atomic_write, read_json, write_json

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


def digest(obj) -> str:
    """A short stable hash of a JSON-able object (keys sorted)."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def numeric_versions() -> dict:
    """The versions that decide trained numbers (part of every cache key)."""
    from simident.env import versions

    v = versions()
    return {k: v.get(k) for k in VERSION_KEYS}


def _noise(entries):
    """The stored ν̂ of a cell's seeds (None when it ran no bootstrap)."""
    from simident.theory.noise import NoiseLevel

    return None if entries is None else [NoiseLevel(**e) for e in entries]


class CellStore:
    """Finished cells in one folder, by content key."""

    def __init__(self, root):
        self.root = Path(root)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.npz", self.root / f"{key}.json"

    def has(self, key: str) -> bool:
        return all(p.is_file() for p in self._paths(key))

    def load(self, key: str):
        """The TrainResults of entry `key` (one per grid point), or None when absent or
        unreadable (then it is trained again)."""
        from simident.errors import SimidentError
        from simident.training import TrainConfig
        from simident.training.outputs import TrainResult

        arrays_path, meta_path = self._paths(key)
        if not self.has(key):
            return None
        try:
            meta = read_json(meta_path, "cache entry")
            with np.load(arrays_path, allow_pickle=False) as z:
                arrays = {name: z[name] for name in z.files}
            out = []
            for i, point in enumerate(meta["points"]):
                out.append(
                    TrainResult(
                        config=TrainConfig.from_dict(point["config"]),
                        world_id=meta["world_id"],
                        seeds=[int(s) for s in meta["seeds"]],
                        **{name: arrays[f"{name}_{i}"] for name in ARRAYS},
                        seconds=float(meta["seconds"]),
                        eval_seconds=float(meta["eval_seconds"]),
                        history=point.get("history", {}),
                        shared=point.get("shared", {}),
                        noise=_noise(point.get("noise")),
                        bootstrap=point.get("bootstrap") or {},
                    )
                )
            return out
        except (SimidentError, KeyError, ValueError, OSError, TypeError):
            return None

    def save(self, key: str, results: list, about: dict | None = None) -> None:
        """Store one cell's results: arrays first, the JSON record last."""
        arrays_path, meta_path = self._paths(key)
        arrays = {
            f"{name}_{i}": np.asarray(getattr(r, name))
            for i, r in enumerate(results)
            for name in ARRAYS
        }
        atomic_write(arrays_path, lambda fh: np.savez(fh, **arrays))
        first = results[0]
        write_json(
            meta_path,
            {
                "key": key,
                "world_id": first.world_id,
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
                    }
                    for r in results
                ],
                "about": about or {},
                "versions": numeric_versions(),
            },
        )
