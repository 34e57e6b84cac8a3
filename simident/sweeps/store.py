"""The on-disk state of a sweep, built so that a sweep resumes and never loses results.

    DIR/sweep.json            the normalised spec and the cells' content keys
    DIR/sweep.toml            the spec file as given (when run from a file)
    DIR/cells/cell_<i>.json   one file per finished cell: its rows, record, versions;
                              written atomically (temp file + rename) when the cell ends
    DIR/results.csv           the results table: every finished cell's rows in cell order,
                              rebuilt from the cell files (atomically) after each cell

A rerun skips cells whose file exists and matches the cell's content; an interrupted run
(Ctrl-C, a killed process) loses at most the cell in progress, and since results.csv is
always rebuilt from the cell files in cell order, the final table equals an
uninterrupted run's. A rerun with a different spec is refused.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from simident.study.evaluate import GROUP_STATS, GROUPS, PAIR_COLUMNS
from simident.sweeps.evaluate import CELL_COLUMNS
from simident.util.errors import SimidentError
from simident.util.io import atomic_write, check_resumable, read_json, write_json

SPEC_FILE = "sweep.json"
TABLE_FILE = "results.csv"


def cell_path(out: Path, index: int) -> Path:
    return Path(out) / "cells" / f"cell_{index:05d}.json"


class SweepStore:
    """Cell files and the results table of one sweep folder."""

    def __init__(self, out):
        self.out = Path(out)

    # --- spec --------------------------------------------------------------------
    def init(self, spec, cell_list, spec_text: str | None = None) -> None:
        """Record the spec, or check that the folder holds the same sweep."""
        if self.out.exists() and not self.out.is_dir():
            raise SimidentError(f"{self.out}: exists and is not a directory")
        record = {
            "spec": spec.to_dict(),
            "n_cells": len(cell_list),
            "cell_keys": [c.key for c in cell_list],
            "axes": [[name, list(values)] for name, values in spec.axes],
        }
        path = self.out / SPEC_FILE
        if path.is_file():
            old = read_json(path, "sweep record")
            if (
                old.get("spec") != json.loads(json.dumps(record["spec"]))
                or old.get("cell_keys") != record["cell_keys"]
            ):
                raise SimidentError(
                    f"{self.out}: holds a sweep with a different spec "
                    f"({_first_difference(old.get('spec'), record['spec'])}); "
                    "use another --out, or delete the folder to start over"
                )
            return
        check_resumable(self.out, "sweep", (SPEC_FILE,))
        self.out.mkdir(parents=True, exist_ok=True)
        write_json(path, record)
        if spec_text is not None:
            data = spec_text.encode()
            atomic_write(self.out / "sweep.toml", lambda fh: fh.write(data))

    def record(self) -> dict:
        return read_json(self.out / SPEC_FILE, "sweep record")

    # --- cells -------------------------------------------------------------------
    def done(self, cell_list) -> set[int]:
        """Indices of cells whose file exists and matches the cell's content."""
        out = set()
        for c in cell_list:
            path = cell_path(self.out, c.index)
            if not path.is_file():
                continue
            try:
                data = json.loads(path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError, OSError):
                continue  # unreadable: treated as not done (it will be recomputed)
            if data.get("key") == c.key:
                out.add(c.index)
        return out

    def write_cell(self, cell, rows: list, record: dict) -> None:
        from simident.util.env import versions

        write_json(
            cell_path(self.out, cell.index),
            {
                "index": cell.index,
                "key": cell.key,
                "cell": cell.to_dict(),
                "rows": rows,
                "record": record,
                "versions": versions(),
            },
        )

    def read_cell(self, index: int) -> dict:
        return read_json(cell_path(self.out, index), "cell file")

    # --- table -------------------------------------------------------------------
    def rebuild_table(self, cell_list, axes) -> Path:
        """results.csv from the finished cells' files, in cell order (atomic)."""
        done = self.done(cell_list)
        columns = table_columns(axes)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for c in cell_list:
            if c.index not in done:
                continue
            data = self.read_cell(c.index)
            for row in data["rows"]:
                full = {"cell": c.index, **{name: c.values[name] for name, _ in axes}, **row}
                w.writerow({k: _fmt(full.get(k)) for k in columns})
        text = buf.getvalue().encode()
        path = self.out / TABLE_FILE
        atomic_write(path, lambda fh: fh.write(text))
        return path


def table_columns(axes) -> list[str]:
    group_cols = [f"{g}_{s}" for g in GROUPS for s in GROUP_STATS]
    return ["cell", *[name for name, _ in axes], *CELL_COLUMNS, *PAIR_COLUMNS, *group_cols]


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return repr(v)
    return str(v)


def _first_difference(a, b, prefix="") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b or a[k] != b[k]:
                if k in a and k in b:
                    return _first_difference(a[k], b[k], f"{prefix}{k}.")
                where = "absent from the new spec" if k not in b else "new in this spec"
                return f"{prefix}{k}: {where}"
        return "cells differ"
    return f"{prefix.rstrip('.')}: {a!r} here, {b!r} in the new spec"
