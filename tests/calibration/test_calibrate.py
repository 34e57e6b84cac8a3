"""The calibration study end to end on its smoke mode, and its scoring rules."""

import json
import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest

from simident.calibration import reliability as R
from simident.calibration.plan import MARGIN_GRID, plan
from simident.calibration.verdicts import scored_verdicts


def _prop(kind, dist, **kw):
    return SimpleNamespace(
        kind=kind,
        name="p",
        distribution_level=dist,
        projected=kw.get("projected"),
        inclusion=kw.get("inclusion"),
        holds_a=kw.get("a"),
        holds_b=kw.get("b"),
        guaranteed=kw.get("g"),
        band=SimpleNamespace(lower=0.1),
        scores=kw.get("scores"),
    )


def _cmp(*props):
    return SimpleNamespace(properties=props, property=lambda name: props[0])


def test_scoring_follows_what_the_truth_implies():
    """Relational: holds is implied only where D3 holds; parallel: holds only where equal
    ratios fail; an A5 guarantee is right iff both measured angles are within θ."""
    rel = _prop("relational", True, a=True, b=None, inclusion=(True, None))
    got = {(s.field, s.decided, s.truth) for s in scored_verdicts(_cmp(rel), _cmp(rel))}
    assert ("holds_a", True, True) in got and ("holds_b", None, True) in got
    fails = _prop("relational", False, a=True, b=True, inclusion=(False, False))
    fields = {s.field for s in scored_verdicts(_cmp(fails), _cmp(fails))}
    assert "holds_a" not in fields  # RL without IC: p* does not decide it
    par = _prop("parallel_unembedding", True, a=True, b=True, g=True,
                projected=(True, True),
                scores=SimpleNamespace(parallel=(SimpleNamespace(sin=0.05),
                                                 SimpleNamespace(sin=0.2))))  # fmt: skip
    g = [s for s in scored_verdicts(_cmp(par), _cmp(par)) if s.field == "guaranteed"]
    assert len(g) == 1 and g[0].right is False  # 0.2 > sin θ = 0.1: a wrong guarantee


def test_margin_choice_meets_the_target_on_the_calibration_families():
    rows = []
    for m in range(3):
        for fam in ("x", "y"):
            for i in range(100):
                wrong = m == 0 and i < 5  # margin 0 errs 5%; 1 and 2 never; 2 decides less
                rows.append({"family": fam, "margin": m, "truth": True,
                             "decided": None if (m == 2 and i < 50) else (not wrong)})  # fmt: skip
    V = pd.DataFrame(rows)
    grid = [(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]
    c = R.choose_margins(V, grid, holdout="y")
    assert c["met"] and (c["lo"], c["hi"]) == (1.0, 2.0)
    assert R.summary(V[V.margin == 0])["wrong"] == 10


@pytest.mark.slow
def test_calibrate_smoke_end_to_end(tmp_path):
    """`simident calibrate --mode smoke` writes its report, tables and figure, and a rerun
    resumes every cell."""
    out = tmp_path / "cal"
    cmd = [sys.executable, "-m", "simident.cli.main", "calibrate", "--mode", "smoke", "--out",
           str(out), "--quiet"]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    rec = json.loads((out / "calibration.json").read_text())
    assert rec["run"]["cells"] == len(plan("smoke")) == 4
    assert 0 <= rec["holdout_summary"]["decided"] <= 1
    assert tuple(rec["margin_grid"][rec["choice"]["margin"]]) in MARGIN_GRID
    assert (out / "figures" / "reliability.png").stat().st_size > 0
    assert "Held-out family low_token" in (out / "report.md").read_text()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0 and json.loads((out / "calibration.json").read_text())["run"][
        "reused"] == 4  # fmt: skip
    # one cell at a time (the default trains two at once on >= 2 cores): the same scores
    one = tmp_path / "one"
    p = subprocess.run([*cmd[:-2], str(one), "--quiet", "--jobs", "1"], capture_output=True,
                       text=True, timeout=900)  # fmt: skip
    assert p.returncode == 0, p.stderr
    for f in sorted((out / "cells").glob("*.csv")):
        assert (one / "cells" / f.name).read_text() == f.read_text(), f.name


def test_calibrate_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "x.txt").write_text("mine")
    p = subprocess.run([sys.executable, "-m", "simident.cli.main", "calibrate", "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert p.returncode == 2 and "not a calibration study folder" in p.stderr
