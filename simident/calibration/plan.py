"""The cells of the calibration study: world families × samples per context × data mode ×
learner, each a `simident.study.Cell` (so the engine trains, stores and resumes it)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from simident.util.errors import SimidentError

# World families: a shipped example, with overrides. "improbable" stretches the logits
# (logit_scale 3: many context–token cells of negligible probability, A2/A3).
FAMILIES: dict[str, dict] = {
    "both_low": {"example": "both_low"},
    "diverse": {"example": "diverse"},
    "low_token": {"example": "low_token"},
    "improbable": {"example": "both_low", "name": "improbable", "logit_scale": 3.0},
}
HOLDOUT = "low_token"  # the family the margins are not chosen on (reported separately)

# Band margins (lo, hi) every verdict is recorded at; the study picks one pair.
MARGIN_GRID: tuple[tuple[float, float], ...] = tuple(
    (lo, hi)
    for lo in (0.25, 0.5, 0.75, 1.0, 1.15, 1.5, 2.0)
    for hi in (1.0, 1.4, 2.0, 3.0, 4.0, 6.0)
    if hi >= lo
)


@dataclass(frozen=True)
class Mode:
    """How much of the study to run."""

    samples: tuple[int, ...]  # sampled next tokens per context
    data: tuple[str, ...]  # "shared", "independent"
    seeds: int
    table_steps: int
    transformer: tuple[tuple[str, int], ...]  # (family, samples) cells with a transformer
    transformer_steps: int
    bootstrap: int  # refits of ν̂ per seed (table)
    transformer_bootstrap: int  # refits of ν̂ per transformer seed
    families: tuple[str, ...] = tuple(FAMILIES)


MODES = {
    "quick": Mode(
        (16, 128, 1024), ("shared", "independent"), 3, 2000, (("both_low", 1024),), 1000, 4, 2
    ),  # fmt: skip
    "full": Mode(
        (16, 64, 256, 1024),
        ("shared", "independent"),
        4,
        2000,
        tuple((f, s) for f in FAMILIES for s in (128, 1024)),
        2000,
        8,
        4,
    ),  # fmt: skip
    # seconds: the end-to-end test (two families, one sample count, tiny training)
    "smoke": Mode(
        (64,), ("shared", "independent"), 2, 60, (), 60, 1, 1, ("both_low", "low_token")
    ),  # fmt: skip
}


@dataclass(frozen=True)
class StudyCell:
    """One cell of the study: what it varies, its world spec and its engine Cell."""

    family: str
    samples: int
    data: str
    learner: str
    world: dict  # complete WorldSpec dict
    cell: object  # simident.study.Cell

    @property
    def label(self) -> str:
        return f"{self.family} S={self.samples} {self.data} {self.learner}"


def world_spec(family: str, samples: int):
    """The validated WorldSpec of a family's world with `samples` draws per context."""
    from simident.worlds import example_spec

    if family not in FAMILIES:
        raise SimidentError(f"unknown family {family!r} (known: {', '.join(FAMILIES)})")
    over = dict(FAMILIES[family])
    base = example_spec(over.pop("example"))
    return replace(base, **over, n_samples=int(samples))


def plan(mode: str) -> list[StudyCell]:
    """Every cell of `mode` ("quick" | "full"), table cells first."""
    from simident.study import Cell
    from simident.training import TrainConfig

    if mode not in MODES:
        raise SimidentError(f"--mode {mode!r}: must be one of {', '.join(MODES)}")
    m = MODES[mode]
    out = []
    for learner in ("table", "transformer"):
        for family in m.families:
            for S in m.samples:
                if learner == "transformer" and (family, S) not in m.transformer:
                    continue
                for data in m.data:
                    spec = world_spec(family, S)
                    steps = m.table_steps if learner == "table" else m.transformer_steps
                    cfg = TrainConfig(
                        model=learner,
                        d=int(spec.d),
                        seeds=m.seeds,
                        steps=steps,
                        loss="samples",
                        data=data,
                        bootstrap=m.bootstrap if learner == "table" else m.transformer_bootstrap,
                    )
                    cell = Cell(world=spec, learner=cfg)
                    out.append(StudyCell(family, S, data, learner, spec, cell))
    return out
