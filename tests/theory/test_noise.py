"""THEORY.md §4 A6: the sample-noise level in the rank rule and the verdict bands."""

from __future__ import annotations

import numpy as np
import pytest

import simident as si
from simident.comparison.api import error_independence
from simident.theory.equivalence import compare_models
from simident.theory.logits import centered_logits
from simident.theory.noise import NoiseLevel, logit_distance, pair_level


def _pair(seed=0, n=30, V=12, k=3, d=5, eps=1e-3):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, k)) @ rng.standard_normal((k, d))
    G = rng.standard_normal((V, d))
    return F, G, F + eps * rng.standard_normal(F.shape), G


def test_logit_distance_equals_the_dense_norms():
    Fa, Ga, Fb, Gb = _pair(eps=0.3)
    D = np.asarray(centered_logits(Fa, Ga)) - np.asarray(centered_logits(Fb, Gb))
    s2, sf = logit_distance(Fa, Ga, Fb, Gb)
    assert s2 == pytest.approx(np.linalg.norm(D, 2), rel=1e-10)
    assert sf == pytest.approx(np.linalg.norm(D), rel=1e-10)


def test_sample_noise_cuts_the_rank_and_says_so():
    """A ν̂ above σ_3 of L̄ and above ‖Δ‖_2 decides k (rank 2) and is named."""
    Fa, Ga, Fb, Gb = _pair(eps=1e-4)
    s = np.linalg.svd(np.asarray(centered_logits(Fa, Ga)), compute_uv=False)
    nu = float(0.5 * (s[1] + s[2]))
    eq = compare_models(Fa, Ga, Fb, Gb, tol=1e-6, kl=False, sample_noise=(nu, nu))
    base = compare_models(Fa, Ga, Fb, Gb, tol=1e-6, kl=False)
    assert base.k.rank == 3 and base.k.decided_by in ("disagreement", "tol")
    assert eq.k.rank == 2 and eq.k.decided_by == "sample noise"
    assert eq.k.threshold == pytest.approx(nu) and eq.k.sample_noise == pytest.approx(nu)
    assert eq.error_bound > eq.a1_bound


def test_pair_level_and_noise_record():
    a = NoiseLevel.from_values([1.0, 3.0], [2.0, 4.0], 64)
    assert (a.spectral, a.frobenius, a.refits) == (2.0, 3.0, 2)
    assert pair_level(a, None) == (2.0, 3.0)
    assert pair_level(None, None) == (0.0, 0.0)
    with pytest.raises(ValueError):
        NoiseLevel(float("nan"), 1.0, 1, 1)


def test_error_independence_from_the_data_records(tmp_path):
    Fa, Ga, Fb, Gb = _pair()
    nu = NoiseLevel(1.0, 1.0, 4, 16)
    same = dict(data="shared", data_id="w/shared")
    a, b = si.Model(Fa, Ga, noise=nu, **same), si.Model(Fb, Gb, noise=nu, **same)
    assert error_independence(a, b)[0] == "shared"
    truth = si.Model(Fb, Gb, data="exact", data_id="w/truth")
    assert error_independence(a, truth)[0] == "independent"
    ia = si.Model(Fa, Ga, data="independent", data_id="w/independent/seed 0")
    ib = si.Model(Fb, Gb, data="independent", data_id="w/independent/seed 1")
    assert error_independence(ia, ib)[0] == "independent"
    assert error_independence(si.Model(Fa, Ga), ib)[0] == "unknown"
    # the record survives a save / load round trip and reaches k_decision
    a.save(tmp_path / "a.npz")
    back = si.Model.load(tmp_path / "a.npz")
    np.testing.assert_equal(back.noise.to_dict(), nu.to_dict())  # (NaN standard errors)
    assert back.data == "shared" and back.data_id == "w/shared"
    c = si.compare(back, b, tol=1e-2)
    assert c.k_decision.errors == "shared" and "same samples" in c.k_decision.errors_note
    assert c.equivalence.sample_noise_2 == pytest.approx(1.0)


def test_bad_noise_record_is_refused(tmp_path):
    Fa, Ga, _, _ = _pair()
    np.savez(tmp_path / "m.npz", F=Fa, G=Ga, **{"noise/spectral": -1.0, "noise/frobenius": 1.0,
             "noise/refits": 2, "noise/samples_per_context": 3})  # fmt: skip
    with pytest.raises(si.SimidentError, match="noise record"):
        si.Model.load(tmp_path / "m.npz")
