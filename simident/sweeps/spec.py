"""The sweep spec: a TOML file → a validated, frozen `SweepSpec` (unknown keys name the key).

    name = "example"            # label
    seeds = 3                   # seeds per cell, trained together (one vmapped program)
    tol = 1e-2                  # compare tolerance for trained models
    contexts = "train"          # compare on the world's training contexts ("train") or all

    [world]                     # the base world: WorldSpec keys; `example` starts from a
    example = "low_context"     # shipped example and the other keys override it
    n_contexts = 48

    [learner]                   # the base learner: TrainConfig keys (not seeds)
    model = "table"
    steps = 1000

    [grid.world]                # swept world keys → lists of values
    rank_E = [3, 5, 8]

    [grid.learner]              # swept learner keys → lists of values
    d = ["k", "d"]              # learner d may be relative to the world: "k", "k+2", "2d", ...
    init_scale = [0.1, 1.0]

The grid is the Cartesian product of the world axes then the learner axes, in file
order, the last axis varying fastest (`grid.cells`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from simident.util.errors import SimidentError
from simident.util.io import read_toml

TOP_KEYS = ("name", "seeds", "tol", "contexts", "world", "learner", "grid")
GRID_KEYS = ("world", "learner")
CONTEXTS = ("train", "all")


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: base world and learner, swept axes, seeds."""

    name: str
    seeds: int
    tol: float
    contexts: str
    world: dict  # base world keys (after applying `example`)
    learner: dict  # base TrainConfig keys
    grid_world: tuple  # ((key, (values...)), ...) in file order
    grid_learner: tuple
    source: dict  # the TOML content as given (for the record)

    @property
    def axes(self) -> list[tuple[str, tuple]]:
        """Swept axes as ("world.key" | "learner.key", values), in grid order."""
        return [(f"world.{k}", v) for k, v in self.grid_world] + [
            (f"learner.{k}", v) for k, v in self.grid_learner
        ]

    def to_dict(self) -> dict:
        """Normalised JSON form: two specs with equal dicts describe the same sweep."""
        return {
            "name": self.name,
            "seeds": self.seeds,
            "tol": self.tol,
            "contexts": self.contexts,
            "world": self.world,
            "learner": self.learner,
            "grid": {
                "world": {k: list(v) for k, v in self.grid_world},
                "learner": {k: list(v) for k, v in self.grid_learner},
            },
        }

    def fingerprint(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_toml(cls, path) -> SweepSpec:
        path = Path(path)
        data = read_toml(path, "sweep spec file")
        try:
            return cls.from_dict(data)
        except SimidentError as e:
            raise SimidentError(f"{path}: {e}") from None

    @classmethod
    def from_dict(cls, data: dict) -> SweepSpec:
        """Validate keys and types, then every cell's world and learner (see grid.cells)."""
        _keys("sweep spec", data, TOP_KEYS)
        name = data.get("name", "sweep")
        if not isinstance(name, str) or not name.strip():
            raise SimidentError(f"name: expected a non-empty string, got {name!r}")
        seeds = data.get("seeds", 3)
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
            raise SimidentError(f"seeds: expected an integer ≥ 2 (pairs of seeds), got {seeds!r}")
        tol = data.get("tol", 1e-2)
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0.0 < tol < 1.0:
            raise SimidentError(f"tol: expected a number in (0, 1), got {tol!r}")
        contexts = data.get("contexts", "train")
        if contexts not in CONTEXTS:
            raise SimidentError(f"contexts: must be one of {', '.join(CONTEXTS)}, got {contexts!r}")
        world = _table("world", data.get("world", {}))
        _check_example(world)
        learner = _table("learner", data.get("learner", {}))
        for bad in ("seeds", "seed_offset"):
            if bad in learner:
                raise SimidentError(
                    f"learner.{bad}: set the number of seeds with the top-level key 'seeds'"
                )
        grid = _table("grid", data.get("grid", {}))
        _keys("grid", grid, GRID_KEYS)
        gw = _axes("grid.world", _table("grid.world", grid.get("world", {})))
        gl = _axes("grid.learner", _table("grid.learner", grid.get("learner", {})))
        spec = cls(
            name=name,
            seeds=int(seeds),
            tol=float(tol),
            contexts=contexts,
            world=world,
            learner=learner,
            grid_world=gw,
            grid_learner=gl,
            source=data,
        )
        from simident.sweeps.grid import cells

        cells(spec)  # validates every cell's world spec and learner config
        return spec


def _keys(where: str, data, allowed) -> None:
    if not isinstance(data, dict):
        raise SimidentError(f"{where}: expected a table of keys, got {data!r}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise SimidentError(
            f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)} "
            f"(allowed: {', '.join(allowed)})"
        )


def _table(where: str, value) -> dict:
    if not isinstance(value, dict):
        raise SimidentError(f"{where}: expected a table ([{where}]), got {value!r}")
    return dict(value)


def _axes(where: str, table: dict) -> tuple:
    out = []
    for key, values in table.items():
        if not isinstance(values, list) or not values:
            raise SimidentError(
                f"{where}.{key}: expected a non-empty list of values, got {values!r}"
            )
        seen = []
        for v in values:
            if v in seen:
                raise SimidentError(f"{where}.{key}: value {v!r} appears twice")
            seen.append(v)
        out.append((key, tuple(values)))
    return tuple(out)


def _check_example(world: dict) -> None:
    if "example" not in world:
        return
    from simident.worlds import example_names

    name = world["example"]
    if not isinstance(name, str) or name not in example_names():
        raise SimidentError(
            f"world.example = {name!r}: not a shipped example ({', '.join(example_names())})"
        )
