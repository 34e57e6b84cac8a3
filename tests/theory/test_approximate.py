"""THEORY.md §4 (A1-A4): what closeness of distributions carries over to structure.

A1  identified misfits ≤ ‖Δ‖_F² / (σ_k Σ_{i≤k} σ_i), both sides, any pair, any k.
A2  Hoeffding: KL(s) ≤ (max δ − min δ)² / 8; rare tokens: KL → 0 while the logit
    residual stays put; KL stays finite and accurate for large logits.
A3  r_p (probability-weighted residual) equals its dense definition.
A4  rank decisions at the pair's noise level: exact pairs keep §2's k; a planted rank-k
    truth plus independent noise well below σ_k gives k̂ = k; k ≤ min(d_a, d_b).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simident.theory import constructors as C
from simident.theory.divergence import kl_per_context
from simident.theory.equivalence import compare_models, spans
from simident.theory.logits import centered_logits

from ._models import ANY, SEEDS, model, naive_kl, perturbed


def _dense_a1(Fa, Ga, Fb, Gb, k):
    La, Lb = np.asarray(centered_logits(Fa, Ga)), np.asarray(centered_logits(Fb, Gb))
    U, s, Vt = np.linalg.svd((La + Lb) / 2)
    w = 1 / np.sqrt(s[:k])
    Pa, Pb = La @ Vt[:k].T * w, Lb @ Vt[:k].T * w
    Qa, Qb = La.T @ U[:, :k] * w, Lb.T @ U[:, :k] * w
    total = s[:k].sum()
    bound = np.sum((La - Lb) ** 2) / (s[k - 1] * total)
    return np.sum((Pa - Pb) ** 2) / total, np.sum((Qa - Qb) ** 2) / total, bound


@given(D=ANY, seed=SEEDS, log_eps=st.floats(-6, 0), use_k=st.booleans())
def test_A1_identified_misfits_are_bounded_by_the_logit_distance(D, seed, log_eps, use_k):
    """A1 on random pairs, both sides: misfit_f, misfit_g ≤ ‖Δ‖²/(σ_k Σσ), equal to the
    dense computation, for the estimated k and for a forced k."""
    rng = np.random.default_rng(seed)
    Fa, Ga = model(rng, D)
    Fb, Gb = perturbed(rng, Fa, Ga, 10.0**log_eps)
    eq = compare_models(Fa, Ga, Fb, Gb, kl=False, k=D.k if use_k else None)
    k = eq.k.rank
    if k == 0:
        return
    mf, mg, bound = _dense_a1(Fa, Ga, Fb, Gb, k)
    assert eq.identified_misfit_f == pytest.approx(mf, rel=1e-6, abs=1e-20)
    assert eq.identified_misfit_g == pytest.approx(mg, rel=1e-6, abs=1e-20)
    assert eq.a1_bound == pytest.approx(bound, rel=1e-6, abs=1e-20)
    slack = 1 + 1e-9
    assert eq.identified_misfit_f <= eq.a1_bound * slack + 1e-25
    assert eq.identified_misfit_g <= eq.a1_bound * slack + 1e-25


@given(D=ANY, seed=SEEDS, log_eps=st.floats(-4, 0.5))
def test_A2_hoeffding_bounds_the_kl_by_the_logit_spread(D, seed, log_eps):
    """A2 (⇒): per context KL(p_a ‖ p_b) ≤ (max_y δ − min_y δ)² / 8."""
    rng = np.random.default_rng(seed)
    Fa, Ga = model(rng, D)
    Fb, Gb = perturbed(rng, Fa, Ga, 10.0**log_eps)
    kl = np.asarray(kl_per_context(Fa, Ga, Fb, Gb))
    delta = np.asarray(centered_logits(Fa, Ga)) - np.asarray(centered_logits(Fb, Gb))
    spread = delta.max(axis=1) - delta.min(axis=1)
    assert np.all(kl >= 0)
    assert np.all(kl <= spread**2 / 8 * (1 + 1e-9) + 1e-15)


def _rare_token_pair(M: float, seed: int = 0):
    """Token 0 has logit −M in every context (a bias coordinate); model b moves g(0) by a
    fixed vector in the other coordinates. L changes by a fixed amount, KL ∝ e^{−M}."""
    rng = np.random.default_rng(seed)
    n, V, d = 30, 12, 5
    F = np.concatenate([rng.normal(size=(n, d - 1)), np.ones((n, 1))], axis=1)
    G = np.concatenate([rng.normal(size=(V, d - 1)), np.zeros((V, 1))], axis=1)
    G[0, -1] = -M
    Gb = G.copy()
    Gb[0, :-1] += 1.5
    return F, G, F, Gb


def test_A2_rare_tokens_leave_the_kl_small_while_the_logits_stay_apart():
    """A2 (⇍): as token 0 becomes improbable the KL → 0, the logit residual does not."""
    rows = []
    for M in (0.0, 10.0, 20.0, 30.0):
        eq = compare_models(*_rare_token_pair(M))
        rows.append((M, eq.kl_mean, eq.logit_residual, eq.weighted_residual))
    kls = [r[1] for r in rows]
    assert all(b < a * 1e-3 for a, b in zip(kls[1:], kls[2:]))  # falls like e^{−M}
    assert kls[-1] < 1e-10
    residuals = [r[2] for r in rows[1:]]
    assert min(residuals) > 0.05  # the logits stay apart ...
    assert rows[-1][3] < 1e-4 * rows[-1][2]  # ... while r_p (weighted by p̄) vanishes


@pytest.mark.parametrize("scale", [1.0, 30.0, 300.0])
def test_kl_is_finite_and_accurate_for_large_logits(scale):
    """KL(p_a ‖ p_b) stays finite and matches a stable dense float64 reference when the
    logits are scaled up (×30 gave NaN before)."""
    rng = np.random.default_rng(1)
    Fa, Ga = rng.normal(size=(20, 4)), rng.normal(size=(9, 4))
    Fb, Gb = Fa + 0.3 * rng.normal(size=Fa.shape), Ga
    Fa, Fb = scale * Fa, scale * Fb
    kl = np.asarray(kl_per_context(Fa, Ga, Fb, Gb))
    assert np.all(np.isfinite(kl)) and np.all(kl >= 0)
    la, lb = Fa @ Ga.T, Fb @ Gb.T
    lpa = la - np.logaddexp.reduce(la, axis=1, keepdims=True)
    lpb = lb - np.logaddexp.reduce(lb, axis=1, keepdims=True)
    ref = np.sum(np.exp(lpa) * (lpa - lpb), axis=1)
    np.testing.assert_allclose(kl, ref, rtol=1e-6, atol=1e-9 * scale**2)
    eq = compare_models(Fa, Ga, Fb, Gb)
    assert np.isfinite(eq.kl_mean) and np.isfinite(eq.weighted_residual)


@given(D=ANY, seed=SEEDS, log_eps=st.floats(-4, 0))
def test_A3_weighted_residual_matches_its_definition(D, seed, log_eps):
    """r_p² = Σ p̄ (δ − E_p̄ δ)² / Σ p̄ (ℓ̄ − E_p̄ ℓ̄)², p̄ the mean of the two distributions."""
    rng = np.random.default_rng(seed)
    Fa, Ga = model(rng, D)
    Fb, Gb = perturbed(rng, Fa, Ga, 10.0**log_eps)
    eq = compare_models(Fa, Ga, Fb, Gb)
    la, lb = Fa @ Ga.T, Fb @ Gb.T
    pa = np.exp(la - np.logaddexp.reduce(la, axis=1, keepdims=True))
    pb = np.exp(lb - np.logaddexp.reduce(lb, axis=1, keepdims=True))
    p = (pa + pb) / 2
    d, m = la - lb, (la + lb) / 2
    dc = d - np.sum(p * d, axis=1, keepdims=True)
    mc = m - np.sum(p * m, axis=1, keepdims=True)
    ref = np.sqrt(np.sum(p * dc**2) / np.sum(p * mc**2))
    assert eq.weighted_residual == pytest.approx(ref, rel=1e-6)
    np.testing.assert_allclose(
        np.asarray(kl_per_context(Fa, Ga, Fb, Gb)), naive_kl(Fa, Ga, Fb, Gb), rtol=1e-6, atol=1e-14
    )


@given(D=ANY, seed=SEEDS)
def test_A4_exact_pairs_keep_the_exact_k(D, seed):
    """A4 reduces to §2's rule for exactly equivalent pairs: k is the truth's."""
    rng = np.random.default_rng(seed)
    F, G = model(rng, D)
    Fb, Gb = C.transform(F, G, C.random_invertible(rng, D.d))
    eq = compare_models(F, G, Fb, Gb, kl=False)
    assert eq.k.rank == spans(F, G).k == D.k
    assert eq.k.decided_by in ("tol", "floor")


@given(
    k=st.integers(1, 5),
    d_extra=st.integers(0, 3),
    seed=SEEDS,
    log_noise=st.floats(-6, -3),
)
def test_A4_planted_rank_k_plus_noise_gives_k(k, d_extra, seed, log_noise):
    """L_x = L* + E_x with rank(L*) = k, independent noise well below σ_k(L*): k̂ = k; and
    k̂ never exceeds min(d_a, d_b) (the pair's L̄ can have rank d_a + d_b)."""
    rng = np.random.default_rng(seed)
    n, V, d = 40, 16, k + d_extra
    # truth: rank k with σ_k(L*) ≥ about 1 (well conditioned factors)
    Q1, _ = np.linalg.qr(rng.normal(size=(n, k)))
    Q2, _ = np.linalg.qr(rng.normal(size=(V, k)) - 0)
    s = np.linspace(2.0, 1.0, k) * 3.0
    Fs = np.zeros((n, d))
    Gs = np.zeros((V, d))
    Fs[:, :k] = Q1 * s
    Gs[:, :k] = Q2
    noise = 10.0**log_noise
    Fa, Ga = Fs + noise * rng.normal(size=Fs.shape), Gs + noise * rng.normal(size=Gs.shape)
    Fb, Gb = Fs + noise * rng.normal(size=Fs.shape), Gs + noise * rng.normal(size=Gs.shape)
    eq = compare_models(Fa, Ga, Fb, Gb, kl=False, tol=1e-12)
    sk = np.linalg.svd(np.asarray(centered_logits(Fs, Gs)), compute_uv=False)[k - 1]
    assert eq.delta_2 < sk / 10  # the noise is well below σ_k
    assert eq.k.rank == k
    assert eq.k.rank <= min(Fa.shape[1], Fb.shape[1])
    assert eq.k.sigma_k > eq.k.threshold >= eq.k.sigma_k1


def test_A4_k_never_exceeds_the_smaller_dimension():
    """Two unrelated models of dimensions 3 and 5: L̄ has rank up to 8, k̂ ≤ 3."""
    rng = np.random.default_rng(0)
    Fa, Ga = rng.normal(size=(30, 3)), rng.normal(size=(12, 3))
    Fb, Gb = rng.normal(size=(30, 5)), rng.normal(size=(12, 5))
    for tol in (1e-12, 1e-3):
        eq = compare_models(Fa, Ga, Fb, Gb, kl=False, tol=tol)
        assert eq.k.rank <= 3


@given(D=ANY, seed=SEEDS, pad=st.booleans())
def test_exact_pairs_decide_every_verdict(D, seed, pad):
    """Three-valued verdicts reduce to two values on exactly equivalent pairs: the band
    collapses to tol, so relations, probes and parallel differences are all decided."""
    import simident as si

    from ._models import equivalent_variant

    rng = np.random.default_rng(seed)
    F, G = model(rng, D)
    Fb, Gb = equivalent_variant(rng, F, G, pad=pad)
    ids = rng.permutation(D.n)
    props = [
        si.Relational("rel", tuple((int(a), int(b)) for a, b in zip(ids[:6], ids[6:12]))),
        si.Probe("probe", tuple(int(i) for i in ids[:8]), tuple(rng.normal(size=8))),
        si.Probe("visible", tuple(int(i) for i in ids[:8]), tuple(F[ids[:8]] @ (G[0] - G.mean(0)))),
        si.ParallelUnembedding("par", ((0, 1), (2, 3))),
    ]
    c = si.compare((F, G), (Fb, Gb), properties=props, kl=False)
    assert c.equivalent
    for p in c.properties:
        assert p.band.lower == p.band.upper == c.tol
        for v in (p.holds_a, p.holds_b, p.distribution_level, p.shared, p.guaranteed):
            assert v is not None, (p.name, p.to_dict())
    assert c.property("visible").distribution_level is True
