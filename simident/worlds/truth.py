"""The ground truth (f*, g*) with exact dim E = e, dim U = u, k, and its planted properties.

Layout. A random orthonormal basis Q of R^d is cut into blocks
    K = Q[:, :k]            E ∩ U, the part of E the distribution sees   (k)
    N = Q[:, k:e]           E ∩ U⊥, invisible context directions         (e − k)
    W = Q[:, e:e+u−k]       U ∩ E⊥, token directions no context reads    (u − k)
so E = [K N], U = [K W], dim(E ∩ U⊥) = e − k, dim(U ∩ E⊥) = u − k and k = rank(F Ḡᵀ).
This needs e + u − k ≤ d, i.e. k ≥ e + u − d (the spec checks it).

Coordinates. f*(s) = E (a(s) + c) with a(s) ∈ R^e the whitened features of s: the columns
of a are orthogonal, have mean zero over the base contexts and standard deviations
spread geometrically over [1/spectrum_ratio, 1]; c is a common offset. ḡ*(y) = U b̄(y)
with b̄ whitened the same way over tokens, its K coordinates paired inversely with those
of a. Hence the nonzero singular values of F, Ḡ and L = F Ḡᵀ each lie within a factor
`spectrum_ratio` (before the offset and the query extensions, which change them a
little; the generator measures them).

Relations. f*(s ⊕ q) = A_q f*(s) + b_q with A_q = E Â Eᵀ, b_q ∈ E, so extensions stay in E
and cannot change dim E, dim U or k. Â is orthogonal-ish in (K, N) coordinates:
  inclusion:     Â = [[R_K, 0], [S, R_N]]   (N → N only: A(E ∩ U⊥) ⊆ U⊥, IC holds)
  non-inclusion: Â = diag(R_K, R_N) J, J rotating min(k, e − k) planes (K_i, N_i) by 60°,
                 so A_q maps part of E ∩ U⊥ into view (IC fails, and so does D3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIX_ANGLE = np.pi / 3  # rotation of (K_i, N_i) planes in a non-inclusion relation
SHEAR_NORM = 0.5  # spectral norm of the K → N shear S of an inclusion relation
OFFSET_NORM = 0.5  # ‖c‖ and ‖b_q‖ relative to the RMS standard deviation of a coordinate of a(s)
G_OFFSET_NORM = 0.5  # norm of the common offset of g* (any direction) relative to RMS ‖ḡ‖


@dataclass(frozen=True)
class Layout:
    """Orthonormal basis Q of R^d cut into the blocks K, N, W (see module docstring)."""

    Q: np.ndarray
    k: int
    e: int
    u: int

    @property
    def E(self) -> np.ndarray:
        return self.Q[:, : self.e]

    @property
    def U(self) -> np.ndarray:
        return np.concatenate(
            [self.Q[:, : self.k], self.Q[:, self.e : self.e + self.u - self.k]], 1
        )

    def blocks(self) -> dict:
        """Column ranges of Q: K = E ∩ U, N = E ∩ U⊥, W = U ∩ E⊥."""
        e, k, u = self.e, self.k, self.u
        return {"K": [0, k], "E_cap_Uperp": [k, e], "U_cap_Eperp": [e, e + u - k]}


def haar(rng, m: int) -> np.ndarray:
    """A uniformly random m×m orthogonal matrix (m = 0 gives a 0×0 matrix)."""
    if m == 0:
        return np.zeros((0, 0))
    Z, R = np.linalg.qr(rng.standard_normal((m, m)))
    return Z * np.sign(np.diag(R))


def make_layout(rng, d: int, e: int, u: int, k: int) -> Layout:
    return Layout(haar(rng, d), k, e, u)


def spectrum(rng, m: int, ratio: float) -> np.ndarray:
    """m standard deviations spread geometrically over [1/ratio, 1], in random order."""
    if m <= 1:
        return np.ones(m)
    return rng.permutation(ratio ** (-np.arange(m) / (m - 1)))


def pair_inversely(sa_K, sb):
    """Reorder sb[:k] so that its largest value meets the smallest of sa_K: the products
    sa_i·sb_i (the singular values of L) then spread as little as possible."""
    sb = np.array(sb, dtype=np.float64)
    head = np.sort(sb[: len(sa_K)])[::-1]
    sb[np.argsort(sa_K)] = head
    return sb


def whiten(H, m: int, sigma, tol: float = 1e-6):
    """(a, ok): a = (H − mean H) W, an affine function of the rows of H whose m columns are
    orthogonal with mean zero and standard deviations `sigma` (the top m principal
    directions of H). ok is False when the centered H has fewer than m singular values
    above tol·σ_1.

    O(n m²): two passes of Gram eigendecompositions (the second one removes the rounding
    of the first, as in Cholesky-QR2); the n×m SVD is never formed.
    """
    n = H.shape[0]
    Hc = H - H.mean(axis=0, keepdims=True)
    lam, V = np.linalg.eigh(Hc.T @ Hc)
    lam, V = lam[::-1], V[:, ::-1]
    if lam.size < m or lam[0] <= 0.0 or lam[m - 1] <= (tol**2) * lam[0]:
        return None, False
    W = V[:, :m] / np.sqrt(lam[:m])
    Z = Hc @ W
    lam2, V2 = np.linalg.eigh(Z.T @ Z)
    W = W @ ((V2 / np.sqrt(lam2)) @ V2.T)
    W = W * (np.sqrt(n) * np.asarray(sigma))
    return Hc @ W, True


def unit(rng, m: int) -> np.ndarray:
    v = rng.standard_normal(m)
    return v / np.linalg.norm(v)


def plant_parallel(rng, B0, n_parallel: int, lam):
    """Set b(t1) = b(t0) + λ (b(t3) − b(t2)) for `n_parallel` disjoint token quadruples.

    Returns the quadruples [(t0, t1, t2, t3), ...] and their λ. Any later linear map of
    the rows (whitening, the layout, a common scale) keeps δ1 = λ δ2 exact.
    """
    V = B0.shape[0]
    toks = rng.permutation(V)[: 4 * n_parallel].reshape(n_parallel, 4)
    quads, lams = [], []
    for t0, t1, t2, t3 in toks:
        lam_i = float(rng.uniform(0.5, 2.0)) if lam is None else float(lam)
        B0[t1] = B0[t0] + lam_i * (B0[t3] - B0[t2])
        quads.append([int(t0), int(t1), int(t2), int(t3)])
        lams.append(lam_i)
    return quads, lams


def relation_map(rng, k: int, e: int, inclusion: bool) -> np.ndarray:
    """Â (e×e) in (K, N) coordinates; IC holds iff the N → K block is zero."""
    RK, RN = haar(rng, k), haar(rng, e - k)
    A = np.zeros((e, e))
    A[:k, :k] = RK
    A[k:, k:] = RN
    if inclusion:
        if e > k:
            S = rng.standard_normal((e - k, k))
            A[k:, :k] = SHEAR_NORM * S / np.linalg.norm(S, 2)
        return A
    J = np.eye(e)
    cs, sn = np.cos(MIX_ANGLE), np.sin(MIX_ANGLE)
    for i in range(min(k, e - k)):
        j = k + i
        J[i, i], J[i, j], J[j, i], J[j, j] = cs, -sn, sn, cs
    return A @ J


def probe_direction(rng, k: int, e: int, visible: bool) -> np.ndarray:
    """A unit vector in E coordinates: in K (visible) or in N = E ∩ U⊥ (invisible)."""
    w = np.zeros(e)
    if visible:
        w[:k] = unit(rng, k)
    else:
        w[k:] = unit(rng, e - k)
    return w
