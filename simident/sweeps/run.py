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


def check_cells_fit(cell_list) -> None:
    """Refuse, before any work, a cell whose world and training would not fit in memory."""
    from simident.sweeps.cost import cell_cost
    from simident.util.memory import check_fits

    for c in cell_list:
        cost = cell_cost(c)
        check_fits(
            cost.memory_bytes,
            f"cell {c.index} ({c.label()}; {cost.line})",
            "the cell's world size (vocab_size, n_contexts, n_samples) or its learner "
            "(seeds, batch_size, width)",
        )


def run_sweep(
    spec,
    out,
    *,
    only: int | None = None,
    spec_text: str | None = None,
    trainer=None,
    progress: bool = True,
    log=_log,
) -> SweepSummary:
    """Run the pending cells of `spec` into folder `out` (only cell `only` if given)."""
    t0 = time.perf_counter()
    cell_list = cells(spec)
    if only is not None and not 0 <= only < len(cell_list):
        raise SimidentError(
            f"--cell {only}: out of range, the sweep has cells 0..{len(cell_list) - 1}"
        )
    check_cells_fit(cell_list if only is None else [cell_list[only]])
    store = SweepStore(out)
    store.init(spec, cell_list, spec_text)
    done = store.done(cell_list)
    todo = [c for c in cell_list if c.index not in done]
    if only is not None:
        todo = [c for c in todo if c.index == only]
    skipped = sorted(done if only is None else done & {only})
    if skipped and log:
        log(f"sweep {spec.name}: {len(skipped)} finished cell(s) skipped")
    from simident.study import CellStore
    from simident.sweeps.evaluate import evaluate_cell

    models = CellStore(store.out / "cache")

    ran = []
    for j, c in enumerate(todo):
        t = time.perf_counter()
        if log:
            log(f"[{j + 1}/{len(todo)}] cell {c.index}: {c.label()} ...")
        rows, record = evaluate_cell(spec, c, store=models, trainer=trainer, progress=progress)
        store.write_cell(c, rows, record)
        store.rebuild_table(cell_list, spec.axes)
        ran.append(c.index)
        if log:
            kl = max(record["kl_mean"]) if record["kl_mean"] else float("nan")
            ir2 = min((r["identified_r2"] for r in rows), default=float("nan"))
            log(
                f"    done in {time.perf_counter() - t:.1f}s: {len(rows)} seed pairs, "
                f"max KL {kl:.2e}, min identified R² {ir2:.6f}"
            )
    table = store.rebuild_table(cell_list, spec.axes)
    return SweepSummary(
        n_cells=len(cell_list),
        ran=ran,
        skipped=skipped,
        table=table,
        seconds=time.perf_counter() - t0,
    )
