"""Names of what the claims train and compare: a trained configuration (`RunKey`, all its
seeds) and one model (`ModelRef`: the truth of a world, or one seed of a run)."""

from __future__ import annotations

from dataclasses import dataclass


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
