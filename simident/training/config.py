"""TrainConfig: every setting of a training run, validated, JSON round-trip.

Fields left at None take a per-model default when the run starts (`resolved`);
run.json stores the resolved config, so a run is reproducible from its record alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from simident.models import MODELS
from simident.util.errors import SimidentError

LOSSES = ("population", "samples", "sequences", "exact")
# losses at every position of token sequences in one causal pass (process worlds, sequences.py)
SEQUENCE_LOSSES = ("sequences", "exact")
DATA_MODES = ("independent", "shared")  # loss "samples": each seed's own draws, or the world's
BOOTSTRAP_STARTS = ("cold", "warm")  # refits: the training recipe again, or from the model
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "constant")

# Per-model defaults of the fields that are None in a fresh config (tuned to converge on
# small worlds, V ~ 16-64, n ~ 32-256, d ~ 4-16, in seconds to a few minutes on 2 CPU cores).
# Upper bounds of the integer fields: step counters and shapes are int32 inside the
# compiled programs, so a chunk's last step t0 + chunk_steps must stay below 2^31.
MAX_INT = 2**31 - 1
MAX_STEPS = 2**30


def _power(x: int) -> str:
    """2^k − 1, 2^k or the number itself, for messages."""
    for k in range(8, 65):
        if x == 2**k:
            return f"2^{k}"
        if x == 2**k - 1:
            return f"2^{k} − 1"
    return str(x)


MODEL_DEFAULTS = {
    "table": {"steps": 2000, "lr": 0.05},
    "transformer": {"steps": 2000, "lr": 3e-3},
}


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Settings of one training run (all seeds share them)."""

    model: str = "table"  # "table" | "transformer"
    d: int | None = None  # representation dimension; None: the world's d
    seeds: int = 4  # independent initialisations, trained in one program
    seed_offset: int = 0  # seeds are seed_offset .. seed_offset + seeds - 1
    steps: int | None = None  # optimiser steps; None: per-model default
    lr: float | None = None  # peak learning rate; None: per-model default
    weight_decay: float = 0.0  # decoupled weight decay on weight matrices (not biases, norms)
    init_scale: float = 1.0  # multiplier of the model's standard initialisation
    batch_size: int | None = None  # contexts per step; 0: all (full batch); None: auto (cost.py)
    optimizer: str = "adamw"  # "adamw" | "sgd" (momentum 0.9, coupled L2 decay)
    schedule: str = "cosine"  # "cosine" (decay to final_lr_frac·lr) | "constant"
    warmup: int | None = None  # linear warm-up steps; None: min(100, steps // 10)
    final_lr_frac: float = 0.01  # cosine schedule ends at this fraction of lr
    b2: float = 0.99  # Adam second-moment decay
    loss: str = "population"  # "population": CE to exact p*; "samples": CE to sampled tokens
    # "sequences": next-token NLL at every position of the world's sampled sequences;
    # "exact": KL to p* at every position of the sequences whose prefixes are the contexts
    data: str = "independent"  # loss "samples": "independent" draws per seed, or "shared"
    bootstrap: int = 4  # loss "samples": refits B of the parametric bootstrap of ν̂ (0: none)
    bootstrap_start: str = "cold"  # refits start from a fresh init ("cold") or the model
    bootstrap_steps: int | None = None  # steps of each refit; None: steps (warm: steps // 4)
    depth: int = 2  # transformer blocks
    width: int = 64  # transformer residual width
    heads: int = 4  # attention heads (must divide width)
    mlp_ratio: int = 4  # MLP hidden width / width
    chunk_steps: int = 0  # steps per compiled chunk (progress, divergence check); 0: ~steps/20
    lane_group: int = 0  # lanes vmapped together, groups run in turn; 0: auto (see loop.py)
    stop_on_divergence: bool = True  # raise TrainingDiverged; False: mark the seed, go on
    val_fraction: float = 0.0  # share of each context's sampled tokens held out (loss "samples")
    early_stop: bool = False  # keep each lane's parameters of its best validation chunk

    def __post_init__(self):
        self._check_choice("model", MODELS)
        self._check_choice("loss", LOSSES)
        self._check_choice("data", DATA_MODES)
        self._check_int("bootstrap", 0)
        self._check_choice("bootstrap_start", BOOTSTRAP_STARTS)
        self._check_int("bootstrap_steps", 1, none_ok=True)
        self._check_choice("optimizer", OPTIMIZERS)
        self._check_choice("schedule", SCHEDULES)
        self._check_int("d", 1, none_ok=True)
        self._check_int("seeds", 1, high=2**32)
        self._check_int("seed_offset", 0, high=2**32 - 1)
        if self.seed_offset + self.seeds > 2**32:
            raise SimidentError(
                f"seeds {self.seed_offset}..{self.seed_offset + self.seeds - 1} must lie in "
                "[0, 2^32) (seed_offset + seeds ≤ 2^32)"
            )
        self._check_int("steps", 1, none_ok=True, high=MAX_STEPS)
        self._check_int("batch_size", 0, none_ok=True, high=math.inf)  # ≥ m: full batch
        self._check_int("warmup", 0, none_ok=True)
        self._check_int("depth", 1)
        self._check_int("width", 1)
        self._check_int("heads", 1)
        self._check_int("mlp_ratio", 1)
        self._check_int("chunk_steps", 0, high=MAX_STEPS)
        self._check_int("lane_group", 0)
        self._check_float("lr", positive=True, none_ok=True)
        self._check_float("weight_decay", positive=False)
        self._check_float("init_scale", positive=True)
        self._check_float("final_lr_frac", positive=False)
        self._check_float("b2", positive=False)
        self._check_float("val_fraction", positive=False)
        if not 0.0 <= self.val_fraction < 1.0:
            raise SimidentError(f"val_fraction must lie in [0, 1) (got {self.val_fraction})")
        if self.val_fraction > 0 and self.loss not in ("samples", "sequences"):
            raise SimidentError(
                "val_fraction > 0 holds out sampled tokens (or sequences) and needs loss "
                "'samples' or 'sequences' "
                f"(got loss {self.loss!r})"
            )
        if not isinstance(self.early_stop, bool):
            raise SimidentError("early_stop must be true or false")
        if not 0.0 <= self.b2 < 1.0:
            raise SimidentError(f"b2 must lie in [0, 1) (got {self.b2})")
        if self.width % self.heads:
            raise SimidentError(
                f"heads ({self.heads}) must divide width ({self.width}) of the transformer"
            )
        if not isinstance(self.stop_on_divergence, bool):
            raise SimidentError("stop_on_divergence must be true or false")

    def _check_choice(self, name, choices):
        value = getattr(self, name)
        if value not in choices:
            raise SimidentError(f"{name} must be one of {', '.join(choices)} (got {value!r})")

    def _check_int(self, name, low, none_ok=False, high=MAX_INT):
        value = getattr(self, name)
        if value is None and none_ok:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SimidentError(f"{name} must be an integer ≥ {low} (got {value!r})")
        if value > high:
            raise SimidentError(f"{name} must be an integer ≤ {_power(high)} (got {value!r})")

    def _check_float(self, name, positive, none_ok=False):
        value = getattr(self, name)
        if value is None and none_ok:
            return
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and (value > 0 if positive else value >= 0)
        if not ok:
            rel = "> 0" if positive else "≥ 0"
            raise SimidentError(f"{name} must be a finite number {rel} (got {value!r})")

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seed_offset, self.seed_offset + self.seeds))

    def resolved(self, world_d: int | None = None, sizes: dict | None = None) -> TrainConfig:
        """A copy with every None field set: d from the world, the rest per-model defaults.

        batch_size None is resolved only when the world's `sizes` (m, V, T: training
        contexts, vocabulary, max context length) are given (`cost.auto_batch_size`);
        then a batch_size ≥ m becomes 0 (the full batch it runs as). chunk_steps is at
        most steps. The copy holds the values used, as run.json records them.
        """
        defaults = MODEL_DEFAULTS[self.model]
        d = self.d if self.d is not None else world_d
        if d is None:
            raise SimidentError("d must be given (no world to take it from)")
        steps = self.steps if self.steps is not None else defaults["steps"]
        lr = self.lr if self.lr is not None else defaults["lr"]
        warmup = self.warmup if self.warmup is not None else min(100, steps // 10)
        chunk = min(self.chunk_steps or max(1, -(-steps // 20)), steps)  # as used
        batch = self.batch_size
        if batch is not None and sizes is not None and batch >= sizes["m"]:
            batch = 0  # a batch of every training context is the full batch: record it so
        if batch is None and sizes is not None:
            from simident.training.cost import auto_batch_size

            batch = auto_batch_size(
                self.model,
                sizes["m"],
                V=sizes["V"],
                T=sizes["T"],
                width=self.width,
                depth=self.depth,
                mlp_ratio=self.mlp_ratio,
            )
        boot = self.bootstrap_steps
        if boot is None and not (self.early_stop and self.bootstrap_start == "cold"):
            # (early stopping, cold: the refits run as long as the seeds' kept parameters)
            boot = max(1, steps if self.bootstrap_start == "cold" else steps // 4)
        return replace(
            self,
            d=d,
            steps=steps,
            lr=lr,
            warmup=warmup,
            chunk_steps=chunk,
            batch_size=batch,
            bootstrap_steps=boot,
        )

    @property
    def sampled(self) -> bool:
        """Trained on sampled next tokens (finite data)."""
        return self.loss == "samples"

    @property
    def data_mode(self) -> str:
        """What the seeds were fitted to: "population" (exact p*), "independent" (each seed
        its own draws from p*) or "shared" (every seed the world's one sample set; also
        loss "sequences": the world's sampled sequences)."""
        if self.loss == "sequences":
            return "shared"
        return self.data if self.sampled else "population"

    @property
    def per_position(self) -> bool:
        """Trained at every position of token sequences (loss "sequences" or "exact")."""
        return self.loss in SEQUENCE_LOSSES

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Inverse of to_dict; an unknown key is an error naming it."""
        if not isinstance(data, dict):
            raise SimidentError(f"train config must be a JSON object (got {type(data).__name__})")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SimidentError(
                f"unknown train config field(s): {', '.join(unknown)} "
                f"(known: {', '.join(sorted(names))})"
            )
        return cls(**data)

    @classmethod
    def from_record(cls, data: dict) -> TrainConfig:
        """from_dict of a run's stored config; a record written before `data` and
        `bootstrap` existed had its seeds share the world's samples, with no bootstrap."""
        if isinstance(data, dict) and "data" not in data:
            data = {"data": "shared", "bootstrap": 0, **data}
        return cls.from_dict(data)
