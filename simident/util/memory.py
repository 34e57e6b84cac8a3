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


def compare_bytes(n: int, V: int, da: int, db: int, itemsize: int = 8) -> int:
    """What `compare` holds at once for n contexts, V tokens and dimensions d_a, d_b with
    inputs of `itemsize` bytes: the four inputs in their own dtype, the row-block thin
    QR's float64 block ([R; X], `tallqr.ROWS` rows of 1 + d_a + d_b) and its LAPACK
    workspace, the V-sized float64 factors of the KL pass (centred [Ḡ_a | Ḡ_b], B and
    their padded copies) and one chunk of the pass (≈ 2¹⁹ cells × 24 float64 numbers).
    The streamed passes never hold anything n×V."""
    from simident.theory.tallqr import ROWS

    m = 1 + da + db
    inputs = itemsize * (n + V) * (da + db)
    qr = 8 * 3 * (min(n, ROWS) + m) * m
    per_token = 8 * 4 * V * (da + db)
    chunk = 8 * 24 * 2**19
    return int(inputs + qr + per_token + chunk)
