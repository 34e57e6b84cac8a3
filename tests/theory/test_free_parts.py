"""Free parts and canonical correlations (THEORY.md E3, E6), on oracle models."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simident.theory.constructors import minimal_model, pad, random_invertible
from simident.theory.free_parts import canonical_correlations, free_parts, random_cancorr


def _world(seed, n=20, V=9, k=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, k)), rng.normal(size=(V, k))


@given(seed=st.integers(0, 10_000))
def test_canonical_correlations_ignore_invertible_maps(seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(30, 4))
    cc = canonical_correlations(A, A @ random_invertible(rng, 4))
    np.testing.assert_allclose(cc, np.ones(4), atol=1e-8)


def test_canonical_correlations_of_orthogonal_spaces_are_zero():
    A = np.zeros((6, 1))
    B = np.zeros((6, 1))
    A[:3, 0] = [1, -1, 0]
    B[3:, 0] = [1, -1, 0]
    np.testing.assert_allclose(canonical_correlations(A, B), [0.0], atol=1e-12)
    assert canonical_correlations(np.zeros((5, 2)), A[:5]).size == 0


def test_random_baseline_lies_strictly_between():
    r = random_cancorr(40, 3, 3, draws=5)
    assert 0.0 < r < 1.0


@given(seed=st.integers(0, 10_000))
def test_minimal_model_has_no_free_part_and_a_padded_one_has(seed):
    rng = np.random.default_rng(seed)
    F, G = minimal_model(*_world(seed))
    fp = free_parts(F, G, k=F.shape[1])
    assert fp.f_ratio < 1e-8 and fp.g_ratio < 1e-8
    Fp, Gp = pad(rng, F, G, 2, 1)
    fp = free_parts(Fp, Gp, k=F.shape[1])
    assert fp.f_ratio > 1e-3 and fp.g_ratio > 1e-3
    np.testing.assert_allclose(fp.F_id + fp.F_free, Fp, atol=1e-10)


def test_restrict_renumbers_and_drops():
    """`simident.specs.restrict` (the one restriction, used by compare(contexts=...))."""
    from simident.comparison.properties import parse_properties, restrict

    props = [
        {"kind": "parallel_unembedding", "name": "p", "pairs": [[0, 1], [2, 3]]},
        {"kind": "relational", "name": "r", "pairs": [[0, 1], [2, 5], [4, 2]]},
        {"kind": "steering", "name": "s", "pairs": [[5, 1]]},
        {"kind": "probe", "name": "q", "contexts": [0, 2, 5], "values": [1.0, 2.0, 3.0]},
    ]
    specs, notes = restrict(parse_properties(props, 6, 6, 3), [4, 2, 0, 1])
    out = {p.name: p for p in specs}
    assert [list(x) for x in out["p"].pairs] == [[0, 1], [2, 3]]  # token ids: untouched
    assert [list(x) for x in out["r"].pairs] == [[2, 3], [0, 1]]
    assert "s" not in out and any(n.startswith("s: dropped") for n in notes)  # 5 is gone
    assert list(out["q"].contexts) == [2, 1] and list(out["q"].values) == [1.0, 2.0]
