"""Verdicts from numbers: every claim is decided by pure functions of measured scores and
the thresholds in `Thresholds`, never by hand.

A claim's evidence is a list of `Check`s. Each check compares one number (a worst case
over seeds, pairs or models, so "every seed" statements are tested on the worst seed)
with one threshold and has a role:

  precondition  the test is only meaningful if it passes (e.g. training reached a small
                KL gap, the world really has the structure the claim is about); a failure
                makes the claim "inconclusive"
  claim         a consequence of the claim; a failure makes the claim "refuted"
  observation   reported next to the verdict, never decides it (an empirical question
                the theory leaves open, THEORY.md §4)

`decide(checks)`: "inconclusive" if a precondition fails or a claim check has no finite
number, else "refuted" if a claim check fails, else "confirmed".

This module holds only the shared machinery; each claim module holds its evidence (a
frozen `Evidence` dataclass built on `ClaimEvidence`), its `checks` and its figures. The
checks read the evidence by attribute, and `Evidence.from_dict` is strict, so a
misspelled name raises instead of passing as a missing number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields

VERDICTS = ("confirmed", "refuted", "inconclusive")
ROLES = ("precondition", "claim", "observation")
OPS = {
    ">=": lambda v, t: v >= t,
    "<=": lambda v, t: v <= t,
    ">": lambda v, t: v > t,
    "<": lambda v, t: v < t,
}


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Every tolerance a verdict uses, in one place (THEORY.md §4: trained models are only
    approximately equivalent, so each check states the number it needs).

    R² values are dimensionless, 1 = perfect fit; |cos| is the absolute cosine of the
    angle between two vectors, 1 = parallel; residuals are relative (0 = exact).
    """

    tol: float = 1e-2  # relative tolerance passed to compare (ranks, its own verdicts)
    max_kl: float = 1e-3  # precondition: mean KL(p* ‖ p_model) per context, nats, per model
    exact: float = 1e-6  # float64 statements about the truth and exact constructions
    identified_r2: float = 0.99  # identified-part R² that counts as "related" (≈ 1)
    full_r2_diverse: float = 0.99  # full-space affine R² that counts as ≈ 1
    full_r2_gap: float = 0.05  # "clearly lower": full R² ≤ identified R² − this
    free_norm: float = 0.05  # ‖free part‖/‖f‖ that counts as "free parts present"
    free_cancorr: float = 0.5  # mean canonical correlation of two seeds' free parts: "differ"
    parallel_cos: float = 0.99  # |cos(δ1, δ2)| that counts as parallel
    rl_r2: float = 0.99  # R² of the relational-linearity fit that counts as "has RL"
    probe_r2: float = 0.99  # R² of a linear probe that counts as "has a probe"
    steer_residual: float = 0.05  # relative logit-shift residual that counts as "transfers"
    # claim 6 (KL against structure)
    small_r: float = 0.3  # "the residual is small": uniform logit residual to the truth
    rho_min: float = 0.8  # Spearman ρ(misfit, r) that counts as "predicted by"
    kl_contradiction: float = 10.0  # misfit ratio of a pair ordered the other way by KL
    kl_decades: float = 1.5  # precondition: the KL gaps span at least this many decades

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Thresholds:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown threshold(s) {', '.join(unknown)} (known: {sorted(names)})")
        return cls(**data)


@dataclass(frozen=True)
class Check:
    """One number compared with one threshold: `value op threshold` (e.g. min R² ≥ 0.99)."""

    name: str
    statement: str  # what passing means, in words
    value: float
    op: str
    threshold: float
    role: str = "claim"
    where: str = ""  # which models / pairs the value was taken over (e.g. "min over 45 pairs")

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"op must be one of {list(OPS)} (got {self.op!r})")
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES} (got {self.role!r})")

    @property
    def finite(self) -> bool:
        return self.value is not None and math.isfinite(float(self.value))

    @property
    def passed(self) -> bool:
        return self.finite and bool(OPS[self.op](float(self.value), float(self.threshold)))

    def to_dict(self) -> dict:
        out = asdict(self)
        out["passed"] = self.passed
        return out


@dataclass(frozen=True)
class Verdict:
    """The decision and the checks it was computed from."""

    verdict: str
    reasons: list = field(default_factory=list)
    checks: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "checks": [c.to_dict() for c in self.checks],
        }


def decide(checks: list[Check]) -> Verdict:
    """Confirmed / refuted / inconclusive from the checks (rules in the module docstring)."""
    checks = list(checks)
    if not any(c.role == "claim" for c in checks):
        return Verdict("inconclusive", ["no claim check was computed"], checks)
    failed_pre = [c for c in checks if c.role == "precondition" and not c.passed]
    missing = [c for c in checks if c.role == "claim" and not c.finite]
    failed = [c for c in checks if c.role == "claim" and c.finite and not c.passed]
    if failed_pre or missing:
        reasons = [f"precondition failed: {_describe(c)}" for c in failed_pre]
        reasons += [f"no number for: {c.name}" for c in missing]
        return Verdict("inconclusive", reasons, checks)
    if failed:
        return Verdict("refuted", [f"failed: {_describe(c)}" for c in failed], checks)
    return Verdict(
        "confirmed", [f"passed: {_describe(c)}" for c in checks if c.role == "claim"], checks
    )


def _describe(c: Check) -> str:
    v = "nan" if not c.finite else f"{float(c.value):.6g}"
    where = f" ({c.where})" if c.where else ""
    return f"{c.name}: {v} {c.op} {c.threshold:g}{where}"


def at_least(name, statement, value, threshold, role="claim", where="") -> Check:
    return Check(name, statement, _num(value), ">=", float(threshold), role, where)


def at_most(name, statement, value, threshold, role="claim", where="") -> Check:
    return Check(name, statement, _num(value), "<=", float(threshold), role, where)


def below(name, statement, value, threshold, role="claim", where="") -> Check:
    return Check(name, statement, _num(value), "<", float(threshold), role, where)


def above(name, statement, value, threshold, role="claim", where="") -> Check:
    return Check(name, statement, _num(value), ">", float(threshold), role, where)


def _num(x) -> float:
    if x is None:
        return float("nan")
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def worst(values, how: str) -> float:
    """min or max of the finite values; nan when there are none or any is non-finite
    (a missing score must not vanish from a worst case)."""
    vals = [_num(v) for v in values]
    if not vals or any(not math.isfinite(v) for v in vals):
        return float("nan")
    return min(vals) if how == "min" else max(vals)


# --- evidence: each claim's frozen dataclass ----------------------------------------


class ClaimEvidence:
    """Base of every claim module's `@dataclass(frozen=True) class Evidence`: the numbers
    its checks read, plus observations. `to_dict()` is the JSON form written to the claim
    record (`asdict`); `from_dict` is its strict inverse (`evidence_from_dict`)."""

    def to_dict(self) -> dict:
        out = asdict(self)
        for f in fields(self):
            if f.metadata.get("view"):
                out.pop(f.name)
        return out

    @classmethod
    def from_dict(cls, data: Mapping):
        return evidence_from_dict(cls, data)


def view(factory=dict):
    """An evidence field only the claim's figure and report read (per-model rows, plotted
    series): kept in memory, not written as evidence (the record has them elsewhere)."""
    return field(default_factory=factory, compare=False, metadata={"view": True})


def evidence_from_dict(cls, data: Mapping):
    """`cls(**data)` for an evidence dataclass, strictly: a key that is not a field, or a
    field without a default that is absent, raises ValueError naming it."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__qualname__}.from_dict expects a mapping (got {type(data)})")
    fs = fields(cls)
    names = [f.name for f in fs]
    required = [f.name for f in fs if f.default is MISSING and f.default_factory is MISSING]
    missing = [n for n in required if n not in data]
    unknown = sorted(set(data) - set(names))
    if missing or unknown:
        what = [f"missing {', '.join(missing)}"] if missing else []
        what += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise ValueError(
            f"{cls.__module__}.{cls.__qualname__}: evidence key(s) {'; '.join(what)} "
            f"(fields: {', '.join(names)})"
        )
    return cls(**data)


def evidence_to_dict(ev) -> dict:
    """The JSON form of a claim's evidence: its `to_dict()`, or a copy of a plain
    mapping (claim 6 records its computed numbers as a dict)."""
    if isinstance(ev, ClaimEvidence):
        return ev.to_dict()
    return dict(ev)


# --- helpers the claims' checks share ----------------------------------------------


def kl_check(ev, th: Thresholds) -> Check:
    """Precondition of claims 1-5: `ev.max_kl_mean` (any claim's `Evidence`) ≤ max_kl."""
    return at_most(
        "training_kl",
        "every trained model fits p*: mean KL(p* ‖ p_model) small enough for R² ≈ 1 tests",
        ev.max_kl_mean,
        th.max_kl,
        role="precondition",
        where="max over trained models of the mean over contexts, nats",
    )


def minus(a, b) -> float:
    """a − b as floats (NaN when either is missing)."""
    a, b = _num(a), _num(b)
    return a - b
