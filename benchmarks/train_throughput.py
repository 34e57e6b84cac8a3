"""Training throughput: N seeds vmapped in one compiled program versus a per-step loop.

Prints ONE JSON line. For each model (table, transformer; default configs on the example
world `diverse`, n = 288 contexts, V = 32, d = 8, length ≤ 3):

  vmapped[N]   seeds·steps per second with N = 1, 8, 64 seeds vmapped and a chunk of steps
               in one `lax.scan` (the `simident train` program, with its lane grouping:
               on a CPU, groups of `lane_group` seeds are vmapped and the groups run one
               after another inside the same program), best of REPEATS timings;
               vmapped_64_one_group: all 64 seeds in a single vmap, for comparison
  baseline     the idiomatic loop a user would otherwise write: an `nnx.jit` train step
               (nnx.Optimizer, nnx.value_and_grad) called once per step from Python, one
               seed after another
  ratio_64     vmapped[64] / baseline
  gflops[N]    achieved GFLOP/s of the vmapped run, FLOPs counted analytically as the
               matrix products of a step (forward + backward = 3 × forward):
                 table:       3 · 2·B·d·V
                 transformer: see simident.models.transformer.transformer_matmul_flops
  matmul_gflops  this machine's float32 matmul rate (jitted 2048×2048 product, best of 5),
               and frac_of_matmul = gflops[64] / matmul_gflops

Timings are wall-clock on a possibly shared machine: best-of-REPEATS tempers noise from
other processes; load_average records how busy the machine was.

Run: .venv/bin/python benchmarks/train_throughput.py   (about 2-4 minutes on 2 CPU cores)
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

REPEATS = 3
SEEDS = (1, 8, 64)
CHUNK = {"table": 100, "transformer": 8}  # steps per timed chunk
BASELINE_STEPS = {"table": 200, "transformer": 24}  # per seed, 2 seeds


def best_time(fn, repeats=REPEATS):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return min(times)


def matmul_gflops(n=2048):
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    f = jax.jit(lambda a, b: a @ b)
    f(a, a).block_until_ready()
    return 2 * n**3 / best_time(lambda: f(a, a), 5) / 1e9


def step_flops(static) -> int:
    from simident.models.table import table_matmul_flops
    from simident.models.transformer import transformer_matmul_flops

    B = static.batch_size or static.m
    if static.model == "table":
        return table_matmul_flops(B, static.V, static.d)
    return transformer_matmul_flops(
        B, static.T, static.V, static.d, static.width, static.depth, static.mlp_ratio
    )


def vmapped_rate(world, config, N, group=None):
    """seeds·steps/s of one compiled chunk with N vmapped seeds (compiled before timing).

    group None: the lane grouping `simident train` picks (loop.lane_group); 0: all N
    lanes in one vmap.
    """
    from simident.training.data import make_data, make_evals
    from simident.training.loop import EVAL_ROWS, lane_group
    from simident.training.steps import Hyper, init_lanes, lane_keys, make_static, run_chunk

    data = make_data(world, config.loss)
    evals = make_evals(world, config.loss, 0.0, EVAL_ROWS)
    tokens, _ = world.tokens()
    static = make_static(config, world.n, world.V, tokens.shape[1], int(data.ids.shape[0]))
    hyper = Hyper(
        *(
            jnp.full((N,), v, jnp.float32)
            for v in (config.lr, config.weight_decay, config.init_scale)
        )
    )
    keys = lane_keys(list(range(N)))
    state = [init_lanes(static, None, keys, hyper)]
    group = lane_group(static, N) if group is None else group

    def chunk():  # includes the end-of-chunk evaluation over the training contexts
        state[0], loss, _, _ = run_chunk(
            static, group, None, state[0], keys, hyper, data, evals, jnp.int32(0)
        )
        return loss

    t = time.perf_counter()
    jax.block_until_ready(chunk())
    compile_s = time.perf_counter() - t
    dt = best_time(chunk)
    K = static.chunk_steps
    return {
        "seed_steps_per_s": N * K / dt,
        "ms_per_step": 1e3 * dt / K,
        "gflops": N * K * step_flops(static) / dt / 1e9,
        "first_call_s": compile_s,
        "group": group or N,
    }, static


def baseline_rate(world, config, static):
    """The idiomatic per-step loop: nnx.jit step, one seed after another."""
    import optax  # noqa: F401  (nnx.Optimizer wraps an optax transformation)
    from flax import nnx

    from simident.models import build_model
    from simident.training.data import make_data
    from simident.training.optimizer import make_optimizer
    from simident.training.steps import model_loss

    data = make_data(world, config.loss)

    @nnx.jit
    def train_step(model, optimizer, data):
        def loss_fn(model):
            return model_loss(model, static, data, None)

        (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
        optimizer.update(model, grads)
        return loss

    # one optax transformation for all seeds: nnx.Optimizer keeps it as static structure,
    # so a fresh one per seed would recompile the step for every seed
    tx = make_optimizer(static, config.lr, config.weight_decay)

    def make(seed):
        model = build_model(
            static.model,
            n=static.n,
            V=static.V,
            T=static.T,
            d=static.d,
            width=static.width,
            depth=static.depth,
            heads=static.heads,
            mlp_ratio=static.mlp_ratio,
            rngs=nnx.Rngs(params=seed),
        )
        return model, nnx.Optimizer(model, tx, wrt=nnx.Param)

    model, opt = make(100)
    jax.block_until_ready(train_step(model, opt, data))  # compile once
    steps = BASELINE_STEPS[static.model]

    def run():
        loss = None
        for seed in (0, 1):
            model, opt = make(seed)
            for _ in range(steps):
                loss = train_step(model, opt, data)
        return loss

    dt = best_time(run)
    return {"seed_steps_per_s": 2 * steps / dt, "ms_per_step": 1e3 * dt / (2 * steps)}


def main():
    from dataclasses import replace

    from simident.training import TrainConfig
    from simident.util.env import versions
    from simident.worlds import example_spec, generate_world

    t_start = time.perf_counter()
    world = generate_world(example_spec("diverse"))
    peak = matmul_gflops()
    out = {
        "benchmark": "train_throughput",
        "world": world.world_id,
        "n": world.n,
        "V": world.V,
        "d": world.d,
        "T": int(world.tokens()[0].shape[1]),
        "matmul_gflops": round(peak, 1),
    }
    for model in ("table", "transformer"):
        config = TrainConfig(model=model).resolved(world.d)
        config = replace(config, chunk_steps=CHUNK[model])
        rows, static = {}, None
        for N in SEEDS:
            rows[N], static = vmapped_rate(world, config, N)
        base = baseline_rate(world, config, static)
        r64 = rows[64]
        flat, _ = vmapped_rate(world, config, 64, group=0)
        out[model] = {
            "config": {k: getattr(config, k) for k in ("d", "steps", "lr", "batch_size")}
            | (
                {"width": config.width, "depth": config.depth, "heads": config.heads}
                if model == "transformer"
                else {}
            ),
            "flops_per_seed_step": step_flops(static),
            "vmapped_seed_steps_per_s": {
                str(N): round(rows[N]["seed_steps_per_s"], 1) for N in SEEDS
            },
            "vmapped_ms_per_step": {str(N): round(rows[N]["ms_per_step"], 3) for N in SEEDS},
            "baseline_seed_steps_per_s": round(base["seed_steps_per_s"], 1),
            "baseline_ms_per_step": round(base["ms_per_step"], 3),
            "ratio_vs_baseline": {
                str(N): round(rows[N]["seed_steps_per_s"] / base["seed_steps_per_s"], 2)
                for N in SEEDS
            },
            "lane_group": {str(N): rows[N]["group"] for N in SEEDS},
            "vmapped_64_one_group_seed_steps_per_s": round(flat["seed_steps_per_s"], 1),
            "gflops": {str(N): round(rows[N]["gflops"], 2) for N in SEEDS},
            "frac_of_matmul_64": round(r64["gflops"] / peak, 3),
            "first_call_s_64": round(r64["first_call_s"], 2),
        }
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    out["cpu_count"] = os.cpu_count()
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    out["versions"] = versions()
    print(json.dumps(out))


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
