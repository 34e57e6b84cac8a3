"""Accelerator check: the figures to read on a GPU, in one run. Prints ONE JSON line.

  time_to_kl     the transformer on the V = 512 world (`train_scale.py`'s worker): seconds
                 and steps to a training KL of 1e-2 (or the budget), ms per step;
  matmul_share   achieved GFLOP/s of 64 (--small: 8) vmapped transformer seeds on the
                 example world against this device's measured float32 matmul rate
                 (`train_throughput.py`);
  seeds_per_s    seed·steps per second with 1,000 (--small: 16) seeds of a small
                 transformer in one compiled program;
  compare        `compare_real_scale.py`: identification plus the sampled KL at
                 n = 10⁶, V = 50,000, d = 768 (--small: 20,000 × 2,000 × 64).

Run on the accelerator: python benchmarks/accelerator_check.py [--budget S] [--small]
(--small runs everywhere in a few minutes, e.g. on a CPU as a smoke test; the default
sizes need a GPU with ≥ 40 GB). Each part runs in its own subprocess (its own memory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def part(name: str, small: bool, budget: float) -> dict:
    sys.path.insert(0, HERE)
    if name == "time_to_kl":
        import train_scale

        return train_scale.worker("small" if small else "v512", "transformer", budget)
    if name in ("matmul_share", "seeds_per_s"):
        from dataclasses import replace

        import train_throughput as tt

        from simident.training import TrainConfig
        from simident.worlds import example_spec, generate_world

        world = generate_world(example_spec("diverse"))
        if name == "matmul_share":
            config = replace(TrainConfig(model="transformer").resolved(world.d), chunk_steps=8)
            N = 8 if small else 64
            rate, _ = tt.vmapped_rate(world, config, N)
            peak = tt.matmul_gflops()
            return {
                "seeds": N,
                "gflops": round(rate["gflops"], 2),
                "matmul_gflops": round(peak, 1),
                "share_of_matmul": round(rate["gflops"] / peak, 3),
            }
        config = TrainConfig(model="transformer", width=16, depth=1, heads=2)
        config = replace(config.resolved(world.d), chunk_steps=4)
        N = 16 if small else 1000
        rate, _ = tt.vmapped_rate(world, config, N)
        return {
            "seeds": N,
            "seed_steps_per_s": round(rate["seed_steps_per_s"], 1),
            "first_call_s": round(rate["first_call_s"], 1),
        }
    size = ["20000", "2000", "64"] if small else ["1000000", "50000", "768"]
    cmd = [sys.executable, os.path.join(HERE, "compare_real_scale.py"), "--size", *size]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="small sizes (runs on a CPU)")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds for time_to_kl")
    ap.add_argument("--part", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.part:
        print(json.dumps(part(args.part, args.small, args.budget)))
        return
    import jax

    t0 = time.perf_counter()
    out = {"benchmark": "accelerator_check", "small": args.small}
    for name in ("time_to_kl", "matmul_share", "seeds_per_s", "compare"):
        cmd = [sys.executable, __file__, "--part", name, "--budget", str(args.budget)]
        cmd += ["--small"] if args.small else []
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = proc.stdout.strip().splitlines()
        out[name] = (
            json.loads(lines[-1])
            if proc.returncode == 0 and lines
            else {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
        )
    out["backend"] = jax.default_backend()
    out["devices"] = [str(d) for d in jax.devices()]
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
