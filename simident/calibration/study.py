"""Run the calibration study: train every cell through the engine, compare its seed pairs
(and each seed with the truth) at every margin pair of the grid, and keep the scored
verdicts. Resumable: trained cells live in DIR/cache/ (the engine's CellStore) and each
cell's verdicts in DIR/cells/<key>.csv (+ .json, written last), so a killed run redoes at
most one cell."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from simident.calibration.plan import MARGIN_GRID, StudyCell
from simident.calibration.verdicts import scored_verdicts
from simident.util.io import atomic_write, read_json, write_json

TOL = 1e-2  # compare's tolerance for trained models (docs/compare.md)


class _Worlds:
    """The worlds of the cells in flight, generated once each: cells come grouped by
    world, so the `keep` most recent suffice (memory: a few worlds at a time)."""

    def __init__(self, keep: int):
        import threading

        self.keep, self.cache, self.lock = keep, {}, threading.Lock()

    def __call__(self, spec):
        from simident.worlds import generate_world

        key = spec.name, spec.n_samples
        with self.lock:
            if key not in self.cache:
                while len(self.cache) >= self.keep:
                    self.cache.pop(next(iter(self.cache)))
                self.cache[key] = generate_world(spec)
            return self.cache[key]


def cell_rows(sc: StudyCell, world, result) -> tuple[list[dict], list[dict]]:
    """(comparison rows, verdict rows) of one trained cell: every seed pair and every seed
    against the truth, each at every margin pair of MARGIN_GRID."""
    from simident.comparison.api import compare, compare_at_margins
    from simident.comparison.model import Model

    truth = Model(world.F, world.G, data="exact", data_id=f"{world.world_id}/truth")
    exact = compare(truth, truth, properties=world.properties, kl=False)
    k_true = exact.k
    N = len(result.seeds)
    pairs = [(i, j, "seeds") for i in range(N) for j in range(i + 1, N)]
    pairs += [(i, None, "truth") for i in range(N)]
    comps, verdicts = [], []
    base = {"family": sc.family, "samples": sc.samples, "data": sc.data, "learner": sc.learner}
    for i, j, kind in pairs:
        a = result.model(i)
        b = truth if j is None else result.model(j)
        cs = compare_at_margins(a, b, MARGIN_GRID, tol=TOL, properties=world.properties, kl=False)
        c0 = cs[0]
        row = {
            **base,
            "pair": kind,
            "seed_a": int(result.seeds[i]),
            "seed_b": -1 if j is None else int(result.seeds[j]),
            "r": c0.logit_residual,
            "k_hat": c0.k,
            "k_true": k_true,
            "k_by": c0.k_decision.decided_by,
            "errors": c0.k_decision.errors,
            "noise": c0.equivalence.delta_2,
            "nu_hat": c0.equivalence.sample_noise_2,
            "kl_a": float(result.kl_mean[i]),
        }
        comps.append(row)
        for m, c in enumerate(cs):
            for s in scored_verdicts(c, exact):
                verdicts.append(
                    {
                        **base,
                        "pair": kind,
                        "seed_a": row["seed_a"],
                        "seed_b": row["seed_b"],
                        "r": row["r"],
                        "margin": m,
                        "prop": s.prop,
                        "kind": s.kind,
                        "field": s.field,
                        "decided": s.decided,
                        "truth": s.truth,
                    }
                )
    return comps, verdicts


def run_study(
    cells: list[StudyCell], out: Path, progress: bool = True, jobs: int | None = 1
):  # fmt: skip
    """Train (or reuse) and score every cell, `jobs` cells at a time (None: the default,
    `simident.study.jobs`); returns (comparisons, verdicts) DataFrames in cell order."""
    import pandas as pd
    from tqdm.auto import tqdm

    from simident.study import CellStore
    from simident.study.jobs import check_jobs, each

    jobs = check_jobs(jobs)
    out = Path(out)
    store = CellStore(out / "cache")
    (out / "cells").mkdir(parents=True, exist_ok=True)
    world = _Worlds(keep=2 * jobs)
    t0 = time.perf_counter()
    got = [None] * len(cells)
    bar = tqdm(total=len(cells), desc="calibrate", unit="cell", disable=not progress)
    score = lambda sc: _score(sc, world(sc.world), store, out)  # noqa: E731
    for i, value in each(score, cells, jobs):
        got[i] = value
        bar.set_postfix_str(cells[i].label, refresh=False)
        bar.update()
    bar.close()
    seconds = time.perf_counter() - t0
    comps, verdicts, how = zip(*got) if got else ((), (), ())
    C, V = pd.concat(comps, ignore_index=True), pd.concat(verdicts, ignore_index=True)
    for col in ("decided", "truth"):
        V[col] = V[col].map(_bool3)
    info = {
        "cells": len(cells),
        "reused": how.count("reused"),
        "trained": how.count("trained"),
        "training_cached": how.count("cached"),
    }
    return C, V, {**info, "seconds": seconds}


def _score(sc: StudyCell, world, store, out: Path):
    """(comparisons, verdicts, how) of one cell: its files when complete ("reused"),
    else scored from its seeds ("trained" or, from the store, "cached") and written."""
    import pandas as pd

    from simident.study import obtain

    key = sc.cell.key(world)
    done = out / "cells" / f"{key}.json"
    if done.is_file():
        read_json(done, "calibration cell record")
        c = pd.read_csv(out / "cells" / f"{key}.comparisons.csv")
        v = pd.read_csv(out / "cells" / f"{key}.verdicts.csv")
        return c, v, "reused"
    results, was_cached = obtain(world, sc.cell, store=store)
    c_rows, v_rows = cell_rows(sc, world, results[0])
    c, v = pd.DataFrame(c_rows), pd.DataFrame(v_rows)
    write_csv(out / "cells" / f"{key}.comparisons.csv", c)
    write_csv(out / "cells" / f"{key}.verdicts.csv", v)
    meta = {
        "label": sc.label,
        "key": key,
        "world_id": world.world_id,
        "bootstrap": results[0].bootstrap,
        "training_seconds": float(results[0].seconds),
        "reused_training": bool(was_cached),
    }
    write_json(done, meta)  # last: the cell is complete
    return c, v, "cached" if was_cached else "trained"


def write_csv(path: Path, df) -> None:
    """A DataFrame as CSV, atomically (no index column)."""
    text = df.to_csv(index=False).encode()
    atomic_write(path, lambda fh: fh.write(text))


def _bool3(x):
    """CSV round trip of a three-valued verdict: True / False / None."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    if isinstance(x, str):
        return {"True": True, "False": False}.get(x)
    return bool(x)
