"""`Cell`: what one training program needs: a world spec, a learner config, a grid."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """A world spec × a learner config (seeds included) × a grid of weight decays and
    init scales (empty: the learner's own value) trained together in one program.

    `world` is a complete WorldSpec dict, `learner` a TrainConfig dict. The content key
    (`key(world)`) hashes the generated world, the resolved config, the grid and the
    library versions that decide the numbers: equal keys, equal trained models.
    """

    world: dict
    learner: dict
    weight_decays: tuple[float, ...] = ()
    init_scales: tuple[float, ...] = ()

    def __hash__(self) -> int:  # dict fields: hash the content
        import json

        return hash(json.dumps(self.__dict__, sort_keys=True, default=str))

    def config(self):
        """The learner as a validated TrainConfig."""
        from simident.training import TrainConfig

        return TrainConfig.from_dict(self.learner)

    def grid(self) -> tuple[list[float], list[float]]:
        """(weight decays, init scales) of the program, the learner's when not given."""
        c = self.config()
        wds = [float(x) for x in self.weight_decays] or [float(c.weight_decay)]
        scales = [float(x) for x in self.init_scales] or [float(c.init_scale)]
        return sorted(set(wds)), sorted(set(scales))

    def key(self, world) -> str:
        """The content key of this cell trained on `world` (generated from `self.world`)."""
        from simident.study.store import digest, numeric_versions

        wds, scales = self.grid()
        return digest(
            {
                "world_id": world.world_id,
                "world": world.spec,
                "config": self.config().resolved(world.d).to_dict(),
                "weight_decays": wds,
                "init_scales": scales,
                "versions": numeric_versions(),
            }
        )
