"""Centered logits L = F Ḡᵀ and the distance between two models' distributions.

L[s, y] = log p(y|s) - mean_y' log p(y'|s) is a function of the distribution alone (E1).
Only `centered_logits` and `log_probs` form the n×V matrix (small cases and tests);
`kl_terms` walks over the contexts in chunks and never holds more than chunk×V numbers.
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


def kl_terms(Fa, Ga, Fb, Gb, chunk: int | None = None, weighted: bool = True):
    """Per context: KL(p_a ‖ p_b) in nats, and (with `weighted`) the two sums behind r_p,
    Σ_y p̄ (δ − E_p̄ δ)² and Σ_y p̄ (ℓ̄ − E_p̄ ℓ̄)² with p̄ = (p_a + p_b)/2, δ = ℓ_a − ℓ_b,
    ℓ̄ = (ℓ_a + ℓ_b)/2; numpy float64 arrays. Chunks of contexts (never n×V numbers at
    once); float32 speed with float64-grade answers (`simident.theory.divergence`)."""
    from simident.theory import divergence
    from simident.theory.equivalence import compress

    c = compress(Fa, Ga, Fb, Gb)
    fac = divergence.factors(Fa, Ga, Fb, Gb, c.RF, c.RG)
    return divergence.kl_pass(fac, weighted=weighted, chunk=chunk)


def kl_per_context(Fa, Ga, Fb, Gb, chunk: int | None = None):
    """KL(p_a ‖ p_b) in nats for every context (n,), computed chunk by chunk (the KL
    alone: the training evaluation's path)."""
    return kl_terms(Fa, Ga, Fb, Gb, chunk, weighted=False)[0]
