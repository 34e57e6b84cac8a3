"""Claim 7's decision: confirmed on evidence where every check passes, refuted when a
decided D3 status contradicts W2 or W5's disagreement does not grow, inconclusive when
the seeds are far from p*; the mode's worlds are the predicted kinds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from simident.claims import claim7_language as c7
from simident.claims.config import MODES
from simident.claims.run import verdict_for
from simident.claims.verdicts import Thresholds, decide
from simident.worlds import generate_world

GOOD = c7.Evidence(
    truth_agrees=1.0,
    max_kl_mean=0.01,
    d3_decided=0.9,
    d3_contradictions=0.0,
    verdict_contradictions=0.0,
    dist_parallel_contradictions=0.0,
    projected_contradictions=0.0,
    a5_full_contradictions=0.0,
    w5_truth_d3_max=1e-14,
    w5_growth=3.0,
)


def _verdict(ev):
    return decide(c7.checks(ev, Thresholds())).verdict


def test_verdicts():
    assert _verdict(GOOD) == "confirmed"
    assert _verdict(replace(GOOD, d3_contradictions=1.0)) == "refuted"
    assert _verdict(replace(GOOD, w5_growth=0.8)) == "refuted"
    assert _verdict(replace(GOOD, max_kl_mean=1.0)) == "inconclusive"
    assert _verdict(replace(GOOD, d3_decided=0.1)) == "inconclusive"
    assert _verdict(replace(GOOD, w5_growth=None)) == "inconclusive"
    # the record's JSON form gives the same verdict through the claim registry
    assert verdict_for(7, GOOD.to_dict(), Thresholds()).verdict == "confirmed"


@pytest.mark.parametrize("label", ["hidden", "confounded"])
def test_quick_worlds_have_the_predicted_failures(label):
    """The hidden and confounded worlds of the quick mode have a query W2 predicts to
    fail D3 (the visible one none), their exact structure is the predicted one, and L*
    is well conditioned (σ_k/σ_1 > 0.1)."""
    specs = dict(c7.worlds(MODES["quick"].claim7))
    for name, fails in (("visible", False), (label, True)):
        w = generate_world(specs[name])
        pred = w.measured["predictions"]
        assert pred["k"]["predicted"] == pred["k"]["measured"]
        assert any(not q["predicted_d3"] for q in pred["queries"]) == fails
        # well conditioned, so that A1's bands can decide (was 0.02-0.06 on random tables
        # and Gaussian signatures); failing queries fail by far in the truth
        assert pred["k"]["sigma_k_over_sigma_1"] > 0.1
        assert all(q["d3_residual"] > 0.5 for q in pred["queries"] if not q["predicted_d3"])


def test_undecided_runs_say_what_misfit_would_decide():
    """When most D3 statuses are undecided the report names the misfit at which the bands
    would decide: the median over the models of r / (the band's upper end), since the
    upper end (6 × the A1 noise) scales with r; nothing is said once enough are decided."""

    def row(world, r, upper):
        q = {"band": [upper / 3, upper], "d3_residual": 0.2, "status": None, "agrees": None}
        return {"world": world, "r": r, "queries": {"ask_a": q, "ask_b": dict(q)}}

    rows = [row("visible", 0.3, 3.0), row("hidden", 0.2, 4.0), row("vis=0.15", 0.3, 30.0)]
    ev = replace(GOOD, d3_decided=0.0, rows=rows)
    (note,) = c7._why_undecided(ev, Thresholds().min_decided)
    assert "r = 0.2–0.3" in note and "r ≈ 0.075" in note  # median(0.1, 0.05); W5 row left out
    assert c7._why_undecided(replace(ev, d3_decided=0.6), 0.5) == []
