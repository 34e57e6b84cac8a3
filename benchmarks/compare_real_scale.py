"""Benchmark: `compare` at real-model scale, identification plus sampled KL / r_p.

A random pair of n×d context embeddings and V×d unembeddings (float32, as two language
models' representations would come), generated chunk by chunk (never anything n×V):
a shared rank-k signal mixed into d coordinates differently in each model, plus small
independent noise, so the pair is close but not equivalent. Prints ONE JSON line:
the seconds of one `compare_models` call (identification plus the sampled KL pass, and
each apart), the route the identification took with its error bound, the peak RSS
against the inputs' bytes, the load average, and the 95% intervals with their widths.
`--routes qr gram` runs one call per route on the same pair (side by side, with the
ratio; only sensible at smoke sizes: the QR route at full size takes far longer).
Usage: python benchmarks/compare_real_scale.py [--size N V D] [--contexts N]
[--routes auto|qr|gram ...] (default n = 10⁶, V = 50,000, d = 768, route auto;
`--size 20000 2000 64` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time


def make_pair(n: int, V: int, d: int, k: int = 64, seed: int = 0, rows: int = 65536):
    """(F_a, G_a, F_b, G_b) float32; F built `rows` contexts at a time."""
    import numpy as np

    rng = np.random.default_rng(seed)
    Wa, Wb = rng.normal(size=(k, d)) / np.sqrt(k), rng.normal(size=(k, d)) / np.sqrt(k)
    Y = rng.normal(size=(V, k))
    Ga = (Y @ np.linalg.pinv(Wa).T).astype(np.float32)
    Gb = (Y @ np.linalg.pinv(Wb).T + 0.01 * rng.normal(size=(V, d))).astype(np.float32)
    Fa, Fb = np.empty((n, d), np.float32), np.empty((n, d), np.float32)
    for i in range(0, n, rows):
        j = min(i + rows, n)
        Z = 0.5 * rng.normal(size=(j - i, k))
        Fa[i:j] = Z @ Wa
        Fb[i:j] = Z @ Wb + 0.01 * rng.normal(size=(j - i, d))
    return Fa, Ga, Fb, Gb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", nargs=3, type=int, default=(10**6, 50_000, 768))
    ap.add_argument("--contexts", type=int, default=None, help="KL contexts (default: auto)")
    ap.add_argument("--routes", nargs="+", default=["auto"], choices=("auto", "qr", "gram"))
    args = ap.parse_args()
    n, V, d = args.size

    from simident.theory import estimates
    from simident.theory.equivalence import compare_models
    from simident.util.env import versions

    t0 = time.perf_counter()
    Fa, Ga, Fb, Gb = make_pair(n, V, d)
    gen_s = time.perf_counter() - t0
    inputs = sum(x.nbytes for x in (Fa, Ga, Fb, Gb))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    N = args.contexts or estimates.plan(n, V, None) or estimates.DEFAULT_CONTEXTS
    runs = {}
    for route in args.routes:
        rep: dict = {}
        t2 = time.perf_counter()
        eq = compare_models(
            Fa, Ga, Fb, Gb, tol=1e-2, kl_contexts=N, identification=route, report=rep
        )
        total = time.perf_counter() - t2
        s = eq.kl_sample or {}
        ci, ci_r = s.get("kl_mean_ci95", [0, 0]), s.get("weighted_residual_ci95", [0, 0])
        runs[route] = {
            "identification_plus_sampled_kl_s": round(total, 1),
            "identification_s": round(rep["identification_s"], 1),
            "sampled_kl_s": round(rep["kl_s"], 1),
            "kl_pass": rep.get("kl_pass"),
            "identification": eq.identification.to_dict(),
            "k": eq.k.rank,
            "k_decided_by": eq.k.decided_by,
            "dim_E": [eq.a.dim_E, eq.b.dim_E],
            "logit_residual": eq.logit_residual,
            "delta_2": eq.delta_2,
            "identified_r2": eq.identified_r2,
            "kl_mean": eq.kl_mean,
            "kl_mean_ci95": ci,
            "kl_mean_ci95_relative_width": round((ci[1] - ci[0]) / max(eq.kl_mean, 1e-300), 4),
            "weighted_residual": eq.weighted_residual,
            "weighted_residual_ci95": ci_r,
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {
        "benchmark": "compare_real_scale",
        "n": n,
        "V": V,
        "d": d,
        "kl_contexts": N,
        "generate_s": round(gen_s, 1),
        "inputs_gb": round(inputs / 1e9, 2),
        "peak_rss_gb": round(peak / 1e9, 2),
        "extra_rss_over_inputs": round((peak - base) / inputs, 2),
        "peak_rss_over_inputs": round(peak / inputs, 2),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "runs": runs,
    }
    if "qr" in runs and "gram" in runs:
        q, g = runs["qr"], runs["gram"]
        out["qr_over_gram_identification_s"] = round(
            q["identification_s"] / max(g["identification_s"], 1e-9), 2
        )
    out["versions"] = versions()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
