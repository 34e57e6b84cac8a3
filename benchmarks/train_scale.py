"""Training at scale: time per step and time to a target KL, 1 versus 4 devices.

For the table and the transformer (default settings, 4 seeds, auto batch size) on a small
world (the shipped `diverse`: V = 32, 288 contexts) and a V = 512 world (4,096 contexts of
4 tokens, d = 16), each run once with 1 device and once with 4 forced CPU devices
(`XLA_FLAGS=--xla_force_host_platform_device_count=4`, a subprocess each). A run stops at
the target KL (mean over seeds of the exact training-set KL at a chunk's end: 1e-4 table,
1e-2 transformer) or when its time budget is spent. Prints one JSON line:

  rows          one per (world, model, devices): ms per step (median chunk after the
                compiled first one), seconds and steps to the target (null: not reached
                within the budget), the last KL, the batch size, devices used
  side_by_side  per world/model: ms per step and seconds to target with 1 and 4 devices

    .venv/bin/python benchmarks/train_scale.py [--budget SECONDS] [--quick]

Forced CPU devices share this machine's cores, so 4 of them cannot be faster than 1 here;
the figure shows the sharded program's overhead. On real accelerators the lanes run in
parallel.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

TARGET = {"table": 1e-4, "transformer": 1e-2}
CHUNK = {"table": 50, "transformer": 20}
WORLDS = ("small", "v512")
V512 = dict(name="v512", seed=1, vocab_size=512, d=16, n_contexts=4096, context_length=4)


def make_world(name: str):
    from simident.worlds import WorldSpec, example_spec, generate_world

    spec = example_spec("diverse") if name == "small" else WorldSpec.from_dict(V512)
    return generate_world(spec)


def worker(world_name: str, model: str, budget: float) -> dict:
    """Train until the target KL or the budget; return the timings (runs in a subprocess)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from simident.training import TrainConfig
    from simident.training.data import make_data, make_evals
    from simident.training.devices import lane_layout, pad_lanes, place
    from simident.training.loop import EVAL_ROWS, lane_group, plan
    from simident.training.steps import Hyper, init_lanes, lane_keys, make_static, run_chunk

    world = make_world(world_name)
    config, cost = plan(
        world, TrainConfig(model=model, d=world.d, seeds=4, chunk_steps=CHUNK[model])
    )
    layout = lane_layout(config.seeds)
    hyper = Hyper(*(jnp.full((4,), v, jnp.float32) for v in (config.lr, 0.0, 1.0)))
    keys, hyper = place(pad_lanes((lane_keys(range(4)), hyper), layout), layout, True)
    tokens, _ = world.tokens()
    data = make_data(world, config.loss)
    static = make_static(config, world.n, world.V, tokens.shape[1], int(data.ids.shape[0]))
    evals = make_evals(world, config.loss, 0.0, EVAL_ROWS)
    data, evals = place((data, evals), layout, False)
    group = lane_group(static, layout.padded // layout.devices_used)
    t_start = time.perf_counter()
    state = init_lanes(static, layout.mesh, keys, hyper)
    times, kls, reached = [], [], None
    for t0 in range(0, static.steps, static.chunk_steps):
        t = time.perf_counter()
        state, _, _, signals = run_chunk(
            static, group, layout.mesh, state, keys, hyper, data, evals, jnp.int32(t0)
        )
        kl = float(np.mean(np.asarray(signals.train_kl)[:4]))
        times.append(time.perf_counter() - t)
        kls.append(kl)
        if kl <= TARGET[model]:
            reached = (t0 + static.chunk_steps, time.perf_counter() - t_start)
            break
        if time.perf_counter() - t_start > budget:
            break
    steady = times[1:]  # the first chunk includes compilation
    return {
        "world": world_name,
        "model": model,
        "devices": jax.device_count(),
        "devices_used": layout.devices_used,
        "n_contexts": world.n,
        "V": world.V,
        "batch": cost.batch,
        "step_gflop_estimate": round(cost.step_flops / 1e9, 3),
        "ms_per_step": (
            round(1e3 * float(np.median(steady)) / static.chunk_steps, 2) if steady else None
        ),
        "first_chunk_s": round(times[0], 2),
        "target_kl": TARGET[model],
        "steps_to_target": reached[0] if reached else None,
        "seconds_to_target": round(reached[1], 1) if reached else None,
        "steps_run": len(times) * static.chunk_steps,
        "kl_last": kls[-1],
    }


def run_one(world: str, model: str, devices: int, budget: float) -> dict:
    env = dict(os.environ)
    if devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    cmd = [sys.executable, __file__, "--worker", world, model, "--budget", str(budget)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=budget + 600)
    if proc.returncode != 0:
        return {"world": world, "model": model, "devices": devices, "error": proc.stderr[-300:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=30.0, help="seconds per run (default 30)")
    p.add_argument("--quick", action="store_true", help="small world only (a smoke test)")
    p.add_argument("--worker", nargs=2, metavar=("WORLD", "MODEL"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.budget)))
        return
    from simident.util.env import versions

    worlds = ("small",) if args.quick else WORLDS
    rows = [
        run_one(w, m, n, args.budget)
        for w in worlds
        for m in ("table", "transformer")
        for n in (1, 4)
    ]
    side = {}
    for r in rows:
        key = f"{r['world']}/{r['model']}"
        side.setdefault(key, {})[f"ms_per_step_{r['devices']}dev"] = r.get("ms_per_step")
        side[key][f"seconds_to_target_{r['devices']}dev"] = r.get("seconds_to_target")
    v = versions()
    print(
        json.dumps(
            {
                "benchmark": "train_scale",
                "seeds": 4,
                "budget_s": args.budget,
                "cpu_count": os.cpu_count(),
                "backend": v["backend"],
                "jax": v["jax"],
                "side_by_side": side,
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
