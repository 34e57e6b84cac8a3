"""Process worlds: a generative process with an exact next-token law becomes a World.

A *process* (the `Process` protocol) returns exact next-token log-probabilities for a
batch of prefixes and samples sequences. `build_world` turns one into today's world
format: contexts = the distinct prefixes of sampled sequences (plus s ⊕ q for query
tokens appended to chosen prefixes), the exact L* (float64), a truth (F*, G*) factoring
L* at its numerical rank r (σ_i > sqrt(eps)·σ_1), with the discarded singular-value tail
recorded, properties.json entries with their predicted flags, and every property's
distribution-level form measured on L* (`measure_properties`).

Cost: the builder forms L* (n × V) once, so n·V must fit in memory (specs bound it);
the SVD is O(n V²).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from simident.theory.linalg import decide_rank, default_tol, noise_floor
from simident.util.errors import SimidentError
from simident.worlds.world import World

EXACT_TOL = 1e-6  # a distribution-level form holds exactly when its residual is below this


@runtime_checkable
class Process(Protocol):
    """An exact next-token law over token prefixes (docs/world.md has an example)."""

    vocab_size: int  # V: token ids 0..V-1 (prefixes and next tokens)
    min_prefix: int  # the shortest prefix that is a context (≥ 1)

    def log_probs(self, prefixes: np.ndarray) -> np.ndarray:
        """(m, V) float64 log p(y | prefix) for an (m, t) int array of prefixes of one length t."""
        ...

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, T) int sequences drawn from the process."""
        ...


def distinct_prefixes(sequences, min_len: int) -> list[tuple[int, ...]]:
    """Distinct proper prefixes (min_len ≤ length < T) of (n, T) sequences, in order of
    first appearance (sequence by sequence, shortest first)."""
    seqs = np.asarray(sequences)
    seen: dict[tuple[int, ...], None] = {}
    for row in seqs.tolist():
        for t in range(min_len, len(row)):
            seen.setdefault(tuple(row[:t]), None)
    return list(seen)


def exact_log_probs(process: Process, contexts, chunk: int = 4096) -> np.ndarray:
    """(n, V) float64 log p*(y | s) for every context, prefixes grouped by length."""
    V = int(process.vocab_size)
    n = len(contexts)
    out = np.empty((n, V), dtype=np.float64)
    by_len: dict[int, list[int]] = {}
    for i, c in enumerate(contexts):
        by_len.setdefault(len(c), []).append(i)
    for ids in by_len.values():
        for lo in range(0, len(ids), chunk):
            part = ids[lo : lo + chunk]
            X = np.asarray([contexts[i] for i in part], dtype=np.int64)
            lp = np.asarray(process.log_probs(X), dtype=np.float64)
            if lp.shape != (len(part), V):
                raise SimidentError(
                    f"process.log_probs returned shape {lp.shape} for {len(part)} prefixes "
                    f"(expected ({len(part)}, {V}))"
                )
            out[part] = lp
    if not np.all(np.isfinite(out)):
        raise SimidentError("process.log_probs: every log-probability must be finite")
    mass = np.logaddexp.reduce(out, axis=1)
    worst = float(np.max(np.abs(mass)))
    if worst > 1e-9:
        raise SimidentError(
            f"process.log_probs: rows must be normalised (max |log Σ p| = {worst:.2e})"
        )
    return out


@dataclass(frozen=True)
class Truth:
    """L* = F Gᵀ up to the discarded tail: F = U_r Σ_r^½, G = V_r Σ_r^½ (G centered)."""

    F: np.ndarray
    G: np.ndarray
    sigma: np.ndarray  # every singular value of L*, descending
    decision: dict  # the rank decision (RankDecision.to_dict())
    tail: float  # ‖L* − F Gᵀ‖_F / ‖L*‖_F (0 when L* has exact rank r)


def factor_truth(L: np.ndarray) -> Truth:
    """The truth factoring the centered log-probabilities L at their numerical rank."""
    L = np.asarray(L, dtype=np.float64)
    U, s, Vt = np.linalg.svd(L, full_matrices=False)
    tol = default_tol(np.float64)
    scale = float(s[0]) if s.size else 0.0
    dec = decide_rank(s, tol, floor=noise_floor(np.float64, min(L.shape), scale))
    r = max(dec.rank, 1)
    root = np.sqrt(s[:r])
    F = U[:, :r] * root
    G = Vt[:r].T * root
    total = float(np.sqrt(np.sum(s**2)))
    tail = float(np.sqrt(np.sum(s[r:] ** 2)) / total) if total > 0 else 0.0
    return Truth(F=F, G=G, sigma=s, decision=dec.to_dict(), tail=tail)


def affine_residual(X, Y) -> float:
    """‖Y − fit‖_F / ‖Y − mean Y‖_F of the least-squares affine fit Y ≈ X W + c (0 for a
    constant Y)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    Y2 = Y.reshape(len(Y), -1)
    Xc = X - X.mean(axis=0)
    Yc = Y2 - Y2.mean(axis=0)
    den = float(np.linalg.norm(Yc))
    if den == 0.0:
        return 0.0
    W, *_ = np.linalg.lstsq(Xc, Yc, rcond=1e-12)
    return float(np.linalg.norm(Yc - Xc @ W) / den)


def measure_properties(L: np.ndarray, properties: list[dict]) -> list[dict]:
    """Each property's distribution-level form measured on the exact L*: relational
    (D3: ℓ(s⊕q) affine in ℓ(s)), probe (z affine in ℓ(s): R²), parallel_unembedding
    (the log-ratio vectors over all contexts: best λ and the relative residual).
    `holds` = residual < EXACT_TOL."""
    out = []
    for p in properties:
        kind, m = p["kind"], {"name": p["name"], "kind": p["kind"]}
        if kind == "relational":
            S, Q = np.asarray(p["pairs"]).T
            m["d3_residual"] = affine_residual(L[S], L[Q])
            res = m["d3_residual"]
        elif kind == "probe":
            res = affine_residual(L[np.asarray(p["contexts"])], np.asarray(p["values"]))
            m["r2"] = 1.0 - res**2
            m["residual"] = res
        elif kind == "parallel_unembedding":
            (a, b), (c, d) = p["pairs"]
            r1, r2 = L[:, b] - L[:, a], L[:, d] - L[:, c]
            lam = float(r1 @ r2 / (r2 @ r2)) if r2 @ r2 > 0 else 0.0
            n1 = float(np.linalg.norm(r1))
            res = float(np.linalg.norm(r1 - lam * r2) / n1) if n1 > 0 else 0.0
            m["lambda"] = lam
            m["residual"] = res
        else:
            continue
        m["holds"] = bool(res < EXACT_TOL)
        if "predicted" in p:
            m["predicted"] = bool(p["predicted"])
            m["agrees"] = m["holds"] == m["predicted"]
        out.append(m)
    return out


def with_queries(base: list, queries: list, takes) -> tuple[list, list]:
    """Contexts `base` followed, for each query (name, tokens) in order, by s ⊕ q for the
    base contexts s with takes(s) true (skipping any s ⊕ q already among the contexts).
    Returns (contexts, queries [{"name","tokens","pairs"}])."""
    contexts = list(base)
    index = {c: i for i, c in enumerate(contexts)}
    out = []
    for name, tokens in queries:
        tok = tuple(int(t) for t in tokens)
        pairs = []
        for i, s in enumerate(base):
            if not takes(s):
                continue
            sq = s + tok
            j = index.get(sq)
            if j is None:
                j = index[sq] = len(contexts)
                contexts.append(sq)
            pairs.append([i, j])
        out.append({"name": name, "tokens": list(tok), "pairs": pairs})
    return contexts, out


def build_world(
    process: Process,
    contexts: list,
    *,
    world_id: str,
    spec: dict,
    extra: dict | None = None,
    queries: list | None = None,
    properties: list | None = None,
    heldout: np.ndarray | None = None,
    sequences: dict | None = None,
    L: np.ndarray | None = None,
) -> tuple[World, np.ndarray]:
    """The World of `process` on `contexts` (token tuples), and its exact L*.

    measured: k (numerical rank of L*, with its gap), the singular values, the discarded
    tail, the number of distinct rows, and each property's measured distribution-level
    form (`measure_properties`). A truth has dim E = dim U = k (it is minimal)."""
    if L is None:
        lp = exact_log_probs(process, contexts)
        L = lp - lp.mean(axis=1, keepdims=True)
    truth = factor_truth(L)
    n = len(contexts)
    held = np.zeros(n, dtype=bool) if heldout is None else np.asarray(heldout, dtype=bool)
    ids = np.arange(n, dtype=np.int64)
    props = list(properties or [])
    k = int(truth.F.shape[1])
    s1 = float(truth.sigma[0]) if truth.sigma.size else 0.0
    measured = {
        "dim_E": k,
        "dim_U": k,
        "k": k,
        "d": k,
        "diverse": True,
        "tol": truth.decision["tol"],
        "rank_decision": truth.decision,
        "sigma_ratios": (truth.sigma[: min(truth.sigma.size, 64)] / s1).tolist() if s1 else [],
        "discarded_tail": truth.tail,
        "distinct_rows": distinct_rows(L),
        "properties": measure_properties(L, props),
    }
    world = World(
        world_id=world_id,
        spec=spec,
        F=truth.F,
        G=truth.G,
        contexts=[list(c) for c in contexts],
        train_ids=ids[~held],
        heldout_ids=ids[held],
        queries=list(queries or []),
        measured=measured,
        properties=props,
        samples=None,
        extra=dict(extra or {}),
        sequences=dict(sequences or {}),
    )
    return world, L


def distinct_rows(L: np.ndarray, decimals: int = 9) -> int:
    """Number of distinct rows of L (rounded relative to its scale)."""
    scale = float(np.max(np.abs(L))) if L.size else 0.0
    if scale == 0.0:
        return int(min(len(L), 1))
    return int(np.unique(np.round(L / scale, decimals), axis=0).shape[0])


def sample_world(process: Process, n_sequences: int, seed: int = 0, name: str = "process"):
    """A world of a user's process: the distinct prefixes (≥ process.min_prefix tokens) of
    `n_sequences` sampled sequences, their exact L*, the truth; no properties."""
    import hashlib

    rng = np.random.default_rng(seed)
    seqs = np.asarray(process.sample(rng, int(n_sequences)), dtype=np.int64)
    contexts = distinct_prefixes(seqs, int(process.min_prefix))
    if not contexts:
        raise SimidentError("the sampled sequences have no prefix of at least min_prefix tokens")
    digest = hashlib.sha256(seqs.tobytes()).hexdigest()[:10]
    spec = {"kind": "process", "name": name, "seed": int(seed), "n_sequences": int(n_sequences)}
    world, _ = build_world(
        process,
        contexts,
        world_id=f"{name}-{digest}",
        spec=spec,
        sequences={"sequences": seqs.astype(np.int32)},
    )
    return world


__all__ = [
    "EXACT_TOL",
    "Process",
    "Truth",
    "affine_residual",
    "build_world",
    "distinct_prefixes",
    "distinct_rows",
    "exact_log_probs",
    "factor_truth",
    "measure_properties",
    "sample_world",
    "with_queries",
]
