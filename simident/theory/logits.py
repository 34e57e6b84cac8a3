"""Centered logits L = F Ḡᵀ and the distance between two models' distributions.

L[s, y] = log p(y|s) - mean_y' log p(y'|s) is a function of the distribution alone (E1).
Only `centered_logits` forms the n×V matrix (use it for small cases); `kl_stats`
walks over the contexts in chunks and never holds more than chunk×V numbers.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp


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


def _expm1_minus_x(x):
    """exp(x) - 1 - x without cancellation (series for |x| < 0.01)."""
    series = x * x * (0.5 + x * (1 / 6 + x * (1 / 24 + x * (1 / 120 + x / 720))))
    return jnp.where(jnp.abs(x) < 0.01, series, jnp.expm1(x) - x)


def _softmax_parts(l):
    """p = softmax(l) and log p with one exponential pass."""
    m = jnp.max(l, axis=-1, keepdims=True)
    e = jnp.exp(l - m)
    z = jnp.sum(e, axis=-1, keepdims=True)
    return e / z, l - m - jnp.log(z)


def _kl_rows(Fa, Ga, Fb, Gb, weighted: bool = True):
    """Per row s: KL(p_a(·|s) ‖ p_b(·|s)), and the numerator and denominator of the
    probability-weighted residual r_p (A3): Σ_y p̄ (δ − E_p̄ δ)² and Σ_y p̄ (ℓ̄ − E_p̄ ℓ̄)²,
    with p̄ = (p_a + p_b)/2, δ = ℓ_a − ℓ_b, ℓ̄ = (ℓ_a + ℓ_b)/2.

    KL, with D = ℓ_a − ℓ_b and D' = D − E_pa[D]: log E_pa[exp(−D')]
    = log1p(E_pa[exp(−D') − 1 + D']), accurate when it is tiny. Where that overflows
    (large logits, improbable tokens) the log-sum-exp form log Σ_y exp(log p_a − D') is
    used instead (computed only for such a chunk); it is finite whenever the logits are.
    Without `weighted` only the KL is computed (no p_b, no r_p sums).
    """
    la, lb = Fa @ Ga.T, Fb @ Gb.T
    pa, lpa = _softmax_parts(la)
    D = la - lb  # rounding error ~eps·|ℓ|, as for one fused product
    Dc = D - jnp.sum(pa * D, axis=-1, keepdims=True)
    terms = jnp.where(pa > 0, pa * _expm1_minus_x(-Dc), 0.0)
    kl = jnp.log1p(jnp.sum(terms, axis=-1))
    kl = jax.lax.cond(
        jnp.all(jnp.isfinite(kl)),
        lambda: kl,
        lambda: jnp.where(jnp.isfinite(kl), kl, jax.nn.logsumexp(lpa - Dc, axis=-1)),
    )
    kl = jnp.maximum(kl, 0.0)  # rounding can leave −1e-17
    if not weighted:
        return (kl,)
    pb, _ = _softmax_parts(lb)
    pbar = 0.5 * (pa + pb)
    dc = D - jnp.sum(pbar * D, axis=-1, keepdims=True)
    lbar = 0.5 * (la + lb)
    lc = lbar - jnp.sum(pbar * lbar, axis=-1, keepdims=True)
    return kl, jnp.sum(pbar * dc * dc, axis=-1), jnp.sum(pbar * lc * lc, axis=-1)


@partial(jax.jit, static_argnames=("chunk", "weighted"))
def _kl_chunked(Fa, Ga, Fb, Gb, chunk, weighted=True):
    n = Fa.shape[0]
    n_chunks = -(-n // chunk)
    pad = n_chunks * chunk - n
    Fa = jnp.pad(Fa, ((0, pad), (0, 0))).reshape(n_chunks, chunk, -1)
    Fb = jnp.pad(Fb, ((0, pad), (0, 0))).reshape(n_chunks, chunk, -1)
    Ga, Gb = center(Ga), center(Gb)
    out = jax.lax.map(lambda ab: _kl_rows(ab[0], Ga, ab[1], Gb, weighted), (Fa, Fb))
    return tuple(x.reshape(-1)[:n] for x in out)


def default_chunk(V: int, budget: int = 2**22) -> int:
    """Rows per chunk so that one chunk×V block holds about `budget` numbers (32 MiB f64)."""
    return int(max(1, min(4096, budget // max(V, 1))))


def kl_terms(Fa, Ga, Fb, Gb, chunk: int | None = None, weighted: bool = True):
    """Per context: KL(p_a ‖ p_b) in nats, and (with `weighted`) the two sums behind r_p
    (see `_kl_rows`), computed chunk by chunk (never more than chunk×V numbers at once)."""
    Fa, Ga, Fb, Gb = (jnp.asarray(x) for x in (Fa, Ga, Fb, Gb))
    chunk = chunk or default_chunk(Ga.shape[0])
    chunk = min(chunk, Fa.shape[0])
    return _kl_chunked(Fa, Ga, Fb, Gb, chunk, weighted)


def kl_per_context(Fa, Ga, Fb, Gb, chunk: int | None = None):
    """KL(p_a ‖ p_b) in nats for every context (n,), computed chunk by chunk (the KL
    alone: the training evaluation's path)."""
    return kl_terms(Fa, Ga, Fb, Gb, chunk, weighted=False)[0]
