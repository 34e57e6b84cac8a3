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

Run on the accelerator, from a checkout (no install needed: the script puts the
repository on the path of its parts):

  python benchmarks/accelerator_check.py [--budget S] [--timeout S] [--save FILE]
      [--parts time_to_kl,matmul_share,seeds_per_s,compare] [--small]

--small runs everywhere in a few minutes (a smoke test, e.g. on a CPU); the default sizes
need a GPU with ≥ 40 GB and are refused on a CPU (hours there). Each part runs in its own
subprocess (its own memory; this process never touches the device), stopped after
--timeout seconds (its entry then says so and the other parts still run); --save writes
the results so far after every part (atomically), so a run cut short keeps what it
measured. On the lent H200 (its image has jax with CUDA, flax, optax):
`python3 benchmarks/accelerator_check.py --save $OUT/accelerator.json` (≈ 6–8 minutes
expected: time_to_kl's budget plus compilation, and the 10⁶-context compare).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # the repository: `simident` imports from here
PARTS = ("time_to_kl", "matmul_share", "seeds_per_s", "compare")


def part(name: str, small: bool, budget: float) -> dict:
    sys.path[:0] = [HERE, ROOT]
    if name == "info":
        import jax

        devices = jax.devices()
        return {
            "backend": jax.default_backend(),
            "devices": [str(d) for d in devices],
            "device_kind": devices[0].device_kind,
            "jax": jax.__version__,
        }
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
        rate, static = tt.vmapped_rate(world, config, N)
        return {
            "seeds": N,
            "model": f"transformer width {static.width} depth {static.depth} d {static.d}",
            "steps_per_chunk": static.chunk_steps,
            "ms_per_step": round(rate["ms_per_step"], 3),
            "lane_group": rate["group"],
            "seed_steps_per_s": round(rate["seed_steps_per_s"], 1),
            "first_call_s": round(rate["first_call_s"], 1),
        }
    size = ["20000", "2000", "64"] if small else ["1000000", "50000", "768"]
    cmd = [sys.executable, os.path.join(HERE, "compare_real_scale.py"), "--size", *size]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=child_env()).stdout
    return json.loads(out.strip().splitlines()[-1])


def child_env() -> dict:
    """The environment of a part: the repository first on PYTHONPATH."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": ROOT + (os.pathsep + path if path else "")}


def run_part(name: str, args) -> dict:
    """One part in its own subprocess: its JSON line, or {"error": why}."""
    cmd = [sys.executable, os.path.abspath(__file__), "--part", name]
    cmd += ["--budget", str(args.budget)] + (["--small"] if args.small else [])
    t = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=args.timeout, env=child_env()
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout:g} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        return {**json.loads(lines[-1]), "part_s": round(time.perf_counter() - t, 1)}
    why = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {why}"}


def save(path: str | None, out: dict) -> None:
    """Write `out` to `path` atomically (nothing without a path)."""
    if path:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as fh:
            fh.write(json.dumps(out) + "\n")
        os.replace(tmp, path)


def fail(message: str) -> None:
    print(f"accelerator_check: error: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="small sizes (runs on a CPU)")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds for time_to_kl")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per part at most")
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset")
    ap.add_argument("--save", metavar="FILE", help="also write the JSON here after each part")
    ap.add_argument("--part", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.part:
        print(json.dumps(part(args.part, args.small, args.budget)))
        return
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        fail(f"--parts {','.join(unknown)}: not one of {', '.join(PARTS)}")
    t0 = time.perf_counter()
    info = run_part("info", args)
    info.pop("part_s", None)
    out = {"benchmark": "accelerator_check", "small": args.small, **info}
    if "error" in out:
        fail(f"cannot start JAX ({out['error']})")
    if out["backend"] == "cpu" and not args.small:
        fail("no accelerator (JAX backend cpu): the default sizes need a GPU; pass --small")
    for name in parts:
        out[name] = run_part(name, args)
        out["seconds"] = round(time.perf_counter() - t0, 1)
        save(args.save, out)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
