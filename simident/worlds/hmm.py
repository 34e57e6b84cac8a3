"""A hidden Markov model as a process: p(y | prefix) is a mixture over hidden states,
exact by the forward recursion (float64 numpy). Its centered log-probabilities are only
numerically low-rank (the log of a rank-H mixture): the approximate-rank case.

Forward recursion: with the predictive state distribution a_1 = π,
    p(y_t | y_<t) = a_t · B[:, y_t],   a_{t+1} ∝ (a_t ⊙ B[:, y_t]) A.
Predicted: the probability matrix P (contexts × V) = (a_t) B has rank ≤ H.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from simident.worlds.contexts import rng_for
from simident.worlds.process import build_world, distinct_prefixes
from simident.worlds.process_spec import HMMSpec


class HMM:
    """Initial π (H), transitions A (H × H, rows sum to 1), emissions B (H × V)."""

    min_prefix = 1

    def __init__(self, pi, A, B):
        self.pi = np.asarray(pi, dtype=np.float64)
        self.A = np.asarray(A, dtype=np.float64)
        self.B = np.asarray(B, dtype=np.float64)
        self.vocab_size = int(self.B.shape[1])

    @classmethod
    def draw(cls, rng: np.random.Generator, states: int, V: int, concentration: float) -> HMM:
        """Rows of π, A and B drawn from a symmetric Dirichlet(concentration)."""
        pi = rng.dirichlet(np.full(states, concentration))
        A = rng.dirichlet(np.full(states, concentration), size=states)
        B = rng.dirichlet(np.full(V, concentration), size=states)
        return cls(pi, A, B)

    def state_after(self, X: np.ndarray) -> np.ndarray:
        """(m, H) predictive distribution of the next hidden state after each prefix."""
        X = np.asarray(X, dtype=np.int64)
        a = np.broadcast_to(self.pi, (X.shape[0], len(self.pi)))
        for t in range(X.shape[1]):
            a = a * self.B[:, X[:, t]].T
            a = (a / a.sum(axis=1, keepdims=True)) @ self.A
        return a

    def log_probs(self, X: np.ndarray) -> np.ndarray:
        return np.log(self.state_after(X) @ self.B)

    def sample(self, rng: np.random.Generator, n: int, length: int = 8) -> np.ndarray:
        """(n, length) sequences (inverse-CDF draws of states and tokens)."""
        H = len(self.pi)
        out = np.zeros((n, length), np.int64)
        h = _draw_rows(rng, np.broadcast_to(self.pi, (n, H)))
        for t in range(length):
            out[:, t] = _draw_rows(rng, self.B[h])
            h = _draw_rows(rng, self.A[h])
        return out


def _draw_rows(rng, P) -> np.ndarray:
    cdf = np.cumsum(P, axis=1)
    u = rng.random(len(P))[:, None] * cdf[:, -1:]
    return np.minimum(np.sum(cdf <= u, axis=1), P.shape[1] - 1)


def generate_hmm_world(spec: HMMSpec):
    """Contexts = distinct prefixes (1..length−1 tokens) of `n_sequences` sampled sequences;
    the exact L*, its truth at the numerical rank, the rank of P (predicted ≤ states)."""
    proc = HMM.draw(
        rng_for(spec.seed, "hmm/params"), spec.states, spec.vocab_size, spec.concentration
    )
    seqs = proc.sample(rng_for(spec.seed, "hmm/sequences"), spec.n_sequences, spec.length)
    contexts = distinct_prefixes(seqs, 1)
    text = json.dumps(spec.to_dict(), sort_keys=True)
    world, L = build_world(
        proc,
        contexts,
        world_id=f"{spec.name}-{hashlib.sha256(text.encode()).hexdigest()[:10]}",
        spec=spec.to_dict(),
        extra={"process": "hmm", "parameters": {"pi": proc.pi, "A": proc.A, "B": proc.B}},
        sequences={"sequences": seqs.astype(np.int32)},
    )
    P = np.exp(L - np.logaddexp.reduce(L, axis=1, keepdims=True))
    sp = np.linalg.svd(P, compute_uv=False)
    world.measured["predictions"] = {
        "prob_rank": {
            "predicted_at_most": spec.states,
            "measured": int(np.sum(sp > 1e-10 * sp[0])),
        },
        "log_rank": {"numerical": world.measured["k"], "tail": world.measured["discarded_tail"]},
    }
    return world


__all__ = ["HMM", "generate_hmm_world"]
