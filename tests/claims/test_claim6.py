"""Claim 6's measures and checks on oracle cases (no training)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simident.claims import claim6_kl_vs_structure as c6
from simident.claims.verdicts import decide


@given(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=30, unique=True))
def test_spearman_is_one_for_monotone_maps_and_minus_one_for_reversals(x):
    x = np.asarray(x)
    assert c6.spearman(x, 3 * x) == pytest.approx(1.0)
    assert c6.spearman(x, -2 * x) == pytest.approx(-1.0)


def test_spearman_matches_pearson_of_ranks_with_ties():
    x = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 3.0, 2.0, 4.0, 5.0])
    rx = np.array([0, 1.5, 1.5, 3, 4])
    ry = np.array([0, 2, 1, 3, 4])
    assert c6.spearman(x, y) == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert np.isnan(c6.spearman([1, 2], [1, 2]))


def test_contradiction_finds_the_pair_ordered_against_the_kl():
    kl = [0.01, 0.02, 0.5]
    misfit = [2.0, 0.1, 1.0]  # smallest KL, largest misfit
    ratio, i, j = c6.contradiction(kl, misfit)
    assert (i, j) == (0, 1) and ratio == pytest.approx(20.0)
    assert c6.contradiction([1, 2, 3], [1, 2, 3])[0] == pytest.approx(2 / 3)  # KL order kept


def _model(kl, r, misfit, bound, verdicts):
    return {"kl": kl, "r": r, "misfit": misfit, "bound": bound, "verdicts": verdicts}


def test_checks_confirm_refute_and_stay_inconclusive():
    ok = {"p": [True, True]}
    models = [
        _model(1e-4, 0.05, 0.002, 0.003, ok),
        _model(1e-3, 0.1, 0.01, 0.02, ok),
        _model(1e-3, 0.2, 0.04, 0.05, ok),
        _model(5e-4, 0.9, 0.8, 0.9, {"p": [True, None]}),  # small KL, large misfit
        _model(1e-1, 0.5, 0.3, 0.4, {"p": [True, False]}),
    ]
    ev = c6.Evidence(models=models, pairs=[{"misfit": 0.1, "bound": 0.2, "r": 0.1, "kl": 1e-3}])
    checks, numbers = c6.measure(ev)
    assert numbers["spearman_misfit_r"] == pytest.approx(1.0)
    assert numbers["small_r_agreement"] == 1.0 and numbers["small_r_models"] == 3
    assert decide(checks).verdict == "confirmed"
    # A1 violated on one pair → refuted
    bad = c6.Evidence(models=models, pairs=[{"misfit": 0.3, "bound": 0.2, "r": 0.1, "kl": 1}])
    assert decide(c6.checks(bad)).verdict == "refuted"
    # a small-residual model decided unlike the truth → refuted
    wrong = [dict(m) for m in models]
    wrong[0] = _model(1e-4, 0.05, 0.002, 0.003, {"p": [True, False]})
    assert decide(c6.checks(c6.Evidence(wrong, ev.pairs))).verdict == "refuted"
    # KL range below 1.5 decades → inconclusive
    flat = [dict(m, kl=1e-3 * (1 + 0.1 * i)) for i, m in enumerate(models)]
    assert decide(c6.checks(c6.Evidence(flat, ev.pairs))).verdict == "inconclusive"
