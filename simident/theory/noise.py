"""The sample-noise level ν̂ of a model fitted to samples (THEORY.md §4, A6).

A pair's disagreement ‖Δ‖_2 estimates the error level only when the two models' errors
are independent (A4); seeds fitted to the same samples share their sampling error. The
parametric bootstrap measures a single model's error instead: draw as many next tokens
per context as the model was trained on from the model itself, refit from a warm start,
and take ν̂ = E_b ‖L_b − L‖_2 (the mean over B refits; the Frobenius mean sets the
verdict bands, as ‖Δ‖_F does in A1). compare then cuts the rank at
max(‖Δ‖_2, ν̂_a, ν̂_b, tol·σ_1, floor).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from simident.theory.tallqr import compress


@dataclass(frozen=True)
class NoiseLevel:
    """ν̂ of one model: the mean over `refits` bootstrap refits of ‖L_b − L‖_2 (spectral)
    and ‖L_b − L‖_F (frobenius), with their standard errors over the refits."""

    spectral: float
    frobenius: float
    refits: int
    samples_per_context: int
    spectral_se: float = float("nan")
    frobenius_se: float = float("nan")

    def __post_init__(self):
        for name in ("spectral", "frobenius"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"noise level {name} must be a finite number ≥ 0 (got {v!r})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_values(cls, spectral, frobenius, samples_per_context: int) -> NoiseLevel:
        """The level from the B per-refit distances (arrays of length B ≥ 1)."""
        s = np.asarray(spectral, dtype=np.float64).ravel()
        f = np.asarray(frobenius, dtype=np.float64).ravel()

        def se(x):
            return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")

        return cls(
            float(s.mean()), float(f.mean()), int(s.size), int(samples_per_context), se(s), se(f)
        )


def logit_distance(Fa, Ga, Fb, Gb) -> tuple[float, float]:
    """(‖L_a − L_b‖_2, ‖L_a − L_b‖_F) of two models' centred logits (same n and V, any
    dimensions), from the small float64 QR factors: the n×V matrices are never formed."""
    c = compress(Fa, Ga, Fb, Gb)
    D = np.asarray(c.Xa @ c.Ya.T - c.Xb @ c.Yb.T)
    if D.size == 0:
        return 0.0, 0.0
    return float(np.linalg.norm(D, 2)), float(np.sqrt(np.sum(D * D)))


def pair_level(*levels: NoiseLevel | None) -> tuple[float, float]:
    """(spectral, frobenius) sample-noise level of a pair: the larger of its models' ν̂
    (0 where a model has none)."""
    got = [lv for lv in levels if lv is not None]
    return (
        max((lv.spectral for lv in got), default=0.0),
        max((lv.frobenius for lv in got), default=0.0),
    )
