"""THEORY.md §4 A5: the log-ratio error bounds the angle between two differences.

sin ∠(u1, u2) ≤ min(1, ‖X(u1 − λu2)‖ / (σ_d(X) · max(‖u1‖, |λ|‖u2‖))) for any matrix X
with d columns (F for P1, R_G for P2), with equality when w = u1 − λu2 lies along the
weakest right singular vector and w ⊥ u2; and `guaranteed` exactly when σ_d ≥ τ_θ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simident.theory.linalg import parallelism
from simident.theory.parallel import a5_bound


def _conditioned(rng, n, d, log_cond):
    """An n×d matrix with singular values spread log-uniformly over 10^-log_cond..1."""
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = 10.0 ** (-log_cond * np.sort(rng.random(d))[::-1])
    s[0] = 1.0
    return (U * s) @ V.T


@given(
    seed=st.integers(0, 2**31),
    n=st.integers(2, 40),
    d=st.integers(1, 8),
    log_cond=st.floats(0.0, 4.0),
    log_noise=st.floats(-8.0, 1.0),
    lam=st.floats(-3.0, 3.0).filter(lambda x: abs(x) > 1e-3),
)
def test_A5_measured_angle_never_exceeds_the_bound(seed, n, d, log_cond, log_noise, lam):
    """Random conditioning (σ_1/σ_d up to 1e4), random near-parallel pairs: the measured
    sine never exceeds the bound, and `guaranteed` means measured ≤ sin θ."""
    rng = np.random.default_rng(seed)
    n = max(n, d)
    X = _conditioned(rng, n, d, log_cond)
    u2 = rng.standard_normal(d)
    u1 = lam * u2 + 10.0**log_noise * rng.standard_normal(d)
    sin_theta = float(rng.uniform(1e-4, 0.9))
    b = a5_bound(X, u1, u2, sin_theta)
    measured = parallelism(u1, u2).sin
    if not math.isfinite(b.sin_bound) or not math.isfinite(measured):
        return
    assert measured <= b.sin_bound * (1 + 1e-9) + 1e-12
    if b.guaranteed:
        assert measured <= sin_theta * (1 + 1e-9) + 1e-12
        assert b.sigma_min >= b.tau_theta * (1 - 1e-12)
    assert b.guaranteed == (b.n_above >= d and b.sin_bound <= sin_theta)


@pytest.mark.parametrize("d", [2, 3, 6])
def test_A5_is_sharp_along_the_weakest_direction(d):
    """Equality: w along the weakest right singular vector, orthogonal to u2."""
    rng = np.random.default_rng(d)
    X = _conditioned(rng, 20, d, 2.0)
    _, s, Vt = np.linalg.svd(X)
    v_weak = Vt[-1]
    u2 = Vt[0] * 3.0  # ⊥ v_weak
    u1 = 0.7 * u2 + 1e-3 * v_weak
    b = a5_bound(X, u1, u2, 0.5)
    assert b.lam == pytest.approx(0.7, rel=1e-6)
    measured = parallelism(u1, u2).sin
    assert measured == pytest.approx(b.sin_bound, rel=1e-6)
    assert b.sigma_min == pytest.approx(s[-1], rel=1e-12)


def test_A5_gives_nothing_without_context_diversity():
    """A rank-deficient X (E ≠ R^d): σ_d = 0, so the bound is vacuous (sin 1) whatever ε;
    an exact P1 pair under a full-rank X is guaranteed at any θ."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 4))
    X[:, 3] = 0.0
    u2 = rng.standard_normal(4)
    b = a5_bound(X, 2 * u2 + np.eye(4)[3], u2, 0.1)
    assert b.sin_bound == 1.0 and not b.guaranteed and b.eps == pytest.approx(0.0, abs=1e-12)
    full = a5_bound(rng.standard_normal((10, 4)), 2 * u2, u2, 1e-8)
    assert full.guaranteed and full.sin_bound <= 1e-12 and full.n_above == 4
