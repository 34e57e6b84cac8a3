"""The training data of a world, on device: contexts, their tokens and their targets.

Targets are the exact next-token distributions p*(·|s) = softmax(F*[s]·G*ᵀ) (population
loss) or the world's sampled next tokens (finite data). For small worlds the target
log-probabilities of the training contexts are computed once (m×V numbers); above
`PRECOMPUTE_LIMIT` numbers they are recomputed per batch from F*, G* so memory stays
O((m + V)·d).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simident.errors import SimidentError

PRECOMPUTE_LIMIT = 2**22  # m·V numbers (16 MiB of float32)


class TrainData(NamedTuple):
    """Device arrays for the training contexts (m of them), all float32 / int32."""

    ids: jax.Array  # m          context ids (rows of the world)
    tokens: jax.Array  # m×T      left-padded token ids (pad = V)
    lengths: jax.Array  # m       context lengths
    F_star: jax.Array  # m×d*     true context embeddings of the training contexts
    G_star: jax.Array  # V×d*     true unembeddings
    logp_star: jax.Array | None  # m×V  log p*(·|s), only when m·V ≤ PRECOMPUTE_LIMIT
    samples: jax.Array | None  # m×S  sampled next tokens (loss = "samples")


def make_data(world, loss: str) -> TrainData:
    """Collect the training contexts of `world` for the given loss."""
    ids = np.sort(np.asarray(world.train_ids, dtype=np.int64))
    if ids.size == 0:
        raise SimidentError(f"world {world.world_id}: no training contexts (split.train is empty)")
    tokens, lengths = world.tokens()
    F_star = np.asarray(world.F, dtype=np.float32)[ids]
    G_star = np.asarray(world.G, dtype=np.float32)
    logp = None
    if ids.size * world.V <= PRECOMPUTE_LIMIT:
        logp = _log_softmax_f64(np.asarray(world.F, np.float64)[ids] @ np.asarray(world.G).T)
        logp = jnp.asarray(logp.astype(np.float32))
    samples = None
    if loss == "samples":
        if world.samples is None:
            raise SimidentError(
                f"world {world.world_id}: loss 'samples' needs sampled next tokens "
                "(data.npz), and this world has none; use loss 'population'"
            )
        samples = jnp.asarray(np.asarray(world.samples, dtype=np.int32)[ids])
    return TrainData(
        ids=jnp.asarray(ids.astype(np.int32)),
        tokens=jnp.asarray(tokens[ids].astype(np.int32)),
        lengths=jnp.asarray(lengths[ids].astype(np.int32)),
        F_star=jnp.asarray(F_star),
        G_star=jnp.asarray(G_star),
        logp_star=logp,
        samples=samples,
    )


def _log_softmax_f64(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def target_logp(data: TrainData, idx):
    """log p*(·|s) (B×V, float32) for the training contexts at positions `idx` (None: all)."""
    if data.logp_star is not None:
        return data.logp_star if idx is None else data.logp_star[idx]
    F = data.F_star if idx is None else data.F_star[idx]
    return jax.nn.log_softmax(F @ data.G_star.T, axis=-1)


def take(x, idx):
    """Rows `idx` of x (all rows when idx is None)."""
    return x if idx is None else x[idx]
