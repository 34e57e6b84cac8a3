"""The R factor of a thin QR of a tall matrix given in row blocks (TSQR).

R of [B_1; B_2; …] is R of [R(B_1); B_2; …]: one block of rows in float64 at a time,
so memory is O(chunk·m) whatever n (inputs stay in their own dtype; nothing n×m in
float64 is formed). Backward stable as one Householder QR. numpy's LAPACK on the CPU
(no compilation at a new shape; faster than XLA's CPU QR, measured in
benchmarks/README.md); under an accelerator the blocks go through one jitted QR of a
fixed block height.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

ROWS = 32768  # rows per block (a 32768×1537 float64 block is 400 MB)


def _jax_block_qr():
    import jax
    import jax.numpy as jnp

    @jax.jit
    def qr_r(X):
        return jnp.linalg.qr(X, mode="r")

    return qr_r


def _on_accelerator() -> bool:
    import jax

    return jax.default_backend() != "cpu"


def stacked_r(block: Callable[[int, int], np.ndarray], n: int, m: int, rows: int = ROWS):
    """R (min(n, m)×m, float64) of the n×m matrix whose rows [i, j) are `block(i, j)`."""
    if n == 0 or m == 0:
        return np.zeros((0, m))
    if n <= rows:
        X = np.asarray(block(0, n), dtype=np.float64)
        return np.linalg.qr(X, mode="r") if n > m else X
    if _on_accelerator():  # pragma: no cover - exercised on GPU machines only
        import jax

        qr = _jax_block_qr()
        with jax.enable_x64(True):
            R = np.zeros((m, m))  # fixed shape (rows + m)×m: one compilation per m
            for i in range(0, n, rows):
                X = np.asarray(block(i, min(i + rows, n)), dtype=np.float64)
                X = np.concatenate([R, X, np.zeros((rows - X.shape[0], m))])
                R = np.asarray(qr(X))[:m]
            return R
    R = np.zeros((0, m))
    for i in range(0, n, rows):
        X = np.concatenate([R, np.asarray(block(i, min(i + rows, n)), dtype=np.float64)])
        R = np.linalg.qr(X, mode="r") if X.shape[0] > m else X
    return R


@dataclass(frozen=True)
class Compressed:
    """Small factors of a model pair: F_a = Q_F Xa, 1 = Q_F e, Ḡ_a = Q_G Ya (same for b);
    RF = [e | Xa | Xb] and RG = [Ya | Yb] are the R factors of the two thin QRs."""

    n: int
    V: int
    e: np.ndarray
    Xa: np.ndarray
    Xb: np.ndarray
    Ya: np.ndarray
    Yb: np.ndarray
    ga: float = 0.0  # ‖G_a‖_F before centering (sets the noise floor of Ḡ_a)
    gb: float = 0.0
    RF: np.ndarray | None = field(default=None, repr=False)
    RG: np.ndarray | None = field(default=None, repr=False)


def _f64(X) -> np.ndarray:
    return np.asarray(X, dtype=np.float64)


def compress(Fa, Ga, Fb=None, Gb=None) -> Compressed:
    """Thin-QR factors of a pair (or of one model when Fb, Gb are None), float64.

    The inputs stay in their own dtype; [1 | F_a | F_b] and [Ḡ_a | Ḡ_b] go through the
    QR one block of rows at a time (`tallqr.stacked_r`), so no n×(1+d_a+d_b) float64
    copy is made."""
    Fa, Ga = np.asarray(Fa), np.asarray(Ga)
    if Fb is None:
        Fb, Gb = np.zeros((Fa.shape[0], 0)), np.zeros((Ga.shape[0], 0))
    Fb, Gb = np.asarray(Fb), np.asarray(Gb)
    n, da = Fa.shape
    V = Ga.shape[0]

    def rows_F(i, j):
        return np.concatenate([np.ones((j - i, 1)), _f64(Fa[i:j]), _f64(Fb[i:j])], axis=1)

    mean = np.concatenate([_f64(Ga).mean(0), _f64(Gb).mean(0)])

    def rows_G(i, j):
        return np.concatenate([_f64(Ga[i:j]), _f64(Gb[i:j])], axis=1) - mean

    RF = stacked_r(rows_F, n, 1 + da + Fb.shape[1])
    RG = stacked_r(rows_G, V, da + Gb.shape[1])
    return Compressed(
        n=int(n),
        V=int(V),
        e=RF[:, 0],
        Xa=RF[:, 1 : 1 + da],
        Xb=RF[:, 1 + da :],
        Ya=RG[:, :da],
        Yb=RG[:, da:],
        ga=float(np.linalg.norm(_f64(Ga))),
        gb=float(np.linalg.norm(_f64(Gb))),
        RF=RF,
        RG=RG,
    )
