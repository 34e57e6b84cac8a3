"""The experiment engine: one way to train a cell, store it, resume it and evaluate it.

A cell is a world spec × a learner config (its seeds included), optionally with a grid
of weight decays and init scales trained in the same compiled program (`Cell`).

- `obtain(world, cell, store=...)` returns the cell's trained seeds: from a `CellStore`
  when it holds the cell's content key, else trained in one program and stored at once
  (atomically), so a killed run resumes from its finished cells;
- `seed_pair_rows` evaluates every pair of a cell's seeds with `simident.compare`;
- `world_k` is the one definition of "the world's k" on a set of contexts.

`simident reproduce` (claims) and `simident sweep` run their cells through this package
and nothing else.
"""

from simident.study.cell import Cell
from simident.study.evaluate import seed_pair_rows, world_k
from simident.study.store import CellStore, digest, entry_world, load_entry, numeric_versions
from simident.study.train import obtain

__all__ = [
    "Cell",
    "CellStore",
    "digest",
    "entry_world",
    "load_entry",
    "numeric_versions",
    "obtain",
    "seed_pair_rows",
    "world_k",
]
