"""Free parts of a model and how alike two models' parts are (THEORY.md E3, E6).

- `free_parts`: split a model into its identified part and its free part.
- `canonical_correlations`: cosines of the principal angles between two column spaces.
- `random_cancorr`: the canonical correlation of unrelated Gaussian matrices (a baseline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simident.theory.constructors import center


@dataclass(frozen=True)
class FreeParts:
    """f(s) = Rᵀ T f(s) + a(s) and ḡ(y) = Tᵀ R ḡ(y) + b(y) with T, R the model's canonical
    maps at rank k (E3). In an exact model a(s) ⊥ U and b(y) ⊥ E: the parts E6 says any
    equivalent model may change freely; Rᵀ T f(s) carries the identified coordinates
    φ(s) = T f(s). Norms are Frobenius, relative to ‖F‖ and ‖Ḡ‖ (0 = no free part)."""

    F_free: np.ndarray  # n×d, rows a(s)
    G_free: np.ndarray  # V×d, rows b(y)
    F_id: np.ndarray  # n×d, rows Rᵀ T f(s)
    f_ratio: float  # ‖F_free‖ / ‖F‖
    g_ratio: float  # ‖Ḡ_free‖ / ‖Ḡ‖


def free_parts(F, G, k: int) -> FreeParts:
    """The free parts of one model at effective complexity k (float64 when x64 is on)."""
    from simident.theory.equivalence import canonical_coordinates

    F = np.asarray(F, dtype=np.float64)
    Gc = center(G)
    *_, T, R, _ = canonical_coordinates(F, G, k=k)
    T, R = np.asarray(T), np.asarray(R)
    F_id = F @ T.T @ R
    F_free = F - F_id
    G_free = Gc - Gc @ R.T @ T
    nf, ng = np.linalg.norm(F), np.linalg.norm(Gc)
    return FreeParts(
        F_free=F_free,
        G_free=G_free,
        F_id=F_id,
        f_ratio=float(np.linalg.norm(F_free) / nf) if nf > 0 else 0.0,
        g_ratio=float(np.linalg.norm(G_free) / ng) if ng > 0 else 0.0,
    )


def _basis(X, tol: float):
    """Orthonormal basis of the centred column space of X, rank decided by `decide_rank`
    (the one rank rule: σ_i > tol·σ_1)."""
    from simident.theory.linalg import decide_rank

    X = center(X)  # columns centred over the contexts
    if X.size == 0:
        return np.zeros((X.shape[0], 0))
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    return U[:, : decide_rank(s, tol).rank]


def canonical_correlations(A, B, tol: float = 1e-6) -> np.ndarray:
    """Cosines of the principal angles between the centred column spaces of A (n×p) and
    B (n×q): 1 = the same function of the context, 0 = unrelated. Basis-free, so it
    compares models whose coordinates differ (CCA with a rank cut at tol·σ_1)."""
    QA, QB = _basis(A, tol), _basis(B, tol)
    if QA.shape[1] == 0 or QB.shape[1] == 0:
        return np.zeros(0)
    return np.clip(np.linalg.svd(QA.T @ QB, compute_uv=False), 0.0, 1.0)


def random_cancorr(n: int, p: int, q: int, draws: int = 20, seed: int = 0) -> float:
    """Mean canonical correlation of two independent Gaussian n×p and n×q matrices: the
    baseline for "unrelated" free parts of these sizes (it is not 0 when p, q ≪ n fails)."""
    rng = np.random.default_rng(seed)
    vals = [
        float(np.mean(canonical_correlations(rng.normal(size=(n, p)), rng.normal(size=(n, q)))))
        for _ in range(draws)
    ]
    return float(np.mean(vals))
