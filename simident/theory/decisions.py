"""Three-valued decisions at the noise level of a pair (THEORY.md §4, A1 and A4).

A1 bounds the relative squared disagreement of the two models' identified parts by
‖Δ‖_F² / (σ_k Σ_{i≤k} σ_i); a property exact in p* and computed from identified parts
therefore shows up with a misfit (1 − R², sin²) of that order, i.e. a score (relative
residual, sine of an angle) of order noise = sqrt(A1 bound); a property that fails in p*
keeps a score of order one, moved by O(noise). A score is compared with the band

    lower = max(tol, lo · noise),   upper = max(tol, hi · noise)
    score ≤ lower → True (holds),   score > upper → False (fails),   otherwise None.

For an exactly equivalent pair noise = 0: the band collapses to `tol` and every verdict
is decided as in the exact theory. A score ≤ tol is exact and holds whatever the pair.
Otherwise, an infinite noise (nothing identified above the disagreement, k = 0) or a
band reaching the largest possible score (upper ≥ 1) leaves the verdict undecided.
Defaults lo = 2, hi = 6 (`DEFAULT_MARGINS`): the pair deciding the most verdicts with
≥ 99.5% of them right in every world family of the calibration study (`simident
calibrate`, docs/compare.md); a NaN score (the direction of a zero vector) is undecided.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

DEFAULT_MARGINS: tuple[float, float] = (2.0, 6.0)  # chosen by `simident calibrate`
SCORE_MAX = 1.0  # sin of an angle, relative residual of a fit with intercept

Verdict = bool | None  # True, False, or None (undecided)


@dataclass(frozen=True)
class Band:
    """The thresholds that decided a score: holds ≤ lower < undecided ≤ upper < fails."""

    lower: float
    upper: float
    noise: float  # the pair's relative disagreement on what the property involves
    tol: float
    margins: tuple[float, float] = DEFAULT_MARGINS
    residual: float = 0.0  # the pair's global relative disagreement r = ‖Δ‖_F/‖L̄‖_F
    local_factor: float = 1.0  # how much wider than the pair's band (`local`)

    def to_dict(self) -> dict:
        return asdict(self)

    def local(self, relative: float) -> Band:
        """The band of a property whose own vectors disagree by `relative` (‖Δc‖/‖L̄c‖):
        the pair's noise scaled by max(1, relative / r), so a property read from poorly
        pinned cells (improbable tokens, A2/A3) is not held to the pair's average."""
        if not (self.noise > 0.0 and self.residual > 0.0) or not math.isfinite(relative):
            return self
        f = max(1.0, relative / self.residual)
        out = band(self.tol, self.noise * f, self.margins, self.residual)
        return Band(out.lower, out.upper, out.noise, out.tol, out.margins, out.residual, f)


def check_margins(margins) -> tuple[float, float]:
    """(lo, hi) with 0 < lo ≤ hi, both finite; raises ValueError otherwise."""
    lo, hi = (float(m) for m in margins)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 < lo <= hi):
        raise ValueError(f"margins {margins!r}: need finite 0 < lo ≤ hi")
    return lo, hi


def band(tol: float, noise: float, margins=DEFAULT_MARGINS, residual: float = 0.0) -> Band:
    """The decision band of a score for a pair whose disagreement is `noise` (≥ 0);
    `residual`: the pair's relative logit disagreement r (for `Band.local`)."""
    lo, hi = check_margins(margins)
    noise = float(noise) if noise > 0.0 else 0.0  # NaN → 0, inf stays
    r = float(residual) if residual > 0.0 else 0.0
    return Band(max(tol, lo * noise), max(tol, hi * noise), noise, float(tol), (lo, hi), r)


def decide(score: float, b: Band) -> Verdict:
    """True when score ≤ lower, False when score > upper, None in between or for NaN.

    A score ≤ tol is exact in its model and holds whatever the pair. Every score lies in
    [0, SCORE_MAX = 1]; a band whose upper end reaches 1 could never see a property fail,
    so it decides nothing beyond exactness (no vacuous "holds" for a very noisy pair)."""
    score = float(score)
    if math.isnan(score):
        return None
    if score <= b.tol:
        return True
    if math.isinf(b.noise) or b.upper >= SCORE_MAX:
        return None
    if score <= b.lower:
        return True
    if score > b.upper:
        return False
    return None


def not3(x: Verdict) -> Verdict:
    return None if x is None else (not x)


def and3(*xs: Verdict) -> Verdict:
    """Kleene conjunction: False if any is False, True if all are True, else None."""
    if any(x is False for x in xs):
        return False
    if all(x is True for x in xs):
        return True
    return None


def or3(*xs: Verdict) -> Verdict:
    """Kleene disjunction: True if any is True, False if all are False, else None."""
    if any(x is True for x in xs):
        return True
    if all(x is False for x in xs):
        return False
    return None


def same3(a: Verdict, b: Verdict) -> Verdict:
    """`shared`: True when both are decided alike, False when decided differently, else None."""
    if a is None or b is None:
        return None
    return a == b
