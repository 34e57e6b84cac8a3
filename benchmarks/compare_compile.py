"""Benchmark: what one `compare` costs at a pair of dimensions it has not seen (compiles)
against a second call at the same shapes (cached). Prints ONE JSON line.

Models of one world (n=288, V=32, k=4, as the quick reproduction's non-diverse world) at
several (d_a, d_b), then two worlds with V = 1000 and 990 (n·V above the KL pass's host
threshold, so its jitted programs run; both pad to the bucket 1024); per shape: first-call
and second-call seconds, the number of XLA compilations the first call triggered and
their logged seconds (`jax_log_compiles`), without the KL pass (`kl=False`:
identification, ranks, maps; all numpy) and with it. This is the cost of comparing every
model in its own dimension (no padding by the caller).
Usage: python benchmarks/compare_compile.py
"""

from __future__ import annotations

import json
import logging
import os
import re
import time

_DONE = re.compile(r"Finished XLA compilation of .* in ([0-9.e+-]+) sec")


class _Count(logging.Handler):
    def __init__(self):
        super().__init__()
        self.n, self.s = 0, 0.0

    def emit(self, record):
        m = _DONE.search(record.getMessage())
        if m:
            self.n += 1
            self.s += float(m.group(1))


def main() -> None:
    import jax
    import numpy as np

    import simident as si

    jax.config.update("jax_log_compiles", True)
    counter = _Count()
    logging.getLogger("jax").addHandler(counter)
    logging.getLogger("jax").setLevel(logging.WARNING)
    rng = np.random.default_rng(0)
    n, k = 288, 4
    F = rng.normal(size=(n, k))
    worlds = {V: rng.normal(size=(V, k)) for V in (32, 1000, 990)}

    def model(d, V):
        A = rng.normal(size=(k, d))
        return si.Model(F @ A + 1e-6 * rng.normal(size=(n, d)), worlds[V] @ np.linalg.pinv(A).T)

    rows = []
    shapes = [(8, 16, 32), (7, 11, 32), (16, 16, 32), (4, 8, 32), (8, 16, 1000), (7, 11, 990)]
    for da, db, V in shapes:
        row = {"d_a": da, "d_b": db, "V": V}
        for kl in (False, True):
            times, compiles, seconds = [], [], []
            for _ in range(2):
                a, b = model(da, V), model(db, V)
                counter.n, counter.s = 0, 0.0
                t = time.perf_counter()
                si.compare(a, b, tol=1e-2, k=k, kl=kl)
                times.append(time.perf_counter() - t)
                compiles.append(counter.n)
                seconds.append(counter.s)
            tag = "_kl" if kl else ""
            row |= {
                f"first_s{tag}": round(times[0], 3),
                f"second_s{tag}": round(times[1], 4),
                f"compilations_first{tag}": compiles[0],
                f"compile_s_first{tag}": round(seconds[0], 3),
                f"compilations_second{tag}": compiles[1],
            }
        rows.append(row)
    load = round(os.getloadavg()[0], 2)
    out = {"benchmark": "compare_compile", "n": n, "k": k, "shapes": rows, "load_average_1m": load}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
