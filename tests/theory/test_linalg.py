"""Numerical linear algebra behind every check (simident.theory.linalg): rank decisions
with an explicit tolerance (THEORY.md §2 'Numerics'), spans, projectors, complements,
intersections (E2), pseudo-inverses (E3/E4), affine fits (P3/P4) and parallelism (P1/P2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simident.theory import linalg as LA

from ._models import SEEDS

SHAPES = st.sampled_from([(12, 5), (9, 7)])  # (rows, columns): few shapes, few compiles


def low_rank(rng, n, m, r, cond=10.0):
    """An n×m matrix of exact rank r with singular values in [1/cond, 1]."""
    U, _ = np.linalg.qr(rng.normal(size=(n, r)))
    V, _ = np.linalg.qr(rng.normal(size=(m, r)))
    s = np.exp(-rng.uniform(0, np.log(cond), size=r))
    return (U * s) @ V.T


def random_orthonormal(rng, d, r):
    return np.linalg.qr(rng.normal(size=(d, r)))[0] if r else np.zeros((d, 0))


def test_default_tol_is_sqrt_eps_of_the_dtype():
    """Rank convention: default tolerance sqrt(eps): 1.5e-8 (float64), 3.5e-4 (float32)."""
    assert LA.default_tol(np.float64) == pytest.approx(np.sqrt(np.finfo(np.float64).eps))
    assert LA.default_tol(np.float32) == pytest.approx(np.sqrt(np.finfo(np.float32).eps))
    assert LA.default_tol(np.int64) == LA.default_tol(np.float64)


@given(
    r=st.integers(0, 6),
    extra=st.integers(0, 4),
    log_scale=st.floats(-6, 6),
    seed=SEEDS,
)
def test_decide_rank_counts_values_above_tol_and_reports_the_gap(r, extra, log_scale, seed):
    """A singular value counts iff σ_i > tol·σ_1 (any input order); the report gives
    σ_r/σ_1, σ_{r+1}/σ_1 and their ratio; an explicit rank overrides the estimate."""
    rng = np.random.default_rng(seed)
    kept = np.exp(-rng.uniform(0, np.log(1e4), size=r))
    if r:
        kept[0] = 1.0
    dropped = rng.uniform(0, 1e-10, size=extra if r else 0)
    s = 10.0**log_scale * np.concatenate([kept, dropped])
    rng.shuffle(s)
    dec = LA.decide_rank(s, 1e-8)
    assert dec.rank == r and dec.tol == 1e-8
    if r:
        srt = np.sort(kept)[::-1]
        assert dec.last_kept == pytest.approx(srt[-1], rel=1e-12)
        first = np.max(dropped) if dropped.size else 0.0
        assert dec.first_dropped == pytest.approx(first, rel=1e-12, abs=1e-300)
        if first > 0:
            assert dec.gap == pytest.approx(srt[-1] / first, rel=1e-10)
            assert dec.gap > 1e5
        else:
            assert dec.gap == float("inf")
        forced = LA.decide_rank(s, 1e-8, rank=max(r - 1, 0))
        assert forced.rank == max(r - 1, 0)
    else:
        assert dec.rank == 0 and dec.gap == float("inf")


@given(shape=SHAPES, r=st.integers(0, 5), seed=SEEDS)
def test_row_space_is_an_orthonormal_basis_of_the_rows(shape, r, seed):
    """row_space gives r orthonormal columns whose span contains every row (E, U of E2)."""
    rng = np.random.default_rng(seed)
    n, m = shape
    X = low_rank(rng, n, m, r)
    B, dec = LA.row_space(X, 1e-8)
    B = np.asarray(B)
    assert dec.rank == r and B.shape == (m, r)
    np.testing.assert_allclose(B.T @ B, np.eye(r), atol=1e-12)
    P = np.asarray(LA.projector(B))
    np.testing.assert_allclose(P @ P, P, atol=1e-12)
    np.testing.assert_allclose(P, P.T, atol=1e-12)
    np.testing.assert_allclose(X @ P, X, atol=1e-12)
    C = np.asarray(LA.complement(B, m))
    assert C.shape == (m, m - r)
    full = np.hstack([B, C])
    np.testing.assert_allclose(full.T @ full, np.eye(m), atol=1e-12)
    np.testing.assert_allclose(X @ C, 0.0, atol=1e-12)


@given(shape=SHAPES, r=st.integers(1, 5), seed=SEEDS)
def test_pinv_drops_singular_values_below_tol(shape, r, seed):
    """pinv(X, tol) = Moore–Penrose inverse of X once σ ≤ tol·σ_1 are zeroed (E4's M, N)."""
    rng = np.random.default_rng(seed)
    n, m = shape
    X = low_rank(rng, n, m, r)
    noise = 1e-12 * rng.normal(size=X.shape)
    P = np.asarray(LA.pinv(X + noise, 1e-8))
    np.testing.assert_allclose(P, np.linalg.pinv(X, rcond=1e-10), atol=1e-6)
    np.testing.assert_allclose(X @ P @ X, X, atol=1e-9)


@given(
    extra=st.integers(0, 2),
    j=st.integers(0, 2),
    r1=st.integers(0, 2),
    r2=st.integers(0, 2),
    seed=SEEDS,
    angle=st.floats(0.05, 1.5),
)
def test_intersection_of_subspaces_has_the_planted_dimension(extra, j, r1, r2, seed, angle):
    """intersect / intersection_dim find span(W) for span[W, X1] ∩ span[W, X2] (E2's
    E ∩ U⊥ and U ∩ E⊥), also when X2 is tilted towards X1 (principal angles in (0, π/2))."""
    d = j + r1 + r2 + extra
    if d == 0:
        return
    rng = np.random.default_rng(seed)
    Q = random_orthonormal(rng, d, j + r1 + r2)
    W, X1, X2 = Q[:, :j], Q[:, j : j + r1], Q[:, j + r1 :]
    m = min(r1, r2)
    X2 = X2.copy()
    X2[:, :m] = np.cos(angle) * X1[:, :m] + np.sin(angle) * X2[:, :m]
    mix1, mix2 = rng.normal(size=(j + r1, j + r1)), rng.normal(size=(j + r2, j + r2))
    B1 = np.linalg.qr(np.hstack([W, X1]) @ mix1)[0] if j + r1 else np.zeros((d, 0))
    B2 = np.linalg.qr(np.hstack([W, X2]) @ mix2)[0] if j + r2 else np.zeros((d, 0))
    I = LA.intersect(B1, B2)
    assert I.shape == (d, j)
    assert LA.intersection_dim(B1, B2, 1e-8) == j
    if j:
        np.testing.assert_allclose(I.T @ I, np.eye(j), atol=1e-10)
        for B in (B1, B2):
            np.testing.assert_allclose(B @ (B.T @ I), I, atol=1e-10)
        np.testing.assert_allclose(I @ I.T, W @ W.T, atol=1e-8)


@pytest.mark.parametrize("angle", [0.01, 0.3, 1.0, 1.5])
def test_tilted_directions_are_not_in_the_intersection(angle):
    """span(e1, e2) ∩ span(e1, cos θ e2 + sin θ e3) = span(e1) for every θ ∈ (0, π/2)."""
    B1 = np.eye(3)[:, :2]
    B2 = np.stack([[1.0, 0, 0], [0, np.cos(angle), np.sin(angle)]], 1)
    assert LA.intersection_dim(B1, B2, 1e-8) == 1
    I = LA.intersect(B1, B2)
    assert I.shape == (3, 1)
    np.testing.assert_allclose(np.abs(I[:, 0]), [1, 0, 0], atol=1e-12)


@given(shape=SHAPES, r=st.integers(0, 4), noise=st.booleans(), seed=SEEDS)
def test_affine_fit_matches_dense_least_squares(shape, r, noise, seed):
    """affine_fit: R² = 1 − SSE/SST of the best Y ≈ XW + 1cᵀ; exact affine data give R² = 1
    and residual ~0 (the P3/P4 verdicts), noisy data the numpy least-squares R²."""
    rng = np.random.default_rng(seed)
    n, m = shape
    X = low_rank(rng, n, m, r) if r else np.zeros((n, m))
    Y = X @ rng.normal(size=(m, 3)) + rng.normal(size=3)
    if noise:
        Y = Y + rng.normal(size=Y.shape)
    fit = LA.affine_fit(X, Y, 1e-8)
    Xa = np.hstack([X, np.ones((n, 1))])
    W, *_ = np.linalg.lstsq(Xa, Y, rcond=1e-10)
    sse = np.sum((Y - Xa @ W) ** 2)
    sst = np.sum((Y - Y.mean(0)) ** 2)
    assert fit.n == n and fit.x_rank == r
    if noise:
        assert fit.r2 == pytest.approx(1 - sse / sst, abs=1e-9)
        assert fit.rel_residual == pytest.approx(np.sqrt(sse / sst), rel=1e-8)
        assert fit.r2 < 1 - 1e-6
    else:
        assert fit.r2 == pytest.approx(1.0, abs=1e-12)
        assert fit.rel_residual < 1e-10


@given(
    m=st.integers(2, 8),
    lam=st.floats(-5, 5).filter(lambda x: abs(x) > 1e-3),
    log_scale=st.floats(-4, 4),
    seed=SEEDS,
)
def test_parallelism_sin_is_zero_iff_parallel_and_recovers_lambda(m, lam, log_scale, seed):
    """parallelism(u, v): sin = 0 and λ recovered when u = λv (P1/P2 'δ1 = λδ2'), sin = 1
    and cos = 0 when u ⊥ v, and sin/cos are invariant under a common scale."""
    rng = np.random.default_rng(seed)
    v = 10.0**log_scale * rng.normal(size=m)
    par = LA.parallelism(lam * v, v)
    assert par.sin < 1e-12 and par.lam == pytest.approx(lam, rel=1e-12)
    assert abs(par.cos) == pytest.approx(1.0, abs=1e-12)
    w = rng.normal(size=m)
    w -= (w @ v) / (v @ v) * v
    orth_ = LA.parallelism(w, v)
    assert orth_.sin == pytest.approx(1.0, abs=1e-10) and abs(orth_.cos) < 1e-10
    u = rng.normal(size=m)
    a, b = LA.parallelism(u, v), LA.parallelism(7.0 * u, 7.0 * v)
    assert a.sin == pytest.approx(b.sin, abs=1e-12) and a.cos == pytest.approx(b.cos, abs=1e-12)
    expected_sin = np.linalg.norm(u - (u @ v) / (v @ v) * v) / np.linalg.norm(u)
    assert a.sin == pytest.approx(expected_sin, abs=1e-10)


def test_parallelism_zero_vector_conventions():
    """A zero vector has no direction: "parallel" is never claimed for it (sin is NaN,
    an undecided verdict), whichever side it is on."""
    z, v = np.zeros(3), np.array([1.0, 2.0, 3.0])
    assert np.isnan(LA.parallelism(z, v).sin)
    assert np.isnan(LA.parallelism(z, z).sin)
    assert np.isnan(LA.parallelism(v, z).sin)
    assert np.isnan(LA.parallelism(1e-40 * v, v).sin)  # zero relative to the other vector


@given(seed=SEEDS)
def test_parallelism_in_a_metric_equals_euclidean_parallelism_of_images(seed):
    """With K = RᵀR, parallelism(u, v, K) is the Euclidean parallelism of Ru and Rv."""
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(4, 6))
    u, v = rng.normal(size=6), rng.normal(size=6)
    a, b = LA.parallelism(u, v, R.T @ R), LA.parallelism(R @ u, R @ v)
    assert a.sin == pytest.approx(b.sin, abs=1e-8)
    assert a.cos == pytest.approx(b.cos, abs=1e-10)
    assert a.lam == pytest.approx(b.lam, rel=1e-10)
