"""Training next-token predictors from scratch: many seeds in one compiled program.

    from simident.training import TrainConfig, train_world
    result = train_world(world, TrainConfig(model="table", d=8, seeds=4))
    result.save("runs/table_d8", world)

`TrainConfig` imports no JAX; the training functions load it on first use.
"""

from __future__ import annotations

from simident.training.config import TrainConfig

__all__ = [
    "SavedRun",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "check_run_dir",
    "embed",
    "load_run",
    "train_world",
    "train_world_grid",
]

_LAZY = {
    "train_world": "simident.training.loop",
    "train_world_grid": "simident.training.loop",
    "TrainingDiverged": "simident.training.loop",
    "TrainResult": "simident.training.outputs",
    "check_run_dir": "simident.training.outputs",
    "load_run": "simident.training.saved",
    "embed": "simident.training.saved",
    "SavedRun": "simident.training.saved",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simident.training' has no attribute {name!r}")
