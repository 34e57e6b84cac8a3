"""`Cell`: what one training program needs: a world spec, a learner config, a grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simident.training import TrainConfig


@dataclass(frozen=True)
class Cell:
    """A world spec × a learner config (seeds included) × a grid of weight decays and
    init scales (empty: the learner's own value) trained together in one program.

    `world` is a validated spec (WorldSpec, LanguageSpec or HMMSpec), `learner` a
    TrainConfig. The content key (`key(world)`) hashes the generated world, the resolved
    config, the grid and the library versions that decide the numbers: equal keys, equal
    trained models.
    """

    world: object
    learner: TrainConfig
    weight_decays: tuple[float, ...] = ()
    init_scales: tuple[float, ...] = ()

    def config(self) -> TrainConfig:
        """The learner config (validated when it was built)."""
        return self.learner

    def grid(self) -> tuple[list[float], list[float]]:
        """(weight decays, init scales) of the program, the learner's when not given."""
        c = self.learner
        wds = [float(x) for x in self.weight_decays] or [float(c.weight_decay)]
        scales = [float(x) for x in self.init_scales] or [float(c.init_scale)]
        return sorted(set(wds)), sorted(set(scales))

    def label(self) -> str:
        """The learner in a few words, for logs."""
        lr = self.learner
        budget = ", early stop" if lr.early_stop else f", {lr.steps} steps"
        return f"{lr.model} d={lr.d}{budget}"

    def key(self, world) -> str:
        """The content key of this cell trained on `world` (generated from `self.world`)."""
        from simident.study.store import digest, numeric_versions

        wds, scales = self.grid()
        return digest(
            {
                "world_id": world.world_id,
                "world": world.spec,
                "config": self.learner.resolved(world.d).to_dict(),
                "weight_decays": wds,
                "init_scales": scales,
                "versions": numeric_versions(),
            }
        )
