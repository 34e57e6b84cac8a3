"""Benchmark: `simident reproduce` with its cells trained one at a time (`--jobs 1`)
against two at once (`--jobs 2`, the default on >= 2 cores), side by side in one run.
Prints ONE JSON line.

Each run is its own process, into a fresh folder (nothing reused), one after the other:
wall seconds, the process's CPU seconds (user + system), the reproduction's own
`seconds` (results.json), each stage's seconds, the verdicts, and whether every number
of the two results.json is equal (timings aside).
Usage: python benchmarks/reproduce_jobs.py [--mode quick|tiny] [--jobs 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _numbers(x):
    """A results.json without its timings (what two runs of the same work share)."""
    if isinstance(x, dict):
        return {
            k: _numbers(v)
            for k, v in x.items()
            if "second" not in k and k not in ("timings", "versions", "resume")
        }
    if isinstance(x, list):
        return [_numbers(v) for v in x]
    return x


def run(mode: str, jobs: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", "simident.cli.main", "reproduce", "--out", str(out)]
    cmd += ["--quiet", "--jobs", str(jobs)] + ([f"--{mode}"] if mode != "full" else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"reproduce --jobs {jobs} failed ({p.returncode}): {p.stderr[-2000:]}")
    res = json.loads((out / "results.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "reproduction_s": round(res["seconds"], 1),
        "verdicts": {c["id"]: c["verdict"] for c in res["claims"]},
        "timings": {t["stage"]: round(t["seconds"], 1) for t in res["timings"]},
        "results": res,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="quick", choices=["quick", "tiny", "full"])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for j in args.jobs:
            runs[j] = run(args.mode, j, Path(tmp) / f"jobs{j}")
    numbers = {j: _numbers(r.pop("results")) for j, r in runs.items()}
    same = {f"jobs{j}": numbers[j] == numbers[args.jobs[0]] for j in args.jobs}
    line = {
        "benchmark": "reproduce_jobs",
        "mode": args.mode,
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "runs": {f"jobs{j}": r for j, r in runs.items()},
        "same_numbers_as_first": same,
    }
    if len(args.jobs) >= 2:
        a, b = runs[args.jobs[0]], runs[args.jobs[-1]]
        line["wall_ratio_first_over_last"] = round(a["wall_s"] / b["wall_s"], 2)
        line["reproduction_ratio_first_over_last"] = round(
            a["reproduction_s"] / b["reproduction_s"], 2
        )
    print(json.dumps(line))


if __name__ == "__main__":
    main()
