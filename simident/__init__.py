"""simident: simulate identifiability of next-token predictors p(y|s) = softmax(f(s)·g(y)).

Typed API (imported on first use, so `import simident` does no work):
  Model(F, G)                  a model by its matrices, validated
  compare(a, b, ...)           -> Comparison: equivalence, k, residuals, property verdicts
  ParallelUnembedding, ParallelEmbedding, Relational, Probe, Steering   property specs
  PropertyResult, Comparison   results (frozen dataclasses with to_dict())
  NoiseLevel, ParallelBound    a model's bootstrap noise level ν̂ (A6); A5 on a parallel pair
  load(out, what=None)         any results folder as a pandas DataFrame (sweep, reproduction,
                               calibration study)

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

from simident.util.version import __version__ as __version__

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
    "load",
]

TABLES = {  # folder kind → (marker file, the tables it has, default)
    "sweep": ("sweep.json", ("rows",), "rows"),
    "calibration": ("calibration.json", ("comparisons", "verdicts"), "verdicts"),
    "reproduction": (
        "claims",
        ("checks", "evidence", "key_numbers", "per_model", "runs"),
        "checks",
    ),
}


def load(out, what: str | None = None):
    """The one table loader: a results folder as a pandas DataFrame.

    A sweep folder (sweep.json): one row per seed pair (`what` "rows"); a calibration
    study (calibration.json): its "comparisons" or "verdicts" (default); a reproduction
    (claims/): its "checks" (default), "evidence", "key_numbers", "per_model" or "runs".
    Raises SimidentError naming the folder, or the tables it has."""
    from pathlib import Path

    from simident.util.errors import SimidentError

    path = Path(out)
    kind = next((k for k, (m, _, _) in TABLES.items() if (path / m).exists()), None)
    if kind is None:
        raise SimidentError(
            f"{path}: not a results folder (no sweep.json, calibration.json or claims/)"
        )
    _, tables, default = TABLES[kind]
    what = default if what is None else what
    if what not in tables:
        raise SimidentError(f"what={what!r}: a {kind} folder has {', '.join(tables)}")
    if kind == "sweep":
        from simident.sweeps.table import load as sweep_rows

        return sweep_rows(path)
    if kind == "reproduction":
        from simident.claims.table import load as claim_table

        return claim_table(path, what)
    import pandas as pd

    from simident.util.integrity import check_readable

    csv = path / f"{what}.csv"
    check_readable(csv, f"calibration {what} table")
    return pd.read_csv(csv)


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
