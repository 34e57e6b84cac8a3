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
    if getattr(spec, "kind", "planted") != "planted":
        return _process_cost(cell)
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


def _process_cost(cell) -> CellCost:
    """A process world's cell: its spec's bound on the contexts (every prefix distinct,
    plus s ⊕ q), contexts of length + 2 tokens (language), the corpus as the training
    sequences of a per-position loss."""
    from simident.sweeps.grid import world_dims

    spec = cell.world
    n, V = int(spec.max_contexts()), int(spec.vocab_size)
    T = int(spec.length) + (2 if spec.kind == "language" else 0)
    _, d = world_dims(spec)
    m = n
    if cell.learner.per_position and spec.kind == "language":
        m = max(1, int(spec.n_sequences))
    config = cell.learner.resolved(d, sizes={"m": m, "V": V, "T": T})
    cost = train_cost(config, n=n, V=V, T=T, m=m, d_star=d, n_samples=0, lanes=config.seeds)
    return CellCost(int(spec.memory_bytes()) + cost.memory_bytes, cost.line())
