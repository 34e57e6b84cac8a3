"""A5 of THEORY.md §4: how far an approximately equal log-ratio forces two differences to
be parallel.

For a model with context matrix F (P1; for P2 read R_G, the triangular factor of Ḡ, whose
singular values are Ḡ's), differences u1 = δ1, u2 = δ2 and λ ≠ 0, put w = u1 − λ u2 and
ε = F w (the log-ratio error L c of the distribution-level form). Then

    sin ∠(u1, u2) ≤ min(1, ‖ε‖ / (σ_d(F) · max(‖u1‖, |λ| ‖u2‖)))

(‖w‖ ≤ ‖ε‖/σ_d, and the distance of u1 from span{u2} — of u2 from span{u1} — is at most
‖w‖, resp. ‖w‖/|λ|). Parallelism up to the angle θ is therefore guaranteed exactly when
σ_d(F) ≥ τ_θ := ‖ε‖ / (sin θ · max(‖u1‖, |λ|‖u2‖)). λ is the distribution-level fit
(argmin_λ ‖F(u1 − λ u2)‖). "E = R^d" at a relative tolerance is not this condition: a
model with d > k has weak, noise-fitted directions of E and no guarantee.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ParallelBound:
    """A5 for one model: the log-ratio error ε = ‖F(u1 − λu2)‖ at the fitted λ, σ_d of the
    matrix, the bound on sin ∠(u1, u2) and its angle (radians), the θ the verdict band
    calls parallel (sin θ = the band's lower end), τ_θ, and how many singular values reach
    τ_θ (guaranteed: all d of them, i.e. bound ≤ sin θ)."""

    eps: float
    lam: float
    sigma_min: float
    sin_bound: float
    theta_bound: float
    theta: float
    tau_theta: float
    n_above: int
    d: int
    guaranteed: bool

    def to_dict(self) -> dict:
        return asdict(self)


def a5_bound(X, u1, u2, sin_theta: float) -> ParallelBound:
    """A5 for u1, u2 under the matrix X (F for P1, R_G for P2), at the angle θ with
    sin θ = `sin_theta` (< 1). NaN fields and guaranteed False when u2's image is zero
    (no λ) or θ is vacuous (sin θ ≥ 1)."""
    X = np.asarray(X, dtype=np.float64)
    u1, u2 = np.asarray(u1, np.float64), np.asarray(u2, np.float64)
    d = int(X.shape[1])
    sv = np.linalg.svd(X, compute_uv=False) if X.size else np.zeros(0)
    sigma_min = float(sv[d - 1]) if sv.size >= d and d > 0 else 0.0
    x1, x2 = X @ u1, X @ u2
    nan = float("nan")
    theta = math.asin(sin_theta) if 0.0 <= sin_theta < 1.0 else math.pi / 2
    xx = float(x2 @ x2)
    if xx <= 0.0 or not np.isfinite(xx):
        return ParallelBound(nan, nan, sigma_min, nan, nan, theta, nan, 0, d, False)
    lam = float(x1 @ x2) / xx
    eps = float(np.linalg.norm(x1 - lam * x2))
    scale = max(float(np.linalg.norm(u1)), abs(lam) * float(np.linalg.norm(u2)))
    if scale <= 0.0:
        return ParallelBound(eps, lam, sigma_min, nan, nan, theta, nan, 0, d, False)
    sin_b = 1.0 if sigma_min <= 0.0 else min(1.0, eps / (sigma_min * scale))
    if sin_theta >= 1.0 or sin_theta <= 0.0:
        tau = float("inf")
    else:
        tau = eps / (sin_theta * scale)
    n_above = int(np.sum(sv >= tau)) if np.isfinite(tau) else 0
    ok = bool(np.isfinite(tau) and n_above >= d and sin_b <= sin_theta)
    return ParallelBound(eps, lam, sigma_min, sin_b, math.asin(sin_b), theta, tau, n_above, d, ok)
