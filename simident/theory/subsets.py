"""A model on a subset of its contexts or in a larger dimension, without changing it.

- `zero_pad`: append zero coordinates so models of different d share one compiled
  comparison (zero columns change no span, rank, residual or R²; they only avoid
  recompiling).
- `restrict`: a `compare` properties list on a subset of the contexts, renumbered.
"""

from __future__ import annotations

import numpy as np


def zero_pad(F, G, D: int):
    """(F, G) with D − d zero columns appended (an equivalent model of dimension D)."""
    F, G = np.asarray(F, dtype=np.float64), np.asarray(G, dtype=np.float64)
    d = F.shape[1]
    if D < d:
        raise ValueError(f"cannot pad a d = {d} model to D = {D}")
    if D == d:
        return F, G
    return (
        np.concatenate([F, np.zeros((F.shape[0], D - d))], axis=1),
        np.concatenate([G, np.zeros((G.shape[0], D - d))], axis=1),
    )


def restrict(properties: list, ids) -> list:
    """`compare` properties on the contexts `ids` only, renumbered 0..len(ids)-1.

    Token-indexed entries (parallel_unembedding) are kept; relational and steering pairs
    touching a dropped context are dropped; probes keep their surviving contexts; an entry
    left with too few pairs or contexts is dropped."""
    pos = {int(c): i for i, c in enumerate(np.asarray(ids).tolist())}
    out = []
    for p in properties:
        kind = p["kind"]
        if kind == "parallel_unembedding":
            out.append(dict(p))
        elif kind in ("relational", "steering", "parallel_embedding"):
            if "pairs" not in p:
                out.append(dict(p))
                continue
            pairs = [[pos[a], pos[b]] for a, b in p["pairs"] if a in pos and b in pos]
            need = {"relational": 2, "steering": 1, "parallel_embedding": 2}[kind]
            if kind == "parallel_embedding" and len(pairs) != 2:
                continue
            if len(pairs) >= need:
                out.append({**p, "pairs": pairs})
        elif kind == "probe":
            keep = [(pos[c], v) for c, v in zip(p["contexts"], p["values"]) if c in pos]
            if len(keep) >= 2:
                out.append({**p, "contexts": [c for c, _ in keep], "values": [v for _, v in keep]})
    return out
