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
from simident.training.config import SEQUENCE_LOSSES
from simident.training.data import (
    EVAL_ROWS,
    PRECOMPUTE_LIMIT,
    Evals,
    EvalSet,
    TrainData,
    draw_key,
    take,
    target_logp,
)
from simident.training.devices import over_lanes
from simident.training.optimizer import make_optimizer
from simident.training.sequences import sequence_loss, sequence_nll
from simident.worlds.sampling import draw_tokens


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
    early_stop: bool = False  # keep each lane's best-validation parameters
    data: str = "population"  # "population" | "shared" | "independent" | "teacher" (refit)
    n_draws: int = 0  # S: sampled next tokens per context (finite data)
    n_fit: int = 0  # of which the first n_fit are trained on (the rest: validation share)
    n_seq: int = 0  # per-position losses: training sequences (batches draw from these)


# the TrainConfig fields that fix program structure, copied into Static under their own
# names (lr, weight decay and init scale are per-lane values: `Hyper`; seeds: lanes)
CONFIG_FIELDS = (
    "model",
    "d",
    "width",
    "depth",
    "heads",
    "mlp_ratio",
    "steps",
    "warmup",
    "schedule",
    "optimizer",
    "loss",
    "chunk_steps",
)


class Hyper(NamedTuple):
    """Shape-free hyperparameters, one value per lane (float32 arrays of shape (P,))."""

    lr: jax.Array
    weight_decay: jax.Array
    init_scale: jax.Array


def make_static(config, n: int, V: int, T: int, m: int, n_draws: int = 0) -> Static:
    """The Static of a resolved config on a world of n contexts (m for training); n_draws:
    the sampled next tokens per context of a finite-data run (`data.draws_per_context`)."""
    from simident.training.data import n_val_samples

    c = config
    B = c.batch_size if 0 < (c.batch_size or 0) < m else 0
    n_fit = n_draws - n_val_samples(n_draws, c.val_fraction) if n_draws else 0
    shared = {name: getattr(c, name) for name in CONFIG_FIELDS}  # by name, never position
    return Static(
        **shared,
        final_lr_frac=float(c.final_lr_frac),
        b2=float(c.b2),
        early_stop=bool(c.early_stop),
        n=n,
        V=V,
        T=T,
        m=m,
        batch_size=B,
        data=c.data_mode,
        n_draws=int(n_draws),
        n_fit=int(n_fit),
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


def model_static(static: Static, optimizer: bool = False) -> Static:
    """`static` with every field that does not shape the model (nor, with `optimizer`,
    its optimiser state) set to one value: programs that only build the model
    (initialisation, embedding) compile once per model, whatever the training recipe."""
    keep = {f: getattr(static, f) for f in MODEL_FIELDS}
    if static.model == "transformer":
        keep["n"] = 0  # a transformer reads tokens, not context ids: no n in its shapes
    if optimizer:
        keep.update(optimizer=static.optimizer, b2=static.b2, early_stop=static.early_stop)
    return CANONICAL._replace(**keep)


MODEL_FIELDS = ("model", "n", "V", "T", "d", "width", "depth", "heads", "mlp_ratio")
CANONICAL = Static(
    model="table",
    n=0,
    V=0,
    T=0,
    m=0,
    d=0,
    width=0,
    depth=0,
    heads=0,
    mlp_ratio=0,
    steps=1,
    warmup=0,
    schedule="constant",
    final_lr_frac=0.0,
    optimizer="adamw",
    b2=0.0,
    loss="population",
    batch_size=0,
    chunk_steps=1,
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


class LaneState(NamedTuple):
    """What a chunk carries per lane (every leaf lane-leading). `best` holds the parameters
    of the lane's best validation chunk so far (None without early stopping)."""

    params: object
    opt_state: object
    best: object
    best_metric: jax.Array  # P, float32 (inf before the first chunk)
    best_step: jax.Array  # P, int32 (-1 before the first chunk)


# Initialisation runs once per run: XLA's backend optimisations buy nothing there, and at
# the default level compiling the random initialisers of a transformer takes seconds
# (8-13 s for depth 1-2 on a 2-core CPU, against 1.5-2 s at level 0; same parameters).
INIT_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0}


def init_lanes(static: Static, mesh, keys, hyper: Hyper) -> LaneState:
    """Parameters and optimiser states of all lanes (split over the mesh's devices); one
    program per model and optimiser (`model_static`), whatever the rest of the recipe."""
    return _init_lanes(model_static(static, optimizer=True), mesh, keys, hyper)


@partial(jax.jit, static_argnums=(0, 1), compiler_options=INIT_COMPILER_OPTIONS)
def _init_lanes(static: Static, mesh, keys, hyper: Hyper) -> LaneState:

    def lane(key, lr, wd, scale):
        params = init_params(static, key, scale)
        return params, make_optimizer(static, lr, wd).init(params)

    def local(keys, hyper):
        params, opt = jax.vmap(lane)(keys, hyper.lr, hyper.weight_decay, hyper.init_scale)
        P = keys.shape[0]
        best = params if static.early_stop else None
        metric = jnp.full((P,), jnp.inf, jnp.float32)
        return LaneState(params, opt, best, metric, jnp.full((P,), -1, jnp.int32))

    return over_lanes(local, mesh, 2, 0)(keys, hyper)


def draws_counted(static: Static) -> bool:
    """Whether a lane counts its own draws once (m·max(V, n_fit) small) instead of drawing
    them again at every step."""
    return (
        static.loss == "samples"
        and static.data in ("independent", "teacher")
        and static.m * max(static.V, static.n_fit) <= PRECOMPUTE_LIMIT
    )


def draw_counts(graphdef, static: Static, data: TrainData, draw, teacher=None):
    """m×V float32: how often each token is among the n_fit draws of each training context
    (from p*, or from the `teacher` parameters' own distribution)."""
    ids = None if static.m == static.n else data.ids
    if teacher is None:
        source = target_logp(data, None)
    else:
        t = nnx.merge(graphdef, teacher)
        source = jax.nn.log_softmax(t.logits(ids, data.tokens, data.lengths), axis=-1)
    y = draw_tokens(jnp.exp(source), data.ids, draw, static.n_draws)[:, : static.n_fit]
    rows = jnp.broadcast_to(jnp.arange(static.m)[:, None], y.shape)
    return jnp.zeros((static.m, static.V), jnp.float32).at[rows, y].add(1.0)


def batch_loss(
    graphdef, static: Static, data: TrainData, idx, params, draw=None, teacher=None, counts=None
):
    """(loss, KL) on the training contexts at positions idx (None: all of them).

    KL = mean over the batch of KL(p*(·|s) ‖ p_model(·|s)), nats. Population loss is this
    KL (same gradient as cross-entropy to p*); sample loss is the mean negative
    log-likelihood of the training share of the sampled next tokens: the world's (data
    "shared"), the lane's own draws from p* with key `draw` ("independent"), or draws
    from the `teacher` parameters' own distribution ("teacher": a bootstrap refit).
    """
    teacher = None if teacher is None else nnx.merge(graphdef, teacher)
    return model_loss(nnx.merge(graphdef, params), static, data, idx, draw, teacher, counts)


def model_loss(model, static: Static, data: TrainData, idx, draw=None, teacher=None, counts=None):
    """`batch_loss` of a live model object (used by the per-step baseline benchmark).
    `counts` (m×V, optional): the lane's drawn tokens counted per training context once
    (`draw_counts`), so a step reads them instead of drawing again (the same loss)."""
    if static.loss in SEQUENCE_LOSSES:  # every position of whole sequences (sequences.py)
        return sequence_loss(model, static, data, idx)
    # full batch over every context (ids = 0..n-1, sorted by make_data): no gather/scatter
    ids = None if idx is None and static.m == static.n else take(data.ids, idx)
    tokens, lengths = take(data.tokens, idx), take(data.lengths, idx)
    logq = jax.nn.log_softmax(model.logits(ids, tokens, lengths), axis=-1)
    logp = target_logp(data, idx)
    kl = jnp.mean(jnp.sum(jnp.exp(logp) * (logp - logq), axis=-1))
    if static.loss == "population":
        return kl, kl
    if counts is not None:
        w = take(counts, idx) / static.n_fit
        return -jnp.mean(jnp.sum(w * logq, axis=-1)), kl
    if static.data == "shared":
        y = take(data.samples, idx)
    else:
        source = logp
        if static.data == "teacher":
            source = jax.nn.log_softmax(teacher.logits(ids, tokens, lengths), axis=-1)
            source = jax.lax.stop_gradient(source)
        y = draw_tokens(jnp.exp(source), take(data.ids, idx), draw, static.n_draws)
        y = y[:, : static.n_fit]
    return -jnp.mean(jnp.take_along_axis(logq, y, axis=1)), kl


def _batch_idx(static: Static, data_key, t):
    if static.batch_size == 0:
        return None
    k = jax.random.fold_in(data_key, t)
    bound = static.n_seq or static.m  # sequences or contexts
    return jax.random.randint(k, (static.batch_size,), 0, bound, dtype=jnp.int32)


def train_lane(static: Static, data: TrainData, t0, params, opt_state, key, lr, wd, teacher=None):
    """`chunk_steps` optimiser steps of one lane as one lax.scan; steps ≥ static.steps
    are computed but not applied. Returns params, opt_state, losses, KLs (chunk,).
    `teacher`: the parameters whose own distribution the refit's samples come from
    (data "teacher")."""
    graphdef = graphdef_of(static)
    tx = make_optimizer(static, lr, wd)
    data_key = jax.random.fold_in(key, 1)
    draw = draw_key(key, data.salt)
    # early stopping's dense first chunks shift the later chunk ends: mask there too
    masked = static.steps % static.chunk_steps != 0 or static.early_stop
    counts = draw_counts(graphdef, static, data, draw, teacher) if draws_counted(static) else None

    def step(carry, t):
        params, opt_state = carry
        idx = _batch_idx(static, data_key, t)
        loss_fn = partial(
            batch_loss, graphdef, static, data, idx, draw=draw, teacher=teacher, counts=counts
        )
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


def eval_set_metrics(model, static: Static, es: EvalSet, draw=None):
    """(mean KL(p* ‖ p_model), mean NLL of the validation samples (nan without)) over the
    real rows of `es`, chunk by chunk of EVAL_ROWS rows (memory O(EVAL_ROWS·V) per lane).
    The validation samples are es.samples, or with a `draw` key the validation share
    (draws n_fit..n_draws-1) of the lane's own independent draws."""
    drawn = es.samples is None and draw is not None
    k = es.ids.shape[0]
    n_chunks = k // EVAL_ROWS
    parts = [es.ids, es.tokens, es.lengths, es.F_star, es.mask]
    if es.samples is not None:
        parts.append(es.samples)
    parts = [x.reshape(n_chunks, EVAL_ROWS, *x.shape[1:]) for x in parts]

    def chunk(c):
        ids, tokens, lengths, F_star, mask = c[:5]
        ids = ids if static.model == "table" else None
        logq = jax.nn.log_softmax(model.logits(ids, tokens, lengths), axis=-1)
        logp = jax.nn.log_softmax(F_star @ es.G_star.T, axis=-1)
        kl = jnp.sum(jnp.exp(logp) * (logp - logq), axis=-1)
        nll = jnp.zeros_like(kl)
        if es.samples is not None:
            nll = -jnp.mean(jnp.take_along_axis(logq, c[5], axis=1), axis=1)
        elif drawn:
            y = draw_tokens(jnp.exp(logp), c[0], draw, static.n_draws)[:, static.n_fit :]
            nll = -jnp.mean(jnp.take_along_axis(logq, y, axis=1), axis=1)
        return jnp.sum(jnp.where(mask, kl, 0.0)), jnp.sum(jnp.where(mask, nll, 0.0))

    kl_sum, nll_sum = jax.lax.map(chunk, parts)
    count = jnp.sum(es.mask)
    has_nll = es.samples is not None or drawn
    nll = jnp.sum(nll_sum) / count if has_nll else jnp.float32(jnp.nan)
    return jnp.sum(kl_sum) / count, nll


class Signals(NamedTuple):
    """Per-lane measurements after a chunk (nan where the set does not exist)."""

    train_kl: jax.Array  # exact mean KL over the training contexts
    val_kl: jax.Array  # mean KL over the held-out contexts
    val_nll: jax.Array  # mean NLL of the validation share of the samples


def has_validation_share(static: Static, evals: Evals) -> bool:
    """Whether the training contexts carry a validation share of sampled tokens."""
    own = static.data == "independent" and static.n_draws > static.n_fit
    return evals.train.samples is not None or own or evals.sequences is not None


def validate(static: Static, evals: Evals, params, key=None, salt=None) -> Signals:
    """The Signals of one lane's parameters (`key`, `salt`: the lane's seed key and the
    world's data salt, for the validation share of independent draws)."""
    model = nnx.merge(graphdef_of(static), params)
    own = static.data == "independent" and static.n_draws > static.n_fit and key is not None
    draw = draw_key(key, salt) if own else None
    train_kl, val_nll = eval_set_metrics(model, static, evals.train, draw)
    if evals.sequences is not None:  # held-out sequences, every position
        val_nll = sequence_nll(model, static, evals.sequences)
    val_kl = jnp.float32(jnp.nan)
    if evals.heldout is not None:
        val_kl = eval_set_metrics(model, static, evals.heldout)[0]
    return Signals(train_kl, val_kl, val_nll)


def stop_metric(static: Static, evals: Evals, signals: Signals):
    """The metric early stopping minimises: validation NLL when the samples have a
    validation share, else the held-out KL."""
    return signals.val_nll if has_validation_share(static, evals) else signals.val_kl


def in_groups(lane, args, group: int):
    """lane(*args) over lane-leading args: all at once, or (0 < group < P) in groups of
    `group` lanes one after another (`lax.map` over groups, vmap within one)."""
    P = jax.tree.leaves(args)[0].shape[0]
    if not 0 < group < P:
        return lane(*args)
    split = jax.tree.map(lambda x: x.reshape(P // group, group, *x.shape[1:]), args)
    out = jax.lax.map(lambda a: lane(*a), split)
    return jax.tree.map(lambda x: x.reshape(P, *x.shape[2:]), out)


@partial(jax.jit, static_argnums=(0, 1, 2), donate_argnums=(3,))
def run_chunk(
    static: Static,
    group: int,
    mesh,
    lanes: LaneState,
    keys,
    hyper: Hyper,
    data: TrainData,
    evals: Evals,
    t0,
):
    """One chunk of steps for all P lanes: vmap over lanes of a scan over steps, then each
    lane's validation signal and (early stopping) a per-lane `where` keeping its best
    parameters. On several devices every device runs this on its block of lanes.

    With 0 < group < P_local the lanes run in groups one after another (`lax.map` over
    groups, vmap within a group), all inside this one program: on a CPU a group whose
    activations fit in cache is faster per lane than all lanes at once. `group` must
    divide the lanes of a device. Returns the new LaneState, loss and batch KL
    (P×chunk) and the Signals (each P) of the parameters at the end of the chunk.
    """

    def one(data, evals, t0, lane: LaneState, key, lr, wd):
        t_end = jnp.minimum(t0 + static.chunk_steps, static.steps).astype(jnp.int32)
        params, opt_state, loss, kl = train_lane(
            static, data, t0, lane.params, lane.opt_state, key, lr, wd
        )
        signals = validate(static, evals, params, key, data.salt)
        best, metric, step = lane.best, lane.best_metric, lane.best_step
        if static.early_stop:
            m = stop_metric(static, evals, signals)
            better = m < metric  # a non-finite metric is never better
            best = jax.tree.map(partial(jnp.where, better), params, best)
            metric = jnp.where(better, m, metric)
            step = jnp.where(better, t_end, step)
        return LaneState(params, opt_state, best, metric, step), loss, kl, signals

    def local(lanes, keys, hyper, data, evals, t0):
        lane = jax.vmap(partial(one, data, evals, t0))
        return in_groups(lane, (lanes, keys, hyper.lr, hyper.weight_decay), group)

    return over_lanes(local, mesh, 3, 3)(lanes, keys, hyper, data, evals, t0)


def embed_contexts(
    static: Static, params, tokens, lengths, chunk: int, mesh=None, layer: int | None = None
):
    """F (P×n×d) over the given contexts (world order) and G (P×V×d) of every lane.

    Lanes one after another (on each device, its block of lanes), contexts in chunks:
    memory O(chunk·T·width), not O(P·n·...). `layer` (transformer only): the
    representation after that many blocks (see `Transformer.represent`) instead of f.
    One program per model shape (`model_static`).
    """
    return _embed(model_static(static), params, tokens, lengths, chunk, mesh, layer)


@partial(jax.jit, static_argnums=(0, 4, 5, 6))
def _embed(static: Static, params, tokens, lengths, chunk: int, mesh, layer):
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
        if layer is None:
            F = jax.lax.map(lambda c: model.f(*c), (ids, toks, lens))
        else:
            F = jax.lax.map(lambda c: model.represent(c[1], c[2], layer), (ids, toks, lens))
        return F.reshape(n_chunks * chunk, -1)[:n], model.g()

    return over_lanes(lambda p: jax.lax.map(lane, p), mesh, 1, 0)(params)


@partial(jax.jit, static_argnums=(0, 1, 2))
def refit_lanes(static: Static, group: int, mesh, params, teacher, keys, hyper: Hyper, data):
    """The refits of a parametric bootstrap (THEORY.md §4 A6): every lane starts from its
    `teacher` parameters (a trained model, warm start) with a fresh optimiser and fits, for
    `static.steps` steps in one scan, n_fit tokens per training context drawn from the
    teacher's own distribution (static.data "teacher"; the draws come from the lane's key).
    Returns the refitted parameters and each lane's final loss (lane-leading)."""

    def one(data, params, teacher, key, lr, wd):
        opt_state = make_optimizer(static, lr, wd).init(params)
        params, _, loss, _ = train_lane(
            static, data, jnp.int32(0), params, opt_state, key, lr, wd, teacher=teacher
        )
        return params, loss[-1]

    def local(params, teacher, keys, hyper, data):
        lane = jax.vmap(partial(one, data))
        return in_groups(lane, (params, teacher, keys, hyper.lr, hyper.weight_decay), group)

    return over_lanes(local, mesh, 4, 1)(params, teacher, keys, hyper, data)
