"""Train N seeds (times a grid of shape-free hyperparameters) of a model on a world.

The host loop walks over chunks of steps; each chunk is one compiled program
(`steps.run_chunk`) covering all lanes on all devices. Between chunks it updates the
progress bar with the current KL and validation signals, and stops on a non-finite loss,
KL or validation signal (divergence).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from simident.training.config import TrainConfig
from simident.training.data import (
    EVAL_ROWS,
    draws_per_context,
    make_data,
    make_evals,
    padded_rows,
)
from simident.training.devices import (  # noqa: F401  (eval_chunk, lane_group: loop's API)
    CACHE_BYTES,
    device_record,
    eval_chunk,
    lane_group,
    lane_layout,
    pad_lanes,
    place,
)
from simident.training.distributed import is_leader, to_host
from simident.training.outputs import TrainResult
from simident.training.sequences import corpus, make_sequences
from simident.training.steps import (
    Hyper,
    embed_contexts,
    has_validation_share,
    init_lanes,
    lane_keys,
    make_static,
    run_chunk,
)
from simident.util.errors import SimidentError
from simident.util.memory import check_fits


class TrainingDiverged(SimidentError):
    """A seed's training loss became non-finite (names the seed and the step)."""

    def __init__(self, message, seed: int, step: int, point: dict):
        super().__init__(message)
        self.seed, self.step, self.point = seed, step, point


def train_world(
    world, config: TrainConfig, seeds: list[int] | None = None, progress: bool = True
) -> TrainResult:
    """Train `config.seeds` seeds (or the given `seeds`) of `config.model` on `world`.

    All seeds run in one compiled program (vmap over seeds, scan over steps), their lanes
    split over every local device.
    """
    return train_world_grid(world, config, seeds, progress=progress)[0]


def _sizes(world, config: TrainConfig):
    """(resolved config, m, T, S) before any work: training rows (sequences for the
    per-position losses, sequences.py), context length, sampled tokens per context."""
    tokens, _ = world.tokens()
    m, T = int(len(world.train_ids)), int(tokens.shape[1])
    if config.per_position:  # batches are sequences (sequences.py)
        m = int(corpus(world, config.loss).shape[0])
    config = config.resolved(world.d, sizes={"m": m, "V": world.V, "T": T})
    S = 0 if world.samples is None or config.loss != "samples" else world.samples.shape[1]
    return config, m, T, int(S)


def plan(world, config: TrainConfig, n_lanes: int | None = None):
    """(resolved config, TrainCost) of training `config` on `world`, before any work."""
    from simident.training.cost import train_cost

    config, m, T, S = _sizes(world, config)
    cost = train_cost(
        config,
        n=world.n,
        V=world.V,
        T=T,
        m=m,
        d_star=world.d,
        n_samples=S,
        lanes=n_lanes or config.seeds,
    )
    return config, cost


def program_key(world, config: TrainConfig, n_lanes: int) -> tuple:
    """What fixes the compiled training program of `config` on `world` with `n_lanes`
    lanes, before any work: runs with equal keys share their programs (the second
    compiles nothing; `simident.study.jobs` runs them on one thread). A scheduling hint,
    close to the jit's static arguments (`steps.Static`) without building the data."""
    config, m, T, S = _sizes(world, config)
    return make_static(config, world.n, world.V, T, m, S), n_lanes


def train_world_grid(
    world,
    config: TrainConfig,
    seeds: list[int] | None = None,
    *,
    lrs=None,
    weight_decays=None,
    init_scales=None,
    progress: bool = True,
    devices=None,
) -> list[TrainResult]:
    """Train every seed at every point of the grid lrs × weight_decays × init_scales
    (a list left None holds the config's value) in one compiled program.

    Returns one TrainResult per grid point, in product order (lr slowest), each with its
    own config (lr, weight_decay, init_scale set to the point). Every point uses the same
    seeds, hence the same initial directions (init_scale rescales them). `seconds` is the
    wall time of the shared program. The lanes are split over `devices` (default: every
    local device; see devices.py). The estimated memory is checked before anything is
    allocated (SimidentError naming the knob when it cannot fit).
    """
    grid = _grid(config.resolved(world.d), lrs, weight_decays, init_scales)
    n_seeds = config.seeds if seeds is None else len(seeds)
    config, cost = plan(world, config, n_seeds * len(grid))
    check_fits(cost.memory_bytes, f"training ({cost.line()})", KNOBS[config.model])
    n_boot = config.bootstrap if config.sampled else 0
    if n_boot:  # the bootstrap refits run B lanes per trained lane
        boot_cost = plan(world, config, n_seeds * len(grid) * n_boot)[1]
        check_fits(
            boot_cost.memory_bytes,
            f"the bootstrap of ν̂ ({boot_cost.line()})",
            KNOBS[config.model] + " or --bootstrap",
        )
    seeds = list(config.seed_list if seeds is None else seeds)
    if not seeds or any(not isinstance(s, (int, np.integer)) or not 0 <= s < 2**32 for s in seeds):
        raise SimidentError(
            f"seeds must be a non-empty list of integers in [0, 2^32) (got {seeds})"
        )
    configs = [
        replace(
            config, lr=lr, weight_decay=wd, init_scale=s, seeds=len(seeds), seed_offset=seeds[0]
        )
        for lr, wd, s in grid
    ]  # validates every point
    lanes = [(s, g) for g in grid for s in seeds]  # point-major
    layout = lane_layout(len(lanes), devices)
    _check_device_memory(cost.memory_bytes // layout.devices_used, config.model)
    hyper = Hyper(*(jnp.asarray([g[j] for _, g in lanes], jnp.float32) for j in range(3)))
    keys = lane_keys([s for s, _ in lanes])
    keys, hyper = place(pad_lanes((keys, hyper), layout), layout, lane_leading=True)

    tokens, lengths = world.tokens()
    data = make_data(world, config.loss, config.val_fraction, config.data)
    n_draws = draws_per_context(world, config.loss)
    static = make_static(config, world.n, world.V, tokens.shape[1], int(data.ids.shape[0]), n_draws)
    evals = make_evals(world, config.loss, config.val_fraction, EVAL_ROWS, config.data)
    world_static = static  # the world's own sizes: the embedding after training
    if config.per_position:
        data, evals, static = _with_sequences(world, config, data, evals, static)
    if config.early_stop and evals.heldout is None and not has_validation_share(static, evals):
        raise SimidentError(
            "--early-stop needs a validation signal: held-out contexts in the world "
            "(heldout_fraction > 0), or --loss samples with --val-fraction > 0"
        )
    data, evals = place((data, evals), layout, lane_leading=False)

    t_start = time.perf_counter()
    state = init_lanes(static, layout.mesh, keys, hyper)
    state, log = _run(static, config, state, keys, hyper, data, evals, lanes, layout, progress)
    params = state.best if static.early_stop else state.params
    jax.block_until_ready(params)
    seconds = time.perf_counter() - t_start

    t_eval = time.perf_counter()
    F, G = embed_contexts(
        world_static,
        params,
        jnp.asarray(tokens),
        jnp.asarray(lengths),
        eval_chunk(world_static),
        layout.mesh,
    )
    P = len(lanes)
    F, G, weights = to_host((F, G, params))  # every lane, on every process
    F, G = F[:P], G[:P]
    weights = jax.tree.map(lambda x: x[:P], weights)
    kl = _kl_all(world, F, G)
    eval_seconds = time.perf_counter() - t_eval
    _check_final(kl, log, lanes, config, static.steps, static.V)
    boot = None
    if n_boot:
        from simident.training.bootstrap import bootstrap

        boot = bootstrap(
            static, config, weights, lanes, data, tokens, lengths, F, G, log.best_step, devices
        )

    train, held = np.asarray(world.train_ids), np.asarray(world.heldout_ids)
    N = len(seeds)
    shape = {"n": world.n, "V": world.V, "T": int(tokens.shape[1])}
    results = []
    for h, cfg in enumerate(configs):
        sl = slice(h * N, (h + 1) * N)
        k = kl[sl]
        results.append(
            TrainResult(
                config=cfg,
                world_id=world.world_id,
                seeds=seeds,
                F=F[sl],
                G=G[sl],
                kl_mean=k.mean(axis=1),
                kl_max=k.max(axis=1),
                kl_mean_train=_mean_over(k, train),
                kl_mean_heldout=_mean_over(k, held),
                final_loss=log.final_loss[sl],
                diverged_step=log.diverged[sl],
                seconds=seconds,
                eval_seconds=eval_seconds,
                history=log.history_of(sl),
                shared={"grid_points": len(grid), "lanes": len(lanes)},
                best_step=log.best_step[sl],
                weights=[jax.tree.map(lambda x, i=i: x[i], weights) for i in range(*sl.indices(P))],
                model_shape=shape,
                devices=device_record(layout),
                cost=cost,
                noise=None if boot is None else boot.noise[sl],
                bootstrap={} if boot is None else boot.record(),
            )
        )
    return results


def _with_sequences(world, config, data, evals, static):
    """Training data, evaluation sets and Static of a per-position loss: the sequences
    (training and held-out) join the data; batches count sequences."""
    seqs, val = make_sequences(world, config.loss, config.model, config.val_fraction)
    N = int(seqs.inputs.shape[0])
    B = config.batch_size if 0 < (config.batch_size or 0) < N else 0
    static = static._replace(n_seq=N, batch_size=B)
    if config.model == "transformer":
        # the transformer never sees the number of contexts and the sequences only gather
        # their prefixes' rows: pad the rows to whole EVAL_ROWS blocks (the evaluation
        # sets' own padding), so worlds of nearby sizes share one compiled chunk
        rows = -(-static.m // EVAL_ROWS) * EVAL_ROWS
        data = padded_rows(data, rows)
        static = static._replace(n=rows, m=rows)
    return data._replace(seqs=seqs), evals._replace(sequences=val), static


# the options that shrink a run, named in the "does not fit" message
KNOBS = {
    "table": "--seeds, --batch-size or --d",
    "transformer": "--seeds, --batch-size, --width or --depth",
}


def _check_device_memory(per_device: int, model: str) -> None:
    """On an accelerator, also refuse a run whose share of lanes cannot fit in one
    device's memory (as reported by the runtime; nothing to check on a CPU)."""
    device = jax.local_devices()[0]
    if device.platform == "cpu":
        return
    limit = (device.memory_stats() or {}).get("bytes_limit")
    if limit:
        check_fits(per_device, f"training on {device.device_kind}", KNOBS[model], limit)


def _grid(config, lrs, wds, scales):
    pick = lambda xs, default: [float(x) for x in xs] if xs is not None else [default]  # noqa: E731
    axes = [pick(lrs, config.lr), pick(wds, config.weight_decay), pick(scales, config.init_scale)]
    for name, xs in zip(("lrs", "weight_decays", "init_scales"), axes):
        if not xs:
            raise SimidentError(f"{name} must not be empty")
    return list(itertools.product(*axes))


class RunLog:
    """What the host loop learns per chunk: histories, divergence, best steps (numpy)."""

    def __init__(self, P: int):
        self.diverged = np.full(P, -1, dtype=np.int64)
        self.final_loss = np.full(P, np.nan)
        self.best_step = np.full(P, -1, dtype=np.int64)
        self.step: list[int] = []
        self.rows: dict[str, list] = {"kl": [], "train_kl": [], "val_kl": [], "val_nll": []}

    def history_of(self, sl) -> dict:
        out = {"step": list(self.step)}
        for name, rows in self.rows.items():
            out[name] = [r[sl].tolist() for r in rows]
        return out


DENSE_START = 8  # with early stopping the first chunk is validated this many times


def chunk_plan(static) -> list[tuple[int, object]]:
    """(first step, Static) of every chunk. With early stopping the first chunk's steps are
    split into DENSE_START chunks (a second compiled chunk length), so that a model that
    overfits within the first chunk is still validated near its best; later chunks have
    the configured length."""
    steps, chunk = static.steps, static.chunk_steps
    plan, t0 = [], 0
    small = chunk // DENSE_START
    if static.early_stop and small >= 1:
        dense = static._replace(chunk_steps=small)
        plan = [(j * small, dense) for j in range(DENSE_START)]
        t0 = DENSE_START * small
    plan += [(t, static) for t in range(t0, steps, chunk)]
    return plan


def _run(static, config, state, keys, hyper, data, evals, lanes, layout, progress):
    """Host loop over chunks: run, check divergence, record histories, report progress."""
    from tqdm.auto import tqdm

    steps = static.steps
    P = len(lanes)
    group = lane_group(static, layout.padded // layout.devices_used, config.lane_group)
    log = RunLog(P)
    desc = f"train {static.model} d={static.d} ×{P}"
    progress = progress and is_leader()  # one bar, from process 0
    with tqdm(total=steps, desc=desc, unit="step", disable=not progress, leave=False) as bar:
        for t0, chunk_static in chunk_plan(static):
            chunk = chunk_static.chunk_steps
            state, loss, kl, signals = run_chunk(
                chunk_static, group, layout.mesh, state, keys, hyper, data, evals, jnp.int32(t0)
            )
            valid = min(chunk, steps - t0)
            loss, kl, signals = to_host((loss, kl, signals))
            loss, kl = loss[:P, :valid], kl[:P, :valid]
            train_kl, val_kl, val_nll = (x[:P] for x in signals)
            val_bad = np.zeros_like(loss, dtype=bool)
            val_bad[:, -1] = ~np.isfinite(train_kl)
            own_val = has_validation_share(static, evals)
            for v, present in ((val_kl, evals.heldout is not None), (val_nll, own_val)):
                if present:
                    val_bad[:, -1] |= ~np.isfinite(v)
            limit = divergence_limit(static.V)
            bad = ~np.isfinite(loss) | ~np.isfinite(kl) | val_bad | (loss > limit) | (kl > limit)
            new = bad.any(axis=1) & (log.diverged < 0)
            log.diverged[new] = t0 + np.argmax(bad[new], axis=1)
            if new.any() and config.stop_on_divergence:
                i = int(np.flatnonzero(new)[np.argmin(log.diverged[new])])
                j = int(log.diverged[i] - t0)
                raise _diverged(lanes[i], int(log.diverged[i]), float(loss[i, j]), float(kl[i, j]))
            log.final_loss = loss[:, -1].astype(np.float64)
            alive = log.diverged < 0
            last = np.where(alive, kl[:, -1], np.nan)
            log.step.append(t0 + valid)
            log.rows["kl"].append(last)
            log.rows["train_kl"].append(np.where(alive, train_kl, np.nan))
            log.rows["val_kl"].append(np.where(alive, val_kl, np.nan))
            log.rows["val_nll"].append(np.where(alive, val_nll, np.nan))
            if progress and alive.any():
                bar.set_postfix_str(_postfix(train_kl, val_kl, val_nll, alive), refresh=False)
            bar.update(valid)
    if static.early_stop:
        log.best_step = to_host(state.best_step)[:P].astype(np.int64)
        _warn_first_best(log, lanes, chunk_plan(static), static.steps)
    else:
        log.best_step = np.full(P, steps, dtype=np.int64)
    return state, log


class EarlyStopWarning(UserWarning):
    """Early stopping kept the first validation: the best may lie before it."""


def _warn_first_best(log, lanes, plan, steps: int) -> None:
    """Warn (EarlyStopWarning) when a lane's kept parameters are those of the first
    validation: the validation signal only rose after it, so the optimum may be earlier."""
    first = min(plan[0][0] + plan[0][1].chunk_steps, steps)
    hit = [i for i in range(len(lanes)) if log.best_step[i] == first and log.diverged[i] < 0]
    if not hit:
        return
    import warnings

    seeds = sorted({int(lanes[i][0]) for i in hit})
    shown = ", ".join(map(str, seeds[:8])) + (", ..." if len(seeds) > 8 else "")
    warnings.warn(
        f"early stopping kept the first validation (step {first}) for seed(s) {shown}: the "
        f"validation signal rose after it, so the best may lie earlier; rerun with a "
        f"smaller --chunk-steps (validations come every {plan[0][1].chunk_steps} steps "
        f"at first) or a smaller --lr",
        EarlyStopWarning,
        stacklevel=2,
    )


def _postfix(kl, val_kl, val_nll, alive) -> str:
    """Progress text: mean and max over lanes of the training-set KL at the end of the
    chunk, and the validation signals. KL ≥ 0 in exact arithmetic; float32 rounding can
    make a mean over contexts slightly negative (≈ −1e-8), so the bar clips at 0
    (histories keep the computed values)."""
    kl = kl[alive]
    text = f"KL mean {max(np.nanmean(kl), 0.0):.2e} max {max(np.nanmax(kl), 0.0):.2e}"
    if np.isfinite(val_kl[alive]).any():
        text += f" val KL {max(np.nanmean(val_kl[alive]), 0.0):.2e}"
    if np.isfinite(val_nll[alive]).any():
        text += f" val NLL {np.nanmean(val_nll[alive]):.4f}"
    return text


def divergence_limit(V: int) -> float:
    """Loss or KL (nats) above which a run has diverged even if it stayed finite: a
    thousand times the cross-entropy of the uniform predictor, 1000·log V. (KL is
    computed stably, so an exploded model no longer shows up as an overflow.)"""
    return 1e3 * max(float(np.log(max(V, 2))), 1.0)


def _check_final(kl, log, lanes, config, steps, V: int) -> None:
    """A lane whose final KL over the world is non-finite or above the divergence limit
    diverged (at the last step)."""
    too_big = np.nanmax(np.where(np.isfinite(kl), kl, 0.0), axis=1) > divergence_limit(V)
    bad = (~np.isfinite(kl).all(axis=1) | too_big) & (log.diverged < 0)
    log.diverged[bad] = steps
    if bad.any() and config.stop_on_divergence:
        i = int(np.flatnonzero(bad)[0])
        raise _diverged(
            lanes[i], steps, float(log.final_loss[i]), float(np.nanmean(kl[i])), "final KL"
        )


def _diverged(lane, step, loss, kl, what: str = "KL") -> TrainingDiverged:
    seed, (lr, wd, scale) = lane
    point = {"lr": lr, "weight_decay": wd, "init_scale": scale}
    return TrainingDiverged(
        f"seed {seed} diverged at step {step} (loss {loss:.3g}, {what} {kl:.3g}) with lr {lr:g}, "
        f"weight decay "
        f"{wd:g}, init scale {scale:g}; try a smaller --lr or --init-scale",
        seed,
        step,
        point,
    )


def _kl_all(world, F, G) -> np.ndarray:
    """KL(p* ‖ p_model) over all contexts for every lane (P×n), float64 truth."""
    from simident.theory.divergence import kl_per_context

    out = np.empty((F.shape[0], F.shape[1]))
    for p in range(F.shape[0]):
        if not (np.all(np.isfinite(F[p])) and np.all(np.isfinite(G[p]))):
            out[p] = np.nan
            continue
        out[p] = np.asarray(kl_per_context(world.F, world.G, F[p], G[p]))
    return out


def _mean_over(kl, ids) -> np.ndarray:
    if len(ids) == 0:
        return np.full(kl.shape[0], np.nan)
    return kl[:, np.asarray(ids, dtype=np.int64)].mean(axis=1)
