"""Token sequences of a world: distinct base contexts, query tokens, and the features a
compositional f*(s) is built from.

Every random choice draws from `rng_for(seed, stream)`: one independent numpy Generator
per named stream, so adding a stream (or a planted property) never shifts another.
"""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """The numpy Generator of one named stream of a world's seed."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(stream.encode())]))


def _decode(codes, V: int, T: int) -> np.ndarray:
    """Integer codes in [0, V^T) → their base-V digits (n×T), most significant first."""
    codes = np.asarray(codes, dtype=np.int64)
    powers = V ** np.arange(T - 1, -1, -1, dtype=np.int64)
    return (codes[:, None] // powers[None, :]) % V


def draw_base_contexts(rng, V: int, T: int, n: int, max_rounds: int = 1000) -> np.ndarray:
    """n distinct token sequences of length T (n×T int64).

    Sparse case (V^T > 4n): each position's column is balanced (every token appears
    ⌊n/V⌋ or ⌈n/V⌉ times), so the contexts cover the vocabulary at every position; the
    few duplicate rows are redrawn. Dense case: n codes drawn without replacement.
    """
    space = V**T
    if space <= 4 * n:
        return _decode(rng.choice(space, size=n, replace=False), V, T)
    X = np.empty((n, T), dtype=np.int64)
    for t in range(T):
        X[:, t] = rng.permutation(np.resize(rng.permutation(V), n))
    for _ in range(max_rounds):
        _, first = np.unique(X, axis=0, return_index=True)
        if first.size == n:
            return X
        dup = np.setdiff1d(np.arange(n), first)
        X[dup] = rng.integers(0, V, size=(dup.size, T))
    raise RuntimeError(f"could not draw {n} distinct contexts of length {T} over {V} tokens")


def resolve_query_tokens(rng, queries, V: int, length: int) -> list[tuple[int, ...]]:
    """Token tuples of every query: the given ones, and fresh distinct ones of `length`
    tokens for the queries that give none (never equal to another query's tokens)."""
    taken = {tuple(q.tokens) for q in queries if q.tokens is not None}
    out = []
    for q in queries:
        if q.tokens is not None:
            out.append(tuple(int(t) for t in q.tokens))
            continue
        while True:
            cand = tuple(int(t) for t in rng.integers(0, V, size=length))
            if cand not in taken:
                break
        taken.add(cand)
        out.append(cand)
    return out


def compositional_features(rng, X, V: int, m: int) -> np.ndarray:
    """h(s) = Σ_t P_t x(s_t) (n×m): random token embeddings x (V×m), position maps P_t."""
    n, T = X.shape
    x_Vxm = rng.standard_normal((V, m))
    P_Txmxm = rng.standard_normal((T, m, m)) / np.sqrt(m)
    H = np.zeros((n, m))
    for t in range(T):
        H += x_Vxm[X[:, t]] @ P_Txmxm[t].T
    return H


def onehot_design(X, V: int) -> np.ndarray:
    """One-hot (position, token) design (n × T·V): f compositional ⇔ F affine in it."""
    n, T = X.shape
    D = np.zeros((n, T * V))
    D[np.arange(n)[:, None], np.arange(T)[None, :] * V + X] = 1.0
    return D
