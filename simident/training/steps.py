"""The compiled programs: initialise all lanes, run a chunk of steps, embed all contexts.

A *lane* is one (seed, hyperparameter point) pair. Lanes are vmapped; a chunk of steps
is one `lax.scan`; the model is split once (`nnx.split`) and rebuilt inside the traced
step with `nnx.merge`, so each chunk is a single pure XLA program with no per-step
Python. Seed s's keys come from `jax.random.key(s)` alone (init: fold_in 0, minibatches:
fold_in 1), so a seed trained among others equals the same seed trained alone up to
float rounding.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from simident.models import build_model
from simident.training.data import TrainData, take, target_logp
from simident.training.optimizer import make_optimizer


class Static(NamedTuple):
    """Everything that fixes shapes and program structure (hashable: a jit static arg)."""

    model: str
    n: int  # contexts of the world
    V: int  # vocabulary
    T: int  # max context length
    m: int  # training contexts
    d: int
    width: int
    depth: int
    heads: int
    mlp_ratio: int
    steps: int
    warmup: int
    schedule: str
    final_lr_frac: float
    optimizer: str
    b2: float
    loss: str
    batch_size: int  # 0: full batch
    chunk_steps: int


class Hyper(NamedTuple):
    """Shape-free hyperparameters, one value per lane (float32 arrays of shape (P,))."""

    lr: jax.Array
    weight_decay: jax.Array
    init_scale: jax.Array


def make_static(config, n: int, V: int, T: int, m: int) -> Static:
    c = config
    B = c.batch_size if 0 < c.batch_size < m else 0
    return Static(
        c.model,
        n,
        V,
        T,
        m,
        c.d,
        c.width,
        c.depth,
        c.heads,
        c.mlp_ratio,
        c.steps,
        c.warmup,
        c.schedule,
        float(c.final_lr_frac),
        c.optimizer,
        float(c.b2),
        c.loss,
        B,
        c.chunk_steps,
    )


def _build(static: Static, key, init_scale):
    return build_model(
        static.model,
        n=static.n,
        V=static.V,
        T=static.T,
        d=static.d,
        init_scale=init_scale,
        width=static.width,
        depth=static.depth,
        heads=static.heads,
        mlp_ratio=static.mlp_ratio,
        rngs=nnx.Rngs(params=key),
    )


@lru_cache(maxsize=64)
def graphdef_of(static: Static):
    """The model's GraphDef (its static structure), from an abstract construction."""
    abstract = nnx.eval_shape(lambda: _build(static, jax.random.key(0), 1.0))
    graphdef, _ = nnx.split(abstract, nnx.Param)  # fails if a model held non-Param state
    return graphdef


def lane_keys(seeds) -> jax.Array:
    """One typed PRNG key per lane, from the seed alone."""
    return jax.vmap(jax.random.key)(jnp.asarray(seeds, dtype=jnp.uint32))


def init_params(static: Static, key, init_scale):
    """Parameters (an nnx.State of Params) of one lane at initialisation."""
    return nnx.state(_build(static, jax.random.fold_in(key, 0), init_scale), nnx.Param)


@partial(jax.jit, static_argnums=0)
def init_lanes(static: Static, keys, hyper: Hyper):
    """Parameters and optimiser states of all lanes."""

    def lane(key, lr, wd, scale):
        params = init_params(static, key, scale)
        return params, make_optimizer(static, lr, wd).init(params)

    return jax.vmap(lane)(keys, hyper.lr, hyper.weight_decay, hyper.init_scale)


def batch_loss(graphdef, static: Static, data: TrainData, idx, params):
    """(loss, KL) on the training contexts at positions idx (None: all of them).

    KL = mean over the batch of KL(p*(·|s) ‖ p_model(·|s)), nats. Population loss is this
    KL (same gradient as cross-entropy to p*); sample loss is the mean negative
    log-likelihood of the world's sampled next tokens.
    """
    return model_loss(nnx.merge(graphdef, params), static, data, idx)


def model_loss(model, static: Static, data: TrainData, idx):
    """`batch_loss` of a live model object (used by the per-step baseline benchmark)."""
    # full batch over every context (ids = 0..n-1, sorted by make_data): no gather/scatter
    ids = None if idx is None and static.m == static.n else take(data.ids, idx)
    logits = model.logits(ids, take(data.tokens, idx), take(data.lengths, idx))
    logq = jax.nn.log_softmax(logits, axis=-1)
    logp = target_logp(data, idx)
    kl = jnp.mean(jnp.sum(jnp.exp(logp) * (logp - logq), axis=-1))
    if static.loss == "population":
        return kl, kl
    y = take(data.samples, idx)
    return -jnp.mean(jnp.take_along_axis(logq, y, axis=1)), kl


def _batch_idx(static: Static, data_key, t):
    if static.batch_size == 0:
        return None
    k = jax.random.fold_in(data_key, t)
    return jax.random.randint(k, (static.batch_size,), 0, static.m, dtype=jnp.int32)


def train_lane(static: Static, data: TrainData, t0, params, opt_state, key, lr, wd):
    """`chunk_steps` optimiser steps of one lane as one lax.scan; steps ≥ static.steps
    are computed but not applied. Returns params, opt_state, losses, KLs (chunk,)."""
    graphdef = graphdef_of(static)
    tx = make_optimizer(static, lr, wd)
    data_key = jax.random.fold_in(key, 1)
    masked = static.steps % static.chunk_steps != 0

    def step(carry, t):
        params, opt_state = carry
        idx = _batch_idx(static, data_key, t)
        loss_fn = partial(batch_loss, graphdef, static, data, idx)
        (loss, kl), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, new_opt = tx.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        if masked:
            keep = partial(jnp.where, t < static.steps)
            new_params = jax.tree.map(keep, new_params, params)
            new_opt = jax.tree.map(keep, new_opt, opt_state)
        return (new_params, new_opt), (loss, kl)

    ts = t0 + jnp.arange(static.chunk_steps, dtype=jnp.int32)
    (params, opt_state), (loss, kl) = jax.lax.scan(step, (params, opt_state), ts)
    return params, opt_state, loss, kl


@partial(jax.jit, static_argnums=(0, 7), donate_argnums=(1, 2))
def run_chunk(
    static: Static, params, opt_state, keys, hyper: Hyper, data: TrainData, t0, group: int = 0
):
    """One chunk of steps for all P lanes: vmap over lanes of a scan over steps.

    With 0 < group < P the lanes run in P/group groups one after another (`lax.map` over
    groups, vmap within a group), all inside this one program: on a CPU a group whose
    activations fit in cache is faster per lane than all lanes at once. `group` must
    divide P. Returns params, opt_state, loss (P×chunk), KL (P×chunk).
    """
    lane = jax.vmap(partial(train_lane, static, data, t0))
    args = (params, opt_state, keys, hyper.lr, hyper.weight_decay)
    P = keys.shape[0]
    if not 0 < group < P:
        return lane(*args)
    split = jax.tree.map(lambda x: x.reshape(P // group, group, *x.shape[1:]), args)
    out = jax.lax.map(lambda a: lane(*a), split)
    return jax.tree.map(lambda x: x.reshape(P, *x.shape[2:]), out)


@partial(jax.jit, static_argnums=(0, 4))
def embed_contexts(static: Static, params, tokens, lengths, chunk: int):
    """F (P×n×d) over the given contexts (world order) and G (P×V×d) of every lane.

    Lanes one after another, contexts in chunks: memory O(chunk·T·width), not O(P·n·...).
    """
    graphdef = graphdef_of(static)
    n = tokens.shape[0]
    n_chunks = -(-n // chunk)
    pad = n_chunks * chunk - n
    ids = jnp.pad(jnp.arange(n, dtype=jnp.int32), (0, pad)).reshape(n_chunks, chunk)
    toks = jnp.pad(tokens, ((0, pad), (0, 0)), constant_values=static.V)
    toks = toks.reshape(n_chunks, chunk, -1)
    lens = jnp.pad(lengths, (0, pad)).reshape(n_chunks, chunk)

    def lane(p):
        model = nnx.merge(graphdef, p)
        F = jax.lax.map(lambda c: model.f(*c), (ids, toks, lens))
        return F.reshape(n_chunks * chunk, -1)[:n], model.g()

    return jax.lax.map(lane, params)
