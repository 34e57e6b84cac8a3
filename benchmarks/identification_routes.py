"""Benchmark: one block of rows of [1 | F_a | F_b] through each candidate identification
route, side by side in one run (docs/numerics.md, *Identification at scale*).

Per block of `--rows` float32 contexts at dimension d (m = 1 + 2d columns): the
row-block float64 Householder QR step of `tallqr` ([R; block] → R), the float64 Gram
update of `tallgram` (cast, XᵀX), a float32 Gram update, and CholeskyQR2's float32
second pass (X R⁻¹ as a product with a fixed m×m matrix, then its Gram). Prints ONE JSON
line: seconds per block, seconds per 10⁶ rows, and each route over the float64 Gram.
Usage: python benchmarks/identification_routes.py [--rows 16384] [--d 768]
(set OPENBLAS_NUM_THREADS to compare thread counts).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=16384)
    ap.add_argument("--d", type=int, default=768)
    args = ap.parse_args()
    rows, d = args.rows, args.d
    m = 1 + 2 * d
    rng = np.random.default_rng(0)
    Fa, Fb = (rng.normal(size=(rows, d)).astype(np.float32) for _ in range(2))
    S = np.linalg.qr(rng.normal(size=(m, m)))[1].astype(np.float32)
    R = np.triu(rng.normal(size=(m, m)))
    ones32 = np.ones((rows, 1), np.float32)

    def block64():
        return np.concatenate([np.ones((rows, 1)), Fa.astype(np.float64), Fb.astype(np.float64)], 1)

    def qr_f64():
        return np.linalg.qr(np.concatenate([R, block64()]), mode="r")

    def gram_f64():
        X = block64()
        return X.T @ X

    def gram_f32():
        X = np.concatenate([ones32, Fa, Fb], 1)
        return (X.T @ X).astype(np.float64)

    def cholqr2_f32():
        X = np.concatenate([ones32, Fa, Fb], 1)
        G1 = (X.T @ X).astype(np.float64)
        Q = X @ S
        return G1, (Q.T @ Q).astype(np.float64)

    routes = {"qr_f64": qr_f64, "gram_f64": gram_f64, "gram_f32": gram_f32}
    routes["cholqr2_f32"] = cholqr2_f32
    gram_f64()  # warm up the BLAS threads
    secs = {}
    for name, f in routes.items():
        t0 = time.perf_counter()
        f()
        secs[name] = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "benchmark": "identification_routes",
                "rows": rows,
                "m": m,
                "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                "load_average_1": round(os.getloadavg()[0], 2),
                "seconds_per_block": {k: round(v, 3) for k, v in secs.items()},
                "seconds_per_1e6_rows": {k: round(v * 1e6 / rows, 1) for k, v in secs.items()},
                "over_gram_f64": {k: round(v / secs["gram_f64"], 2) for k, v in secs.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
