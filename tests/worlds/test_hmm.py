"""The HMM process: the forward recursion equals brute-force enumeration over hidden
paths; sampling follows the law; its world is only numerically low-rank, P has rank ≤ H;
a user-defined process (the docs/world.md example) builds a world."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simident.worlds import HMMSpec, Process, generate_world, sample_world
from simident.worlds.hmm import HMM
from simident.worlds.process import exact_log_probs


def _brute_force(hmm: HMM, prefix) -> np.ndarray:
    """p(y | prefix) = Σ_paths p(prefix, y, path) / Σ_paths p(prefix, path)."""
    H, t = len(hmm.pi), len(prefix)
    joint = np.zeros(hmm.vocab_size)
    for path in itertools.product(range(H), repeat=t + 1):
        p = hmm.pi[path[0]]
        for i in range(t):
            p *= hmm.B[path[i], prefix[i]] * hmm.A[path[i], path[i + 1]]
        joint += p * hmm.B[path[t]]
    return joint / joint.sum()


@given(
    H=st.integers(1, 3),
    V=st.integers(2, 4),
    t=st.integers(1, 4),
    c=st.sampled_from([0.3, 1.0, 5.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_forward_recursion_equals_brute_force(H, V, t, c, seed):
    rng = np.random.default_rng(seed)
    hmm = HMM.draw(rng, H, V, c)
    X = rng.integers(0, V, size=(5, t))
    got = np.exp(hmm.log_probs(X))
    want = np.stack([_brute_force(hmm, row) for row in X])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-300)


def test_sampling_follows_the_law():
    hmm = HMM.draw(np.random.default_rng(0), 3, 4, 1.0)
    n = 20000
    seqs = hmm.sample(np.random.default_rng(1), n, 3)
    p1 = hmm.pi @ hmm.B
    f1 = np.bincount(seqs[:, 0], minlength=4) / n
    assert np.all(np.abs(f1 - p1) <= 5 * np.sqrt(p1 * (1 - p1) / n))
    first = seqs[:, 0] == 0
    p2 = np.exp(hmm.log_probs(np.array([[0]]))[0])
    f2 = np.bincount(seqs[first, 1], minlength=4) / first.sum()
    assert np.all(np.abs(f2 - p2) <= 5 * np.sqrt(p2 * (1 - p2) / first.sum()))


def test_hmm_world():
    spec = HMMSpec(states=2, vocab_size=6, length=5, n_sequences=40, seed=3)
    w = generate_world(spec)
    pred = w.measured["predictions"]
    assert pred["prob_rank"]["measured"] <= 2
    assert len({tuple(c) for c in w.contexts}) == w.n
    assert all(1 <= len(c) <= 4 for c in w.contexts)
    L = exact_log_probs(
        HMM(*(np.asarray(w.extra["parameters"][k]) for k in "pi A B".split())), w.contexts
    )
    L = L - L.mean(axis=1, keepdims=True)
    err = np.linalg.norm(L - w.F @ w.G.T) / np.linalg.norm(L)
    assert err <= w.measured["discarded_tail"] + 1e-12
    assert w.measured["k"] > 2  # the log of a rank-2 mixture is not rank 2
    assert w.sequences["sequences"].shape == (40, 5)


class Cycle:
    """The docs/world.md example: the next token is the last one plus 1 (mod V) with
    probability q, uniform otherwise."""

    min_prefix = 1

    def __init__(self, V: int = 5, q: float = 0.7):
        self.vocab_size, self.q = V, q

    def log_probs(self, prefixes):
        p = np.full((len(prefixes), self.vocab_size), (1 - self.q) / self.vocab_size)
        p[np.arange(len(prefixes)), (prefixes[:, -1] + 1) % self.vocab_size] += self.q
        return np.log(p)

    def sample(self, rng, n):
        out = np.zeros((n, 6), np.int64)
        out[:, 0] = rng.integers(0, self.vocab_size, n)
        for t in range(1, 6):
            nxt = (out[:, t - 1] + 1) % self.vocab_size
            out[:, t] = np.where(rng.random(n) < self.q, nxt, rng.integers(0, self.vocab_size, n))
        return out


def test_user_defined_process():
    proc = Cycle()
    assert isinstance(proc, Process)
    w = sample_world(proc, n_sequences=30, seed=0, name="cycle")
    # the law depends on the last token only: 5 distinct rows, and L* has rank 4
    assert w.measured["distinct_rows"] == 5 and w.measured["k"] == 4
    assert w.measured["discarded_tail"] < 1e-12
