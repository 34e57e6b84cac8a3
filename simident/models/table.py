"""The `table` model: one free embedding per context, the setting of THEORY.md exactly.

f(s) = F[s] (a row of a free n×d matrix), g(y) = G[y] (a row of a free V×d matrix).
Standard initialisation: every entry ~ N(0, 1/d), multiplied by `init_scale`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


class Table(nnx.Module):
    """Free context embeddings F (n×d) and unembeddings G (V×d); logits f(s)·g(y)."""

    def __init__(self, n: int, V: int, d: int, *, init_scale=1.0, rngs: nnx.Rngs):
        std = init_scale / jnp.sqrt(jnp.float32(d))
        self.F = nnx.Param(std * jax.random.normal(rngs.params(), (n, d), jnp.float32))
        self.G = nnx.Param(std * jax.random.normal(rngs.params(), (V, d), jnp.float32))

    def f(self, ids, tokens=None, lengths=None):
        """Context embeddings f(s) (B×d) of contexts `ids` (None: all n); tokens unused."""
        return self.F[...] if ids is None else self.F[ids]

    def g(self):
        """Unembeddings g(y) of the whole vocabulary (V×d)."""
        return self.G[...]

    def logits(self, ids, tokens=None, lengths=None):
        """f(s)·g(y) for every y (B×V)."""
        return self.f(ids) @ self.g().T


def table_matmul_flops(B: int, V: int, d: int) -> int:
    """FLOPs of the matrix products of one training step on B contexts (forward + backward).

    Forward logits F_B Gᵀ: 2·B·d·V; backward needs dF and dG, two more such products.
    """
    return 3 * 2 * B * d * V
