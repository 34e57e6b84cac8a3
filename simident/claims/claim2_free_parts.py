"""Claim 2 — outside the identified subspace, representations differ (THEORY.md E6, §4).

Each trained model splits as f(s) = Rᵀ T f(s) + a(s) with a(s) ⊥ U (its free part, E3/E6).
In the non-diverse world, at every d > k, every seed has a free part of non-negligible
size; two seeds' free parts are unrelated functions of the context (low canonical
correlation, while the identified parts coincide); so full-space agreement between
seeds, ≈ 1 at d = k, falls as d grows past k. How init scale and weight decay shrink
or keep the free parts is measured on a grid (observations: THEORY.md §4 leaves it open).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from simident.claims import figures as figures_
from simident.claims.context import Context, RunKey
from simident.claims.result import Presentation
from simident.claims.verdicts import (
    Check,
    ClaimEvidence,
    Thresholds,
    at_least,
    at_most,
    evidence_from_dict,
    kl_check,
    minus,
    view,
    worst,
)
from simident.theory.free_parts import canonical_correlations, random_cancorr
from simident.util import plotting

ID = 2
TITLE = "Outside the identified subspace, representations differ"
STATEMENT = (
    "Trained models with d > k have free parts (components the distribution does not "
    "constrain); different seeds' free parts differ, so full-space agreement falls as d "
    "grows past k while the identified parts still agree. Init scale and weight decay "
    "change the size of the free parts."
)
ROLE = "low"
TRANSFORMER_KEY = re.compile(r"transformer_d\d+")


@dataclass(frozen=True, kw_only=True)
class Evidence(ClaimEvidence):
    """Claim 2's numbers, table models of the low world (k identified dimensions, learner
    dimensions `dims`): worst cases over seeds / seed pairs of the free-part size
    ‖F_free‖/‖F‖, of the mean canonical correlation between two seeds' free (or
    identified) parts (0 unrelated, 1 same), of the identified and full-space R², and the
    worst training KL gap. NaN / None: not measured. Fields with a default are
    observations the checks do not read (per d, the init-scale / weight-decay grid, the
    transformers)."""

    max_kl_mean: float | None  # max over trained models of the mean KL(p* ‖ p_model), nats
    k: int | None = None
    dims: list = field(default_factory=list)
    identified_r2_min: float | None  # min over seed pairs and d
    free_norm_min: float | None  # min ‖F_free‖/‖F‖ over seeds at d > k (NaN: no d > k)
    free_cancorr_max: float | None  # max over seed pairs at d > k of the mean canonical corr.
    identified_cancorr_min: float | None = None  # same for the identified parts (min)
    full_r2_at_k_min: float | None  # min full-space R² over seed pairs at d = k
    full_r2_at_dmax_max: float | None  # max full-space R² over seed pairs at the largest d
    by_d: dict = field(default_factory=dict)  # str(d) -> free parts and agreement at d
    grid: dict = field(default_factory=dict)  # "init{s}_wd{wd}" -> vs init 1, no weight decay
    # "transformer_d{d}" -> free parts of the transformer seeds; in the JSON form (`to_dict`)
    # these are top-level keys, as the claim record has always had them
    transformers: dict = field(default_factory=dict)
    stats_by_d: dict = view()  # d -> per-seed free parts and per-pair agreement, plotted
    grid_series: list = view(list)  # (label, free-part ratios, full R²'s) per grid point
    d_star: int | None = view(lambda: None)  # the title of the figure
    tables: list = view(list)
    per_model: list = view(list)
    notes: list = view(list)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(out.pop("transformers"))
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> Evidence:
        """Inverse of `to_dict` (also accepts `asdict` form, with `transformers`)."""
        data = dict(data)
        flat = {k: data.pop(k) for k in list(data) if TRANSFORMER_KEY.fullmatch(k)}
        if flat:
            data["transformers"] = {**data.get("transformers", {}), **flat}
        return evidence_from_dict(cls, data)


def grid_keys(ctx: Context, role: str = ROLE) -> list[RunKey]:
    d = ctx.d_star(role)
    return [
        RunKey(role, "table", d, float(wd), float(s))
        for wd in ctx.mode.grid_weight_decays
        for s in ctx.mode.grid_init_scales
    ]


def requests(ctx: Context) -> list[RunKey]:
    return [RunKey(ROLE, "table", d) for d in ctx.dims(ROLE)] + grid_keys(ctx)


def seed_stats(ctx: Context, key: RunKey) -> dict:
    """Free-part sizes per seed; identified R², full R², canonical correlations per pair."""
    refs = ctx.refs(key)
    k = ctx.k(key.world)
    out = {
        "f_ratio": [],
        "g_ratio": [],
        "ident": [],
        "full": [],
        "cc_free": [],
        "cc_id": [],
        "kl": [ctx.kl(r) for r in refs],
    }
    for r in refs:
        fp = ctx.free(r)
        out["f_ratio"].append(fp.f_ratio)
        out["g_ratio"].append(fp.g_ratio)
    for a, b in itertools.combinations(refs, 2):
        c = ctx.pair(a, b)
        out["ident"].append(c.identified_r2)
        out["full"].append(min(c.full_r2, c.equivalence.full_r2_ba))
        fa, fb = ctx.free(a), ctx.free(b)
        if key.d > k:
            out["cc_free"].append(float(np.mean(canonical_correlations(fa.F_free, fb.F_free))))
        out["cc_id"].append(float(np.mean(canonical_correlations(fa.F_id, fb.F_id))))
    return out


def evidence(ctx: Context) -> Evidence:
    """Free parts and seed-to-seed agreement of the low world's table models by d and
    over the (init scale, weight decay) grid; the transformers' as observations."""
    k = ctx.k(ROLE)
    dims = ctx.dims(ROLE)
    by_d = {d: seed_stats(ctx, RunKey(ROLE, "table", d)) for d in dims}
    above = [d for d in dims if d > k]
    grid = []
    for key in grid_keys(ctx):
        s = seed_stats(ctx, key)
        grid.append((key, s))
    kls = [x for d in dims for x in by_d[d]["kl"]] + [x for _, s in grid for x in s["kl"]]
    n = ctx.world(ROLE).n
    baseline = {d: random_cancorr(n, d - k, d - k) for d in above}
    dmax = max(dims)
    numbers = {
        "max_kl_mean": worst(kls, "max"),
        "k": k,
        "dims": dims,
        "identified_r2_min": worst([x for d in dims for x in by_d[d]["ident"]], "min"),
        "free_norm_min": worst([x for d in above for x in by_d[d]["f_ratio"]], "min"),
        "free_cancorr_max": worst([x for d in above for x in by_d[d]["cc_free"]], "max"),
        "identified_cancorr_min": worst([x for d in dims for x in by_d[d]["cc_id"]], "min"),
        "full_r2_at_k_min": worst(by_d[k]["full"], "min") if k in by_d else float("nan"),
        "full_r2_at_dmax_max": worst(by_d[dmax]["full"], "max"),
        "by_d": {
            str(d): {
                "f_ratio": by_d[d]["f_ratio"],
                "g_ratio": by_d[d]["g_ratio"],
                "full_r2_mean": float(np.mean(by_d[d]["full"])),
                "identified_r2_min": float(np.min(by_d[d]["ident"])),
                "free_cancorr": by_d[d]["cc_free"],
                "random_cancorr": baseline.get(d),
            }
            for d in dims
        },
    }
    if not above or dmax <= k:
        numbers["free_norm_min"] = float("nan")  # no d > k trained: the claim is untested
    grid_rows, grid_fig = [], []
    base = next((s for key, s in grid if key.weight_decay == 0 and key.init_scale == 1.0), None)
    for key, s in grid:
        label = f"init {key.init_scale:g}, wd {key.weight_decay:g}"
        grid_fig.append((label, s["f_ratio"], s["full"]))
        grid_rows.append(
            [
                key.init_scale,
                key.weight_decay,
                f"{np.mean(s['f_ratio']):.4f}",
                f"{np.mean(s['g_ratio']):.4f}",
                f"{np.mean(s['full']):.4f}",
                f"{min(s['ident']):.6f}",
                f"{np.mean(s['cc_free']):.3f}" if s["cc_free"] else "–",
                f"{max(s['kl']):.1e}",
            ]
        )
    observations = {}
    if base is not None:
        f0 = float(np.mean(base["f_ratio"]))
        for key, s in grid:
            if (key.weight_decay, key.init_scale) == (0.0, 1.0) or f0 == 0:
                continue
            observations[f"init{key.init_scale:g}_wd{key.weight_decay:g}"] = {
                "free_ratio_vs_default": float(np.mean(s["f_ratio"])) / f0,
                "full_r2_mean": float(np.mean(s["full"])),
            }
    trans = [RunKey(ROLE, "transformer", d) for d in ctx.transformer_dims()]
    notes, transformers = [], {}
    for key in trans:
        s = seed_stats(ctx, key)
        transformers[f"transformer_d{key.d}"] = {
            "f_ratio": s["f_ratio"],
            "g_ratio": s["g_ratio"],
            "full_r2": s["full"],
        }
        notes.append(
            f"Transformer at d = {key.d} (observation): context-side free part "
            f"{_rng(s['f_ratio'])}, full-space R² between seeds {_rng(s['full'])}: the "
            "architecture's own implicit bias decides how much of the free subspace is used."
        )
    for name, o in observations.items():
        notes.append(
            f"{name.replace('init', 'init scale ').replace('_wd', ', weight decay ')}: free part "
            f"{o['free_ratio_vs_default']:.2f}× the default's (init 1, no weight decay), "
            f"full-space R² {o['full_r2_mean']:.4f}"
            + (
                " — shrinks the free parts."
                if o["free_ratio_vs_default"] < 0.8
                else " — keeps them."
                if o["free_ratio_vs_default"] < 1.25
                else " — grows them."
            )
        )
    for d in dims:
        by_d[d]["cc_random"] = baseline.get(d)
    tables = [
        (
            f"free parts and agreement by learner dimension (k = {k})",
            [
                "d",
                "‖F_free‖/‖F‖ (mean)",
                "‖Ḡ_free‖/‖Ḡ‖ (mean)",
                "full R² (mean)",
                "identified R² (min)",
                "free-part canonical corr. (mean)",
                "same for random parts",
            ],
            [
                [
                    d,
                    f"{np.mean(by_d[d]['f_ratio']):.4f}",
                    f"{np.mean(by_d[d]['g_ratio']):.4f}",
                    f"{np.mean(by_d[d]['full']):.4f}",
                    f"{min(by_d[d]['ident']):.6f}",
                    f"{np.mean(by_d[d]['cc_free']):.3f}"
                    if by_d[d]["cc_free"]
                    else "– (no free part)",
                    f"{baseline[d]:.3f}" if d in baseline else "–",
                ]
                for d in dims
            ],
        ),
        (
            f"implicit biases at d = d* = {ctx.d_star(ROLE)} (observations)",
            [
                "init scale",
                "weight decay",
                "‖F_free‖/‖F‖",
                "‖Ḡ_free‖/‖Ḡ‖",
                "full R²",
                "identified R² (min)",
                "free canonical corr.",
                "max KL (nats)",
            ],
            grid_rows,
        ),
    ]
    per_model = [
        {
            "d": d,
            "f_ratio": by_d[d]["f_ratio"],
            "g_ratio": by_d[d]["g_ratio"],
            "kl_mean": by_d[d]["kl"],
        }
        for d in dims
    ]
    return Evidence(
        **numbers,
        grid=observations,
        transformers=transformers,
        stats_by_d=by_d,
        grid_series=grid_fig,
        d_star=ctx.d_star(ROLE),
        tables=tables,
        per_model=per_model,
        notes=notes,
    )


def figures(ev: Evidence, folder, th: Thresholds) -> list:
    k = ev.k
    return [
        figure(
            ev.stats_by_d,
            ev.grid_series,
            folder / "claim2_free_parts.png",
            k,
            f"Claim 2: free parts of table models, {ROLE} world (k = {k}, d* = {ev.d_star})",
        )
    ]


def present(ev: Evidence, ctx: Context) -> Presentation:
    dmax = max(ev.dims)
    key_numbers = [
        ("min ‖F_free‖/‖F‖ over seeds at d > k", ev.free_norm_min, "dimensionless"),
        (
            "max mean canonical correlation of two seeds' free parts",
            ev.free_cancorr_max,
            "0 unrelated, 1 same",
        ),
        (
            "min mean canonical correlation of two seeds' identified parts",
            ev.identified_cancorr_min,
            "",
        ),
        ("min full-space R² between seeds at d = k", ev.full_r2_at_k_min, ""),
        (f"max full-space R² between seeds at d = {dmax}", ev.full_r2_at_dmax_max, ""),
        ("min identified R² between seeds", ev.identified_r2_min, ""),
    ]
    return Presentation(
        key_numbers=key_numbers,
        tables=ev.tables,
        per_model=ev.per_model,
        notes=ev.notes,
        config={
            "world": ROLE,
            "dims": ev.dims,
            "grid_weight_decays": ctx.mode.grid_weight_decays,
            "grid_init_scales": ctx.mode.grid_init_scales,
        },
    )


def _rng(xs) -> str:
    if not xs:
        return "–"
    return f"{min(xs):.3f}–{max(xs):.3f}"


def checks(ev: Evidence, th: Thresholds) -> list[Check]:
    """Claim 2 (E6): outside the identified subspace the seeds differ; full-space agreement
    falls as d grows past k. Init-scale / weight-decay effects are observations."""
    return [
        kl_check(ev, th),
        at_least(
            "identified_r2_seeds",
            "seeds agree on the identified parts at every d",
            ev.identified_r2_min,
            th.identified_r2,
            where="min over seed pairs and d",
        ),
        at_least(
            "free_parts_present",
            "at every d > k each seed has a free part ‖F_free‖/‖F‖ ≥ threshold",
            ev.free_norm_min,
            th.free_norm,
            where="min over seeds and d > k (init scale 1, no weight decay)",
        ),
        at_most(
            "free_parts_differ",
            "seeds' free parts are unrelated functions of the context: mean canonical "
            "correlation between two seeds' free parts is low",
            ev.free_cancorr_max,
            th.free_cancorr,
            where="max over seed pairs and d > k of the mean canonical correlation",
        ),
        at_least(
            "full_r2_at_k",
            "at d = k (no free part) seeds agree in the full space",
            ev.full_r2_at_k_min,
            th.full_r2_diverse,
            where="min over seed pairs at d = k",
        ),
        at_most(
            "full_r2_falls",
            "at the largest d the full-space R² is clearly below the identified R²",
            minus(ev.full_r2_at_dmax_max, ev.identified_r2_min),
            -th.full_r2_gap,
            where="max full R² at d_max − min identified R²",
        ),
    ]


def figure(by_d, grid, path, k: int, title: str) -> str:
    """Claim 2. by_d: {d: dict(f_ratio=[..], g_ratio=[..], full=[..], ident=[..],
    cc_free=[..], cc_id=[..])}; grid: [(label, f_ratios, full_r2s)]."""
    fig, axs = plotting.new_figure(2, 2, figsize=(11, 8))
    ds = sorted(by_d)
    x = [d - k for d in ds]
    ax = axs[0][0]
    for d, xi in zip(ds, x):
        ax.scatter([xi] * len(by_d[d]["f_ratio"]), by_d[d]["f_ratio"], color="C0", s=18)
        ax.scatter([xi] * len(by_d[d]["g_ratio"]), by_d[d]["g_ratio"], color="C1", s=18, marker="x")
    ax.plot(
        x, [np.mean(by_d[d]["f_ratio"]) for d in ds], color="C0", label="context side ‖F_free‖/‖F‖"
    )
    ax.plot(
        x, [np.mean(by_d[d]["g_ratio"]) for d in ds], color="C1", label="token side ‖Ḡ_free‖/‖Ḡ‖"
    )
    ax.set_xlabel("d − k (free dimensions of the learner)")
    figures_.integer_x(ax)
    ax.set_ylabel("relative norm of the free part (dimensionless)")
    ax.set_title("size of the free parts, one point per seed", fontsize=9)
    ax.legend(fontsize=7)
    ax = axs[0][1]
    for d, xi in zip(ds, x):
        ax.scatter([xi] * len(by_d[d]["full"]), by_d[d]["full"], color="C2", s=18)
        ax.scatter([xi] * len(by_d[d]["ident"]), by_d[d]["ident"], color="C3", s=18, marker="x")
    ax.plot(x, [np.mean(by_d[d]["full"]) for d in ds], color="C2", label="full-space affine R²")
    ax.plot(x, [np.mean(by_d[d]["ident"]) for d in ds], color="C3", label="identified-part R²")
    ax.set_xlabel("d − k")
    figures_.integer_x(ax)
    ax.set_ylabel("R² between two seeds (dimensionless)")
    ax.set_title("agreement between seeds, one point per seed pair", fontsize=9)
    ax.legend(fontsize=7)
    ax = axs[1][0]
    for d, xi in zip(ds, x):
        if by_d[d]["cc_free"]:
            ax.scatter([xi] * len(by_d[d]["cc_free"]), by_d[d]["cc_free"], color="C4", s=18)
        ax.scatter([xi] * len(by_d[d]["cc_id"]), by_d[d]["cc_id"], color="C5", s=18, marker="x")
    base = [(xi, by_d[d].get("cc_random")) for d, xi in zip(ds, x)]
    base = [(xi, b) for xi, b in base if b is not None]
    if base:
        ax.plot(
            [b[0] for b in base],
            [b[1] for b in base],
            color="grey",
            linestyle=":",
            label="two random subspaces of the same size",
        )
        ax.legend(fontsize=7)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("d − k")
    figures_.integer_x(ax)
    ax.set_ylabel("mean canonical correlation (1 = same function of s)")
    ax.set_title(
        "free parts (•) vs identified parts (×) of two seeds, as functions of the context",
        fontsize=9,
    )
    ax = axs[1][1]
    labels = [g[0] for g in grid]
    pos = np.arange(len(grid))
    ax.bar(pos - 0.2, [np.mean(g[1]) for g in grid], 0.4, label="‖F_free‖/‖F‖ (mean over seeds)")
    ax.bar(pos + 0.2, [np.mean(g[2]) for g in grid], 0.4, label="full-space R² (mean over pairs)")
    ax.set_xticks(pos, labels, rotation=20, fontsize=7)
    ax.set_ylabel("dimensionless")
    ax.set_xlabel("implicit bias: init scale, weight decay (learner d = d*)")
    ax.set_title("init scale and weight decay versus the free parts", fontsize=9)
    ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return plotting.save(fig, path)
