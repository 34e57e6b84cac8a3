"""A reproduction's claim results as pandas DataFrames (`simident.load(DIR, what)`).

Read from the claim records DIR/claims/claimN/results.json (so a folder holding only some
claims, or claims from different runs, loads what is there). Every table starts with the
columns claim (id), title, verdict, mode (the mode name of that claim's run) and key
(its content key); then, by `what`:

    checks       one row per check of a verdict: name, role (precondition / claim /
                 observation), value, op, threshold, passed, where, statement
    evidence     one row per numeric scalar of the evidence the checks used: name, value
                 (lists and texts are left out; they are in results.json)
    key_numbers  one row per key number of the report: label, value, unit
    per_model    one row per entry of the claim's per-model scores (the columns vary by
                 claim; lists, e.g. one value per seed, stay lists)
    runs         one row per trained configuration the claim used: world, label, model,
                 d, weight_decay, init_scale, kl_mean_max, steps, seconds, program, folder
"""

from __future__ import annotations

import math
from pathlib import Path

from simident.util.errors import SimidentError

TABLES = ("checks", "evidence", "key_numbers", "per_model", "runs")
RUN_COLUMNS = (
    "world",
    "label",
    "model",
    "d",
    "weight_decay",
    "init_scale",
    "kl_mean_max",
    "steps",
    "seconds",
    "cell",
    "entry",
    "point",
)


def _number(v) -> bool:
    return isinstance(v, (int, float)) or v is None


def _rows(record: dict, what: str) -> list[dict]:
    if what == "checks":
        return [dict(c) for c in record.get("checks", [])]
    if what == "evidence":
        return [
            {"name": k, "value": math.nan if v is None else float(v)}
            for k, v in record.get("evidence", {}).items()
            if _number(v)
        ]
    if what == "key_numbers":
        return [dict(k) for k in record.get("key_numbers", [])]
    if what == "per_model":
        return [dict(m) for m in record.get("per_model", [])]
    return [{k: r.get(k) for k in RUN_COLUMNS} for r in record.get("runs", [])]


def load(out, what: str = "checks"):
    """One table of the claim records in folder `out` (see the module docstring)."""
    import pandas as pd

    from simident.claims.report import read_claims

    if what not in TABLES:
        raise SimidentError(f"what={what!r}: one of {', '.join(TABLES)}")
    out = Path(out)
    if not out.is_dir():
        raise SimidentError(f"{out}: no such folder")
    records = read_claims(out)
    if not records:
        raise SimidentError(
            f"{out}: no claim records (claims/claimN/results.json); run `simident reproduce`"
        )
    rows = []
    for r in records:
        base = {
            "claim": r["id"],
            "title": r["title"],
            "verdict": r["verdict"],
            "mode": (r.get("mode") or {}).get("name"),
            "key": r.get("key"),
        }
        rows += [{**base, **row} for row in _rows(r, what)]
    return pd.DataFrame(rows)
