"""Finite training data: next tokens sampled from p*(·|s) = softmax(F[s]·Gᵀ), chunk by chunk.

Only chunk×V logits exist at a time. The draws of context s depend on (key, s) alone, not
on the chunk size: y = first index whose cumulative probability exceeds u·total, with
u ~ Uniform[0, 1) from fold_in(key, s) (inverse-CDF sampling). Computed in float32
whether or not x64 is on, so a world's samples do not depend on that flag (the rounding
of the cumulative sums shifts a token's probability by ~1e-7, far below sampling noise).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simident.theory.logits import default_chunk


def draw_tokens(p, ids, key, n_samples: int):
    """n_samples next tokens per row of the probabilities `p` (B×V, any positive scale),
    row i drawn by inverse CDF from u ~ Uniform[0, 1)^n_samples of fold_in(key, ids[i]):
    a row's draws depend on (key, its context id) alone, so the same data set is drawn
    again whenever it is needed (inside a compiled training step, or up front)."""
    cdf = jnp.cumsum(p, axis=-1)

    def one(c, i):
        u = jax.random.uniform(jax.random.fold_in(key, i), (n_samples,), dtype=c.dtype)
        return jnp.searchsorted(c, u * c[-1], side="right")

    y = jax.vmap(one)(cdf, ids)
    return jnp.minimum(y, p.shape[-1] - 1).astype(jnp.int32)


def _sample_rows(F, G, ids, key, n_samples):
    return draw_tokens(jax.nn.softmax(F @ G.T, axis=-1), ids, key, n_samples)


@partial(jax.jit, static_argnames=("n_samples", "chunk"))
def _sample_chunked(F, G, key, n_samples, chunk):
    n, d = F.shape
    n_chunks = -(-n // chunk)
    pad = n_chunks * chunk - n
    F_c = jnp.pad(F, ((0, pad), (0, 0))).reshape(n_chunks, chunk, d)
    ids_c = jnp.arange(n_chunks * chunk).reshape(n_chunks, chunk)
    out = jax.lax.map(lambda a: _sample_rows(a[0], G, a[1], key, n_samples), (F_c, ids_c))
    return out.reshape(-1, n_samples)[:n]


def sample_next_tokens(F, G, n_samples: int, seed: int, chunk: int | None = None) -> np.ndarray:
    """n × n_samples int32 next tokens, row s drawn i.i.d. from p*(·|s)."""
    F, G = jnp.asarray(F, dtype=jnp.float32), jnp.asarray(G, dtype=jnp.float32)
    n = F.shape[0]
    if n_samples <= 0 or n == 0:
        return np.zeros((n, max(n_samples, 0)), dtype=np.int32)
    chunk = min(chunk or default_chunk(G.shape[0]), n)
    key = jax.random.fold_in(jax.random.key(int(seed)), 0x5A3)
    return np.asarray(_sample_chunked(F, G, key, int(n_samples), int(chunk)))
