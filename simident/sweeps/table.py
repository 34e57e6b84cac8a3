"""A sweep's results as a pandas DataFrame (`simident.load(DIR)`).

One row per seed pair of every finished cell, in cell order (a partly finished sweep
gives the rows of its finished cells). Columns, in order:

    cell                    the cell index (`simident sweep --list`)
    <swept axes>            e.g. "world.rank_E", "learner.d", as written in the spec
    world_* , model, d, ... the cell's resolved world and learner (evaluate.CELL_COLUMNS)
    seed_a, seed_b, kl_a, … the pair's numbers (evaluate.PAIR_COLUMNS)
    <group>_<stat>          planted-property statistics (evaluate.GROUPS × GROUP_STATS)
    free_f, free_g, kl_max_pair   derived: the pair's mean context-side / token-side free
                            part and its larger mean KL (nats)

Missing numbers (a group with no property, an undecided fraction) are NaN.
"""

from __future__ import annotations

from pathlib import Path

from simident.sweeps.store import SPEC_FILE, TABLE_FILE
from simident.util.errors import SimidentError

DERIVED = {
    "free_f": "context-side free part ‖F_free‖/‖F‖, mean of the pair's two seeds",
    "free_g": "token-side free part ‖G_free‖/‖G‖, mean of the pair's two seeds",
    "kl_max_pair": "the larger of the pair's two mean KL(p* ‖ p_model) (nats)",
}


def axes_of(out) -> list[str]:
    """The swept axes of the sweep in `out`, in spec order."""
    from simident.util.io import read_json

    record = read_json(Path(out) / SPEC_FILE, "sweep record")
    return [name for name, _ in record.get("axes", [])]


def load(out):
    """The rows of the sweep in folder `out` as a DataFrame (see the module docstring).
    Raises SimidentError when `out` is not a sweep folder."""
    import pandas as pd

    out = Path(out)
    if not (out / SPEC_FILE).is_file():
        raise SimidentError(f"{out}: not a sweep folder (no {SPEC_FILE})")
    path = out / TABLE_FILE
    if not path.is_file():
        raise SimidentError(f"{path}: no results table yet (run `simident sweep` first)")
    axes = axes_of(out)
    df = pd.read_csv(path, dtype={a: str for a in axes}, keep_default_na=True)
    for a in axes:  # swept values back to numbers where every value is one
        num = pd.to_numeric(df[a], errors="coerce")
        if num.notna().all():
            df[a] = num
    df["free_f"] = 0.5 * (df["free_f_a"] + df["free_f_b"])
    df["free_g"] = 0.5 * (df["free_g_a"] + df["free_g_b"])
    df["kl_max_pair"] = df[["kl_a", "kl_b"]].max(axis=1)
    return df
