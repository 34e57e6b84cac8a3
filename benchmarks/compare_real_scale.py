"""Benchmark: `compare` at real-model scale, identification plus sampled KL / r_p.

A random pair of n×d context embeddings and V×d unembeddings (float32, as two language
models' representations would come), generated chunk by chunk (never anything n×V):
a shared rank-k signal mixed into d coordinates differently in each model, plus small
independent noise, so the pair is close but not equivalent. Prints ONE JSON line:
the seconds of one `compare_models` call (identification plus the sampled KL pass), the
peak RSS against the inputs' bytes, and the 95% intervals with their widths.
Usage: python benchmarks/compare_real_scale.py [--size N V D] [--contexts N]
(default n = 10⁶, V = 50,000, d = 768; `--size 20000 2000 64` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
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
    t2 = time.perf_counter()
    N = args.contexts or estimates.plan(n, V, None) or estimates.DEFAULT_CONTEXTS
    eq = compare_models(Fa, Ga, Fb, Gb, tol=1e-2, kl_contexts=N)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    s = eq.kl_sample or {}
    ci, ci_r = s.get("kl_mean_ci95", [0, 0]), s.get("weighted_residual_ci95", [0, 0])
    print(
        json.dumps(
            {
                "benchmark": "compare_real_scale",
                "n": n,
                "V": V,
                "d": d,
                "kl_contexts": N,
                "generate_s": round(gen_s, 1),
                "identification_plus_sampled_kl_s": round(t3 - t2, 1),
                "inputs_gb": round(inputs / 1e9, 2),
                "peak_rss_gb": round(peak / 1e9, 2),
                "extra_rss_over_inputs": round((peak - base) / inputs, 2),
                "peak_rss_over_inputs": round(peak / inputs, 2),
                "k": eq.k.rank,
                "logit_residual": eq.logit_residual,
                "kl_mean": eq.kl_mean,
                "kl_mean_ci95": ci,
                "kl_mean_ci95_relative_width": round((ci[1] - ci[0]) / max(eq.kl_mean, 1e-300), 4),
                "weighted_residual": eq.weighted_residual,
                "weighted_residual_ci95": ci_r,
                "versions": versions(),
            }
        )
    )


if __name__ == "__main__":
    main()
