"""The KL / r_p pass (`simident.theory.divergence`) against a dense float64 reference, and
the row-block thin QR it and the identification rest on (`simident.theory.tallqr`)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simident.theory import constructors as C
from simident.theory import divergence
from simident.theory.divergence import kl_terms
from simident.theory.equivalence import compare_models
from simident.theory.tallqr import compress, stacked_r

from ._models import SEEDS


def dense_reference(Fa, Ga, Fb, Gb):
    """KL, r_p numerator and denominator per context from the n×V float64 logits, in the
    stable form log1p(E_pa[e^x − 1 − x]) (log-sum-exp where that overflows)."""
    la, lb = Fa @ Ga.T, Fb @ Gb.T
    lpa = la - np.logaddexp.reduce(la, axis=1, keepdims=True)
    lpb = lb - np.logaddexp.reduce(lb, axis=1, keepdims=True)
    pa, pb = np.exp(lpa), np.exp(lpb)
    D = (la - la.mean(1, keepdims=True)) - (lb - lb.mean(1, keepdims=True))
    x = np.sum(pa * D, axis=1, keepdims=True) - D
    with np.errstate(over="ignore"):
        kl = np.log1p(np.sum(pa * (np.expm1(x) - x), axis=1))
    big = ~np.isfinite(kl)
    kl[big] = np.logaddexp.reduce(lpa + x, axis=1)[big]
    p = 0.5 * (pa + pb)
    lbar = 0.5 * (la + lb)
    dc = D - np.sum(p * D, axis=1, keepdims=True)
    lc = lbar - np.sum(p * lbar, axis=1, keepdims=True)
    return kl, np.sum(p * dc**2, axis=1), np.sum(p * lc**2, axis=1)


@st.composite
def pairs(draw):
    """A random pair (any n, V, d_a, d_b, logit scale, distance) in float64."""
    rng = np.random.default_rng(draw(SEEDS))
    n, V = draw(st.integers(1, 40)), draw(st.integers(2, 70))
    da, db = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    scale = 10.0 ** draw(st.floats(-1, 1.3))
    eps = 10.0 ** draw(st.floats(-6, 0.5))
    Fa, Ga = scale * rng.normal(size=(n, da)), rng.normal(size=(V, da)) / np.sqrt(da)
    Fb = np.concatenate([Fa, np.zeros((n, max(db - da, 0)))], 1)[:, :db]
    Gb = np.concatenate([Ga, np.zeros((V, max(db - da, 0)))], 1)[:, :db]
    Fb = Fb + eps * scale * rng.normal(size=Fb.shape)
    Gb = Gb + eps * rng.normal(size=Gb.shape) / np.sqrt(db)
    return Fa, Ga, Fb, Gb


@given(pair=pairs(), route=st.sampled_from([(None, None), (True, None), (False, True)]))
def test_kl_and_rp_sums_agree_with_the_dense_float64_reference(pair, route):
    """Every context: KL within 1e-6 relative of the dense float64 computation, the r_p
    sums Σ p̄(δ − E δ)², Σ p̄(ℓ̄ − E ℓ̄)² within 2e-6 (r_p itself within 1e-6), or 1e-30
    absolute (the float32 underflow floor), at any size, logit scale (up to ×20) and
    distance, by any route: the default, the host pass (numpy float64) or the jitted
    fast pass with its float64 recompute."""
    kl, num, den = kl_terms(*pair, host=route[0], fast=route[1])
    ref = dense_reference(*pair)
    for got, want, rtol in zip((kl, num, den), ref, (1e-6, 2e-6, 2e-6), strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-30)
    if ref[1].sum() > 0:  # r_p = sqrt(Σ num / Σ den), as compare reports it
        rp = np.sqrt(num.sum() / den.sum())
        assert rp == pytest.approx(np.sqrt(ref[1].sum() / ref[2].sum()), rel=1e-6)


@given(pair=pairs(), f32=st.booleans())
def test_fast_pass_error_is_within_its_bound_and_float64_pass_agrees(pair, f32):
    """The float32-products pass: in every context its KL is within its own bound β of
    the dense float64 value, and where β ≤ RHO·KL (kept) its r_p sums are within 2e-6;
    the float64-products pass (what uncertified contexts get) agrees to 1e-6 on all."""
    if f32:
        pair = tuple(x.astype(np.float32) for x in pair)
    c = compress(*pair)
    fac = divergence.factors(*pair, c.RF, c.RG)
    ids = np.arange(pair[0].shape[0])
    with jax.enable_x64(True):
        kl, num, den, beta = divergence._products(fac, ids, True, None, fast=True)
    ref = dense_reference(*(np.asarray(x, np.float64) for x in pair))
    assert np.all(~(np.abs(kl - ref[0]) > beta + 1e-30))  # inf β: not certified
    kept = ~divergence._uncertified(kl, beta)
    for got, want in zip((num, den), ref[1:], strict=True):
        np.testing.assert_allclose(got[kept], want[kept], rtol=2e-6, atol=1e-30)
    slow = divergence.kl_pass(fac, fast=False, host=False)
    np.testing.assert_allclose(slow[0], ref[0], rtol=1e-6, atol=1e-30)


@given(seed=SEEDS, d=st.integers(1, 8), f32=st.booleans())
def test_exactly_equivalent_pairs_report_kl_below_1e12(seed, d, f32):
    """An E6 transform of a model: KL ≤ 1e-12 in every context (float64 inputs: D = 0),
    also when the transformed pair is rounded to float32."""
    rng = np.random.default_rng(seed)
    F, G = rng.normal(size=(30, d)), rng.normal(size=(25, d))
    Fb, Gb = C.transform(F, G, C.random_invertible(rng, d))
    if f32:
        F, G, Fb, Gb = (x.astype(np.float32) for x in (F, G, Fb, Gb))
    eq = compare_models(F, G, Fb, Gb)
    assert eq.kl_max <= 1e-12
    if not f32:
        assert eq.kl_max == 0.0 and eq.weighted_residual == 0.0
    for host in (True, False):  # whichever route the size picks
        assert np.max(kl_terms(F, G, Fb, Gb, weighted=False, host=host)[0]) <= 1e-12


def test_a_pass_compiles_one_program_whatever_the_number_of_contexts():
    """The jitted passes pad rows to a fixed chunk (`_shape`): the fast pass over 3, 40 or
    all 300 contexts, and the float64 pass (the recompute of a few), each reuse one
    program per padded (V, d, r); V = 37 and 39 share a bucket."""
    rng = np.random.default_rng(3)
    before = divergence._fast_call._cache_size(), divergence._chunk._cache_size()
    for V in (37, 39):
        Fa, Ga = rng.normal(size=(300, 4)), rng.normal(size=(V, 4)) / 2
        Fb, Gb = Fa + 1e-3 * rng.normal(size=(300, 4)), Ga + 1e-3 * rng.normal(size=(V, 4))
        c = compress(Fa, Ga, Fb, Gb)
        fac = divergence.factors(Fa, Ga, Fb, Gb, c.RF, c.RG)
        for ids in (np.arange(3), np.arange(40), None):
            divergence.kl_pass(fac, ids=ids, host=False, fast=True)
            divergence.kl_pass(fac, ids=ids, host=False, fast=False)
    after = divergence._fast_call._cache_size(), divergence._chunk._cache_size()
    assert after[0] - before[0] <= 1 and after[1] - before[1] <= 1


def test_small_passes_run_on_the_host_and_large_ones_jitted():
    """By default a pass of at most HOST_CELLS contexts × tokens runs on the host (numpy
    float64, nothing compiled), a larger one on the jitted passes (up to FAST_CELLS the
    float64 pass alone: every context computed by it)."""
    rng = np.random.default_rng(4)
    V = 39  # the programs of the test above
    n = divergence.HOST_CELLS // V + 1
    Fa, Ga = rng.normal(size=(n, 4)), rng.normal(size=(V, 4)) / 2
    Fb, Gb = Fa + 1e-3 * rng.normal(size=(n, 4)), Ga
    c = compress(Fa, Ga, Fb, Gb)
    fac = divergence.factors(Fa, Ga, Fb, Gb, c.RF, c.RG)
    small, large = {}, {}
    divergence.kl_pass(fac, ids=np.arange(n - 1), report=small)
    divergence.kl_pass(fac, report=large)
    assert small.get("host") and not large.get("host")
    assert large["recomputed"] == n  # below FAST_CELLS


@pytest.mark.parametrize("rows", [1, 3, 8, 1000])
def test_row_block_qr_gives_the_r_of_one_qr(rows):
    """R of [B_1; B_2; …] by blocks has the Gram matrix of X (RᵀR = XᵀX) and is upper
    triangular, whatever the block height."""
    rng = np.random.default_rng(rows)
    X = rng.normal(size=(23, 5)) * np.array([1.0, 1e3, 1e-3, 1.0, 0.0])
    R = stacked_r(lambda i, j: X[i:j], *X.shape, rows=rows)
    assert R.shape == (5, 5)
    np.testing.assert_allclose(np.tril(R, -1), 0.0, atol=1e-12)
    np.testing.assert_allclose(R.T @ R, X.T @ X, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("scale", [1.0, 20.0])
def test_more_contexts_than_the_probe_agree_whichever_pass_runs(scale):
    """Above PROBE contexts the fast pass runs on all of them (most certified, scale 1)
    or the float64 pass does (most uncertified, logit scale ×20); either way every
    context agrees with the dense float64 reference to 1e-6."""
    rng = np.random.default_rng(7)
    n, V, d = divergence.PROBE + 44, 40, 5
    Fa, Ga = scale * rng.normal(size=(n, d)), rng.normal(size=(V, d)) / np.sqrt(d)
    Fb, Gb = Fa + 1e-2 * scale * rng.normal(size=(n, d)), Ga + 1e-2 * rng.normal(size=(V, d))
    c = compress(Fa, Ga, Fb, Gb)
    report = {}
    fac = divergence.factors(Fa, Ga, Fb, Gb, c.RF, c.RG)
    got = divergence.kl_pass(fac, report=report, host=False, fast=True)
    assert report["contexts"] == n and 0 <= report["recomputed"] <= n
    for g, w in zip(got, dense_reference(Fa, Ga, Fb, Gb), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("d", [2, 5, 16])
def test_random_basis_partial_sums_stay_within_the_tree_constants(d):
    """In a Haar-random basis the prefix sums of a·b (the chain, the worst summation tree)
    have Σ_m E s_m² = Σ_m (m/d − dβ_m)ℓ² + β_m‖a‖²‖b‖² (Monte Carlo within 5%), and the
    constants of the fast pass's bound (`_tree`: C_ℓ ℓ² + C_N‖a‖²‖b‖², products and
    rounded inputs included) are at least that."""
    rng = np.random.default_rng(d)
    a = rng.normal(size=d)
    b = 0.7 * a + 0.3 * rng.normal(size=d)
    ell, n2 = a @ b, (a @ a) * (b @ b)
    draws = []
    for _ in range(4000):
        q, r = np.linalg.qr(rng.normal(size=(d, d)))
        q = q * np.sign(np.diag(r))
        draws.append(np.sum(np.cumsum((q @ a) * (q @ b)) ** 2))
    m = np.arange(1, d + 1)
    beta = m * (d - m) / (d * (d - 1) * (d + 2))
    exact = np.sum((m / d - d * beta) * ell**2 + beta * n2)
    assert np.mean(draws) == pytest.approx(exact, rel=0.05)
    cl, cn = divergence._tree(d)
    assert cl * ell**2 + cn * n2 >= exact
    q = divergence._haar(d)
    np.testing.assert_allclose(q.T @ q, np.eye(d), atol=1e-12)
    np.testing.assert_array_equal(q, divergence._haar(d))  # seeded: the same basis each call
