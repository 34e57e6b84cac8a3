"""Claim 1 — extended linear equivalence across dimensions (THEORY.md E4, E5, E6).

Models trained independently at several d ≥ k (k, k+3, 2k, d*, 2d*) and the truth are
compared pairwise: the identified parts agree for every pair (identified R² ≈ 1, across
different d), while the best full-space affine map between two models fits clearly worse
when the models have free parts (non-diverse world, d* > k) and ≈ 1 when they are diverse
(diverse world at d = d* = k, the classical case E5).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from simident.claims.context import Context, RunKey
from simident.claims.result import Presentation
from simident.claims.verdicts import (
    Check,
    ClaimEvidence,
    Thresholds,
    at_least,
    at_most,
    kl_check,
    minus,
    view,
    worst,
)
from simident.util import plotting

ID = 1
TITLE = "Extended linear equivalence across dimensions"
STATEMENT = (
    "Models trained independently at several dimensions d ≥ k are pairwise related through "
    "their identified parts (identified R² ≈ 1 for every pair, across different d), while "
    "the full-space affine R² is clearly lower when the world is not diverse and ≈ 1 when "
    "it is (models at the truth's dimension d*)."
)
ROLES = ("diverse", "low")


@dataclass(frozen=True, kw_only=True)
class Evidence(ClaimEvidence):
    """Claim 1's numbers: worst cases over pairs of models (truth and trained, both worlds)
    of the identified-part R² and of the full-space affine R² (min of both directions;
    1 = perfect fit), and the worst training KL gap. "At d*": pairs of table models at the
    truth's dimension (and the truth). NaN / None: not measured. Fields with a default are
    observations the checks do not read."""

    max_kl_mean: float | None  # max over trained models of the mean KL(p* ‖ p_model), nats
    identified_r2_min: float | None  # min identified R² over all pairs in both worlds
    identified_r2_where: str = "min over pairs"  # which pairs that minimum is over
    full_r2_nondiverse_max: float | None  # non-diverse world, pairs at d*: max full R²
    identified_r2_nondiverse_min: float | None  # same pairs: min identified R²
    full_r2_diverse_min: float | None  # diverse world, pairs at d* = k: min full R²
    n_pairs_nondiverse_dstar: int | None = None
    n_pairs_diverse_dstar: int | None = None
    transformer_full_r2: list = field(default_factory=list)  # per pair with a transformer
    transformer_identified_r2: list = field(default_factory=list)
    panels: list = view(list)  # per world: (title, labels, identified R², full R²) matrices
    tables: list = view(list)  # per world: pairs summarised by (d_A, d_B)
    per_model: list = view(list)
    diverse_free_full_r2: list = view(list)  # diverse world, pairs with a d > k model


def requests(ctx: Context) -> list[RunKey]:
    keys = [RunKey(role, "table", d) for role in ROLES for d in ctx.dims(role)]
    keys += [RunKey("low", "transformer", d) for d in ctx.transformer_dims()]
    return keys


def _d(ctx, ref) -> int:
    return ctx.d_star(ref.world) if ref.is_truth else ref.run.d


def evidence(ctx: Context) -> Evidence:
    """Identified and full-space R² of every pair of models of both worlds."""
    panels, ev_pairs, tables = [], {}, []
    ident_all, kls = [], []
    for role in ROLES:
        refs = ctx.models_of(role)
        m = len(refs)
        ident = np.eye(m)
        full = np.eye(m)
        pairs = []
        for i, j in itertools.combinations(range(m), 2):
            r = ctx.pair(refs[i], refs[j])
            f = min(r.full_r2, r.equivalence.full_r2_ba)
            ident[i, j] = ident[j, i] = r.identified_r2
            full[i, j] = full[j, i] = f
            pairs.append((refs[i], refs[j], r.identified_r2, f))
        ident_all += [p[2] for p in pairs]
        kls += [ctx.kl(r) for r in refs if not r.is_truth]
        ev_pairs[role] = pairs
        w = ctx.world(role)
        panels.append(
            (f"{role} world (d* = {w.d}, k = {ctx.k(role)})", [r.label for r in refs], ident, full)
        )
        # summary by pair of dimensions
        rows = {}
        for a, b, idr, f in pairs:
            key = tuple(sorted((_d(ctx, a), _d(ctx, b))))
            kind = "transformer" if "transformer" in (_model(a), _model(b)) else "table/truth"
            rows.setdefault((key, kind), []).append((idr, f))
        tables.append(
            (
                f"{role} world: mean over pairs by dimensions (d_A, d_B)",
                [
                    "d_A",
                    "d_B",
                    "pairs",
                    "models",
                    "identified R² (min)",
                    "full R² (mean)",
                    "full R² (min)",
                ],
                [
                    [
                        k[0],
                        k[1],
                        len(v),
                        kind,
                        f"{min(x[0] for x in v):.6f}",
                        f"{np.mean([x[1] for x in v]):.4f}",
                        f"{min(x[1] for x in v):.4f}",
                    ]
                    for (k, kind), v in sorted(rows.items())
                ],
            )
        )

    def at_dstar(role):
        d = ctx.d_star(role)
        return [
            p
            for p in ev_pairs[role]
            if all(x.is_truth or (x.run.model == "table" and x.run.d == d) for x in p[:2])
        ]

    low, div = at_dstar("low"), at_dstar("diverse")
    trans = [p for p in ev_pairs["low"] if "transformer" in (_model(p[0]), _model(p[1]))]
    div_free = [
        p[3] for p in ev_pairs["diverse"] if max(_d(ctx, p[0]), _d(ctx, p[1])) > ctx.k("diverse")
    ]
    per_model = [
        {"world": r.world, "model": r.label, "d": _d(ctx, r), "kl_mean": ctx.kl(r)}
        for role in ROLES
        for r in ctx.models_of(role)
    ]
    return Evidence(
        max_kl_mean=worst(kls, "max"),
        identified_r2_min=worst(ident_all, "min"),
        identified_r2_where=f"min over {len(ident_all)} pairs in both worlds",
        full_r2_nondiverse_max=worst([p[3] for p in low], "max"),
        identified_r2_nondiverse_min=worst([p[2] for p in low], "min"),
        full_r2_diverse_min=worst([p[3] for p in div], "min"),
        n_pairs_nondiverse_dstar=len(low),
        n_pairs_diverse_dstar=len(div),
        transformer_full_r2=[p[3] for p in trans],
        transformer_identified_r2=[p[2] for p in trans],
        panels=panels,
        tables=tables,
        per_model=per_model,
        diverse_free_full_r2=div_free,
    )


def figures(ev: Evidence, folder, th: Thresholds) -> list:
    return [
        figure(
            ev.panels,
            folder / "claim1_equivalence.png",
            "Claim 1: identified parts agree across d; full-space agreement needs diversity",
        )
    ]


def present(ev: Evidence, ctx: Context) -> Presentation:
    notes = []
    div_free, t_full = ev.diverse_free_full_r2, ev.transformer_full_r2
    if div_free:
        notes.append(
            f"Diverse world, pairs involving a model with d > k: full-space R² "
            f"{min(div_free):.4f}–{max(div_free):.4f}. Full-space agreement is a property "
            "of the models (d = k leaves no free part), not of the world alone: a learner "
            "wider than k has free parts even when the truth is diverse."
        )
    if t_full:
        notes.append(
            f"Transformer pairs (low world): identified R² min "
            f"{min(ev.transformer_identified_r2):.6f}, "
            f"full-space R² range {min(t_full):.4f}–{max(t_full):.4f}. "
            "The full-space check uses table models (free embeddings, the setting of THEORY.md); "
            "a transformer's architecture may itself remove free parts (observation, not part "
            "of the verdict)."
        )
    key_numbers = [
        ("min identified R² over all pairs", ev.identified_r2_min, "1 = identical"),
        ("non-diverse world, d = d*: max full-space R²", ev.full_r2_nondiverse_max, ""),
        ("non-diverse world, d = d*: min identified R²", ev.identified_r2_nondiverse_min, ""),
        ("diverse world, d = d* = k: min full-space R²", ev.full_r2_diverse_min, ""),
        ("max mean KL(p* ‖ p_model)", ev.max_kl_mean, "nats per context"),
    ]
    return Presentation(
        key_numbers=key_numbers,
        tables=ev.tables,
        per_model=ev.per_model,
        notes=notes,
        config={
            "dims": {r: ctx.dims(r) for r in ROLES},
            "transformer_dims": ctx.transformer_dims(),
            "k": {r: ctx.k(r) for r in ROLES},
            "d_star": {r: ctx.d_star(r) for r in ROLES},
        },
    )


def _model(ref) -> str:
    return "truth" if ref.is_truth else ref.run.model


def checks(ev: Evidence, th: Thresholds) -> list[Check]:
    """Claim 1 (E4): identified parts related for every pair at every d; full-space R²
    clearly lower than the identified R² among non-diverse models at the truth's d, ≈ 1
    among diverse ones (d = k)."""
    return [
        kl_check(ev, th),
        at_least(
            "identified_r2_all_pairs",
            "every pair of models (any d ≥ k, both worlds) agrees on the identified parts",
            ev.identified_r2_min,
            th.identified_r2,
            where=ev.identified_r2_where,
        ),
        at_most(
            "full_r2_nondiverse",
            "non-diverse world, models at the truth's d > k: full-space affine R² is "
            "clearly lower than the identified R²",
            minus(ev.full_r2_nondiverse_max, ev.identified_r2_nondiverse_min),
            -th.full_r2_gap,
            where="max full R² − min identified R² over pairs at d = d*",
        ),
        at_least(
            "full_r2_diverse",
            "diverse world, models at d = d* = k: full-space affine R² ≈ 1",
            ev.full_r2_diverse_min,
            th.full_r2_diverse,
            where="min over pairs at d = k",
        ),
    ]


def figure(panels, path, title: str) -> str:
    """Claim 1. panels: [(world title, labels, identified R² matrix, full R² matrix)]."""
    fig, axs = plotting.new_figure(
        len(panels), 2, figsize=(14, 6.0 * len(panels)), squeeze=False, layout="constrained"
    )
    for row, (name, labels, ident, full) in enumerate(panels):
        for col, (M, what) in enumerate(
            (
                (ident, "identified-part R² (T f vs T~ f~)"),
                (full, "full-space affine R² (min of both directions)"),
            )
        ):
            ax = axs[row][col]
            M = np.asarray(M)
            im = ax.imshow(M, vmin=0.5, vmax=1.0, cmap="viridis")
            if len(labels) <= 12:
                plotting.label_cells(ax, M, fontsize=6, dark_below=0.75)
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(labels)), labels, fontsize=6)
            ax.set_xlabel("model B (learner, dimension d, seed)")
            ax.set_ylabel("model A (learner, dimension d, seed)")
            ax.set_title(f"{name}:\n{what}", fontsize=9)
            cb = fig.colorbar(im, ax=ax, shrink=0.7)
            cb.set_label("R² (dimensionless; colours clipped below 0.5)")
    fig.suptitle(title, fontsize=10)
    return plotting.save(fig, path)
