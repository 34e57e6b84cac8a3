"""Memory and FLOPs of a sweep's cells, estimated from the spec before any work (no JAX)."""

from __future__ import annotations

from dataclasses import dataclass

from simident.training.cost import train_cost
from simident.worlds.cost import world_memory_bytes


@dataclass(frozen=True)
class CellCost:
    memory_bytes: int  # world generation + training, held together
    line: str  # the training estimate in words (memory, FLOPs)


def cell_cost(cell) -> CellCost:
    """The cost of one cell: its world, then its learner on that world (sizes from the
    spec: base contexts times 1 + queries, context plus query length)."""
    spec = cell.world
    n = int(spec.n_contexts) * (1 + len(spec.queries))
    m = max(1, int(round(n * (1.0 - float(spec.heldout_fraction)))))
    T = int(spec.context_length) + (int(spec.query_length) if spec.queries else 0)
    V = int(spec.vocab_size)
    config = cell.learner.resolved(int(spec.d), sizes={"m": m, "V": V, "T": T})
    samples = int(spec.n_samples) if config.loss == "samples" else 0
    cost = train_cost(
        config, n=n, V=V, T=T, m=m, d_star=int(spec.d), n_samples=samples, lanes=config.seeds
    )
    memory = world_memory_bytes(spec) + cost.memory_bytes
    return CellCost(memory, cost.line())
