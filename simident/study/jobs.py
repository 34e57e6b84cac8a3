"""Several independent cells at once, in threads of one process.

A cell's training is one compiled XLA program, and XLA compiles on one core and runs a
small model on one or two: two cells in flight overlap one's compilation with the
other's run (`simident reproduce --quick` on the 2-core CI machine: benchmarks/README.md).
Every cell's result is the same as when it runs alone (its own program, its own seeds).

Across processes (`jax.distributed`) cells run one at a time: every process must issue
the same collectives in the same order.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from simident.util.errors import SimidentError


def default_jobs() -> int:
    """Cells in flight by default: 2 in one process with at least 2 cores, else 1."""
    from simident.training.distributed import process_count

    if process_count() > 1:
        return 1
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def check_jobs(jobs: int | None, option: str = "--jobs") -> int:
    """`jobs` validated (None: `default_jobs()`); more than one across processes is an
    error naming `option`."""
    from simident.training.distributed import process_count

    if jobs is None:
        return default_jobs()
    if not 1 <= int(jobs) <= 64:
        raise SimidentError(f"{option} {jobs}: must lie in [1, 64]")
    if jobs > 1 and process_count() > 1:
        raise SimidentError(
            f"{option} {jobs}: across processes cells run one at a time (use {option} 1)"
        )
    return int(jobs)


def jobs_that_fit(jobs: int, memory_bytes) -> int:
    """`jobs`, or 1 when `jobs` of the largest estimate (bytes) would not fit together in
    the share of the machine's memory a run may take (`util.memory.MEMORY_FRACTION`)."""
    from simident.util.memory import MEMORY_FRACTION, total_memory_bytes

    largest = max(memory_bytes, default=0)
    return jobs if jobs * largest <= MEMORY_FRACTION * total_memory_bytes() else 1


def each(
    fn: Callable, items: Iterable, jobs: int = 1, group: Callable | None = None
) -> Iterator[tuple[int, object]]:
    """(i, fn(items[i])) for every item, `jobs` at a time, in the order they finish (index
    order when jobs == 1, on the caller's thread). Items with equal `group(item)` (e.g.
    cells that share a compiled program) run one after another on one thread, in index
    order, so that only the first compiles. On the first exception the items not started
    are dropped and it is raised once the calls in flight have ended (nothing runs on
    after the caller sees it); a KeyboardInterrupt is raised at once."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        for i, item in enumerate(items):
            yield i, fn(item)
        return
    groups: dict = {}
    for i, item in enumerate(items):
        groups.setdefault(i if group is None else group(item), []).append(i)
    results: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def run(indices):
        for i in indices:
            if stop.is_set():
                return
            try:
                results.put((i, True, fn(items[i])))
            except BaseException as e:  # noqa: BLE001 (re-raised on the caller's thread)
                results.put((i, False, e))
                return

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="simident-cell")
    interrupted = False
    try:
        for indices in groups.values():
            pool.submit(run, indices)
        for _ in items:
            i, ok, value = results.get()
            if not ok:
                raise value
            yield i, value
    except KeyboardInterrupt:  # leave at once (the CLI exits without joining threads)
        interrupted = True
        raise
    finally:  # an error, or the caller stopped early: the calls in flight end first
        stop.set()
        pool.shutdown(wait=not interrupted, cancel_futures=True)
