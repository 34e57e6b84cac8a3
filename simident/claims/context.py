"""What the claims share: the mode, thresholds, output folder, and a cache of worlds,
trained runs and comparisons (training is the cost: every configuration is trained once
and reused by every claim that needs it).

Models are named by `ModelRef`: the truth of a world, or seed i of a trained run. Runs are
named by `RunKey` (world role, model, d, weight decay, init scale). `prefetch` trains many
keys in as few programs as possible: keys that differ only in weight decay and init
scale are one `train_world_grid` program (seeds × grid points vmapped together).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simident.claims.config import Mode
from simident.claims.verdicts import Thresholds
from simident.dims import parse_dim
from simident.theory.free_parts import free_parts
from simident.theory.subsets import zero_pad


@dataclass(frozen=True, order=True)
class RunKey:
    """One trained configuration (all its seeds)."""

    world: str  # world role: "diverse" | "low" | "few_contexts"
    model: str  # "table" | "transformer"
    d: int
    weight_decay: float = 0.0
    init_scale: float = 1.0

    @property
    def label(self) -> str:
        extra = ""
        if self.weight_decay:
            extra += f" wd={self.weight_decay:g}"
        if self.init_scale != 1.0:
            extra += f" init={self.init_scale:g}"
        return f"{self.model} d={self.d}{extra}"

    @property
    def folder(self) -> str:
        return f"{self.model}_d{self.d}_wd{self.weight_decay:g}_init{self.init_scale:g}"


@dataclass(frozen=True)
class ModelRef:
    """The truth of a world (run None) or seed number `seed` of a run."""

    world: str
    run: RunKey | None = None
    index: int = 0  # position in the run's seeds
    seed: int = 0

    @property
    def is_truth(self) -> bool:
        return self.run is None

    @property
    def label(self) -> str:
        return "truth" if self.run is None else f"{self.run.label} s{self.seed}"


@dataclass
class Context:
    """Mode, thresholds, output folder and caches for one reproduction."""

    mode: Mode
    out: Path
    th: Thresholds = field(default_factory=Thresholds)
    verbose: bool = True
    t0: float = field(default_factory=time.perf_counter)
    worlds: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    timings: list = field(default_factory=list)
    cache: object = None  # cache.RunCache: finished training programs (None: no cache)
    program_of: dict = field(default_factory=dict)  # RunKey → program (cache) key
    reused_programs: int = 0
    trained_programs: int = 0
    _pairs: dict = field(default_factory=dict)
    _vs_truth: dict = field(default_factory=dict)
    _free: dict = field(default_factory=dict)
    _steer_vector: dict = field(default_factory=dict)

    # --- logging -----------------------------------------------------------------
    def log(self, msg: str) -> None:
        if self.verbose:
            print(f"[{time.perf_counter() - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    # --- worlds ------------------------------------------------------------------
    def world(self, role: str):
        if role not in self.worlds:
            from simident.worlds import example_spec, generate_world

            choice = next((w for w in self.mode.worlds if w.role == role), None)
            if choice is None:
                raise KeyError(f"mode {self.mode.name} has no world for role {role!r}")
            spec = example_spec(choice.example) if choice.example else choice.spec
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
        return int(self.world(role).measured["k"])

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

    def pad_dim(self, role: str) -> int:
        """One width for every comparison in a world: a single compilation per world."""
        dims = [self.d_star(role), *self.dims(role)]
        if role == "low":
            dims += self.transformer_dims(role)
        return max(dims)

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

    def plan(self, keys) -> dict:
        """The training programs of `keys`: {program key: [RunKey, ...]}. Keys differing
        only in (weight decay, init scale) share one program (a grid over those two);
        the program key names its cache entry (`cache.program_key`)."""
        from simident.claims.cache import program_key

        groups: dict = {}
        for key in sorted(set(keys)):
            groups.setdefault((key.world, key.model, key.d), []).append(key)
        out = {}
        for (role, _, _), ks in groups.items():
            wds = sorted({k.weight_decay for k in ks})
            scales = sorted({k.init_scale for k in ks})
            out[program_key(self.world(role), self._config(ks[0]), wds, scales)] = ks
        return out

    def prefetch(self, keys, need=None) -> None:
        """Obtain every program of `keys` that holds a key of `need` (default: all) and
        is not loaded yet: from the cache when it holds the program, else by training it
        (then it is cached at once). Models are saved under runs/ as they come."""
        from simident.training import train_world_grid

        need = set(keys if need is None else need)
        for pkey, ks in self.plan(keys).items():
            if not need & set(ks) or all(k in self.runs for k in ks):
                continue
            role, model, d = ks[0].world, ks[0].model, ks[0].d
            world = self.world(role)
            config = self._config(ks[0])
            t = time.perf_counter()
            results = self.cache.load(pkey) if self.cache is not None else None
            reused = results is not None
            if not reused:
                results = train_world_grid(
                    world,
                    config,
                    weight_decays=sorted({k.weight_decay for k in ks}),
                    init_scales=sorted({k.init_scale for k in ks}),
                    progress=self.verbose and sys.stderr.isatty(),
                )
                if self.cache is not None:
                    self.cache.save(pkey, results, {"world": role, "model": model, "d": d})
            for r in results:
                key = RunKey(
                    role, model, d, float(r.config.weight_decay), float(r.config.init_scale)
                )
                self.runs[key] = r
                self.program_of[key] = pkey
                self._save_run(key, r, pkey)
            dt = time.perf_counter() - t
            kl = max(float(np.nanmax(r.kl_mean)) for r in results)
            if reused:
                self.reused_programs += 1
                self.log(
                    f"reused {role} {model} d={d} from cache/{pkey}: {len(results)} grid "
                    f"point(s), max mean KL {kl:.1e} nats"
                )
                continue
            self.trained_programs += 1
            self.timings.append({"stage": f"train {role} {model} d={d}", "seconds": dt})
            self.log(
                f"trained {role} {model} d={d}: {config.seeds} seeds × {len(results)} "
                f"grid point(s), max mean KL {kl:.1e} nats ({dt:.1f}s)"
            )

    def run_folder(self, key: RunKey) -> str:
        """Where a run's models are saved, relative to the output folder."""
        return f"runs/{key.world}/{key.folder}"

    def _save_run(self, key: RunKey, r, pkey: str) -> None:
        """Save a run's models (compare format) unless the same program is saved there."""
        from simident.errors import SimidentError
        from simident.io import read_json

        path = Path(self.out) / self.run_folder(key)
        record = path / "run.json"
        if record.is_file():
            try:
                if read_json(record, "run record").get("program") == pkey:
                    return
            except SimidentError:
                pass  # unreadable: rewritten
        world = self.world(key.world)
        wpath = Path(self.out) / "worlds" / key.world
        if not (wpath / "world.json").is_file() or _world_id(wpath) != world.world_id:
            world.save(wpath)
        r.save(path, world, overwrite=True, extra={"program": pkey})

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

    def free(self, ref: ModelRef):
        if ref not in self._free:
            F, G = self.FG(ref)
            self._free[ref] = free_parts(F, G, self.k(ref.world))
        return self._free[ref]

    # --- comparisons -------------------------------------------------------------
    def padded(self, ref: ModelRef):
        F, G = self.FG(ref)
        return zero_pad(F, G, self.pad_dim(ref.world))

    def pair(self, a: ModelRef, b: ModelRef) -> dict:
        """`run_compare` of two models of one world (no properties, no KL), cached."""
        from simident.comparison import run_compare

        key = (a, b)
        if key not in self._pairs:
            self._pairs[key] = run_compare(
                *self.padded(a), *self.padded(b), tol=self.th.tol, k=self.k(a.world), kl=False
            )
        return self._pairs[key]

    def steering_properties(self, role: str, with_vector: bool = True) -> list:
        """In-span steering (v = f(s1) − f(s0) on base contexts) and, when the world has
        U ∩ E⊥ ≠ {0}, a vector outside E built from the truth (needs model a = truth)."""
        n_base = int(self.world(role).extra.get("n_base", self.world(role).n))
        m = min(self.mode.steering_pairs, n_base // 2)
        props = [
            {"kind": "steering", "name": f"steer_span_{i}", "pairs": [[2 * i, 2 * i + 1]]}
            for i in range(m)
        ]
        if with_vector:
            v = self.outside_vector(role)
            if v is not None:
                props.append({"kind": "steering", "name": "steer_outside", "vector": v})
        return props

    def outside_vector(self, role: str):
        """v ∈ U ∩ E⊥ of the truth, padded, or None when U ∩ E⊥ = {0}."""
        if role not in self._steer_vector:
            from simident.theory.constructors import steering_outside_E

            F, G = self.FG(self.truth(role))
            try:
                v = steering_outside_E(np.random.default_rng(0), F, G)
                v = np.concatenate([v, np.zeros(self.pad_dim(role) - v.size)]).tolist()
            except ValueError:
                v = None
            self._steer_vector[role] = v
        return self._steer_vector[role]

    def versus_truth(self, ref: ModelRef) -> dict:
        """`run_compare(truth, model)` with the world's planted properties and the steering
        vectors, cached: "a" is the truth, "b" the model."""
        from simident.comparison import run_compare

        if ref not in self._vs_truth:
            role = ref.world
            props = list(self.world(role).properties) + self.steering_properties(role)
            self._vs_truth[ref] = run_compare(
                *self.padded(self.truth(role)),
                *self.padded(ref),
                properties=props,
                tol=self.th.tol,
                k=self.k(role),
                kl=False,
            )
        return self._vs_truth[ref]

    def steering_pair(self, a: ModelRef, b: ModelRef) -> dict:
        """In-span steering between two trained models (the same combination in both)."""
        from simident.comparison import run_compare

        return run_compare(
            *self.padded(a),
            *self.padded(b),
            properties=self.steering_properties(a.world, with_vector=False),
            tol=self.th.tol,
            k=self.k(a.world),
            kl=False,
        )

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


def _world_id(path: Path) -> str | None:
    from simident.errors import SimidentError
    from simident.io import read_json

    try:
        return read_json(path / "world.json", "world record").get("world_id")
    except SimidentError:
        return None  # unreadable: saved again


def planted(world, kind: str, **flags) -> list:
    """The world's planted properties of one kind (and flags, e.g. inclusion=False)."""
    return [
        p
        for p in world.properties
        if p["kind"] == kind and all(p.get(k) == v for k, v in flags.items())
    ]


def by_name(result: dict) -> dict:
    """A run_compare result's properties by name."""
    return {p["name"]: p for p in result["properties"]}
