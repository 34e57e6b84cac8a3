"""A small synthetic world for tests and benchmarks (until/besides `simident world`).

Contexts are random token sequences; the truth is compositional, so a transformer can
compute it from the tokens: f*(s) = Σ_t P_t x(s_t) (position-specific linear maps P_t of
token embeddings x, positions counted from the first token), rows of F* scaled to unit
RMS, G* ~ N(0, logit_scale²/d) so a logit has standard deviation ≈ logit_scale.
"""

from __future__ import annotations

import numpy as np


def toy_world(
    n: int = 64,
    V: int = 16,
    d: int = 4,
    T: int = 4,
    *,
    seed: int = 0,
    logit_scale: float = 2.0,
    heldout: int = 0,
    n_samples: int = 0,
):
    """A World with n distinct contexts of lengths 1..T over V tokens, true dimension d.

    The last `heldout` contexts are held out; `n_samples` sampled next tokens per context
    are drawn from p* when > 0.
    """
    from simident.worlds.world import World

    rng = np.random.default_rng(seed)
    contexts, seen = [], set()
    while len(contexts) < n:
        length = int(rng.integers(1, T + 1))
        c = tuple(int(v) for v in rng.integers(0, V, size=length))
        if c not in seen:
            seen.add(c)
            contexts.append(list(c))
    e = max(d, 4)
    x = rng.normal(size=(V, e))
    P = rng.normal(size=(T, d, e)) / np.sqrt(e)
    F = np.stack([sum(P[t] @ x[v] for t, v in enumerate(c)) for c in contexts])
    F = F / np.sqrt(np.mean(F**2))
    G = rng.normal(size=(V, d)) * logit_scale / np.sqrt(d)
    ids = np.arange(n)
    samples = None
    if n_samples > 0:
        logits = F @ G.T
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        samples = np.stack([rng.choice(V, size=n_samples, p=row) for row in p]).astype(np.int32)
    spec = {
        "kind": "toy",
        "n": n,
        "V": V,
        "d": d,
        "T": T,
        "seed": seed,
        "logit_scale": logit_scale,
        "heldout": heldout,
        "n_samples": n_samples,
    }
    return World(
        world_id=f"toy-n{n}-V{V}-d{d}-T{T}-s{seed}",
        spec=spec,
        F=F,
        G=G,
        contexts=contexts,
        train_ids=ids[: n - heldout],
        heldout_ids=ids[n - heldout :],
        samples=samples,
    )
