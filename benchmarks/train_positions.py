"""Per-position training (one causal pass per sequence) against one pass per prefix.

Prints ONE JSON line. For sequence lengths T = 8 and 16 (attribute-language sequences:
BOS, a subject, T tokens), N = 512 sequences, the default transformer (width 64, depth 2,
4 heads), Adam:

  per_position  seconds of one epoch with the `--loss sequences` program: batches of 32
                sequences, the next-token NLL at every scored position from one causal
                forward pass (`training.sequences.position_log_probs`)
  per_prefix    seconds of one epoch over the same N·T next-token targets as separate
                contexts (each prefix left-padded, read at its last position: the
                transformer's `logits`), batches of 32·T prefixes: the same tokens scored
                per step
  ratio         per_prefix / per_position (how much the causal pass saves)

Each epoch is one jitted `lax.scan` over its batches, timed best of REPEATS after a
compile run. Timings are wall-clock on a possibly shared machine (load_average).

Run: .venv/bin/python benchmarks/train_positions.py   (about 1-3 minutes on 2 CPU cores)
"""

from __future__ import annotations

import json
import os
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from simident.models.transformer import Transformer
from simident.training.sequences import position_log_probs
from simident.worlds import LanguageSpec
from simident.worlds.language import AttributeLanguage

REPEATS = 3
N, B = 512, 32
LENGTHS = (8, 16)


def sequences(T: int) -> np.ndarray:
    spec = LanguageSpec(
        name="bench",
        subjects=32,
        length=T,
        words=16,
        attributes=[{"name": "a", "values": 3}, {"name": "b", "values": 2, "source": "latest"}],
    )
    proc = AttributeLanguage(spec, np.random.default_rng(0))
    return proc.sample(np.random.default_rng(1), N), proc.vocab_size


class _Static:
    model = "transformer"


def per_position_batches(seqs):
    x, y = seqs[:, :-1], seqs[:, 1:]
    mask = np.broadcast_to(np.arange(1, seqs.shape[1]) >= 2, x.shape)
    shape = (N // B, B, x.shape[1])
    return tuple(jnp.asarray(a.reshape(shape)) for a in (x, y, mask))


def per_prefix_batches(seqs, V):
    rows, ys, lens = [], [], []
    L = seqs.shape[1] - 1
    for s in seqs:
        for t in range(1, L):  # prefixes of length ≥ 2, as the scored positions
            p = np.full(L, V, np.int64)
            p[L - (t + 1) :] = s[: t + 1]
            rows.append(p), ys.append(s[t + 1]), lens.append(t + 1)
    k = len(rows) // (N // B)
    shape = (N // B, k)
    return (
        jnp.asarray(np.asarray(rows).reshape(*shape, L)),
        jnp.asarray(np.asarray(ys).reshape(shape)),
        jnp.asarray(np.asarray(lens).reshape(shape)),
    )


def epoch_fn(loss_fn, graphdef, tx):
    @jax.jit
    def epoch(params, opt_state, batches):
        def step(carry, batch):
            params, opt_state = carry
            loss, g = jax.value_and_grad(lambda p: loss_fn(nnx.merge(graphdef, p), batch))(params)
            updates, opt_state = tx.update(g, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        return jax.lax.scan(step, (params, opt_state), batches)

    return epoch


def position_loss(model, batch):
    x, y, mask = batch
    logq = position_log_probs(model, _Static, x, None)
    nll = -jnp.take_along_axis(logq, y[..., None], axis=-1)[..., 0]
    return jnp.sum(nll * mask) / jnp.sum(mask)


def prefix_loss(model, batch):
    x, y, lengths = batch
    logq = jax.nn.log_softmax(model.logits(None, x, lengths), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logq, y[:, None], axis=1))


def time_epoch(loss_fn, model, batches):
    graphdef, params = nnx.split(model, nnx.Param)
    tx = optax.adam(1e-3)
    run = partial(epoch_fn(loss_fn, graphdef, tx), params, tx.init(params), batches)
    jax.block_until_ready(run())  # compile
    best = np.inf
    for _ in range(REPEATS):
        t = time.perf_counter()
        jax.block_until_ready(run())
        best = min(best, time.perf_counter() - t)
    return best


def main():
    out = {"benchmark": "train_positions", "N": N, "batch_sequences": B}
    for T in LENGTHS:
        seqs, V = sequences(T)
        model = Transformer(V, T + 2, 16, rngs=nnx.Rngs(params=0))
        a = time_epoch(position_loss, model, per_position_batches(seqs))
        b = time_epoch(prefix_loss, model, per_prefix_batches(seqs, V))
        out[f"T{T}"] = {
            "per_position_s": round(a, 4),
            "per_prefix_s": round(b, 4),
            "ratio": round(b / a, 2),
        }
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    out["backend"] = jax.default_backend()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
