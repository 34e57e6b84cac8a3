"""Benchmark: `compare` by the factorised route (thin QRs, chunked KL) versus the naive route
that forms the n×V logit matrices. Prints ONE JSON line.

Each measurement runs in a fresh subprocess so its peak memory (ru_maxrss) is its own;
time is the second of two calls (the first compiles). Side by side in one run:
  - both routes at sizes where both fit, with time and memory ratios (naive / factorised);
  - the large case (n=200,000, V=20,000, d=64, float32, equivalent pair) factorised
    only, split into identification (`kl=False`) and the KL / r_p pass, next to a bare
    float32 matmul of the same shape ([F_a | F_b] [G_a | G_b]ᵀ, n×V×(d_a+d_b), summed
    chunk by chunk) measured in the same process: `kl_pass_over_bare_matmul` (wall
    clock) and `_cpu_time` (process CPU time, steadier on a shared machine), with the
    share of contexts the fast pass left to the float64 recompute and the load average;
    and the fast pass on the first 20,000 contexts with its per-cell work in the C++
    kernel and in XLA (SIMIDENT_NATIVE=0), side by side (`xla_form_over_kernel`), and
    the pass's two float32 products alone at its shapes (`products_alone_over_bare_matmul`:
    what no per-cell kernel removes).
Usage: python benchmarks/compare_scale.py [--quick] [--size N V D] [--large-only]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def _pair(n, V, d, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, d)).astype(np.float32)
    G = (0.3 * rng.normal(size=(V, d))).astype(np.float32)
    A = np.linalg.qr(rng.normal(size=(d, d)))[0] + 0.1 * rng.normal(size=(d, d))
    return F, G, (F @ A.T).astype(np.float32), (G @ np.linalg.inv(A)).astype(np.float32)


def _naive(Fa, Ga, Fb, Gb, tol):
    """Form L_a, L_b (n×V, float64): residual, full-softmax KL, k by SVD of L."""
    import jax
    import jax.numpy as jnp

    @jax.jit
    def go(Fa, Ga, Fb, Gb):
        Fa, Ga, Fb, Gb = (x.astype(jnp.float64) for x in (Fa, Ga, Fb, Gb))
        La = Fa @ (Ga - Ga.mean(0)).T
        Lb = Fb @ (Gb - Gb.mean(0)).T
        res = jnp.linalg.norm(La - Lb) / jnp.sqrt(0.5 * (jnp.sum(La**2) + jnp.sum(Lb**2)))
        la, lb = jax.nn.log_softmax(La, -1), jax.nn.log_softmax(Lb, -1)
        kl = jnp.sum(jnp.exp(la) * (la - lb), -1)
        s = jnp.linalg.svd(La, compute_uv=False)
        return res, kl.max(), jnp.sum(s > tol * s[0])

    return [float(x) for x in go(Fa, Ga, Fb, Gb)]


def _factorised(Fa, Ga, Fb, Gb, tol):
    from simident.theory.equivalence import compare_models

    eq = compare_models(Fa, Ga, Fb, Gb, tol=tol)
    return [eq.logit_residual, eq.kl_max, eq.k.rank]


def _bare_matmul(Fa, Ga, Fb, Gb) -> tuple[float, float]:
    """Seconds (wall, CPU) for [F_a | F_b] [G_a | G_b]ᵀ in float32, 512 rows at a time
    (summed)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    X = np.concatenate([Fa, Fb], 1).astype(np.float32)
    Y = jnp.asarray(np.concatenate([Ga, Gb], 1).astype(np.float32))
    rows = 512
    X = np.concatenate([X, np.zeros((-len(X) % rows, X.shape[1]), np.float32)])
    go = jax.jit(lambda x, y: jnp.sum(x @ y.T, axis=1))
    go(X[:rows], Y).block_until_ready()
    t, c = time.perf_counter(), time.process_time()
    out = [go(X[i : i + rows], Y) for i in range(0, len(X), rows)]
    jax.block_until_ready(out)
    return time.perf_counter() - t, time.process_time() - c


def _products_alone(setup: dict, n: int) -> float:
    """Seconds for the fast pass's two float32 products alone (ℓ_a − m = F_x Ḡ_xᵀ and
    D = A Bᵀ at the pass's padded shapes and chunk rows, each row summed) over n
    contexts: the part of the pass no per-cell kernel removes."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    c, G, B = setup["rows"], setup["Ga"], setup["B"]
    hp = jax.lax.Precision.HIGHEST
    go = jax.jit(
        lambda x, a: (
            jnp.sum(jnp.dot(x, G.T, precision=hp), 1) + jnp.sum(jnp.dot(a, B.T, precision=hp), 1)
        )
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(c, G.shape[1])).astype(np.float32)
    a = rng.normal(size=(c, B.shape[1])).astype(np.float32)
    go(x, a).block_until_ready()
    t = time.perf_counter()
    jax.block_until_ready([go(x, a) for _ in range(-(-n // c))])
    return time.perf_counter() - t


def _split(Fa, Ga, Fb, Gb, tol) -> dict:
    """Identification alone and the KL pass alone (second calls), and the bare matmul."""
    import numpy as np

    from simident.theory import divergence, native
    from simident.theory.equivalence import compare_models, compress

    compare_models(Fa, Ga, Fb, Gb, tol=tol, kl=False)
    t0 = time.perf_counter()
    compare_models(Fa, Ga, Fb, Gb, tol=tol, kl=False)
    t1 = time.perf_counter()
    c = compress(Fa, Ga, Fb, Gb)
    fac = divergence.factors(Fa, Ga, Fb, Gb, c.RF, c.RG)
    divergence.kl_pass(fac, ids=range(min(64, len(Fa))), fast=True, host=False)  # compiles
    divergence.kl_pass(fac, ids=range(min(64, len(Fa))), fast=False, host=False)  # recompute
    t2, c2 = time.perf_counter(), time.process_time()
    report = {}
    kl = divergence.kl_pass(fac, report=report, fast=True, host=False)[0]
    t3, c3 = time.perf_counter(), time.process_time()
    bare, bare_cpu = _bare_matmul(Fa, Ga, Fb, Gb)
    forms = {}  # the fast pass's per-cell work in the C++ kernel and in XLA, same contexts
    part = np.arange(min(len(Fa), 20_000))
    for form, env in (("kernel", "1"), ("xla", "0")):
        os.environ["SIMIDENT_NATIVE"] = env
        divergence.kl_pass(fac, ids=part[:64], fast=True, host=False)  # compiles
        t = time.perf_counter()
        divergence.kl_pass(fac, ids=part, fast=True, host=False)
        forms[form] = time.perf_counter() - t
    os.environ.pop("SIMIDENT_NATIVE")
    products = _products_alone(divergence._fast_setup(fac, None), len(part)) * len(Fa) / len(part)
    sub = np.arange(0, len(Fa), max(1, len(Fa) // 2048))  # the float64-products pass alone
    divergence.kl_pass(fac, ids=sub[:64], fast=False, host=False)  # (compiled above)
    t4 = time.perf_counter()
    divergence.kl_pass(fac, ids=sub, fast=False, host=False)
    t5 = time.perf_counter()
    return {
        "identification_s": round(t1 - t0, 3),
        "kl_pass_s": round(t3 - t2, 3),
        "bare_f32_matmul_s": round(bare, 3),
        "kl_pass_over_bare_matmul": round((t3 - t2) / bare, 2),
        "kl_pass_over_bare_matmul_cpu_time": round((c3 - c2) / bare_cpu, 2),
        "recomputed_float64": report.get("recomputed", 0),
        "recomputed_share": round(report.get("recomputed", 0) / len(Fa), 4),
        "float64_pass_over_bare_matmul": round((t5 - t4) * len(Fa) / len(sub) / bare, 2),
        "difference_rank": fac.rank,
        "per_cell_work": native.status(),
        "fast_pass_contexts_compared": int(len(part)),
        "fast_pass_xla_form_s": round(forms["xla"], 3),
        "fast_pass_kernel_s": round(forms["kernel"], 3),
        "xla_form_over_kernel": round(forms["xla"] / forms["kernel"], 2),
        "fast_pass_products_alone_s": round(products, 3),
        "products_alone_over_bare_matmul": round(products / bare, 2),
        "kl_max_pass": float(kl.max()),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def worker(route: str, n: int, V: int, d: int) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    Fa, Ga, Fb, Gb = _pair(n, V, d)
    if route == "split":
        return {"route": route, "n": n, "V": V, "d": d, **_split(Fa, Ga, Fb, Gb, 1e-4)}
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn = _naive if route == "naive" else _factorised
    t0 = time.perf_counter()
    fn(Fa, Ga, Fb, Gb, 1e-4)
    t1 = time.perf_counter()
    out = fn(Fa, Ga, Fb, Gb, 1e-4)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "route": route,
        "n": n,
        "V": V,
        "d": d,
        "first_call_s": round(t1 - t0, 3),
        "seconds": round(t2 - t1, 3),
        "peak_rss_mb": round(peak / 1024, 1),
        "extra_rss_mb": round((peak - base) / 1024, 1),
        "logit_residual": out[0],
        "kl_max": out[1],
        "k": int(out[2]),
    }


def measure(route, n, V, d) -> dict:
    cmd = [sys.executable, __file__, "--worker", route, str(n), str(V), str(d)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes only (smoke test)")
    ap.add_argument("--size", nargs=3, type=int, metavar=("N", "V", "D"), help="large case")
    ap.add_argument("--large-only", action="store_true", help="skip the side-by-side sizes")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        route, n, V, d = args.worker
        print(json.dumps(worker(route, int(n), int(V), int(d))))
        return
    both = [(2000, 1000, 32)] if args.quick else [(4000, 2000, 64), (12000, 4000, 64)]
    large = (20000, 4000, 64) if args.quick else (200_000, 20_000, 64)
    large = tuple(args.size) if args.size else large
    both = [] if args.large_only else both
    result = {"benchmark": "compare_scale", "side_by_side": []}
    for n, V, d in both:
        fa, nv = measure("factorised", n, V, d), measure("naive", n, V, d)
        result["side_by_side"].append(
            {
                "n": n,
                "V": V,
                "d": d,
                "factorised": fa,
                "naive": nv,
                "time_ratio_naive_over_factorised": round(nv["seconds"] / fa["seconds"], 2),
                "memory_ratio_naive_over_factorised": round(
                    nv["extra_rss_mb"] / max(fa["extra_rss_mb"], 1.0), 2
                ),
            }
        )
    result["large_factorised"] = measure("factorised", *large)
    result["large_split"] = measure("split", *large)
    from simident.util.env import enable_x64, versions

    enable_x64()  # as in the workers
    result["versions"] = versions()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
