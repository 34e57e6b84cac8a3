"""Training at every position of token sequences, as language models train.

On a process world (data.npz holds token sequences) the model reads a whole sequence in
one causal forward pass and is scored at every position t whose prefix seq[:t+1] is at
least `min_prefix` tokens long (the world's shortest context), teacher forcing:

- loss "sequences": the next-token NLL −log q(seq[t+1] | seq[:t+1]) over the world's
  sampled training corpus (data.npz `sequences`, drawn from the training subjects; a
  token the corpus wrote instead of drawing, data.npz `sequences_prompted`, is no
  target); the last round(N·val_fraction) sequences are held out and their per-position
  NLL is the validation signal;
- loss "exact": KL(p*(·|prefix) ‖ q) at every position of the sequences whose prefixes
  are the world's contexts (data.npz `world_sequences`, or `sequences` when the world has
  no separate corpus), those whose every prefix is a training context.

A transformer's output at position t equals f(seq[:t+1]) (causal attention, positions
counted from the first token), so one pass scores every prefix. A table model has one
row per context: a position whose prefix is not a context of the world is left out
(so it trains on the distinct prefixes the corpus shares with the world).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simident.training.data import EVAL_ROWS, take, target_logp
from simident.util.errors import SimidentError


class SeqData(NamedTuple):
    """Token sequences scored at every position (N sequences of T_in = length − 1 inputs)."""

    inputs: jax.Array  # N×T_in  int32, seq[:, :-1]
    targets: jax.Array  # N×T_in int32, seq[:, 1:]
    rows: jax.Array  # N×T_in  int32: the prefix's row among the training contexts, −1: none
    ids: jax.Array  # N×T_in   int32: the prefix's context id in the world, −1: not a context
    mask: jax.Array  # N×T_in  bool: the position is scored


def corpus(world, loss: str) -> np.ndarray:
    """The (N, T) int sequences the loss trains on (see the module docstring)."""
    seqs = world.sequences
    if loss == "sequences":
        if "sequences" not in seqs:
            raise SimidentError(
                f"world {world.world_id}: loss 'sequences' needs sampled training sequences "
                "(data.npz `sequences`); generate the world with n_sequences > 0"
            )
        return np.asarray(seqs["sequences"], dtype=np.int64)
    key = "world_sequences" if "world_sequences" in seqs else "sequences"
    if key not in seqs:
        raise SimidentError(
            f"world {world.world_id}: loss 'exact' needs the sequences whose prefixes are the "
            "contexts (data.npz `world_sequences`); it applies to process worlds "
            "(kind 'language' or 'hmm')"
        )
    return np.asarray(seqs[key], dtype=np.int64)


def written_tokens(world, shape) -> np.ndarray:
    """(N, T) bool: the tokens of the training corpus that were written, not drawn from the
    process (data.npz `sequences_prompted`, a language world's query prompts); predicting
    them is no next-token target, so their positions are not scored."""
    w = world.sequences.get("sequences_prompted")
    if w is None:
        return np.zeros(shape, dtype=bool)
    if tuple(w.shape) != tuple(shape):
        raise SimidentError(
            f"world {world.world_id}: data.npz sequences_prompted has shape {tuple(w.shape)}, "
            f"its sequences {tuple(shape)}"
        )
    return np.asarray(w) != 0


def min_prefix(world) -> int:
    """The shortest context of the world (the shortest prefix that is scored)."""
    return int(min(len(c) for c in world.contexts))


def index_positions(world, seqs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, rows, scored) of every input position of `seqs` (N × (T−1) each): context id
    of the prefix seq[:t+1] (−1: not a context), its row among the sorted training
    contexts (−1: not a training context), and whether the position is scored at all
    (prefix length ≥ min_prefix)."""
    index = {tuple(c): i for i, c in enumerate(world.contexts)}
    train = np.sort(np.asarray(world.train_ids, dtype=np.int64))
    row_of = np.full(world.n, -1, dtype=np.int64)
    row_of[train] = np.arange(train.size)
    N, T = seqs.shape
    ids = np.full((N, T - 1), -1, dtype=np.int64)
    for i, row in enumerate(seqs.tolist()):
        for t in range(T - 1):
            ids[i, t] = index.get(tuple(row[: t + 1]), -1)
    rows = np.where(ids >= 0, row_of[np.maximum(ids, 0)], -1)
    scored = np.broadcast_to(np.arange(1, T) >= min_prefix(world), ids.shape).copy()
    return ids, rows, scored


def make_sequences(world, loss: str, model: str, val_fraction: float = 0.0):
    """(training SeqData, validation SeqData or None) of `world` for a per-position loss.

    Errors name what is missing: no sequences, or (exact, table) no scored position."""
    seqs = corpus(world, loss)
    if seqs.ndim != 2 or seqs.shape[1] < 2 or seqs.shape[0] == 0:
        raise SimidentError(f"world {world.world_id}: its sequences are empty (shape {seqs.shape})")
    ids, rows, scored = index_positions(world, seqs)
    if loss == "sequences":
        scored &= ~written_tokens(world, seqs.shape)[:, 1:]
    if loss == "exact":
        keep = np.all((rows >= 0) | ~scored, axis=1)
        if not keep.any():
            raise SimidentError(
                f"world {world.world_id}: loss 'exact': no sequence has every prefix among the "
                "training contexts"
            )
        seqs, ids, rows, scored = seqs[keep], ids[keep], rows[keep], scored[keep]
    mask = scored & (rows >= 0) if (model == "table" or loss == "exact") else scored
    if not mask.any():
        raise SimidentError(
            f"world {world.world_id}: loss {loss!r}: no position of the sequences is a "
            f"training context the {model} model can be scored on"
        )
    N = seqs.shape[0]
    n_val = 0
    if val_fraction > 0 and loss == "sequences":
        n_val = max(1, int(round(N * val_fraction)))
        if n_val >= N:
            raise SimidentError(
                f"--val-fraction {val_fraction:g} leaves no training sequences ({N} sequences)"
            )

    def pack(sl, chunk=1):
        part = [seqs[sl, :-1], seqs[sl, 1:], rows[sl], ids[sl], mask[sl]]
        pad = (-part[0].shape[0]) % chunk
        if pad:
            part = [np.concatenate([a, np.repeat(a[:1], pad, axis=0)]) for a in part]
            part[4][-pad:] = False
        return SeqData(*(jnp.asarray(a.astype(np.int32)) for a in part[:4]), jnp.asarray(part[4]))

    train = pack(slice(0, N - n_val))
    val = pack(slice(N - n_val, N), chunk=min(EVAL_ROWS, n_val)) if n_val else None
    return train, val


def position_log_probs(model, static, x, ids):
    """log q(· | seq[:t+1]) at every position (B×T_in×V): one causal pass (transformer)
    or the table rows of the prefixes' context ids."""
    if static.model == "table":
        logits = model.f(jnp.maximum(ids, 0)) @ model.g().T
    else:
        lengths = jnp.full((x.shape[0],), x.shape[1], dtype=jnp.int32)
        logits = model.f_all(x, lengths) @ model.g().T
    return jax.nn.log_softmax(logits, axis=-1)


def sequence_loss(model, static, data, idx):
    """(loss, KL) of the sequences at positions idx (None: all): loss "sequences" = mean
    NLL of the next tokens over the scored positions, "exact" = mean KL to p*; KL = the
    mean KL(p* ‖ q) over the scored positions whose prefix is a training context."""
    sq = data.seqs
    x, y, rows, ids, mask = (take(a, idx) for a in sq)
    logq = position_log_probs(model, static, x, ids)
    logp = target_logp(data, jnp.maximum(rows, 0))
    known = (mask & (rows >= 0)).astype(logq.dtype)
    kl_pos = jnp.sum(jnp.exp(logp) * (logp - logq), axis=-1)
    kl = jnp.sum(kl_pos * known) / jnp.maximum(jnp.sum(known), 1.0)
    if static.loss == "exact":
        return kl, kl
    w = mask.astype(logq.dtype)
    nll = -jnp.take_along_axis(logq, y[..., None], axis=-1)[..., 0]
    return jnp.sum(nll * w) / jnp.maximum(jnp.sum(w), 1.0), kl


def sequence_nll(model, static, vs: SeqData):
    """Mean next-token NLL over the scored positions of the validation sequences `vs`
    (padded to whole chunks), chunk by chunk: memory O(chunk·T·V)."""
    N = vs.inputs.shape[0]
    chunk = min(EVAL_ROWS, N)
    parts = [a.reshape(N // chunk, chunk, *a.shape[1:]) for a in vs]

    def one(c):
        x, y, _, ids, mask = c
        logq = position_log_probs(model, static, x, ids)
        nll = -jnp.take_along_axis(logq, y[..., None], axis=-1)[..., 0]
        w = mask.astype(logq.dtype)
        return jnp.sum(nll * w), jnp.sum(w)

    total, count = jax.lax.map(one, parts)
    return jnp.sum(total) / jnp.maximum(jnp.sum(count), 1.0)


__all__ = [
    "SeqData",
    "corpus",
    "index_positions",
    "make_sequences",
    "min_prefix",
    "position_log_probs",
    "sequence_loss",
    "sequence_nll",
    "written_tokens",
]
