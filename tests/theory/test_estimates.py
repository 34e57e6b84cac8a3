"""KL and r_p estimated on a random subset of contexts (`simident.theory.estimates`)."""

from __future__ import annotations

import numpy as np
import pytest

import simident as si
from simident.theory import estimates
from simident.theory.equivalence import compare_models
from simident.util.errors import SimidentError


def _pair(seed: int, n: int = 1500, V: int = 200, d: int = 6):
    rng = np.random.default_rng(seed)
    F, G = rng.normal(size=(n, d)), rng.normal(size=(V, d))
    scale = rng.uniform(0.5, 2.0, size=(n, 1))  # contexts differ in how far apart they are
    return si.Model(F, G), si.Model(F + 0.1 * scale * rng.normal(size=F.shape), G)


def test_the_95_percent_intervals_cover_the_exact_values():
    """Over 40 seeded subsets of one pair, the intervals for kl_mean and r_p contain the
    exact (all-context) values in at least 34 (nominal 38): the stated CI is honest."""
    a, b = _pair(0)
    exact = si.compare(a, b)
    hits_kl = hits_rp = 0
    for seed in range(40):
        s = compare_models(a.F, a.G, b.F, b.G, kl_contexts=150, kl_seed=seed)
        est = s.kl_sample
        assert est["n_used"] == 150 and est["n_total"] == 1500 and est["seed"] == seed
        lo, hi = est["kl_mean_ci95"]
        hits_kl += lo <= exact.kl_mean <= hi
        lo, hi = est["weighted_residual_ci95"]
        hits_rp += lo <= exact.weighted_residual <= hi
        assert s.kl_mean == est["kl_mean"] and s.weighted_residual == est["weighted_residual"]
        assert s.logit_residual == exact.logit_residual  # r stays exact
    assert hits_kl >= 34 and hits_rp >= 34


def test_subset_is_seeded_and_exact_when_it_covers_every_context():
    a, b = _pair(1, n=300)
    one = si.compare(a, b, kl_contexts=50).to_dict()["kl_sample"]
    assert one == si.compare(a, b, kl_contexts=50).to_dict()["kl_sample"]
    full = si.compare(a, b, kl_contexts=300)
    assert full.equivalence.kl_sample is None
    assert full.kl_mean == si.compare(a, b).kl_mean


def test_default_switches_to_a_subset_above_the_stated_size():
    assert estimates.plan(10**6, 50_000, None) == estimates.DEFAULT_CONTEXTS
    assert estimates.plan(200_000, 20_000, None) is None  # 4e9 cells: exact
    assert estimates.plan(1000, 100, 5000) is None and estimates.plan(1000, 100, 10) == 10


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True, "10"])
def test_bad_kl_contexts_is_one_clear_error(bad):
    a, b = _pair(2, n=50, V=20)
    with pytest.raises(SimidentError, match="kl_contexts"):
        si.compare(a, b, kl_contexts=bad)
