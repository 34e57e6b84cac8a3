"""Numerical linear algebra behind every check: rank decisions with an explicit tolerance,
orthonormal bases of spans, projectors, affine least squares and parallelism scores.

Rank convention (used everywhere): a singular value σ_i counts when
σ_i > max(noise, tol·σ_1, floor), with `noise` the measured disagreement of a pair of
models (THEORY.md §4, A4; zero for a single model or an exact pair) and `floor` the
rounding noise.
Everything here works on small matrices (at most (1+d_a+d_b)² after the thin QRs of
`equivalence`) in numpy float64: no JAX program, so no compilation at a new shape.
The default tolerance is sqrt(machine epsilon) of the input dtype (1.5e-8 for float64,
3.5e-4 for float32); trained models need a looser one (e.g. 1e-2). Each decision
reports the gap σ_r/σ_{r+1} so a user sees how clear-cut it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def default_tol(dtype) -> float:
    """sqrt(eps) of `dtype` (float64: 1.5e-8, float32: 3.5e-4); integer dtypes use float64."""
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.floating):
        dt = np.dtype(np.float64)
    return float(np.sqrt(np.finfo(dt).eps))


@dataclass(frozen=True)
class RankDecision:
    """A numerical rank: how many σ_i exceed the threshold, what set it, how clear the cut was.

    threshold = max(noise, sample_noise, tol·σ_1, floor) (THEORY.md §4, A4 and A6):
    `noise` is the disagreement of a pair (‖L_a − L_b‖_2, zero for one model),
    `sample_noise` the models' bootstrap level ν̂ (A6; zero when none is known), `floor`
    the rounding-noise floor. `decided_by` names the term that set it ("disagreement",
    "sample noise", "tol", "floor"), or "given" (rank forced by the caller) or "cap" (rank
    limited by `cap`, e.g. min(d_a, d_b)). `errors` says, for a pair, whether A4's
    assumption of independent errors holds (set by `compare`; None for one model).
    """

    rank: int
    tol: float
    last_kept: float  # σ_r / σ_1 (nan when rank is 0)
    first_dropped: float  # σ_{r+1} / σ_1 (0 when nothing was dropped)
    gap: float  # last_kept / first_dropped (inf when nothing was dropped)
    sigma_k: float = float("nan")  # σ_r (nan when rank is 0)
    sigma_k1: float = 0.0  # σ_{r+1} (0 when nothing was dropped)
    sigma_1: float = 0.0
    noise: float = 0.0  # the pair's disagreement term (‖Δ‖_2, scaled where stated)
    threshold: float = 0.0  # absolute cut applied to σ
    decided_by: str = "tol"
    sample_noise: float = 0.0  # ν̂ term (A6)
    errors: str | None = None  # "independent" | "shared" | "unknown" (a pair's errors, A4)
    errors_note: str | None = None  # why, in words

    def to_dict(self) -> dict:
        return asdict(self)


def noise_floor(dtype, m: int, scale: float) -> float:
    """Size of rounding noise in a product/QR of width m whose factors have norm `scale`:
    10·eps·sqrt(m)·scale. Singular values below it are indistinguishable from zero."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return 10.0 * eps * float(np.sqrt(max(m, 1))) * float(scale)


def decide_rank(
    s,
    tol: float,
    rank: int | None = None,
    floor: float = 0.0,
    noise: float = 0.0,
    cap: int | None = None,
    sample_noise: float = 0.0,
) -> RankDecision:
    """Rank from singular values `s` (any order): count σ_i > max(noise, sample_noise,
    tol·σ_1, floor).

    `floor` is an absolute rounding-noise level (see `noise_floor`): without it, a matrix
    that is zero up to rounding (L = 0 for a uniform distribution) would get full rank.
    `noise` is the pair's measured disagreement (A4; 0 for exact inputs, where the rule is
    §2's). `cap` bounds the rank (k ≤ min(d_a, d_b)). If `rank` is given it is used
    instead of the estimate (the gap is still reported).
    """
    s = np.sort(np.abs(np.asarray(s, dtype=np.float64)))[::-1]
    noise = float(noise) if np.isfinite(noise) else 0.0
    sample_noise = float(sample_noise) if np.isfinite(sample_noise) else 0.0
    terms = {"disagreement": noise, "tol": float(tol) * (float(s[0]) if s.size else 0.0)}
    terms["floor"] = float(floor)
    terms["sample noise"] = sample_noise
    by = max(terms, key=lambda t: (terms[t], t == "tol"))
    thr = terms[by]
    if s.size == 0 or s[0] == 0.0 or (rank is None and s[0] <= max(floor, noise, sample_noise)):
        r = 0 if rank is None else int(rank)
        s1 = float(s[0]) if s.size else 0.0
        return RankDecision(
            r,
            float(tol),
            float("nan"),
            0.0,
            float("inf"),
            float("nan"),
            s1,
            s1,
            noise,
            thr,
            "given" if rank is not None else by,
            sample_noise,
        )
    if rank is not None:
        r, by = int(min(rank, s.size)), "given"
    else:
        r = int(np.sum(s > thr))
        if cap is not None and r > cap:
            r, by = int(cap), "cap"
    rel = s / s[0]
    last = float(rel[r - 1]) if r > 0 else float("nan")
    first = float(rel[r]) if r < s.size else 0.0
    gap = float("inf") if first == 0.0 else (last / first if r > 0 else 0.0)
    return RankDecision(
        r,
        float(tol),
        last,
        first,
        gap,
        float(s[r - 1]) if r > 0 else float("nan"),
        float(s[r]) if r < s.size else 0.0,
        float(s[0]),
        noise,
        thr,
        by,
        sample_noise,
    )


def _f64(X) -> np.ndarray:
    return np.asarray(X, dtype=np.float64)


def tall_r(X) -> np.ndarray:
    """R of a thin QR of X (float64; X itself when it is not tall)."""
    X = _f64(X)
    n, m = X.shape
    return np.linalg.qr(X, mode="r") if n > m else X


def row_space(X, tol: float, rank: int | None = None, floor: float = 0.0, noise: float = 0.0):
    """Orthonormal basis (columns, m×r) of the span of the rows of X, and its RankDecision
    (σ_i counted above max(noise, tol·σ_1, floor), see `decide_rank`). SVD of the thin-QR
    factor when X is tall: O(n m²) time, O(n m) memory."""
    X = _f64(X)
    if X.shape[0] == 0 or X.shape[1] == 0:
        return np.zeros((X.shape[1], 0)), decide_rank([], tol)
    _, s, Vt = np.linalg.svd(tall_r(X), full_matrices=True)
    dec = decide_rank(s, tol, rank, floor, noise)
    return Vt[: dec.rank].T, dec


def projector(B):
    """Orthogonal projector B Bᵀ onto the span of orthonormal columns B."""
    B = _f64(B)
    return B @ B.T


def complement(B, dim: int):
    """Orthonormal basis of the orthogonal complement of span(B) in R^dim."""
    B = _f64(B)
    if B.shape[1] == 0:
        return np.eye(dim)
    _, _, Vt = np.linalg.svd(B.T, full_matrices=True)
    return Vt[B.shape[1] :].T


def pinv(X, tol: float):
    """Moore-Penrose pseudo-inverse, singular values ≤ tol·σ_1 treated as zero."""
    X = _f64(X)
    if X.size == 0:
        return np.zeros(X.shape[::-1])
    return np.linalg.pinv(X, rcond=tol)


def intersection_dim(B1, B2, tol: float) -> int:
    """dim(span B1 ∩ span B2) for orthonormal bases: #principal cosines > 1 - tol."""
    if B1.shape[1] == 0 or B2.shape[1] == 0:
        return 0
    c = np.linalg.svd(np.asarray(B1.T @ B2), compute_uv=False)
    return int(np.sum(c > 1.0 - tol))


@dataclass(frozen=True)
class AffineFit:
    """Least-squares fit Y ≈ X W + 1 cᵀ; R² pooled over columns (1 - SSE/SST)."""

    r2: float
    rel_residual: float  # sqrt(SSE/SST); 0 when Y is constant and fitted exactly
    n: int
    x_rank: int  # rank of the centred design (fit is vacuous when n ≤ x_rank + 1)

    def to_dict(self) -> dict:
        return asdict(self)


def affine_sse(X, Y, tol: float, intercept: bool):
    """(SSE, SST, Σ Y², rank) of the least-squares fit of Y on X (+ intercept), X's
    numerical rank cut at tol·σ_1."""
    X, Y = _f64(X), _f64(Y)
    Yc = Y - Y.mean(0) if intercept else Y
    Xc = X - X.mean(0) if intercept else X
    if Xc.shape[1] == 0 or Xc.shape[0] == 0:  # a d = 0 model: nothing explains Y
        return float(np.sum(Yc**2)), float(np.sum(Yc**2)), float(np.sum(Y**2)), 0
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    Ur = U[:, s > tol * s.max(initial=0.0)]
    resid = Yc - Ur @ (Ur.T @ Yc)
    return float(np.sum(resid**2)), float(np.sum(Yc**2)), float(np.sum(Y**2)), Ur.shape[1]


def affine_fit(X, Y, tol: float, intercept: bool = True) -> AffineFit:
    """Best affine map from rows of X to rows of Y (numerical rank of X cut at `tol`)."""
    X, Y = _f64(X), _f64(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    if X.ndim == 1:
        X = X[:, None]
    n = int(Y.shape[0])
    sse, sst, scale, r = affine_sse(X, Y, tol, intercept)
    eps = float(np.finfo(np.float64).eps)
    if sst <= (eps**2) * (scale + 1e-300) * n:
        return AffineFit(1.0, 0.0, n, int(r))
    return AffineFit(1.0 - sse / sst, float(np.sqrt(max(sse, 0.0) / sst)), n, int(r))


@dataclass(frozen=True)
class Parallelism:
    """How parallel two vectors are: sin of the angle, cosine, and the best λ in u ≈ λ v."""

    sin: float  # ‖u - λv‖ / ‖u‖ with the least-squares λ; 0 = parallel, 1 = orthogonal
    cos: float
    lam: float

    def to_dict(self) -> dict:
        return asdict(self)


def parallelism(u, v, K=None) -> Parallelism:
    """Parallelism of u and v in the inner product ⟨x, y⟩ = xᵀ K y (Euclidean if K is None).

    A zero vector has no direction: "parallel" is never claimed for it. If u or v is zero
    (relative to the larger of the two), sin and cos are NaN (an undecided verdict).
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)

    def ip(a, b):
        return float(a @ b) if K is None else float(a @ (np.asarray(K) @ b))

    uu, vv, uv = ip(u, u), ip(v, v), ip(u, v)
    scale = max(uu, vv)
    tiny = (np.finfo(np.float64).eps ** 2) * max(scale, 1e-300)
    if uu <= tiny or vv <= tiny:
        return Parallelism(float("nan"), float("nan"), float("nan"))
    cos = uv / np.sqrt(uu * vv)
    sin = float(np.sqrt(max(0.0, 1.0 - min(1.0, cos * cos))))
    # 1 - cos² loses precision near parallel: use the residual directly.
    lam = uv / vv
    res = u - lam * v
    sin_direct = float(np.sqrt(max(ip(res, res), 0.0) / uu))
    return Parallelism(min(sin, sin_direct), float(cos), float(lam))


def intersect(B1, B2, tol: float = 1e-8):
    """Orthonormal basis of span(B1) ∩ span(B2) (B1, B2 orthonormal columns)."""
    B1, B2 = np.asarray(B1, dtype=np.float64), np.asarray(B2, dtype=np.float64)
    dim = B1.shape[0]
    if B1.shape[1] == 0 or B2.shape[1] == 0:
        return np.zeros((dim, 0))
    # x = B1 c lies in span(B2) iff (I - B2 B2ᵀ) B1 c = 0
    resid = B1 - B2 @ (B2.T @ B1)
    _, s, Vt = np.linalg.svd(resid, full_matrices=True)
    s_full = np.zeros(B1.shape[1])
    s_full[: s.size] = s
    null = Vt[s_full <= tol]
    return B1 @ null.T
