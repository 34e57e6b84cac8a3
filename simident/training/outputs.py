"""A finished training run: per-seed models in the `compare` format and run.json.

RUN_DIR/seed_<s>.npz   arrays F (n×d, all contexts of the world in world order) and
                       G (V×d), float32, plus the trained weights: one array per
                       parameter, named `param/<path>` (e.g. `param/blocks/0/qkv/kernel`)
RUN_DIR/run.json       resolved config, world id, model shape (n, V, T), devices, cost,
                       timing, library versions, per-seed KL and best step, histories,
                       and `integrity`: the checksums of every array of every seed file

The weights are flat pure-dict arrays in the same `.npz` as F and G (not Orbax): a model
here is a few MB at most, one file per seed stays readable with numpy alone, is written
atomically by the same writer as F and G, and `compare` ignores the extra arrays.
`simident.training.saved` rebuilds the model from them and run.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simident.util.errors import SimidentError
from simident.util.io import json_writer, model_arrays, npz_writer, replace_files

PARAM_PREFIX = "param/"


def flat_weights(state) -> dict:
    """{"param/<path>": array} of an nnx.State, a nested pure dict, or a flat
    {"<path>": array} dict (weights read back from a store) of parameters."""
    from flax import nnx

    if isinstance(state, dict) and all(isinstance(v, np.ndarray) for v in state.values()):
        return {PARAM_PREFIX + k: v for k, v in state.items()}
    pure = nnx.to_pure_dict(state) if isinstance(state, nnx.State) else state
    flat = nnx.traversals.flatten_mapping(pure)
    return {PARAM_PREFIX + "/".join(map(str, k)): np.asarray(v) for k, v in flat.items()}


def check_run_dir(run_dir, overwrite: bool) -> None:
    """Refuse to write into an existing non-empty folder unless overwrite is set (the
    fresh --out policy, `util.io.check_out_dir`)."""
    from simident.util.io import check_out_dir

    check_out_dir(run_dir, overwrite, replaces="its run.json and seed_*.npz")


@dataclass
class TrainResult:
    """N trained seeds of one configuration. Arrays are numpy; KL in nats, KL(p* ‖ p_model).

    kl_mean / kl_max are over all contexts of the world; kl_mean_train / kl_mean_heldout
    over the training and held-out contexts (nan when there are none).
    diverged_step is -1 for a seed that stayed finite.
    """

    config: object  # resolved TrainConfig
    world_id: str
    seeds: list
    F: np.ndarray  # N×n×d
    G: np.ndarray  # N×V×d
    kl_mean: np.ndarray  # N
    kl_max: np.ndarray  # N
    kl_mean_train: np.ndarray  # N
    kl_mean_heldout: np.ndarray  # N
    final_loss: np.ndarray  # N, training loss at the last step
    diverged_step: np.ndarray  # N, int
    seconds: float  # wall time of initialisation and training (compilation included)
    eval_seconds: float  # wall time of embedding all contexts and the final KL
    history: dict = field(default_factory=dict)  # {"step", "kl", "val_kl", "val_nll"}
    shared: dict = field(default_factory=dict)  # how the program was shared (grid)
    best_step: np.ndarray | None = None  # N, step of the kept parameters (early stopping)
    weights: list = field(default_factory=list)  # per seed: nnx.State of the kept params
    model_shape: dict = field(default_factory=dict)  # {"n", "V", "T"} the model was built for
    devices: dict = field(default_factory=dict)  # device count, kind, devices_used
    cost: object = None  # the TrainCost estimated before training
    noise: list | None = None  # per seed: its NoiseLevel ν̂ (A6), None without a bootstrap
    bootstrap: dict = field(default_factory=dict)  # refits, steps, seconds of the bootstrap

    def data_id(self, i: int) -> str:
        """Which data set seed i was fitted to (equal ids: the same samples)."""
        mode = self.config.data_mode
        tail = f"/seed {int(self.seeds[i])}" if mode == "independent" else ""
        return f"{self.world_id}/{mode}{tail}"

    def record_arrays(self, i: int) -> dict:
        """Seed i's ν̂ and data record, as stored in its seed file (`model.record_arrays`)."""
        from simident.comparison.model import record_arrays

        noise = None if self.noise is None else self.noise[i]
        return record_arrays(noise, self.config.data_mode, self.data_id(i))

    def model(self, i: int):
        """Seed i as a `simident.Model` (float64) with its ν̂ and data record."""
        from simident.comparison.model import Model

        noise = None if self.noise is None else self.noise[i]
        F, G = np.asarray(self.F[i], np.float64), np.asarray(self.G[i], np.float64)
        return Model(F, G, noise, self.config.data_mode, self.data_id(i))

    def seed_summary(self) -> list[dict]:
        return [
            {
                "seed": int(s),
                "file": f"seed_{int(s)}.npz",
                "kl_mean": float(self.kl_mean[i]),
                "kl_max": float(self.kl_max[i]),
                "kl_mean_train": float(self.kl_mean_train[i]),
                "kl_mean_heldout": float(self.kl_mean_heldout[i]),
                "final_loss": float(self.final_loss[i]),
                "diverged_step": int(self.diverged_step[i]),
                "best_step": None if self.best_step is None else int(self.best_step[i]),
                "data_id": self.data_id(i),
                "nu_hat": None if self.noise is None else self.noise[i].to_dict(),
            }
            for i, s in enumerate(self.seeds)
        ]

    def record(self) -> dict:
        """The content of run.json."""
        from simident.util.env import versions

        return {
            "world_id": self.world_id,
            "config": self.config.to_dict(),
            "n_contexts": int(self.F.shape[1]),
            "vocab_size": int(self.G.shape[1]),
            "d": int(self.F.shape[2]),
            "seeds": self.seed_summary(),
            "kl_mean_over_seeds": float(np.nanmean(self.kl_mean)),
            "kl_max_over_seeds": float(np.nanmax(self.kl_max)),
            "training_seconds": float(self.seconds),
            "eval_seconds": float(self.eval_seconds),
            "kl_units": "nats, KL(p* || p_model) per context",
            "history": self.history,
            "shared": self.shared,
            "model_shape": self.model_shape,
            "devices": self.devices,
            "cost_estimate": {} if self.cost is None else self.cost.to_dict(),
            "data": self.config.data_mode,
            "bootstrap": self.bootstrap or None,
            "versions": versions(),
        }

    def save(self, run_dir, world=None, overwrite: bool = False, extra: dict | None = None):
        """Write seed_<s>.npz for every seed, then run.json (atomic files; run.json last,
        so its presence marks a complete run). With overwrite, earlier seed files and
        run.json are replaced only once every new file is written (`io.replace_files`);
        other files are left alone."""
        run_dir = Path(run_dir)
        check_run_dir(run_dir, overwrite)
        if world is not None and world.world_id != self.world_id:
            raise SimidentError(
                f"result was trained on world {self.world_id}, not {world.world_id}"
            )
        from simident.util.integrity import seal

        files = {
            f"seed_{int(s)}.npz": model_arrays(
                self.F[i],
                self.G[i],
                **(flat_weights(self.weights[i]) if self.weights else {}),
                **self.record_arrays(i),
            )
            for i, s in enumerate(self.seeds)
        }
        writers = {name: npz_writer(arrays) for name, arrays in files.items()}
        # run.json, written last, carries the checksums of every array of every seed file
        writers["run.json"] = json_writer(
            {**self.record(), **(extra or {}), "integrity": seal(files)}
        )
        stale = [p.name for p in run_dir.glob("seed_*.npz")] if run_dir.is_dir() else []
        replace_files(run_dir, writers, stale=stale)
        return run_dir
