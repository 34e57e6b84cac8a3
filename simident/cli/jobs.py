"""`--jobs N`, shared by the commands that run many cells (reproduce, sweep, calibrate)."""

from __future__ import annotations


def add_option(p, what: str = "cells trained at once") -> None:
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help=f"{what} (default: 2 in one process on ≥ 2 cores, else 1)",
    )
