"""What the claims share: the mode, thresholds, output folder, worlds and trained runs
(training is the cost: every configuration is trained once and reused by every claim
that needs it); the comparisons between its models come from `comparisons.Comparisons`.

Models are named by `ModelRef`: the truth of a world, or seed i of a trained run. Runs are
named by `RunKey` (world role, model, d, weight decay, init scale). A claim declares the
keys it needs (`requests`); `plan` turns them into engine cells (`simident.study.Cell`:
keys that differ only in weight decay and init scale are one cell, one `train_world_grid`
program) and `prefetch` obtains each cell through the engine (`simident.study.obtain`,
from DIR/cache/ or trained and stored at once), as `simident sweep` does. Every model is
compared in its own dimension (no padding).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from simident.claims.comparisons import Comparisons, by_name, planted  # noqa: F401 (re-exported)
from simident.claims.config import Mode
from simident.claims.refs import ModelRef, RunKey
from simident.claims.verdicts import Thresholds
from simident.study import Cell, CellStore, obtain, world_k
from simident.util.dims import parse_dim


@dataclass
class Context(Comparisons):
    """Mode, thresholds, output folder and caches for one reproduction."""

    mode: Mode
    out: Path
    th: Thresholds = field(default_factory=Thresholds)
    verbose: bool = True
    t0: float = field(default_factory=time.perf_counter)
    worlds: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    timings: list = field(default_factory=list)
    store: CellStore | None = None  # finished cells (None: nothing kept)
    jobs: int = 1  # cells trained at once (`simident.study.jobs`)
    cell_of: dict = field(default_factory=dict)  # RunKey or Cell → its cell's content key
    point_of: dict = field(default_factory=dict)  # RunKey → its grid point in the cell
    reused_cells: int = 0
    trained_cells: int = 0
    _cells: dict = field(default_factory=dict)
    _results: dict = field(default_factory=dict)
    _spec_worlds: dict = field(default_factory=dict)

    # --- logging -----------------------------------------------------------------
    def log(self, msg: str) -> None:
        if self.verbose:
            print(f"[{time.perf_counter() - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    # --- worlds ------------------------------------------------------------------
    def spec(self, role: str):
        """The mode's validated world spec for a role (a shipped example's, or the mode's
        own)."""
        from simident.worlds import example_spec, spec_from_dict

        choice = next((w for w in self.mode.worlds if w.role == role), None)
        if choice is None:
            raise KeyError(f"mode {self.mode.name} has no world for role {role!r}")
        if choice.example:
            return example_spec(choice.example)
        return spec_from_dict(dict(choice.spec), source=f"mode {self.mode.name}, world {role}")

    def world(self, role: str):
        if role not in self.worlds:
            from simident.worlds import generate_world

            spec = self.spec(role)
            t = time.perf_counter()
            w = generate_world(spec)
            self.worlds[role] = w
            self.log(
                f"world {role}: {w.world_id} (n={w.n}, V={w.V}, d*={w.d}, dim E="
                f"{w.measured['dim_E']}, dim U={w.measured['dim_U']}, k={w.measured['k']}) "
                f"{time.perf_counter() - t:.1f}s"
            )
        return self.worlds[role]

    def k(self, role: str) -> int:
        return world_k(self.world(role))

    def d_star(self, role: str) -> int:
        return self.world(role).d

    def dims(self, role: str) -> list[int]:
        """The mode's table dimensions for this world, resolved and sorted."""
        k, d = self.k(role), self.d_star(role)
        return sorted({parse_dim(e, k=k, d=d) for e in self.mode.dims.get(role, ())})

    def transformer_dims(self, role: str = "low") -> list[int]:
        if not self.mode.transformer_seeds:
            return []
        k, d = self.k(role), self.d_star(role)
        return sorted({parse_dim(e, k=k, d=d) for e in self.mode.transformer_dims})

    # --- training ----------------------------------------------------------------
    def _config(self, key: RunKey):
        from simident.training import TrainConfig

        m = self.mode
        if key.model == "transformer":
            return TrainConfig(
                model="transformer",
                d=key.d,
                seeds=m.transformer_seeds,
                steps=m.transformer_steps,
                width=m.transformer_width,
                depth=m.transformer_depth,
            )
        return TrainConfig(model="table", d=key.d, seeds=m.seeds, steps=m.table_steps)

    def world_of(self, spec):
        """The world generated from a validated spec (cached; claims with their own
        worlds)."""
        from simident.worlds import generate_world

        if spec not in self._spec_worlds:
            self._spec_worlds[spec] = generate_world(spec)
        return self._spec_worlds[spec]

    def plan(self, keys) -> dict:
        """The cells of `keys`: {cell key: [RunKey, ...]}. Keys differing only in (weight
        decay, init scale) share one cell (a grid over those two, one program). A claim
        may also declare an engine `Cell` directly (its world from `world_of`): {key:
        [Cell]}. Every key's cell key is recorded in `cell_of`."""
        groups: dict = {}
        out = {}
        for c in keys:
            if isinstance(c, Cell):
                ckey = c.key(self.world_of(c.world))
                self._cells[ckey] = c
                self.cell_of[c] = ckey
                out[ckey] = [c]
        for key in sorted({k for k in keys if isinstance(k, RunKey)}):
            groups.setdefault((key.world, key.model, key.d), []).append(key)
        for (role, _, _), ks in groups.items():
            cell = Cell(
                world=self.spec(role),
                learner=self._config(ks[0]),
                weight_decays=tuple(sorted({k.weight_decay for k in ks})),
                init_scales=tuple(sorted({k.init_scale for k in ks})),
            )
            ckey = cell.key(self.world(role))
            self._cells[ckey] = cell
            self.cell_of.update({k: ckey for k in ks})
            out[ckey] = ks
        return out

    def obtain(self, world, cell: Cell, what: str, world_name: str | None = None) -> list:
        """A cell's TrainResults through the engine (from the store, or trained and stored
        at once, weights included), logged as `what`; the world is saved under
        worlds/<world_name> (default: its spec's name)."""
        job = _Job(cell.key(world), world, cell, what, world_name)
        if job.ckey not in self._results:
            self._record(job, *self._train(job))
        return self._results[job.ckey]

    def _train(self, job: _Job) -> tuple:
        """(results, reused, seconds) of one cell from the engine; touches no shared state
        (prefetch runs several at once)."""
        t = time.perf_counter()
        progress = self.verbose and sys.stderr.isatty() and self.jobs == 1
        results, reused = obtain(job.world, job.cell, store=self.store, progress=progress)
        return results, reused, time.perf_counter() - t

    def _record(self, job: _Job, results, reused, dt) -> None:
        kl = max(float(np.nanmax(r.kl_mean)) for r in results)
        if reused:
            self.reused_cells += 1
            self.log(
                f"reused {job.what} from cache/: {len(results)} grid point(s), max KL {kl:.1e}"
            )
        else:
            self.trained_cells += 1
            self.timings.append({"stage": f"train {job.what}", "seconds": dt})
            self.log(
                f"trained {job.what}: {job.cell.config().seeds} seeds × {len(results)} grid "
                f"point(s), max mean KL {kl:.1e} nats ({dt:.1f}s)"
            )
        self._results[job.ckey] = results
        w = job.world
        self._save_world(w, job.world_name or str(w.spec.get("name") or w.world_id))
        if job.keys:  # a planned (world, model, d) cell: one RunKey per grid point
            k = job.keys[0]
            for j, r in enumerate(results):
                point = RunKey(
                    k.world, k.model, k.d, float(r.config.weight_decay), float(r.config.init_scale)
                )
                self.runs[point] = r
                self.point_of[point] = j

    def results(self, cell: Cell) -> list:
        """The TrainResults of a cell already obtained (KeyError otherwise)."""
        return self._results[self.cell_of[cell]]

    def prefetch(self, keys, need=None, planned: dict | None = None) -> None:
        """Obtain every cell of `keys` that holds a key of `need` (default: all) and is not
        loaded yet (`planned`: `plan(keys)` when the caller has it), `self.jobs` cells at
        a time (`simident.study.jobs`), the costliest first."""
        from simident.study.jobs import each, jobs_that_fit

        need = set(keys if need is None else need)
        todo = []
        for ckey, ks in (self.plan(keys) if planned is None else planned).items():
            if isinstance(ks[0], Cell):
                c = ks[0]
                if c in need and ckey not in self._results:
                    world = self.world_of(c.world)
                    todo.append(_Job(ckey, world, c, f"{world.spec.get('name')} {c.label()}"))
                continue
            if not need & set(ks) or all(k in self.runs for k in ks):
                continue
            role, model, d = ks[0].world, ks[0].model, ks[0].d
            cell = self._cells[ckey]
            todo.append(_Job(ckey, self.world(role), cell, f"{role} {model} d={d}", role, ks))
        costs = [_cost(job) for job in todo]
        order = sorted(range(len(todo)), key=lambda i: -costs[i].total_flops)
        todo = [todo[i] for i in order]
        jobs = jobs_that_fit(self.jobs, [c.memory_bytes for c in costs])
        for i, got in each(self._train, todo, jobs, group=_program):
            self._record(todo[i], *got)

    def entry(self, key) -> tuple[str, int]:
        """(cache entry, grid point) holding the models of a RunKey or a declared Cell,
        the entry relative to the output folder (`simident embed` reads it)."""
        return f"cache/{self.cell_of[key]}.json", self.point_of.get(key, 0)

    def _save_world(self, world, name: str) -> None:
        """Save a world the claims trained on under worlds/<name>, unless it is there."""
        wpath = Path(self.out) / "worlds" / name
        if not (wpath / "world.json").is_file() or _world_id(wpath) != world.world_id:
            world.save(wpath)

    def run(self, key: RunKey):
        if key not in self.runs:
            self.prefetch([key])
        return self.runs[key]

    def refs(self, key: RunKey) -> list[ModelRef]:
        r = self.run(key)
        return [ModelRef(key.world, key, i, int(s)) for i, s in enumerate(r.seeds)]

    def truth(self, role: str) -> ModelRef:
        return ModelRef(role)

    def models_of(self, role: str) -> list[ModelRef]:
        """Every model of a world the claims compare: the truth, each seed of each table
        dimension, and on the "low" world each seed of each transformer."""
        refs = [self.truth(role)]
        for d in self.dims(role):
            refs += self.refs(RunKey(role, "table", d))
        if role == "low":
            for d in self.transformer_dims():
                refs += self.refs(RunKey(role, "transformer", d))
        return refs

    def FG(self, ref: ModelRef):
        """(F, G) in float64: the truth's or a trained seed's."""
        if ref.is_truth:
            w = self.world(ref.world)
            return np.asarray(w.F, np.float64), np.asarray(w.G, np.float64)
        r = self.runs[ref.run]
        return np.asarray(r.F[ref.index], np.float64), np.asarray(r.G[ref.index], np.float64)

    def kl(self, ref: ModelRef) -> float:
        """Mean KL(p* ‖ p_model) over contexts in nats (0 for the truth)."""
        if ref.is_truth:
            return 0.0
        return float(self.runs[ref.run].kl_mean[ref.index])

    # --- outputs -----------------------------------------------------------------
    @property
    def figures(self) -> Path:
        p = Path(self.out) / "figures"
        p.mkdir(parents=True, exist_ok=True)
        return p

    def rel(self, path) -> str:
        """A path inside the output folder, relative to it (as results record figures)."""
        return str(Path(path).relative_to(self.out))

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


class _Job(NamedTuple):
    """One cell to obtain: its content key, world, Cell, log label, the folder name its
    world is saved under (None: the spec's name) and, for a planned (world, model, d)
    cell, its RunKeys."""

    ckey: str
    world: object
    cell: Cell
    what: str
    world_name: str | None = None
    keys: tuple = ()


def _lanes(cell: Cell) -> int:
    wds, scales = cell.grid()
    return cell.config().seeds * len(wds) * len(scales)


def _cost(job: _Job):
    """A cell's estimated TrainCost (prefetch starts the costliest first)."""
    from simident.training.loop import plan

    return plan(job.world, job.cell.config(), _lanes(job.cell))[1]


def _program(job: _Job) -> tuple:
    """The cell's training program (cells sharing one train on one thread)."""
    from simident.training.loop import program_key

    return program_key(job.world, job.cell.config(), _lanes(job.cell))


def _world_id(path: Path) -> str | None:
    from simident.util.errors import SimidentError
    from simident.util.io import read_json

    try:
        return read_json(path / "world.json", "world record").get("world_id")
    except SimidentError:
        return None  # unreadable: saved again
