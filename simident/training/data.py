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

from simident.util.errors import SimidentError

PRECOMPUTE_LIMIT = 2**22  # m·V numbers (16 MiB of float32)
EVAL_ROWS = 256  # contexts per chunk of the evaluation sets (memory O(EVAL_ROWS·V) a lane)


class TrainData(NamedTuple):
    """Device arrays for the training contexts (m of them), all float32 / int32."""

    ids: jax.Array  # m          context ids (rows of the world)
    tokens: jax.Array  # m×T      left-padded token ids (pad = V)
    lengths: jax.Array  # m       context lengths
    F_star: jax.Array  # m×d*     true context embeddings of the training contexts
    G_star: jax.Array  # V×d*     true unembeddings
    logp_star: jax.Array | None  # m×V  log p*(·|s), only when m·V ≤ PRECOMPUTE_LIMIT
    samples: jax.Array | None  # m×S  the world's sampled next tokens (data "shared")
    salt: jax.Array  # uint32 scalar: the world's data salt (independent draws, `draw_key`)
    seqs: object = None  # sequences.SeqData of a per-position loss ("sequences", "exact")


def n_val_samples(n_samples: int, val_fraction: float) -> int:
    """Sampled tokens per context held out for validation: round(S·fraction), ≥ 1 if > 0."""
    return 0 if val_fraction <= 0 else max(1, int(round(n_samples * val_fraction)))


def data_salt(world) -> int:
    """32 bits of the world's id: mixed into every seed's independent draws, so two worlds
    (or one world's sampler seed changed) never give a seed the same data."""
    import hashlib

    return int(hashlib.sha256(str(world.world_id).encode()).hexdigest()[:8], 16)


def draws_per_context(world, loss: str) -> int:
    """S, the sampled next tokens per context of a finite-data run (0 for the population
    loss); a seed with independent draws gets as many as the world's sample set holds."""
    if loss != "samples":
        return 0
    if world.samples is None:
        raise SimidentError(
            f"world {world.world_id}: loss 'samples' needs sampled next tokens "
            "(data.npz), and this world has none; use loss 'population'"
        )
    return int(world.samples.shape[1])


def draw_key(lane_key, salt):
    """The key of a lane's own data set (independent draws, bootstrap refits): from the
    lane's seed key and the world's salt alone."""
    return jax.random.fold_in(jax.random.fold_in(lane_key, 2), salt)


def make_data(world, loss: str, val_fraction: float = 0.0, data: str = "shared") -> TrainData:
    """Collect the training contexts of `world` for the given loss.

    With val_fraction > 0 the last round(S·val_fraction) sampled tokens of every context
    are left out of training (they form the validation share, `make_evals`). With data
    "independent" no sample set is stored: each lane draws its own inside the compiled
    step (`draw_key`, `worlds.sampling.draw_tokens`).
    """
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
    S = draws_per_context(world, loss)
    if S:
        keep = S - n_val_samples(S, val_fraction)
        if keep < 1:
            raise SimidentError(
                f"--val-fraction {val_fraction:g} leaves no training samples "
                f"({S} sampled tokens per context)"
            )
        if data == "shared":
            samples = jnp.asarray(np.asarray(world.samples, dtype=np.int32)[ids, :keep])
    return TrainData(
        ids=jnp.asarray(ids.astype(np.int32)),
        tokens=jnp.asarray(tokens[ids].astype(np.int32)),
        lengths=jnp.asarray(lengths[ids].astype(np.int32)),
        F_star=jnp.asarray(F_star),
        G_star=jnp.asarray(G_star),
        logp_star=logp,
        samples=samples,
        salt=jnp.asarray(data_salt(world), dtype=jnp.uint32),
    )


def padded_rows(data: TrainData, rows: int) -> TrainData:
    """`data` with its training-context rows padded to `rows` by copies of row 0 (for a
    loss that only gathers rows by index, the per-position losses: the copies are never
    read, and worlds of different sizes share one compiled program)."""
    m = int(data.ids.shape[0])
    if rows <= m:
        return data
    take_rows = jnp.asarray(np.concatenate([np.arange(m), np.zeros(rows - m, np.int64)]))
    pad = lambda x: None if x is None else x[take_rows]  # noqa: E731
    return data._replace(
        ids=pad(data.ids),
        tokens=pad(data.tokens),
        lengths=pad(data.lengths),
        F_star=pad(data.F_star),
        logp_star=pad(data.logp_star),
        samples=pad(data.samples),
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


class EvalSet(NamedTuple):
    """Contexts to evaluate in chunks (k of them, padded to whole chunks; `mask` marks real
    rows): KL(p* ‖ p_model) to the truth and, with `samples`, the NLL of sampled tokens."""

    ids: jax.Array  # k
    tokens: jax.Array  # k×T
    lengths: jax.Array  # k
    F_star: jax.Array  # k×d*
    G_star: jax.Array  # V×d*
    samples: jax.Array | None  # k×S_val (validation share) or None
    mask: jax.Array  # k, bool


def make_eval_set(world, ids, samples=None, chunk: int = EVAL_ROWS) -> EvalSet:
    """An EvalSet over contexts `ids`, padded to a multiple of `chunk` rows (pad rows copy
    row 0 and are masked out)."""
    ids = np.asarray(ids, dtype=np.int64)
    k = int(ids.size)
    pad = (-k) % chunk
    rows = np.concatenate([ids, np.full(pad, ids[0], dtype=np.int64)])
    tokens, lengths = world.tokens()
    if samples is not None:
        samples = np.concatenate([samples, np.repeat(samples[:1], pad, axis=0)])
        samples = jnp.asarray(samples.astype(np.int32))
    return EvalSet(
        ids=jnp.asarray(rows.astype(np.int32)),
        tokens=jnp.asarray(tokens[rows].astype(np.int32)),
        lengths=jnp.asarray(lengths[rows].astype(np.int32)),
        F_star=jnp.asarray(np.asarray(world.F, dtype=np.float32)[rows]),
        G_star=jnp.asarray(np.asarray(world.G, dtype=np.float32)),
        samples=samples,
        mask=jnp.asarray(np.arange(k + pad) < k),
    )


class Evals(NamedTuple):
    """What is measured after every chunk: the training contexts (exact KL to the truth,
    and the NLL of the validation share of their samples when there is one) and the
    held-out contexts (KL to the truth; None when the world has none)."""

    train: EvalSet
    heldout: EvalSet | None
    sequences: object = None  # sequences.SeqData: held-out sequences (loss "sequences")


def make_evals(world, loss: str, val_fraction: float, chunk: int, data: str = "shared") -> Evals:
    """Evaluation sets of `world`: its training contexts (with, for loss "samples" and
    val_fraction > 0, the held-out share of the world's sampled tokens; with independent
    draws each lane draws its validation share itself) and held-out contexts."""
    held = np.asarray(world.heldout_ids, dtype=np.int64)
    heldout = make_eval_set(world, held, chunk=chunk) if held.size else None
    ids = np.sort(np.asarray(world.train_ids, dtype=np.int64))
    val = None
    if loss == "samples" and val_fraction > 0 and world.samples is not None and data == "shared":
        S = int(world.samples.shape[1])
        val = np.asarray(world.samples)[ids, S - n_val_samples(S, val_fraction) :]
    return Evals(make_eval_set(world, ids, val, chunk=chunk), heldout)
