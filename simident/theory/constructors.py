"""Models with known answers, for tests and experiments (THEORY.md §2 E6 and §3).

All functions take a numpy Generator `rng` and return float64 numpy arrays, whatever
JAX's x64 setting (they use numpy's LAPACK). A model is a pair (F, G), F: n×d context
embeddings, G: V×d unembeddings (G need not be centered).
"""

from __future__ import annotations

import numpy as np

from simident.theory import logits
from simident.theory.linalg import decide_rank, intersect


def center(G) -> np.ndarray:
    """Ḡ = G - mean_y g(y) in float64 numpy (`logits.center` on a float64 copy)."""
    return logits.center(np.asarray(G, dtype=np.float64))


def _row_space(X, tol: float) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.size == 0:
        return np.zeros((X.shape[1], 0))
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    return Vt[: decide_rank(s, tol).rank].T


def _complement(B) -> np.ndarray:
    d, r = B.shape
    if r == 0:
        return np.eye(d)
    _, _, Vt = np.linalg.svd(B.T, full_matrices=True)
    return Vt[r:].T


def check_dims(n: int, V: int, d: int, dim_E: int, dim_U: int, k: int) -> None:
    """Raise ValueError unless a model with these (n, V, d, dim E, dim U, k) exists."""
    if not 0 <= k <= min(dim_E, dim_U):
        raise ValueError(f"need 0 ≤ k ≤ min(dim_E, dim_U); got k={k}, dims {dim_E}, {dim_U}")
    if dim_E + dim_U - k > d:
        raise ValueError(f"need dim_E + dim_U - k ≤ d; got {dim_E}+{dim_U}-{k} > {d}")
    if dim_E > n:
        raise ValueError(f"need dim_E ≤ n; got {dim_E} > {n}")
    if dim_U > V - 1:
        raise ValueError(f"need dim_U ≤ V - 1 (centering removes one); got {dim_U} > {V - 1}")


def random_invertible(rng, d: int, cond: float = 4.0) -> np.ndarray:
    """A random d×d matrix with singular values in [1/sqrt(cond), sqrt(cond)]."""
    Q1, _ = np.linalg.qr(rng.normal(size=(d, d)))
    Q2, _ = np.linalg.qr(rng.normal(size=(d, d)))
    s = np.exp(rng.uniform(-0.5, 0.5, size=d) * np.log(cond))
    return (Q1 * s) @ Q2.T


def canonical_blocks(d: int, dim_E: int, dim_U: int, k: int):
    """Coordinate index sets (coupled, E-only, U-only): E = coupled ∪ E-only,
    U = coupled ∪ U-only, so dim(E ∩ U⊥) = dim_E - k and dim(U ∩ E⊥) = dim_U - k."""
    C = np.arange(k)
    Eo = np.arange(k, dim_E)
    Uo = np.arange(dim_E, dim_E + dim_U - k)
    return C, Eo, Uo


def random_model(
    rng, n: int, V: int, d: int, dim_E: int, dim_U: int, k: int, mix: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """A model with exactly these dim E, dim U and k = rank(F Ḡᵀ) (generic position).

    Built in canonical coordinates (`canonical_blocks`), then mixed by a random invertible
    A: (F Aᵀ, G A⁻¹) (an E6 transformation, which keeps every dimension), and G gets a
    random common offset (softmax ignores it).
    """
    check_dims(n, V, d, dim_E, dim_U, k)
    C, Eo, Uo = canonical_blocks(d, dim_E, dim_U, k)
    F = np.zeros((n, d))
    F[:, np.r_[C, Eo]] = rng.normal(size=(n, dim_E))
    G = np.zeros((V, d))
    G[:, np.r_[C, Uo]] = rng.normal(size=(V, dim_U))
    G = center(G)
    if mix:
        A = random_invertible(rng, d)
        F, G = transform(F, G, A)
    G = G + rng.normal(size=(1, d))
    return F, G


def transform(F, G, A) -> tuple[np.ndarray, np.ndarray]:
    """(A f, A⁻ᵀ g): an equivalent model for any invertible A (E6)."""
    A = np.asarray(A, dtype=np.float64)
    return np.asarray(F) @ A.T, np.asarray(G) @ np.linalg.inv(A)


def spans_of(F, G, tol: float = 1e-9):
    """Orthonormal bases (E, U) of a model's context span and centered unembedding span."""
    return _row_space(F, tol), _row_space(center(G), tol)


def free_directions(F, G, tol: float = 1e-9) -> dict:
    """Bases of E, U, E∩U⊥ (invisible context directions), U∩E⊥, E⊥ and U⊥."""
    E, U = spans_of(F, G, tol)
    Eperp, Uperp = _complement(E), _complement(U)
    return {
        "E": E,
        "U": U,
        "Eperp": Eperp,
        "Uperp": Uperp,
        "E_cap_Uperp": intersect(E, Uperp),
        "U_cap_Eperp": intersect(U, Eperp),
    }


def add_context_free_part(rng, F, G, scale: float = 1.0, rows=None):
    """(f + a, g) with every a(s) ⊥ U: equivalent (E6). Needs U ≠ R^d to change anything."""
    Uperp = free_directions(F, G)["Uperp"]
    F = np.array(F, dtype=np.float64)
    idx = np.arange(F.shape[0]) if rows is None else np.asarray(rows)
    F[idx] += scale * rng.normal(size=(len(idx), Uperp.shape[1])) @ Uperp.T
    return F, np.asarray(G, dtype=np.float64)


def add_token_free_part(rng, F, G, scale: float = 1.0, rows=None):
    """(f, g + b) with centered b̄(y) ⊥ E (plus a common offset): equivalent (E6)."""
    Eperp = free_directions(F, G)["Eperp"]
    G = np.array(G, dtype=np.float64)
    idx = np.arange(G.shape[0]) if rows is None else np.asarray(rows)
    G[idx] += scale * rng.normal(size=(len(idx), Eperp.shape[1])) @ Eperp.T
    G += rng.normal(size=(1, G.shape[1]))
    return np.asarray(F, dtype=np.float64), G


def pad(rng, F, G, extra_context: int = 1, extra_token: int = 1):
    """Append coordinates: f gets `extra_context` free coordinates whose g-partner is a
    constant (same for every token), g gets `extra_token` free coordinates whose f-partner
    is zero. f·g changes by a per-context constant only: equivalent (E6), larger d."""
    F, G = np.asarray(F, dtype=np.float64), np.asarray(G, dtype=np.float64)
    n, V = F.shape[0], G.shape[0]
    Fp = np.concatenate(
        [F, rng.normal(size=(n, extra_context)), np.zeros((n, extra_token))], axis=1
    )
    Gp = np.concatenate(
        [
            G,
            np.tile(rng.normal(size=(1, extra_context)), (V, 1)),
            rng.normal(size=(V, extra_token)),
        ],
        axis=1,
    )
    return Fp, Gp


def minimal_model(F, G, tol: float = 1e-9):
    """The equivalent model of dimension k: (Φ, Ψ) with L = Φ Ψᵀ from the SVD (E3),
    computed through thin QRs (L is never formed)."""
    QF, RF = np.linalg.qr(np.asarray(F, dtype=np.float64))
    QG, RG = np.linalg.qr(center(G))
    Uc, s, Vt = np.linalg.svd(RF @ RG.T)
    k = decide_rank(s, tol).rank
    sq = np.sqrt(s[:k])
    return QF @ (Uc[:, :k] * sq), QG @ (Vt[:k].T * sq)


def plant_parallel_unembedding(G, quad, lam: float):
    """Set g(b) = g(a) + λ (g(d) - g(c)) for quad = (a, b, c, d): δ1 = λ δ2 (P1)."""
    a, b, c, d = quad
    G = np.array(G, dtype=np.float64)
    G[b] = G[a] + lam * (G[d] - G[c])
    return G


def plant_parallel_embedding(F, quad, lam: float):
    """Set f(s1) = f(s0) + λ (f(s3) - f(s2)) for quad = (s0, s1, s2, s3): Δ1 = λ Δ2 (P2)."""
    s0, s1, s2, s3 = quad
    F = np.array(F, dtype=np.float64)
    F[s1] = F[s0] + lam * (F[s3] - F[s2])
    return F


def break_parallel_unembedding(rng, F, G, token: int, scale: float = 1.0):
    """Add w ⊥ E to g(token): same distribution, full parallelism broken (P1 counterexample).
    Raises ValueError when E = R^d (context diversity: parallelism cannot be broken)."""
    Eperp = free_directions(F, G)["Eperp"]
    if Eperp.shape[1] == 0:
        raise ValueError("E = R^d (context diversity): no direction to break parallelism with")
    G = np.array(G, dtype=np.float64)
    G[token] += scale * Eperp @ rng.normal(size=Eperp.shape[1])
    return np.asarray(F, dtype=np.float64), G


def break_parallel_embedding(rng, F, G, context: int, scale: float = 1.0):
    """Add w ⊥ U to f(context): same distribution, full parallelism broken (P2
    counterexample). Raises ValueError when U = R^d (token diversity)."""
    Uperp = free_directions(F, G)["Uperp"]
    if Uperp.shape[1] == 0:
        raise ValueError("U = R^d (token diversity): no direction to break parallelism with")
    F = np.array(F, dtype=np.float64)
    F[context] += scale * Uperp @ rng.normal(size=Uperp.shape[1])
    return F, np.asarray(G, dtype=np.float64)


def relational_model(
    rng, n_base: int, V: int, d: int, dim_E: int, dim_U: int, k: int, inclusion: bool
):
    """A model with a planted relation f(s⊕q) = A f(s) + b on contexts n_base..2n_base-1.

    inclusion=True: A maps E ∩ U⊥ into U⊥ (IC holds, so D3 holds: shared by every
    equivalent model). inclusion=False: A maps E ∩ U⊥ partly into U (needs dim_E > k):
    RL holds in this model but D3 fails and a minimal model has no relation (P3).
    Returns (F, G, pairs) with pairs [[s, s⊕q], ...].
    """
    if not inclusion and dim_E <= k:
        raise ValueError("a relation without the inclusion condition needs dim_E > k")
    check_dims(n_base, V, d, dim_E, dim_U, k)
    C, Eo, Uo = canonical_blocks(d, dim_E, dim_U, k)
    Ecoords = np.r_[C, Eo]
    Fb = np.zeros((n_base, d))
    Fb[:, Ecoords] = rng.normal(size=(n_base, dim_E))
    A = np.zeros((d, d))
    A[np.ix_(C, C)] = rng.normal(size=(k, k))
    A[np.ix_(Eo, Eo)] = rng.normal(size=(len(Eo), len(Eo)))
    A[np.ix_(Eo, C)] = rng.normal(size=(len(Eo), k))  # C may map anywhere in E
    if not inclusion:
        A[np.ix_(C, Eo)] = rng.normal(size=(k, len(Eo)))  # E ∩ U⊥ → U: breaks IC
    b = np.zeros(d)
    b[Ecoords] = rng.normal(size=dim_E)
    Fq = Fb @ A.T + b
    F = np.concatenate([Fb, Fq])
    G = np.zeros((V, d))
    G[:, np.r_[C, Uo]] = rng.normal(size=(V, dim_U))
    M = random_invertible(rng, d)
    F, G = transform(F, center(G), M)
    pairs = [[i, n_base + i] for i in range(n_base)]
    return F, np.asarray(G), pairs


def probe_values(F, G, contexts, visible: bool, rng=None):
    """z(s) = w·f(s) + β on `contexts` with w ∈ U (visible: affine in the logits) or
    w ∈ E ∩ U⊥ (invisible: a minimal model has no probe; needs dim_E > k) (P4)."""
    rng = np.random.default_rng(0) if rng is None else rng
    dirs = free_directions(F, G)
    W = dirs["U"] if visible else dirs["E_cap_Uperp"]
    if W.shape[1] == 0:
        raise ValueError("no direction available for this probe (U or E ∩ U⊥ is {0})")
    w = W @ rng.normal(size=W.shape[1])
    F = np.asarray(F, dtype=np.float64)
    return F[np.asarray(contexts)] @ w + rng.normal()


def steering_outside_E(rng, F, G):
    """A steering vector v ∈ U ∩ E⊥: its logit shift Ḡv is outside col(Lᵀ), so a minimal
    model cannot reproduce it (P5 counterexample). Needs dim_U > k."""
    W = free_directions(F, G)["U_cap_Eperp"]
    if W.shape[1] == 0:
        raise ValueError("U ∩ E⊥ = {0}: every steering vector's shift is reproducible")
    return W @ rng.normal(size=W.shape[1])
