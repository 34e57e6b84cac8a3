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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

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

    tol: float = 1e-2  # relative tolerance passed to run_compare (ranks, its own verdicts)
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


# --- the five claims: evidence dict → checks ------------------------------------------
# Each function reads only the numbers it names, so tests can feed synthetic evidence.


def _kl_check(ev: dict, th: Thresholds) -> Check:
    return at_most(
        "training_kl",
        "every trained model fits p*: mean KL(p* ‖ p_model) small enough for R² ≈ 1 tests",
        ev.get("max_kl_mean"),
        th.max_kl,
        role="precondition",
        where="max over trained models of the mean over contexts, nats",
    )


def claim1_checks(ev: dict, th: Thresholds) -> list[Check]:
    """Claim 1 (E4): identified parts related for every pair at every d; full-space R²
    clearly lower than the identified R² among non-diverse models at the truth's d, ≈ 1
    among diverse ones (d = k)."""
    return [
        _kl_check(ev, th),
        at_least(
            "identified_r2_all_pairs",
            "every pair of models (any d ≥ k, both worlds) agrees on the identified parts",
            ev.get("identified_r2_min"),
            th.identified_r2,
            where=ev.get("identified_r2_where", "min over pairs"),
        ),
        at_most(
            "full_r2_nondiverse",
            "non-diverse world, models at the truth's d > k: full-space affine R² is "
            "clearly lower than the identified R²",
            _minus(ev.get("full_r2_nondiverse_max"), ev.get("identified_r2_nondiverse_min")),
            -th.full_r2_gap,
            where="max full R² − min identified R² over pairs at d = d*",
        ),
        at_least(
            "full_r2_diverse",
            "diverse world, models at d = d* = k: full-space affine R² ≈ 1",
            ev.get("full_r2_diverse_min"),
            th.full_r2_diverse,
            where="min over pairs at d = k",
        ),
    ]


def claim2_checks(ev: dict, th: Thresholds) -> list[Check]:
    """Claim 2 (E6): outside the identified subspace the seeds differ; full-space agreement
    falls as d grows past k. Init-scale / weight-decay effects are observations."""
    return [
        _kl_check(ev, th),
        at_least(
            "identified_r2_seeds",
            "seeds agree on the identified parts at every d",
            ev.get("identified_r2_min"),
            th.identified_r2,
            where="min over seed pairs and d",
        ),
        at_least(
            "free_parts_present",
            "at every d > k each seed has a free part ‖F_free‖/‖F‖ ≥ threshold",
            ev.get("free_norm_min"),
            th.free_norm,
            where="min over seeds and d > k (init scale 1, no weight decay)",
        ),
        at_most(
            "free_parts_differ",
            "seeds' free parts are unrelated functions of the context: mean canonical "
            "correlation between two seeds' free parts is low",
            ev.get("free_cancorr_max"),
            th.free_cancorr,
            where="max over seed pairs and d > k of the mean canonical correlation",
        ),
        at_least(
            "full_r2_at_k",
            "at d = k (no free part) seeds agree in the full space",
            ev.get("full_r2_at_k_min"),
            th.full_r2_diverse,
            where="min over seed pairs at d = k",
        ),
        at_most(
            "full_r2_falls",
            "at the largest d the full-space R² is clearly below the identified R²",
            _minus(ev.get("full_r2_at_dmax_max"), ev.get("identified_r2_min")),
            -th.full_r2_gap,
            where="max full R² at d_max − min identified R²",
        ),
    ]


def claim3_checks(ev: dict, th: Thresholds) -> list[Check]:
    """Claim 3 (P1): equal log-ratios in the truth; full parallelism in every seed when
    the context span is full (every d = k model); projected parallelism in every seed;
    an exactly equivalent model without parallelism exists when E ≠ R^d."""
    return [
        _kl_check(ev, th),
        at_most(
            "log_ratio_truth",
            "distribution level: log p(b|s)/p(a|s) = λ log p(d|s)/p(c|s) for every s "
            "(sin of the angle between the log-ratio vectors, float64 truth)",
            ev.get("truth_log_ratio_sin_max"),
            th.exact,
            where="max over worlds and planted quadruples",
        ),
        at_least(
            "parallel_full_span",
            "full context span (E~ = R^d: every minimal d = k model, in every world, "
            "including the diverse world at d = d* = k): δ1 ∥ δ2 in every seed",
            ev.get("full_span_cos_min"),
            th.parallel_cos,
            where="min |cos(δ1, δ2)| over seeds and quadruples",
        ),
        at_least(
            "projected_parallel_all",
            "projected parallelism P_E δ1 ∥ P_E δ2 in every trained model (measured as "
            "|cos(F δ1, F δ2)|, the angle in the metric of F on E)",
            ev.get("projected_cos_min"),
            th.parallel_cos,
            where="min over all trained models and quadruples",
        ),
        below(
            "not_guaranteed_exact",
            "E ≠ R^d: adding w ⊥ E to one unembedding keeps the distribution (residual "
            "≤ exact) and breaks parallelism",
            ev.get("counterexample_cos"),
            th.parallel_cos,
            where="|cos(δ1, δ2)| of the exactly equivalent counterexample",
        ),
        at_most(
            "counterexample_equivalent",
            "the counterexample has the truth's distribution",
            ev.get("counterexample_residual"),
            th.exact,
            role="precondition",
            where="relative logit residual to the truth",
        ),
    ]


def claim4_checks(ev: dict, th: Thresholds) -> list[Check]:
    """Claim 4 (P3): relations with IC hold in every model at every d; a relation without
    IC holds in the truth but not in minimal (d = k) trained models."""
    return [
        _kl_check(ev, th),
        at_least(
            "ic_truth",
            "the truth has every inclusion relation (RL R²)",
            ev.get("ic_truth_r2_min"),
            1.0 - th.exact,
            role="precondition",
        ),
        at_least(
            "ic_all_models",
            "relations with the inclusion condition: RL in every trained model at every d",
            ev.get("ic_r2_min"),
            th.rl_r2,
            where="min RL R² over trained models and inclusion relations",
        ),
        at_least(
            "noic_truth_rl",
            "the truth has the non-inclusion relation (RL R²)",
            ev.get("noic_truth_r2_min"),
            1.0 - th.exact,
            role="precondition",
        ),
        below(
            "noic_truth_not_d3",
            "the non-inclusion relation is not a relation between centered logits (D3 fails "
            "in the truth), so it is a real test",
            ev.get("noic_truth_d3_r2_max"),
            th.rl_r2,
            role="precondition",
        ),
        below(
            "noic_minimal_models",
            "relations without the inclusion condition: no RL in trained models at d = k",
            ev.get("noic_dk_r2_max"),
            th.rl_r2,
            where="max RL R² over d = k models (table and transformer) and non-inclusion relations",
        ),
    ]


def claim5_checks(ev: dict, th: Thresholds) -> list[Check]:
    """Claim 5 (P4, P5): visible probes in every model, invisible probes not in minimal
    models; steering by embedding differences transfers, a vector outside E does not."""
    return [
        _kl_check(ev, th),
        at_least(
            "probes_truth",
            "the truth has every planted probe (visible and invisible)",
            ev.get("truth_probe_r2_min"),
            1.0 - th.exact,
            role="precondition",
        ),
        at_least(
            "visible_probes_shared",
            "visible probes: a linear probe in every trained model at every d",
            ev.get("visible_r2_min"),
            th.probe_r2,
            where="min probe R² over trained models and visible probes",
        ),
        below(
            "invisible_really_invisible",
            "the invisible probe is not affine in the truth's centered logits",
            ev.get("invisible_truth_logit_r2_max"),
            th.probe_r2,
            role="precondition",
        ),
        below(
            "invisible_probes_not_shared",
            "invisible probes: no linear probe in trained models at d = k",
            ev.get("invisible_dk_r2_max"),
            th.probe_r2,
            where="max probe R² over d = k models (table and transformer) and invisible probes",
        ),
        at_most(
            "steering_in_span_transfers",
            "v = f(s1) − f(s0) in the truth: every trained model reproduces the logit shift",
            ev.get("in_span_transfer_max"),
            th.steer_residual,
            where="max relative residual of the shift over trained models and vectors",
        ),
        at_most(
            "steering_same_combination",
            "the same combination of context embeddings gives identical shifts in every "
            "pair of seeds",
            ev.get("same_combination_max"),
            th.steer_residual,
            where="max over seed pairs and vectors",
        ),
        above(
            "outside_span_is_invisible",
            "the vector outside E shifts the truth's logits outside col(Lᵀ)",
            ev.get("outside_truth_out_of_row_L"),
            th.steer_residual,
            role="precondition",
        ),
        above(
            "steering_outside_span_fails",
            "a vector outside the context span (truth, v ∈ U ∩ E⊥) cannot be reproduced by "
            "minimal (d = k) trained models",
            ev.get("outside_dk_transfer_min"),
            th.steer_residual,
            where="min relative residual over d = k models (table and transformer)",
        ),
    ]


def _minus(a, b) -> float:
    a, b = _num(a), _num(b)
    return a - b


CLAIM_CHECKS = {
    1: claim1_checks,
    2: claim2_checks,
    3: claim3_checks,
    4: claim4_checks,
    5: claim5_checks,
}


def verdict_for(claim_id: int, evidence: dict, th: Thresholds) -> Verdict:
    """The verdict of claim `claim_id` from its evidence numbers."""
    return decide(CLAIM_CHECKS[claim_id](evidence, th))
