"""This machine's memory, and the refusal of work estimated not to fit in it (no JAX)."""

from __future__ import annotations

import os

from simident.util.errors import SimidentError

MEMORY_FRACTION = 0.8  # refuse estimates above this share of the machine's memory


def total_memory_bytes() -> int:
    """Physical RAM of this machine (os.sysconf; /proc/meminfo as a fallback)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 16 * 2**30  # unknown: assume a small workstation


def check_fits(memory_bytes: int, what: str, knobs: str, available: int | None = None) -> None:
    """Refuse (SimidentError) an estimate above MEMORY_FRACTION of the machine's memory,
    naming what needs it and the knobs that shrink it."""
    total = total_memory_bytes() if available is None else available
    if memory_bytes > MEMORY_FRACTION * total:
        raise SimidentError(
            f"{what} needs about {gib(memory_bytes)} but this machine has "
            f"{gib(total)} of memory; reduce {knobs}"
        )


def gib(x: int) -> str:
    """Bytes in GiB, three significant digits."""
    return f"{x / 2**30:.3g} GiB"
