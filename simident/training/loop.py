"""Train N seeds (times a grid of shape-free hyperparameters) of a model on a world.

The host loop walks over chunks of steps; each chunk is one compiled program
(`steps.run_chunk`) covering all lanes. Between chunks it updates the progress bar
with the current KL and checks for non-finite losses.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from simident.errors import SimidentError
from simident.training.config import TrainConfig
from simident.training.data import make_data
from simident.training.outputs import TrainResult
from simident.training.steps import (
    Hyper,
    embed_contexts,
    init_lanes,
    lane_keys,
    make_static,
    run_chunk,
)


class TrainingDiverged(SimidentError):
    """A seed's training loss became non-finite (names the seed and the step)."""

    def __init__(self, message, seed: int, step: int, point: dict):
        super().__init__(message)
        self.seed, self.step, self.point = seed, step, point


def train_world(
    world, config: TrainConfig, seeds: list[int] | None = None, progress: bool = True
) -> TrainResult:
    """Train `config.seeds` seeds (or the given `seeds`) of `config.model` on `world`.

    All seeds run in one compiled program (vmap over seeds, scan over steps).
    """
    return train_world_grid(world, config, seeds, progress=progress)[0]


def train_world_grid(
    world,
    config: TrainConfig,
    seeds: list[int] | None = None,
    *,
    lrs=None,
    weight_decays=None,
    init_scales=None,
    progress: bool = True,
) -> list[TrainResult]:
    """Train every seed at every point of the grid lrs × weight_decays × init_scales
    (a list left None holds the config's value) in one compiled program.

    Returns one TrainResult per grid point, in product order (lr slowest), each with its
    own config (lr, weight_decay, init_scale set to the point). Every point uses the same
    seeds, hence the same initial directions (init_scale rescales them). `seconds` is the
    wall time of the shared program.
    """
    config = config.resolved(world.d)
    seeds = list(config.seed_list if seeds is None else seeds)
    if not seeds or any(not isinstance(s, (int, np.integer)) or not 0 <= s < 2**32 for s in seeds):
        raise SimidentError(
            f"seeds must be a non-empty list of integers in [0, 2^32) (got {seeds})"
        )
    grid = _grid(config, lrs, weight_decays, init_scales)
    configs = [
        replace(
            config, lr=lr, weight_decay=wd, init_scale=s, seeds=len(seeds), seed_offset=seeds[0]
        )
        for lr, wd, s in grid
    ]  # validates every point
    lanes = [(s, g) for g in grid for s in seeds]  # point-major
    hyper = Hyper(*(jnp.asarray([g[j] for _, g in lanes], jnp.float32) for j in range(3)))
    keys = lane_keys([s for s, _ in lanes])

    tokens, lengths = world.tokens()
    data = make_data(world, config.loss)
    static = make_static(config, world.n, world.V, tokens.shape[1], int(data.ids.shape[0]))

    t_start = time.perf_counter()
    params, opt_state = init_lanes(static, keys, hyper)
    params, history, final_loss, diverged = _run(
        static, config, params, opt_state, keys, hyper, data, lanes, progress
    )
    jax.block_until_ready(params)
    seconds = time.perf_counter() - t_start

    t_eval = time.perf_counter()
    F, G = embed_contexts(
        static, params, jnp.asarray(tokens), jnp.asarray(lengths), _eval_chunk(static)
    )
    F, G = np.asarray(F), np.asarray(G)
    kl = _kl_all(world, F, G)
    eval_seconds = time.perf_counter() - t_eval

    train, held = np.asarray(world.train_ids), np.asarray(world.heldout_ids)
    N = len(seeds)
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
                final_loss=final_loss[sl],
                diverged_step=diverged[sl],
                seconds=seconds,
                eval_seconds=eval_seconds,
                history={"step": history["step"], "kl": [r[sl].tolist() for r in history["kl"]]},
                shared={"grid_points": len(grid), "lanes": len(lanes)},
            )
        )
    return results


def _grid(config, lrs, wds, scales):
    pick = lambda xs, default: [float(x) for x in xs] if xs is not None else [default]  # noqa: E731
    axes = [pick(lrs, config.lr), pick(wds, config.weight_decay), pick(scales, config.init_scale)]
    for name, xs in zip(("lrs", "weight_decays", "init_scales"), axes):
        if not xs:
            raise SimidentError(f"{name} must not be empty")
    return list(itertools.product(*axes))


def _run(static, config, params, opt_state, keys, hyper, data, lanes, progress):
    """Host loop over chunks: run, check divergence, report progress."""
    from tqdm.auto import tqdm

    steps, chunk = static.steps, static.chunk_steps
    P = len(lanes)
    group = lane_group(static, P, config.lane_group)
    diverged = np.full(P, -1, dtype=np.int64)
    final_loss = np.full(P, np.nan)
    history = {"step": [], "kl": []}
    desc = f"train {static.model} d={static.d} ×{P}"
    with tqdm(total=steps, desc=desc, unit="step", disable=not progress, leave=False) as bar:
        for t0 in range(0, steps, chunk):
            params, opt_state, loss, kl = run_chunk(
                static, params, opt_state, keys, hyper, data, jnp.int32(t0), group
            )
            valid = min(chunk, steps - t0)
            loss, kl = np.asarray(loss)[:, :valid], np.asarray(kl)[:, :valid]
            bad = ~np.isfinite(loss)
            new = bad.any(axis=1) & (diverged < 0)
            diverged[new] = t0 + np.argmax(bad[new], axis=1)
            if new.any() and config.stop_on_divergence:
                i = int(np.flatnonzero(new)[np.argmin(diverged[new])])
                raise _diverged(lanes[i], int(diverged[i]), float(loss[i, diverged[i] - t0]))
            final_loss = loss[:, -1].astype(np.float64)
            last = np.where(diverged < 0, kl[:, -1], np.nan)
            history["step"].append(t0 + valid)
            history["kl"].append(last)
            if progress and np.isfinite(last).any():
                bar.set_postfix_str(
                    f"KL mean {np.nanmean(last):.2e} max {np.nanmax(last):.2e}", refresh=False
                )
            bar.update(valid)
    return params, history, final_loss, diverged


CACHE_BYTES = 8 * 2**20  # activation budget of one lane group on a CPU


def lane_group(static, P: int, requested: int = 0) -> int:
    """How many lanes to vmap together (0: all P at once).

    A requested size must divide P. Auto: all lanes on an accelerator; on a CPU the
    largest divisor of P whose activations (the biggest per-lane intermediate, B×T×r·W
    floats for the transformer, B×V for the table) fit in CACHE_BYTES. Grouping changes
    speed only: lanes agree with any grouping up to float rounding.
    """
    if requested:
        if P % requested:
            raise SimidentError(f"lane_group {requested} must divide the number of lanes {P}")
        return 0 if requested >= P else requested
    if jax.default_backend() != "cpu":
        return 0
    B = static.batch_size or static.m
    per_lane = (
        B
        * (
            static.T * static.width * static.mlp_ratio
            if static.model == "transformer"
            else static.V
        )
        * 4
    )
    fit = max(1, CACHE_BYTES // max(per_lane, 1))
    group = max(g for g in range(1, P + 1) if P % g == 0 and g <= fit)
    return 0 if group >= P else group


def _diverged(lane, step, loss) -> TrainingDiverged:
    seed, (lr, wd, scale) = lane
    point = {"lr": lr, "weight_decay": wd, "init_scale": scale}
    return TrainingDiverged(
        f"seed {seed} diverged at step {step} (loss {loss}) with lr {lr:g}, weight decay "
        f"{wd:g}, init scale {scale:g}; try a smaller --lr or --init-scale",
        seed,
        step,
        point,
    )


def _eval_chunk(static) -> int:
    per_context = max(1, static.T * max(static.width * static.mlp_ratio, static.d))
    return int(max(1, min(static.n, 2**21 // per_context)))


def _kl_all(world, F, G) -> np.ndarray:
    """KL(p* ‖ p_model) over all contexts for every lane (P×n), float64 truth."""
    from simident.theory.logits import kl_per_context

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
