"""Memory of generating a world, estimated from its spec before any work (no JAX)."""

from __future__ import annotations

WORLD_KNOBS = "vocab_size, n_contexts, d, the number of queries or n_samples"


def world_memory_bytes(spec) -> int:
    """Peak memory of generating and saving a world from a WorldSpec: float64 arrays over
    contexts and tokens (F, G, features, bases, QR workspaces), the token lists of every
    context (Python ints in world.json), the sampled tokens and one sampling chunk."""
    n = int(spec.n_contexts) * (1 + len(spec.queries))
    L = int(spec.context_length) + int(spec.query_length)
    V, d = int(spec.vocab_size), int(spec.d)
    arrays = 8 * 8 * (n + V) * max(d, 1)
    tokens = n * (L * 36 + 120)
    samples = n * int(spec.n_samples) * (4 + 8)
    sampling = 8 * 3 * min(n, 4096) * V if spec.n_samples else 0
    return int(arrays + tokens + samples + sampling)
