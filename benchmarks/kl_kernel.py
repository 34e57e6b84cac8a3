"""Benchmark: the KL fast pass with its per-cell work in the C++ kernel against the XLA
form (SIMIDENT_NATIVE=0), side by side in one process at several (n, V, d). Prints ONE
JSON line: per shape the best of 3 second calls of each form, their ratio, how many
contexts each left to the float64 recompute, and the largest relative difference of the
final KLs.
Usage: python benchmarks/kl_kernel.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

SHAPES = [(65536, 256, 32), (8192, 2048, 64), (12000, 4000, 64), (2048, 50000, 64)]
QUICK = [(4096, 1024, 16), (1024, 8192, 32)]


def measure(n: int, V: int, d: int) -> dict:
    import numpy as np
    from compare_scale import _pair

    from simident.theory import divergence
    from simident.theory.tallqr import compress

    Fa, Ga, Fb, Gb = _pair(n, V, d)
    c = compress(Fa, Ga, Fb, Gb)
    fac = divergence.factors(Fa, Ga, Fb, Gb, c.RF, c.RG)
    out = {}
    for form, env in (("kernel", "1"), ("xla", "0")):
        os.environ["SIMIDENT_NATIVE"] = env
        divergence.kl_pass(fac, ids=np.arange(64), fast=True, host=False)  # compiles
        best, report = float("inf"), {}
        for _ in range(3):
            report = {}
            t = time.perf_counter()
            kl = divergence.kl_pass(fac, fast=True, host=False, report=report)[0]
            best = min(best, time.perf_counter() - t)
        out[form] = dict(seconds=round(best, 3), recomputed=report["recomputed"], kl=kl)
    os.environ.pop("SIMIDENT_NATIVE")
    ref = out["xla"]["kl"]
    diff = float(np.max(np.abs(out["kernel"]["kl"] - ref) / np.maximum(ref, 1e-300)))
    return dict(
        n=n,
        V=V,
        d=d,
        kernel_s=out["kernel"]["seconds"],
        xla_form_s=out["xla"]["seconds"],
        xla_form_over_kernel=round(out["xla"]["seconds"] / out["kernel"]["seconds"], 2),
        recomputed_kernel=out["kernel"]["recomputed"],
        recomputed_xla_form=out["xla"]["recomputed"],
        max_rel_diff_kl=diff,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="two small shapes (smoke test)")
    args = ap.parse_args()
    from simident.theory import native
    from simident.util.env import enable_x64, versions

    enable_x64()
    rows = [measure(*shape) for shape in (QUICK if args.quick else SHAPES)]
    line = dict(benchmark="kl_kernel", per_cell_work=native.status(), shapes=rows)
    line.update(load_average_1m=round(os.getloadavg()[0], 2), versions=versions())
    print(json.dumps(line))


if __name__ == "__main__":
    main()
