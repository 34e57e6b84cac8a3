"""Model dimensions written relative to a world: an integer, or "k", "2k", "k+3", "d",
"2d", "d-1" (k: the world's effective complexity, d: its truth's dimension). Used by
sweep specs (`learner.d`) and the reproduction modes (`Mode.dims`).
"""

from __future__ import annotations

import re

from simident.util.errors import SimidentError

_DIM = re.compile(r"^\s*(\d+)?\s*\*?\s*(k|d)\s*(?:([+-])\s*(\d+))?\s*$")


def parse_dim(expr, k: int, d: int) -> int:
    """A learner dimension: an integer, or "k", "d", "2k", "k+3", "2d", "d-1" (k and d of
    the world). Raises SimidentError for anything else or a result < 1."""
    if isinstance(expr, bool):
        raise SimidentError(f"d = {expr!r}: expected an integer or an expression like 'k+2'")
    if isinstance(expr, int):
        value = expr
    elif isinstance(expr, str):
        m = _DIM.match(expr)
        if not m:
            raise SimidentError(
                f"d = {expr!r}: expected an integer or an expression like 'k', '2k', 'k+3', "
                "'d', '2d'"
            )
        mult = int(m.group(1)) if m.group(1) else 1
        value = mult * (k if m.group(2) == "k" else d)
        if m.group(3):
            value += int(m.group(4)) * (1 if m.group(3) == "+" else -1)
    else:
        raise SimidentError(f"d = {expr!r}: expected an integer or an expression like 'k+2'")
    if value < 1:
        raise SimidentError(f"d = {expr!r} gives {value} (k = {k}, world d = {d}); must be ≥ 1")
    return value
