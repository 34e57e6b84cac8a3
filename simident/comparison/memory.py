"""What a comparison holds in memory, estimated before anything is allocated."""

from __future__ import annotations

from simident.theory.tallqr import ROWS


def compare_bytes(n: int, V: int, da: int, db: int, itemsize: int = 8) -> int:
    """What `compare` holds at once for n contexts, V tokens and dimensions d_a, d_b with
    inputs of `itemsize` bytes: the four inputs in their own dtype, the row-block thin
    QR's float64 block ([R; X], `tallqr.ROWS` rows of 1 + d_a + d_b) and its LAPACK
    workspace, the V-sized float64 factors of the KL pass (centred [Ḡ_a | Ḡ_b], B and
    their padded copies) and one chunk of the pass (≈ 2¹⁹ cells × 24 float64 numbers).
    The streamed passes never hold anything n×V."""
    m = 1 + da + db
    inputs = itemsize * (n + V) * (da + db)
    qr = 8 * 3 * (min(n, ROWS) + m) * m
    per_token = 8 * 4 * V * (da + db)
    chunk = 8 * 24 * 2**19
    return int(inputs + qr + per_token + chunk)
