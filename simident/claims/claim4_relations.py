"""Claim 4 — relational linearity is shared under the inclusion condition (THEORY.md P3).

For a query q, RL(q) is measured by the best affine fit of ℓ(s⊕q) on f(s) (the P_U form:
ℓ(s⊕q) = Ḡ(A f(s) + b)), R² pooled over logit coordinates (`compare` relational).
- Relations planted with the inclusion condition (IC): D3 holds, so every model has RL —
  the truth and every trained model at every d (R² ≈ 1).
- Relations planted without IC: the truth has RL (R² = 1) but D3 fails, and a minimal
  model (d = k, f~ ↦ ℓ injective and linear) cannot have it: its RL R² equals the truth's
  D3 R² < 1. Trained models at d > k are reported (their free parts are random, so they
  do not recover the invisible directions either).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simident.claims import figures as figures_
from simident.claims.context import Context, RunKey, by_name, planted
from simident.claims.result import Presentation
from simident.claims.verdicts import (
    Check,
    ClaimEvidence,
    Thresholds,
    at_least,
    below,
    kl_check,
    view,
    worst,
)

ID = 4
TITLE = "Relational linearity is shared under the inclusion condition"
STATEMENT = (
    "Relations with the inclusion condition: RL holds in every seed at every d (R² ≈ 1). "
    "Relations without it: the truth has RL, trained models (especially d = k) do not."
)
ROLES = ("diverse", "low")


@dataclass(frozen=True, kw_only=True)
class Evidence(ClaimEvidence):
    """Claim 4's numbers: relational-linearity R² (best affine fit of ℓ(s⊕q) on f(s);
    1 = exactly linear) of the planted relations with the inclusion condition (IC) in the
    truth and in every trained model, of the relation without IC in the truth and in the
    minimal (d = k) trained models, the truth's D3 R² (logit-to-logit) for it, and the
    worst training KL gap. NaN / None: not measured. Fields with a default are
    observations the checks do not read."""

    max_kl_mean: float | None  # max over trained models of the mean KL(p* ‖ p_model), nats
    ic_truth_r2_min: float | None  # min RL R² of the truth over IC relations
    ic_r2_min: float | None  # min RL R² over trained models and IC relations
    noic_truth_r2_min: float | None  # min RL R² of the truth over non-IC relations
    noic_truth_d3_r2_max: float | None  # max D3 R² of the truth over non-IC relations
    noic_dk_r2_max: float | None  # max RL R² over d = k models and non-IC relations
    noic_d_above_k: dict = field(default_factory=dict)  # model label -> RL R² at d > k
    per_model: list = view(list)  # per trained model: KL and RL R² per relation
    series: dict = view()  # (IC?, world, model) -> (d's, RL R²'s), plotted
    truth_lines: dict = view()  # label -> the truth's R² for the non-IC relation, plotted
    noic_above_k_r2: list = view(list)  # every RL R² at d > k and non-IC relation (notes)


def requests(ctx: Context) -> list[RunKey]:
    keys = [RunKey(role, "table", d) for role in ROLES for d in ctx.dims(role)]
    return keys + [RunKey("low", "transformer", d) for d in ctx.transformer_dims()]


def evidence(ctx: Context) -> Evidence:
    """RL R² of every planted relation in the truth and every trained model."""
    ic_truth, ic_models, noic_truth, noic_truth_d3, noic_dk, noic_rest = [], [], [], [], [], []
    kls, per_model, series, truth_lines = [], [], {}, {}
    for role in ROLES:
        w = ctx.world(role)
        k = ctx.k(role)
        rels = planted(w, "relational")
        if not rels:
            continue
        for ref in ctx.models_of(role):
            if ref.is_truth:
                continue
            res = by_name(ctx.versus_truth(ref))
            kls.append(ctx.kl(ref))
            entry = {"world": role, "model": ref.label, "d": ref.run.d, "kl_mean": ctx.kl(ref)}
            for p in rels:
                sc = res[p["name"]].scores
                r2, t_r2, t_d3 = sc.r2[1], sc.r2[0], sc.distribution_r2[0]
                entry[p["name"]] = r2
                kind = "IC" if p["inclusion"] else "no IC"
                xs, ys = series.setdefault((kind, role, ref.run.model), ([], []))
                xs.append(ref.run.d)
                ys.append(r2)
                if not p["inclusion"]:
                    truth_lines[f"truth's D3 R² (logit-to-logit), {p['name']} ({kind})"] = t_d3
                    truth_lines[f"truth's RL R² (it has the relation), {p['name']} ({kind})"] = t_r2
                if p["inclusion"]:
                    ic_truth.append(t_r2)
                    ic_models.append(r2)
                else:
                    noic_truth.append(t_r2)
                    noic_truth_d3.append(t_d3)
                    (noic_dk if ref.run.d == k else noic_rest).append((ref.label, r2))
            per_model.append(entry)
    return Evidence(
        max_kl_mean=worst(kls, "max"),
        ic_truth_r2_min=worst(ic_truth, "min"),
        ic_r2_min=worst(ic_models, "min"),
        noic_truth_r2_min=worst(noic_truth, "min"),
        noic_truth_d3_r2_max=worst(noic_truth_d3, "max"),
        noic_dk_r2_max=worst([r for _, r in noic_dk], "max"),
        noic_d_above_k={lab: r for lab, r in noic_rest},
        per_model=per_model,
        series=series,
        truth_lines=truth_lines,
        noic_above_k_r2=[r for _, r in noic_rest],
    )


def figures(ev: Evidence, folder, th: Thresholds) -> list:
    """1 − RL R² against d, with and without the inclusion condition."""
    markers = {"table": "o", "transformer": "^"}
    panels = []
    for kind in ("IC", "no IC"):
        ser = [
            (f"{role} {model}", xs, ys, markers[model])
            for (kd, role, model), (xs, ys) in ev.series.items()
            if kd == kind
        ]
        tl = {lab: v for lab, v in ev.truth_lines.items() if f"({kind})" in lab}
        if ser:
            with_ = "with" if kind == "IC" else "without"
            panels.append((f"relations {with_} the inclusion condition", ser, tl))
    return [
        figures_.one_minus_r2(
            panels,
            th.rl_r2,
            folder / "claim4_relations.png",
            "Claim 4: relational linearity (fit of ℓ(s⊕q) on f(s)) in trained models",
            "1 − RL R² (log scale; 0 = exactly linear relation)",
        )
    ]


def present(ev: Evidence, ctx: Context) -> Presentation:
    notes = []
    if ev.noic_above_k_r2:
        vals = ev.noic_above_k_r2
        notes.append(
            f"Without IC at d > k: RL R² {min(vals):.4f}–{max(vals):.4f} "
            "(observation; the free parts are not the invisible directions of the truth)."
        )
    key_numbers = [
        ("inclusion relations: min RL R² over trained models", ev.ic_r2_min, ""),
        ("non-inclusion relation: truth RL R²", ev.noic_truth_r2_min, "1 = has RL"),
        (
            "non-inclusion relation: truth D3 R² (logit-to-logit)",
            ev.noic_truth_d3_r2_max,
            "< 1: not a relation of the distribution",
        ),
        ("non-inclusion relation: max RL R² at d = k", ev.noic_dk_r2_max, ""),
        ("max mean KL(p* ‖ p_model)", ev.max_kl_mean, "nats per context"),
    ]
    return Presentation(
        key_numbers=key_numbers,
        per_model=ev.per_model,
        notes=notes,
        config={"worlds": list(ROLES), "dims": {r: ctx.dims(r) for r in ROLES}},
    )


def checks(ev: Evidence, th: Thresholds) -> list[Check]:
    """Claim 4 (P3): relations with IC hold in every model at every d; a relation without
    IC holds in the truth but not in minimal (d = k) trained models."""
    return [
        kl_check(ev, th),
        at_least(
            "ic_truth",
            "the truth has every inclusion relation (RL R²)",
            ev.ic_truth_r2_min,
            1.0 - th.exact,
            role="precondition",
        ),
        at_least(
            "ic_all_models",
            "relations with the inclusion condition: RL in every trained model at every d",
            ev.ic_r2_min,
            th.rl_r2,
            where="min RL R² over trained models and inclusion relations",
        ),
        at_least(
            "noic_truth_rl",
            "the truth has the non-inclusion relation (RL R²)",
            ev.noic_truth_r2_min,
            1.0 - th.exact,
            role="precondition",
        ),
        below(
            "noic_truth_not_d3",
            "the non-inclusion relation is not a relation between centered logits (D3 fails "
            "in the truth), so it is a real test",
            ev.noic_truth_d3_r2_max,
            th.rl_r2,
            role="precondition",
        ),
        below(
            "noic_minimal_models",
            "relations without the inclusion condition: no RL in trained models at d = k",
            ev.noic_dk_r2_max,
            th.rl_r2,
            where="max RL R² over d = k models (table and transformer) and non-inclusion relations",
        ),
    ]
