"""The generator hits the spec exactly and plants what it says (THEORY.md §2-3).

Every planted property is checked with `simident.compare.run_compare` on the truth
against itself: it must hold at the model level, and its distribution-level form must
hold exactly when THEORY.md says so (relations: iff the inclusion condition holds;
probes: iff visible; parallel unembedding differences: always).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings

from simident.theory.logits import centered_logits, log_probs
from simident.worlds import WorldSpec, example_spec, generate_world
from simident.worlds.contexts import onehot_design
from simident.worlds.sampling import sample_next_tokens
from tests._compare import run_compare

from ._specs import valid_specs

EXPECTED_DIST = {
    "relational": lambda p: p["inclusion"],
    "probe": lambda p: p["visible"],
    "parallel_unembedding": lambda p: True,
}


def _affine_residual(X, Y) -> float:
    """sqrt(SSE/SST) of the least-squares affine fit Y ≈ X W + c."""
    X1 = np.concatenate([X, np.ones((X.shape[0], 1))], axis=1)
    W, *_ = np.linalg.lstsq(X1, Y, rcond=None)
    Yc = Y - Y.mean(axis=0)
    return float(np.linalg.norm(Y - X1 @ W) / np.linalg.norm(Yc))


@given(spec=valid_specs())
def test_spans_and_planted_properties_hold(spec):
    w = generate_world(spec)
    r = run_compare(w.F, w.G, w.F, w.G, properties=w.properties, kl=False)
    assert (r["a"]["dim_E"], r["a"]["dim_U"], r["k"]) == (spec.rank_E, spec.rank_U, spec.k)
    assert (w.measured["dim_E"], w.measured["dim_U"], w.measured["k"]) == (
        spec.rank_E,
        spec.rank_U,
        spec.k,
    )
    names = [p["name"] for p in r["properties"]]
    assert names == [p["name"] for p in w.properties]
    expected_names = (
        [q.name for q in spec.queries]
        + [f"parallel_{i}" for i in range(spec.n_parallel)]
        + [p.name for p in spec.probes]
    )
    assert sorted(names) == sorted(expected_names)
    for planted, got in zip(w.properties, r["properties"]):
        assert got["holds_a"], got
        assert got["distribution_level"] == EXPECTED_DIST[planted["kind"]](planted), got


@given(spec=valid_specs())
def test_conditioning_and_logit_scale(spec):
    """Nonzero singular values of F, Ḡ, L within ~spectrum_ratio; logit RMS as asked."""
    w = generate_world(spec)
    m = w.measured
    for key in ("sigma_ratio_F", "sigma_ratio_G", "sigma_ratio_L"):
        assert m[key] >= 0.5 / spec.spectrum_ratio, (key, m[key])
    L = np.asarray(centered_logits(w.F, w.G))
    rms = np.sqrt(np.mean(np.var(L, axis=1)))
    assert rms == pytest.approx(spec.logit_scale, rel=1e-9)
    assert m["logit_std"]["rms"] == pytest.approx(spec.logit_scale, rel=1e-9)


@given(spec=valid_specs())
def test_contexts_split_and_relations(spec):
    """Context order, distinctness, pairs, split; f(s⊕q) = A_q f(s) + b_q; IC(A_q) as asked."""
    w = generate_world(spec)
    n, nq = spec.n_contexts, len(spec.queries)
    assert w.n == n * (1 + nq) == len(w.contexts)
    assert len({tuple(c) for c in w.contexts}) == w.n
    assert all(0 <= t < spec.vocab_size for c in w.contexts for t in c)
    assert all(len(c) == spec.context_length for c in w.contexts[:n])
    assert sorted(np.concatenate([w.train_ids, w.heldout_ids]).tolist()) == list(range(w.n))
    held = set(w.heldout_ids.tolist())
    assert len(held) == spec.n_heldout * (1 + nq)
    Q = np.asarray(w.extra["layout"]["Q"])
    b = w.extra["layout"]["blocks"]
    N = Q[:, b["E_cap_Uperp"][0] : b["E_cap_Uperp"][1]]
    U = Q[:, np.r_[b["K"][0] : b["K"][1], b["U_cap_Eperp"][0] : b["U_cap_Eperp"][1]]]
    for j, (q, qs) in enumerate(zip(w.queries, spec.queries)):
        assert q["name"] == qs.name and q["inclusion"] == qs.inclusion
        if qs.tokens is not None:
            assert q["tokens"] == list(qs.tokens)
        for s, sq in q["pairs"]:
            assert sq == n * (1 + j) + s
            assert w.contexts[sq] == w.contexts[s] + q["tokens"]
            assert (s in held) == (sq in held)
        A = np.asarray(w.extra["planted"]["queries"][j]["A"])
        bq = np.asarray(w.extra["planted"]["queries"][j]["b"])
        S, SQ = np.asarray(q["pairs"]).T
        np.testing.assert_allclose(w.F[SQ], w.F[S] @ A.T + bq, atol=1e-12)
        leak = np.linalg.norm(U.T @ A @ N) if N.shape[1] else 0.0
        assert (leak < 1e-12) == qs.inclusion


@given(spec=valid_specs())
@settings(max_examples=10)
def test_compositional_f_is_affine_in_token_positions(spec):
    """compositional: f*(s) = Σ_t P_t x(s_t) + c, i.e. F affine in the one-hot design."""
    spec = dataclasses.replace(spec, context_kind="compositional")
    w = generate_world(spec)
    n = spec.n_contexts
    X = np.asarray(w.contexts[:n])
    assert _affine_residual(onehot_design(X, spec.vocab_size), w.F[:n]) < 1e-10


@given(spec=valid_specs())
@settings(max_examples=10)
def test_same_seed_same_world(spec):
    a, b = generate_world(spec), generate_world(spec.to_dict())
    assert a.world_id == b.world_id
    np.testing.assert_array_equal(a.F, b.F)
    np.testing.assert_array_equal(a.G, b.G)
    assert a.contexts == b.contexts and a.queries == b.queries
    assert a.properties == b.properties
    np.testing.assert_array_equal(a.train_ids, b.train_ids)
    c = generate_world(dataclasses.replace(spec, seed=spec.seed + 1))
    assert c.world_id != a.world_id and not np.array_equal(c.F, a.F)


def test_samples_follow_the_truth():
    """Sampled next tokens: frequencies match p*, independent of the chunk size."""
    spec = dataclasses.replace(example_spec("tiny"), n_samples=4000, queries=(), probes=())
    w = generate_world(spec)
    assert w.samples.shape == (w.n, 4000) and w.samples.dtype == np.int32
    p = np.exp(np.asarray(log_probs(w.F, w.G)))
    freq = np.stack([np.bincount(row, minlength=w.V) for row in w.samples]) / 4000
    # each frequency is within 5 binomial standard deviations of p
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / 4000) + 1e-3)
    again = sample_next_tokens(w.F, w.G, 4000, spec.seed, chunk=5)
    np.testing.assert_array_equal(again, w.samples)


def test_large_world_shape_and_spans():
    """A mid-sized world (V = 2000, 3000 base contexts, d = 16) with low diversity."""
    spec = WorldSpec(
        vocab_size=2000,
        d=16,
        n_contexts=3000,
        rank_E=12,
        rank_U=10,
        k=8,
        context_length=3,
        queries=[{"name": "q", "inclusion": False}],
        probes=[{"name": "z", "visible": False}],
        n_parallel=4,
    )
    w = generate_world(spec)
    assert w.F.shape == (6000, 16) and w.G.shape == (2000, 16)
    assert (w.measured["dim_E"], w.measured["dim_U"], w.measured["k"]) == (12, 10, 8)
