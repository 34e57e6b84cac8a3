"""Benchmark: what one `compare` costs at a pair of dimensions it has not seen (compiles)
against a second call at the same shapes (cached). Prints ONE JSON line.

Models of one world (n=288, V=32, k=4, as the quick reproduction's non-diverse world) at
several (d_a, d_b); per shape: first-call and second-call seconds, their ratio, and the
number of XLA compilations the first call triggered (`jax_log_compiles`), without the
KL pass (`kl=False`: identification, ranks, maps; all numpy) and with it (one jitted
program per padded shape). This is the cost of comparing every model in its own
dimension (no padding by the caller).
Usage: python benchmarks/compare_compile.py
"""

from __future__ import annotations

import json
import logging
import time


class _Count(logging.Handler):
    def __init__(self):
        super().__init__()
        self.n = 0

    def emit(self, record):
        if "Finished XLA compilation" in record.getMessage():
            self.n += 1


def main() -> None:
    import jax
    import numpy as np

    import simident as si

    jax.config.update("jax_log_compiles", True)
    counter = _Count()
    logging.getLogger("jax").addHandler(counter)
    logging.getLogger("jax").setLevel(logging.WARNING)
    rng = np.random.default_rng(0)
    n, V, k = 288, 32, 4
    F, G = rng.normal(size=(n, k)), rng.normal(size=(V, k))

    def model(d):
        A = rng.normal(size=(k, d))
        return si.Model(F @ A + 1e-6 * rng.normal(size=(n, d)), G @ np.linalg.pinv(A).T)

    rows = []
    for da, db in [(8, 16), (7, 11), (16, 16), (4, 8)]:
        row = {"d_a": da, "d_b": db}
        for kl in (False, True):
            times, compiles = [], []
            for _ in range(2):
                a, b = model(da), model(db)
                counter.n = 0
                t = time.perf_counter()
                si.compare(a, b, tol=1e-2, k=k, kl=kl)
                times.append(time.perf_counter() - t)
                compiles.append(counter.n)
            tag = "_kl" if kl else ""
            row |= {
                f"first_s{tag}": round(times[0], 3),
                f"second_s{tag}": round(times[1], 4),
                f"compilations_first{tag}": compiles[0],
                f"compilations_second{tag}": compiles[1],
            }
        rows.append(row)
    print(json.dumps({"benchmark": "compare_compile", "n": n, "V": V, "k": k, "shapes": rows}))


if __name__ == "__main__":
    main()
