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
