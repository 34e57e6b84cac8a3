"""Claim 5 — probes and steering (THEORY.md P4, P5).

- Probes: z(s) = w·f*(s) + β planted in the truth. Visible (w ∈ U, z affine in the
  centered logits): every trained model has a linear probe (R² ≈ 1). Invisible
  (w ∈ E ∩ U⊥): a minimal model (d = k) has f~ linear in ℓ, so no probe.
- Steering: adding v to every f shifts all centered logits by Ḡv. v = f*(s1) − f*(s0)
  lies in the context span, so every trained model reproduces the shift (and the same
  combination of its own embeddings gives the same shift in every seed). A vector
  outside the context span must come from a model with E ≠ R^d: we take v ∈ U ∩ E⊥ of
  the truth of the low-diversity world (trained models generically have E~ = R^d) and
  test whether minimal (d = k) trained models can reproduce its shift: they cannot,
  since col(Ḡ~) = col(Lᵀ) and Ḡ*v ∉ col(Lᵀ).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from simident.claims import figures as figures_
from simident.claims.context import Context, RunKey, by_name, planted
from simident.claims.result import Presentation
from simident.claims.verdicts import (
    Check,
    ClaimEvidence,
    Thresholds,
    above,
    at_least,
    at_most,
    below,
    kl_check,
    view,
    worst,
)

ID = 5
TITLE = "Probes and steering"
STATEMENT = (
    "Visible probes are shared, invisible probes are not; steering by embedding differences "
    "transfers across seeds (identical logit shifts), a vector outside the context span "
    "does not."
)
ROLE = "low"


@dataclass(frozen=True, kw_only=True)
class Evidence(ClaimEvidence):
    """Claim 5's numbers, low world: linear-probe R² of the planted probes (1 = exact probe)
    in the truth, in every trained model (visible probes) and in the minimal d = k models
    (invisible probe), with the truth's logit-probe R² of the invisible one; relative
    residuals of steering logit shifts (0 = identical shift) for in-span vectors, for the
    same combination of embeddings across seed pairs and for a vector outside the context
    span (with the share of its truth shift outside col(Lᵀ)); the worst training KL gap.
    NaN / None: not measured. Fields with a default are observations the checks do not
    read."""

    max_kl_mean: float | None  # max over trained models of the mean KL(p* ‖ p_model), nats
    truth_probe_r2_min: float | None  # min over probes of the truth's probe R²
    visible_r2_min: float | None  # min over trained models and visible probes
    invisible_truth_logit_r2_max: float | None  # truth: invisible probe on centered logits
    invisible_dk_r2_max: float | None  # max over d = k models and invisible probes
    invisible_d_above_k: list = field(default_factory=list)  # probe R² at d > k
    in_span_transfer_max: float | None  # max residual over trained models and vectors
    same_combination_max: float | None  # max residual over seed pairs and vectors
    n_seed_pairs: int | None = None  # number of same-combination residuals
    outside_truth_out_of_row_L: float | None  # min share of the truth shift outside col(Lᵀ)
    outside_dk_transfer_min: float | None  # min residual over d = k models
    outside_d_above_k: list = field(default_factory=list)  # residuals at d > k
    k: int | None = view(lambda: None)  # the low world's k (figure titles)
    per_model: list = view(list)
    probe_series: dict = view()  # (visible?, model) -> (d's, probe R²'s), plotted
    steer_series: dict = view()  # (in span?, model) -> (d's, residuals), plotted


def requests(ctx: Context) -> list[RunKey]:
    keys = [RunKey(ROLE, "table", d) for d in ctx.dims(ROLE)]
    return keys + [RunKey(ROLE, "transformer", d) for d in ctx.transformer_dims()]


def evidence(ctx: Context) -> Evidence:
    """Probe R² and steering residuals of every trained model of the low world."""
    w = ctx.world(ROLE)
    k = ctx.k(ROLE)
    probes = planted(w, "probe")
    refs = [r for r in ctx.models_of(ROLE) if not r.is_truth]
    kls, per_model = [], []
    truth_r2, vis, invis_dk, invis_rest, invis_truth_logit = [], [], [], [], []
    in_span, outside_dk, outside_rest, outside_truth = [], [], [], []
    probe_series: dict = {}
    steer_series: dict = {}
    for ref in refs:
        res = by_name(ctx.versus_truth(ref))
        kls.append(ctx.kl(ref))
        d, model = ref.run.d, ref.run.model
        entry = {"model": ref.label, "d": d, "kl_mean": ctx.kl(ref)}
        for p in probes:
            sc = res[p["name"]].scores
            r2 = sc.r2[1]
            entry[p["name"]] = r2
            truth_r2.append(sc.r2[0])
            kind = "visible" if p["visible"] else "invisible"
            probe_series.setdefault((kind, model), ([], []))
            probe_series[(kind, model)][0].append(d)
            probe_series[(kind, model)][1].append(r2)
            if p["visible"]:
                vis.append(r2)
            else:
                invis_truth_logit.append(sc.distribution_r2[0])
                (invis_dk if d == k else invis_rest).append(r2)
        for name, p in res.items():
            if p.kind != "steering":
                continue
            t = p.scores.transfer_residual
            entry[name] = t
            kind = "outside E" if name == "steer_outside" else "in span"
            steer_series.setdefault((kind, model), ([], []))
            steer_series[(kind, model)][0].append(d)
            steer_series[(kind, model)][1].append(t)
            if name == "steer_outside":
                outside_truth.append(p.scores.out_of_row_L_a)
                (outside_dk if d == k else outside_rest).append(t)
            else:
                in_span.append(t)
        per_model.append(entry)
    same_comb = []
    for a, b in itertools.combinations(refs, 2):
        r = ctx.steering_pair(a, b)
        same_comb += [p.scores.same_combination_residual for p in r.properties]
    return Evidence(
        max_kl_mean=worst(kls, "max"),
        truth_probe_r2_min=worst(truth_r2, "min"),
        visible_r2_min=worst(vis, "min"),
        invisible_truth_logit_r2_max=worst(invis_truth_logit, "max"),
        invisible_dk_r2_max=worst(invis_dk, "max"),
        invisible_d_above_k=invis_rest,
        in_span_transfer_max=worst(in_span, "max"),
        same_combination_max=worst(same_comb, "max"),
        n_seed_pairs=len(same_comb),
        outside_truth_out_of_row_L=worst(outside_truth, "min"),
        outside_dk_transfer_min=worst(outside_dk, "min"),
        outside_d_above_k=outside_rest,
        k=k,
        per_model=per_model,
        probe_series=probe_series,
        steer_series=steer_series,
    )


MARKER = {"table": "o", "transformer": "^"}


def figures(ev: Evidence, folder, th: Thresholds) -> list:
    """1 − probe R² and steering residuals against d."""
    probe_panel = [
        (f"{kind} probe, {model}", xs, ys, MARKER[model])
        for (kind, model), (xs, ys) in sorted(ev.probe_series.items())
    ]
    steer_panel = [
        (f"v {kind}, {model}", xs, ys, MARKER[model])
        for (kind, model), (xs, ys) in sorted(ev.steer_series.items())
    ]
    fig1 = figures_.one_minus_r2(
        [("linear probes of planted attributes", probe_panel, {})],
        th.probe_r2,
        folder / "claim5_probes.png",
        f"Claim 5: probes in trained models ({ROLE} world, k = {ev.k})",
        "1 − probe R² (log scale; 0 = exact linear probe)",
    )
    fig2 = figures_.residuals(
        [("steering vectors from the truth into trained models", steer_panel)],
        th.steer_residual,
        folder / "claim5_steering.png",
        f"Claim 5: steering transfer ({ROLE} world, k = {ev.k})",
        "‖shift not reproducible‖ / ‖shift‖ (log scale; 0 = identical shift)",
    )
    return [fig1, fig2]


def present(ev: Evidence, ctx: Context) -> Presentation:
    notes = []
    invis_rest, outside_rest = ev.invisible_d_above_k, ev.outside_d_above_k
    if invis_rest:
        notes.append(
            f"Invisible probe at d > k (observation): R² "
            f"{min(invis_rest):.4f}–{max(invis_rest):.4f}."
        )
    if outside_rest:
        notes.append(
            f"Vector outside E into d > k models (observation): residual "
            f"{min(outside_rest):.3f}–{max(outside_rest):.3f}."
        )
    key_numbers = [
        ("visible probes: min R² over trained models", ev.visible_r2_min, ""),
        (
            "invisible probe: truth logit-probe R²",
            ev.invisible_truth_logit_r2_max,
            "< 1: not visible in the distribution",
        ),
        ("invisible probe: max R² at d = k", ev.invisible_dk_r2_max, ""),
        (
            "in-span steering: max transfer residual",
            ev.in_span_transfer_max,
            "relative; 0 = identical shift",
        ),
        ("same combination, seed pairs: max residual", ev.same_combination_max, ""),
        (
            "outside-E vector: truth shift outside col(Lᵀ)",
            ev.outside_truth_out_of_row_L,
            "relative part of the shift",
        ),
        ("outside-E vector: min transfer residual at d = k", ev.outside_dk_transfer_min, ""),
    ]
    return Presentation(
        key_numbers=key_numbers,
        per_model=ev.per_model,
        notes=notes,
        config={"world": ROLE, "dims": ctx.dims(ROLE), "steering_pairs": ctx.mode.steering_pairs},
    )


def checks(ev: Evidence, th: Thresholds) -> list[Check]:
    """Claim 5 (P4, P5): visible probes in every model, invisible probes not in minimal
    models; steering by embedding differences transfers, a vector outside E does not."""
    return [
        kl_check(ev, th),
        at_least(
            "probes_truth",
            "the truth has every planted probe (visible and invisible)",
            ev.truth_probe_r2_min,
            1.0 - th.exact,
            role="precondition",
        ),
        at_least(
            "visible_probes_shared",
            "visible probes: a linear probe in every trained model at every d",
            ev.visible_r2_min,
            th.probe_r2,
            where="min probe R² over trained models and visible probes",
        ),
        below(
            "invisible_really_invisible",
            "the invisible probe is not affine in the truth's centered logits",
            ev.invisible_truth_logit_r2_max,
            th.probe_r2,
            role="precondition",
        ),
        below(
            "invisible_probes_not_shared",
            "invisible probes: no linear probe in trained models at d = k",
            ev.invisible_dk_r2_max,
            th.probe_r2,
            where="max probe R² over d = k models (table and transformer) and invisible probes",
        ),
        at_most(
            "steering_in_span_transfers",
            "v = f(s1) − f(s0) in the truth: every trained model reproduces the logit shift",
            ev.in_span_transfer_max,
            th.steer_residual,
            where="max relative residual of the shift over trained models and vectors",
        ),
        at_most(
            "steering_same_combination",
            "the same combination of context embeddings gives identical shifts in every "
            "pair of seeds",
            ev.same_combination_max,
            th.steer_residual,
            where="max over seed pairs and vectors",
        ),
        above(
            "outside_span_is_invisible",
            "the vector outside E shifts the truth's logits outside col(Lᵀ)",
            ev.outside_truth_out_of_row_L,
            th.steer_residual,
            role="precondition",
        ),
        above(
            "steering_outside_span_fails",
            "a vector outside the context span (truth, v ∈ U ∩ E⊥) cannot be reproduced by "
            "minimal (d = k) trained models",
            ev.outside_dk_transfer_min,
            th.steer_residual,
            where="min relative residual over d = k models (table and transformer)",
        ),
    ]
