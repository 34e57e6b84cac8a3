"""The sweep as a flat, indexable list of cells (disentanglement_lib style: any cell can be
printed or run by its index).

Cell i is the i-th point of the product world axes × learner axes (file order, the last
axis fastest). Each cell resolves to a complete world spec and a complete TrainConfig.
World keys: `example` (a shipped spec) supplies defaults; when rank_E or rank_U is swept
and `k` is neither swept nor written in [world], k is left to its default
min(rank_E, rank_U) instead of the example's value.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass

from simident.util.errors import SimidentError

RANK_KEYS = ("rank_E", "rank_U")


@dataclass(frozen=True)
class GridPoint:
    """One grid point of a sweep: its index, the swept values, the validated world spec
    and the resolved learner config (d resolved, seeds set)."""

    index: int
    values: dict  # "world.key" / "learner.key" → value as written in the spec
    world: object  # WorldSpec
    learner: object  # TrainConfig

    @property
    def key(self) -> str:
        """A stable identity of the cell's content (guards against a changed spec)."""
        return json.dumps(
            {"world": self.world.to_dict(), "learner": self.learner.to_dict()}, sort_keys=True
        )

    def unit(self):
        """The study's Cell of this grid point: what one training program needs."""
        from simident.study import Cell

        return Cell(self.world, self.learner)

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items()) or "(single cell)"

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "values": self.values,
            "world": self.world.to_dict(),
            "learner": self.learner.to_dict(),
        }


ATTR_PATH = re.compile(r"^attributes\[(\d+)\]\.(\w+)$")


def _set_key(out: dict, key: str, value) -> None:
    """out[key] = value; `attributes[i].field` (a language world's attribute i, e.g. its
    visibility) sets that field of the i-th [[attributes]] table."""
    m = ATTR_PATH.match(key)
    if m is None:
        out[key] = value
        return
    i, fld = int(m.group(1)), m.group(2)
    attrs = [dict(a) for a in out.get("attributes", [])]
    if i >= len(attrs):
        raise SimidentError(f"{key}: the world has {len(attrs)} [[attributes]] tables")
    attrs[i][fld] = value
    out["attributes"] = attrs


def world_spec(base: dict, swept: dict):
    """The validated spec of a cell (WorldSpec, LanguageSpec or HMMSpec by its `kind`):
    the example's file (when `example` is given), then the [world] table, then the swept
    values (`attributes[i].field` sets a field of a language world's attribute)."""
    from simident.util.io import read_toml
    from simident.worlds import example_path, spec_from_dict

    explicit = {k: v for k, v in base.items() if k != "example"}
    out = {}
    if "example" in base:
        out = read_toml(example_path(base["example"]), "example spec")
        if any(r in swept for r in RANK_KEYS) and "k" not in swept and "k" not in explicit:
            out.pop("k", None)
    for key, value in [*explicit.items(), *swept.items()]:
        _set_key(out, key, value)
    return spec_from_dict(out, source="world")


def world_dims(world) -> tuple[int, int]:
    """(k, d) of a cell's world before it is generated: the planted spec's, or for a
    process world W1's k from the parameters of its first draw (language; the truth is
    minimal, d = k; with noise W6's rank, an upper bound of the measured k) or the largest
    possible rank V − 1 (hmm: L* is only numerically low-rank)."""
    kind = getattr(world, "kind", "planted")
    if kind == "hmm":
        return int(world.vocab_size) - 1, int(world.vocab_size) - 1
    if kind == "language":
        from simident.worlds.language import predicted_k

        k = predicted_k(world)
        return k, k
    return int(world.k), int(world.d)


def learner_config(base: dict, swept: dict, world, seeds: int):
    """The resolved TrainConfig of a cell; d may be relative to the world."""
    from simident.training import TrainConfig
    from simident.util.dims import parse_dim

    kw = {**base, **swept}
    d_expr = kw.get("d", "d")
    k, d = world_dims(world)
    kw["d"] = parse_dim(d_expr, k=k, d=d)
    if isinstance(kw["d"], int) and kw["d"] < k:
        raise SimidentError(
            f"learner d = {kw['d']} lies below the world's k = {k}: its seeds "
            'cannot be compared at the world\'s k (use d ≥ k, e.g. d = "k")'
        )
    kw["seeds"] = seeds
    kw["seed_offset"] = 0
    return TrainConfig.from_dict(kw).resolved(d)


def cells(spec) -> list[GridPoint]:
    """Every cell of the sweep, in index order. Raises SimidentError naming the first
    cell whose world or learner is invalid."""
    names = [name for name, _ in spec.axes]
    value_lists = [vals for _, vals in spec.axes]
    out = []
    for i, combo in enumerate(itertools.product(*value_lists)):
        values = dict(zip(names, combo))
        sw = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("world.")}
        sl = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("learner.")}
        where = f"cell {i} ({', '.join(f'{k}={v}' for k, v in values.items()) or 'base'})"
        try:
            w = world_spec(spec.world, sw)
            lr = learner_config(spec.learner, sl, w, spec.seeds)
        except SimidentError as e:
            raise SimidentError(f"{where}: {e}") from None
        out.append(GridPoint(index=i, values=values, world=w, learner=lr))
    return out


def format_cells(cell_list, done: set | None = None) -> str:
    """One line per cell: index, status (when `done` is given) and swept values."""
    lines = []
    width = len(str(max(len(cell_list) - 1, 0)))
    for c in cell_list:
        status = "" if done is None else ("done     " if c.index in done else "pending  ")
        lines.append(f"{c.index:>{width}}  {status}{c.label()}")
    return "\n".join(lines)
