"""simident: simulate identifiability of next-token predictors p(y|s) = softmax(f(s)·g(y)).

Typed API (imported on first use, so `import simident` does no work):
  Model(F, G)                  a model by its matrices, validated
  compare(a, b, ...)           -> Comparison: equivalence, k, residuals, property verdicts
  ParallelUnembedding, ParallelEmbedding, Relational, Probe, Steering   property specs
  PropertyResult, Comparison   results (frozen dataclasses with to_dict())
  NoiseLevel, ParallelBound    a model's bootstrap noise level ν̂ (A6); A5 on a parallel pair

Stages of the pipeline, one sub-package each:
  theory/    the mathematics of THEORY.md (equivalence, spans, properties P1-P5, §4 A1-A4)
  worlds/    synthetic ground-truth distributions with controlled diversity
  models/    Flax NNX next-token predictors (table, transformer)
  training/  many seeds trained in one jitted program
  claims/    one experiment per claim, used by `simident reproduce`
  sweeps/    resumable grids over diversity and learner settings
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "Model": "simident.comparison.model",
    "compare": "simident.comparison.api",
    "Comparison": "simident.comparison.api",
    "PropertyResult": "simident.comparison.api",
    "ParallelUnembedding": "simident.comparison.properties",
    "ParallelEmbedding": "simident.comparison.properties",
    "Relational": "simident.comparison.properties",
    "Probe": "simident.comparison.properties",
    "Steering": "simident.comparison.properties",
    "NoiseLevel": "simident.theory.noise",
    "ParallelBound": "simident.theory.parallel",
    "SimidentError": "simident.util.errors",
}
__all__ = [
    "Comparison",
    "Model",
    "NoiseLevel",
    "ParallelBound",
    "ParallelEmbedding",
    "ParallelUnembedding",
    "Probe",
    "PropertyResult",
    "Relational",
    "SimidentError",
    "Steering",
    "compare",
]

if TYPE_CHECKING:
    from simident.comparison.api import Comparison, PropertyResult, compare
    from simident.comparison.model import Model
    from simident.comparison.properties import (
        ParallelEmbedding,
        ParallelUnembedding,
        Probe,
        Relational,
        Steering,
    )
    from simident.theory.noise import NoiseLevel
    from simident.theory.parallel import ParallelBound
    from simident.util.errors import SimidentError


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'simident' has no attribute {name!r}")
