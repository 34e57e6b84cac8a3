"""Constructors of models with known answers (simident.theory.constructors): random models
with chosen dimensions, the E6 transformations, and the P1–P5 counterexamples. Each
constructor must deliver exactly what it promises, keep the distribution where it says so,
and refuse when the theory leaves no room (diversity)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simident.theory import constructors as C
from simident.theory.equivalence import compare_models, spans
from tests._compare import run_compare

from ._models import (
    ANY,
    ANY_SMALL,
    DIVERSE,
    SEEDS,
    SIZES,
    SMALL,
    centered,
    dims,
    lstsq,
    model,
    naive_residual,
    orth,
)


@st.composite
def raw_dims(draw):
    """(n, V, d, dim_E, dim_U, k), feasible or not, on random shapes."""
    n, V, d = draw(SIZES)
    dim_E, dim_U, k = (draw(st.integers(0, d)) for _ in range(3))
    return n, V, d, dim_E, dim_U, k


@given(tup=raw_dims(), seed=SEEDS)
def test_check_dims_accepts_exactly_the_realisable_dimensions(tup, seed):
    """check_dims accepts (n, V, d, dim E, dim U, k) iff k ≤ min(dim E, dim U) and
    dim E + dim U − k ≤ d (dim(E ∩ U⊥) ≤ dim U⊥); accepted ones are realised exactly."""
    n, V, d, dim_E, dim_U, k = tup
    feasible = k <= min(dim_E, dim_U) and dim_E + dim_U - k <= d
    if not feasible:
        with pytest.raises(ValueError):
            C.check_dims(*tup)
        return
    C.check_dims(*tup)
    F, G = C.random_model(np.random.default_rng(seed), *tup)
    assert F.shape == (n, d) and G.shape == (V, d)
    if k == 0:  # L = 0 exactly; the rank decision on pure rounding noise is a known
        # limitation (see test_oracles.test_E2_uniform_distribution_has_k_zero)
        return
    sp = spans(F, G)
    assert (sp.dim_E, sp.dim_U, sp.k) == (dim_E, dim_U, k)


def test_check_dims_rejects_spans_larger_than_the_data():
    """dim E ≤ n (n contexts) and dim U ≤ V − 1 (centering removes one direction)."""
    with pytest.raises(ValueError, match="dim_E ≤ n"):
        C.check_dims(3, 10, 6, 4, 2, 2)
    with pytest.raises(ValueError, match="V - 1"):
        C.check_dims(10, 4, 6, 2, 4, 2)
    C.check_dims(4, 5, 6, 4, 4, 2)


@given(D=ANY, seed=SEEDS)
def test_free_directions_have_the_planted_dimensions(D, seed):
    """free_directions: dim E∩U⊥ = dim E − k, dim U∩E⊥ = dim U − k, dim E⊥ = d − dim E,
    dim U⊥ = d − dim U, and each basis is orthogonal to what it must be."""
    F, G = model(np.random.default_rng(seed), D)
    fd = C.free_directions(F, G)
    shapes = {key: fd[key].shape[1] for key in fd}
    assert shapes == {
        "E": D.dim_E,
        "U": D.dim_U,
        "Eperp": D.d - D.dim_E,
        "Uperp": D.d - D.dim_U,
        "E_cap_Uperp": D.a,
        "U_cap_Eperp": D.b,
    }
    Gc = centered(G)
    assert np.abs(F @ fd["Eperp"]).max(initial=0) < 1e-9
    assert np.abs(Gc @ fd["Uperp"]).max(initial=0) < 1e-9
    assert np.abs(Gc @ fd["E_cap_Uperp"]).max(initial=0) < 1e-9
    assert np.abs(F @ fd["U_cap_Eperp"]).max(initial=0) < 1e-9


@given(d=st.integers(1, 8), log_cond=st.floats(0, 3), seed=SEEDS)
def test_random_invertible_has_the_requested_conditioning(d, log_cond, seed):
    """Singular values of random_invertible lie in [1/sqrt(cond), sqrt(cond)]."""
    cond = 10.0**log_cond
    s = np.linalg.svd(C.random_invertible(np.random.default_rng(seed), d, cond), compute_uv=False)
    assert s.min() >= (1 - 1e-12) / np.sqrt(cond) and s.max() <= (1 + 1e-12) * np.sqrt(cond)


@given(D=ANY, seed=SEEDS)
def test_free_parts_are_orthogonal_to_the_seen_span(D, seed):
    """E6 constructors: add_context_free_part adds a(s) ⊥ U (only on the given rows),
    add_token_free_part adds b̄(y) ⊥ E (plus a common offset); pad adds per-context
    constants only. All keep F Ḡᵀ."""
    rng = np.random.default_rng(seed)
    F, G = model(rng, D)
    U, E = orth(centered(G)), orth(F)
    rows = [0, 2, 3]
    F2, G2 = C.add_context_free_part(rng, F, G, 2.0, rows=rows)
    assert np.array_equal(G2, G)
    untouched = [i for i in range(D.n) if i not in rows]
    assert np.array_equal(F2[untouched], F[untouched])
    np.testing.assert_allclose((F2 - F) @ U, 0.0, atol=1e-10)
    assert (np.linalg.norm(F2 - F) > 1e-3) == (D.dim_U < D.d)
    F3, G3 = C.add_token_free_part(rng, F, G, 2.0)
    assert np.array_equal(F3, F)
    np.testing.assert_allclose(centered(G3 - G) @ E, 0.0, atol=1e-10)
    assert (np.linalg.norm(centered(G3 - G)) > 1e-3) == (D.dim_E < D.d)
    F4, G4 = C.pad(rng, F, G, extra_context=2, extra_token=1)
    assert F4.shape == (D.n, D.d + 3) and G4.shape == (D.V, D.d + 3)
    logits_change = F4 @ G4.T - F @ G.T
    np.testing.assert_allclose(logits_change - logits_change[:, :1], 0.0, atol=1e-10)
    for Fx, Gx in ((F2, G2), (F3, G3), (F4, G4)):
        assert naive_residual(F, G, Fx, Gx) < 1e-10


@given(D=ANY_SMALL, seed=SEEDS)
def test_minimal_model_is_equivalent_and_diverse_with_d_equal_k(D, seed):
    """minimal_model: the equivalent (Φ, Ψ) of dimension k, diverse (E = U = R^k)."""
    F, G = model(np.random.default_rng(seed), D)
    Fm, Gm = C.minimal_model(F, G)
    assert Fm.shape == (D.n, D.k) and Gm.shape == (D.V, D.k)
    eq = compare_models(F, G, Fm, Gm, kl=False)
    assert eq.equivalent and eq.b.diverse and eq.b.k == D.k


@given(D=ANY, seed=SEEDS, lam=st.floats(-3, 3))
def test_planting_parallel_differences_changes_one_row_only(D, seed, lam):
    """plant_parallel_unembedding sets g(b) = g(a) + λ(g(d) − g(c)); the embedding version
    sets f(s1) = f(s0) + λ(f(s3) − f(s2)); all other rows stay."""
    rng = np.random.default_rng(seed)
    F, G = model(rng, D)
    a, b, c, d = (int(i) for i in rng.choice(min(D.n, D.V), 4, replace=False))
    G2 = C.plant_parallel_unembedding(G, (a, b, c, d), lam)
    np.testing.assert_allclose(G2[b] - G2[a], lam * (G2[d] - G2[c]), atol=1e-12)
    F2 = C.plant_parallel_embedding(F, (a, b, c, d), lam)
    np.testing.assert_allclose(F2[b] - F2[a], lam * (F2[d] - F2[c]), atol=1e-12)
    others = [i for i in range(min(D.n, D.V)) if i != b]
    assert np.array_equal(G2[others], G[others]) and np.array_equal(F2[others], F[others])


@given(D=DIVERSE, seed=SEEDS)
def test_counterexamples_refuse_under_diversity(D, seed):
    """Under diversity there is no free direction: breaking parallelism, an invisible probe,
    steering outside E and a relation without inclusion are impossible (ValueError)."""
    rng = np.random.default_rng(seed)
    F, G = model(rng, D)
    with pytest.raises(ValueError, match="diversity"):
        C.break_parallel_unembedding(rng, F, G, token=0)
    with pytest.raises(ValueError, match="diversity"):
        C.break_parallel_embedding(rng, F, G, context=0)
    with pytest.raises(ValueError):
        C.probe_values(F, G, [0, 1, 2], visible=False)
    with pytest.raises(ValueError):
        C.steering_outside_E(rng, F, G)
    with pytest.raises(ValueError, match="dim_E > k"):
        C.relational_model(rng, D.n // 2, D.V, D.d, D.d, D.d, D.d, inclusion=False)


@given(D=dims(lambda D: D.dim_E < D.d), seed=SEEDS)
def test_break_parallel_unembedding_moves_one_token_within_E_perp(D, seed):
    """P1 counterexample: g(token) += w with w ⊥ E, w ≠ 0; p unchanged."""
    rng = np.random.default_rng(seed)
    F, G = model(rng, D)
    F2, G2 = C.break_parallel_unembedding(rng, F, G, token=3)
    delta = G2 - G
    assert np.array_equal(F2, F) and np.linalg.norm(delta[3]) > 1e-6
    assert np.count_nonzero(np.linalg.norm(delta, axis=1)) == 1
    np.testing.assert_allclose(F @ delta[3], 0.0, atol=1e-10)
    assert naive_residual(F, G, F2, G2) < 1e-10


@given(D=dims(lambda D: D.dim_U < D.d), seed=SEEDS)
def test_break_parallel_embedding_moves_one_context_within_U_perp(D, seed):
    """P2 counterexample: f(context) += w with w ⊥ U, w ≠ 0; p unchanged."""
    rng = np.random.default_rng(seed)
    F, G = model(rng, D)
    F2, G2 = C.break_parallel_embedding(rng, F, G, context=2)
    delta = F2 - F
    assert np.array_equal(G2, G) and np.linalg.norm(delta[2]) > 1e-6
    assert np.count_nonzero(np.linalg.norm(delta, axis=1)) == 1
    np.testing.assert_allclose(centered(G) @ delta[2], 0.0, atol=1e-10)
    assert naive_residual(F, G, F2, G2) < 1e-10


@given(D=dims(lambda D: D.a >= 1, sizes=SMALL), inclusion=st.booleans(), seed=SEEDS)
def test_relational_model_plants_the_relation_with_requested_dims(D, inclusion, seed):
    """relational_model: f(s⊕q) = A f(s) + b holds exactly on the returned pairs, the model
    has the requested dim E, dim U, k, and IC(A) holds iff inclusion=True, which shows as
    D3 (the distribution-level form) holding iff inclusion=True."""
    rng = np.random.default_rng(seed)
    F, G, pairs = C.relational_model(
        rng, D.n // 2, D.V, D.d, D.dim_E, D.dim_U, D.k, inclusion=inclusion
    )
    assert F.shape == (2 * (D.n // 2), D.d) and len(pairs) == D.n // 2
    sp = spans(F, G)
    assert (sp.dim_E, sp.dim_U, sp.k) == (D.dim_E, D.dim_U, D.k)
    S, Q = [s for s, _ in pairs], [q for _, q in pairs]
    Xa = np.hstack([F[S], np.ones((len(S), 1))])
    W = lstsq(Xa, F[Q])
    assert np.linalg.norm(Xa @ W - F[Q]) < 1e-9 * np.linalg.norm(F[Q])
    r = run_compare(
        F, G, F, G, properties=[{"kind": "relational", "name": "q", "pairs": pairs}], kl=False
    )
    assert r["properties"][0]["distribution_level"] == inclusion


@given(D=ANY, visible=st.booleans(), seed=SEEDS)
def test_probe_values_read_the_requested_direction(D, visible, seed):
    """probe_values: z = w·f + β with w ∈ U (visible: z is affine in the centered logits) or
    w ∈ E ∩ U⊥ (invisible: the recovered w has no component in U); refuses an invisible
    probe when E ∩ U⊥ = {0}."""
    rng = np.random.default_rng(seed)
    F, G = model(rng, D)
    ctx = list(range(D.n))
    if not visible and D.a == 0:
        with pytest.raises(ValueError):
            C.probe_values(F, G, ctx, visible=False, rng=rng)
        return
    z = C.probe_values(F, G, ctx, visible=visible, rng=rng)
    Xa = np.hstack([F, np.ones((D.n, 1))])
    W = lstsq(Xa, z)
    assert np.linalg.norm(Xa @ W - z) < 1e-9 * (1 + np.linalg.norm(z))
    w = W[:-1]
    U = orth(centered(G))
    E = orth(F)
    w_E = E @ (E.T @ w)  # only the part of w in E is determined by the data
    if visible:
        # w can be taken in U: z is a linear function of the centered logits
        L = F @ centered(G).T
        Wl = lstsq(np.hstack([L, np.ones((D.n, 1))]), z)
        assert np.linalg.norm(np.hstack([L, np.ones((D.n, 1))]) @ Wl - z) < 1e-8 * (
            1 + np.linalg.norm(z)
        )
    else:
        assert np.linalg.norm(U.T @ w_E) < 1e-8 * (1 + np.linalg.norm(w_E))
        assert np.linalg.norm(w_E) > 1e-8


@given(D=dims(lambda D: D.b >= 1), seed=SEEDS)
def test_steering_outside_E_lies_in_U_cap_E_perp(D, seed):
    """steering_outside_E: v ∈ U ∩ E⊥, v ≠ 0, so Ḡv ∉ col(Lᵀ) = Ḡ(E)."""
    rng = np.random.default_rng(seed)
    F, G = model(rng, D)
    v = C.steering_outside_E(rng, F, G)
    U, Gc = orth(centered(G)), centered(G)
    assert np.linalg.norm(v) > 1e-6
    np.testing.assert_allclose(F @ v, 0.0, atol=1e-10 * np.linalg.norm(v))
    np.testing.assert_allclose(U @ (U.T @ v), v, atol=1e-10 * np.linalg.norm(v))
    L = F @ Gc.T
    shift = Gc @ v
    coef = lstsq(L.T, shift)
    assert np.linalg.norm(L.T @ coef - shift) > 1e-6 * np.linalg.norm(shift)
