"""A small factor R of a tall matrix from its Gram matrix, for inputs too large for the
row-block thin QR (`tallqr`): one streamed pass of float64 products, then the m×m
algebra.

G = Σ_b W_bᵀ W_b over blocks of rows, each block cast to float64 (products of float32
inputs are then exact), accumulated in float64; G = V Λ Vᵀ (eigh) and R = diag(√|λ|) Vᵀ.
Backward error (docs/numerics.md, *Identification at scale*): RᵀR = WᵀW + E with

    ‖E‖_2 ≤ ε = 3 γ_{n+m} ‖W‖_F²,  γ_k = k u / (1 − k u),  u = 2⁻⁵³:

γ_n ‖W‖_F² bounds the accumulation (|fl(Σ x y) − Σ x y| ≤ γ_n Σ |x y| for any summation
order, and ‖ |W|ᵀ|W| ‖_2 ≤ ‖W‖_F²), γ_m ‖Ĝ‖ the eigendecomposition's backward error,
and reflecting the eigenvalues below zero (≥ −that much, G being PSD) at most doubles
it. So every σ_i(W) is within √ε of the true one (Weyl on σ²): √ε is the route's
resolution. Work: n·m² float64 multiply-adds (symmetric rank-k updates), against ≈ 2n·m²
for the Householder QR at a fraction of the BLAS rate (benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

U64 = float(np.finfo(np.float64).eps) / 2


def gamma(k: int) -> float:
    """γ_k = k u / (1 − k u), u the float64 unit roundoff (Higham, §3.1)."""
    ku = float(k) * U64
    return ku / (1.0 - ku) if ku < 1.0 else float("inf")


def gram_r(block: Callable[[int, int], np.ndarray], n: int, m: int, rows: int) -> tuple:
    """(R, ε): R (m×m, float64) with RᵀR = WᵀW + E, ‖E‖_2 ≤ ε, for the n×m matrix W whose
    rows [i, j) are `block(i, j)`; memory one block of rows in float64 plus O(m²)."""
    if m == 0:
        return np.zeros((0, 0)), 0.0
    G = np.zeros((m, m))
    for i in range(0, n, rows):
        X = np.asarray(block(i, min(i + rows, n)), dtype=np.float64)
        G += X.T @ X  # numpy runs XᵀX as one symmetric rank-k update
    lam, vecs = np.linalg.eigh(G)
    R = (np.sqrt(np.abs(lam))[:, None] * vecs.T)[::-1]  # rows by decreasing σ
    eps = 3.0 * gamma(n + m) * float(np.trace(G)) * (1.0 + gamma(n))
    return R, eps
