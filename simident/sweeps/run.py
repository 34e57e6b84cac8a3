"""Run a sweep: every pending cell in index order (or one cell), resumable.

`run_sweep` records the spec in DIR (refusing a different one), skips finished cells,
evaluates each pending cell (`evaluate.evaluate_cell`: trained through the engine,
`simident.study`, whose trained seeds are kept in DIR/cache/ as soon as they exist),
writes its file atomically and rebuilds results.csv. Interrupting it loses at most the
cell in progress, and not its training once that finished.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from simident.sweeps.grid import cells
from simident.sweeps.store import SweepStore
from simident.training.distributed import LeaderLoaded, is_leader, leader_checks, leader_mask
from simident.util.errors import SimidentError


@dataclass
class SweepSummary:
    n_cells: int
    ran: list
    skipped: list
    table: object
    seconds: float


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def check_cells_fit(cell_list) -> list[int]:
    """Refuse, before any work, a cell whose world and training would not fit in memory;
    returns every cell's estimate (bytes)."""
    from simident.sweeps.cost import cell_cost
    from simident.util.memory import check_fits

    estimates = []
    for c in cell_list:
        cost = cell_cost(c)
        estimates.append(cost.memory_bytes)
        check_fits(
            cost.memory_bytes,
            f"cell {c.index} ({c.label()}; {cost.line})",
            "the cell's world size (vocab_size, n_contexts, n_samples) or its learner "
            "(seeds, batch_size, width)",
        )
    return estimates


def run_sweep(
    spec,
    out,
    *,
    only: int | None = None,
    spec_text: str | None = None,
    trainer=None,
    progress: bool = True,
    log=_log,
    jobs: int | None = 1,
) -> SweepSummary:
    """Run the pending cells of `spec` into folder `out` (only cell `only` if given),
    `jobs` cells at a time (None: the default, `simident.study.jobs`; with more than one,
    no per-cell progress bar, and cells finish in any order: each is written as it
    finishes)."""
    from simident.study.jobs import check_jobs

    jobs = check_jobs(jobs)
    t0 = time.perf_counter()
    cell_list = cells(spec)
    if only is not None and not 0 <= only < len(cell_list):
        raise SimidentError(
            f"--cell {only}: out of range, the sweep has cells 0..{len(cell_list) - 1}"
        )
    estimates = check_cells_fit(cell_list if only is None else [cell_list[only]])
    store = SweepStore(out)
    # across processes (training/distributed.py) process 0 reads and writes the folder
    leader_checks(store.init, spec, cell_list, spec_text)
    done = leader_mask(store.done(cell_list) if is_leader() else set(), len(cell_list))
    todo = [c for c in cell_list if c.index not in done]
    if only is not None:
        todo = [c for c in todo if c.index == only]
    skipped = sorted(done if only is None else done & {only})
    if skipped and log:
        log(f"sweep {spec.name}: {len(skipped)} finished cell(s) skipped")
    from simident.study import CellStore
    from simident.study.jobs import each, jobs_that_fit
    from simident.sweeps.evaluate import evaluate_cell

    if jobs_that_fit(jobs, estimates) < jobs:
        if log:
            log(f"sweep {spec.name}: cells run one at a time ({jobs} would not fit in memory)")
        jobs = 1
    progress = progress and jobs == 1

    models = CellStore(store.out / "cache")

    def evaluate(c):
        if log:
            log(f"cell {c.index}: {c.label()} ...")
        t = time.perf_counter()
        try:
            got = evaluate_cell(spec, c, store=models, trainer=trainer, progress=progress)
        except LeaderLoaded:  # another process: process 0 took this cell from its cache
            return None, time.perf_counter() - t
        return got, time.perf_counter() - t

    ran = []
    for j, (i, (got, dt)) in enumerate(each(evaluate, todo, jobs)):
        c = todo[i]
        ran.append(c.index)
        if got is None or not is_leader():
            continue
        rows, record = got
        store.write_cell(c, rows, record)
        store.rebuild_table(cell_list, spec.axes)
        if log:
            kl = max(record["kl_mean"]) if record["kl_mean"] else float("nan")
            ir2 = min((r["identified_r2"] for r in rows), default=float("nan"))
            log(
                f"[{j + 1}/{len(todo)}] cell {c.index} done in {dt:.1f}s: {len(rows)} seed "
                f"pairs, max KL {kl:.2e}, min identified R² {ir2:.6f}"
            )
    table = store.rebuild_table(cell_list, spec.axes) if is_leader() else None
    return SweepSummary(
        n_cells=len(cell_list),
        ran=ran,
        skipped=skipped,
        table=table,
        seconds=time.perf_counter() - t0,
    )
