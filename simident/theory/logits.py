"""Centered logits L = F Ḡᵀ and the distance between two models' distributions.

L[s, y] = log p(y|s) - mean_y' log p(y'|s) is a function of the distribution alone (E1).
Only `centered_logits` and `log_probs` form the n×V matrix (small cases and tests);
The per-context KL and r_p sums walk over the contexts in chunks
(`simident.theory.divergence.kl_terms`, `kl_per_context`).
"""

from __future__ import annotations

import jax


def center(G):
    """Ḡ = C G with C = I - 11ᵀ/V: subtract the mean unembedding."""
    return G - G.mean(axis=0, keepdims=True)


@jax.jit
def centered_logits(F, G):
    """L = F Ḡᵀ (n×V). Forms the full matrix: small cases and tests only."""
    return F @ center(G).T


@jax.jit
def log_probs(F, G):
    """log p(y|s) = log softmax(F Gᵀ) (n×V). Small cases and tests only."""
    return jax.nn.log_softmax(F @ G.T, axis=-1)


def default_chunk(V: int, budget: int = 2**22) -> int:
    """Rows per chunk so that one chunk×V block holds about `budget` numbers (32 MiB f64)."""
    return int(max(1, min(4096, budget // max(V, 1))))
