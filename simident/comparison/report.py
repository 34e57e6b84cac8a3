"""Readable tables of a `Comparison.to_dict()` (the text output of `simident compare`)."""

from __future__ import annotations

import math


def _fmt(x, spec=".3g") -> str:
    if x is None:
        return "?"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return format(x, spec) if math.isfinite(x) else str(x)
    return str(x)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


_KEY_SCORE = {
    "parallel_unembedding": ("sin(δ1,δ2) a/b", "parallel_a", "parallel_b", "sin"),
    "parallel_embedding": ("sin(Δ1,Δ2) a/b", "parallel_a", "parallel_b", "sin"),
    "relational": ("RL residual a/b", "rl_residual_a", "rl_residual_b", None),
    "probe": ("probe residual a/b", "probe_residual_a", "probe_residual_b", None),
    "steering": ("transfer residual", "transfer_residual", None, None),
}


def _key_score(p: dict) -> str:
    _, ka, kb, sub = _KEY_SCORE[p["kind"]]
    get = lambda key: p["scores"][key][sub] if sub else p["scores"][key]  # noqa: E731
    return _fmt(get(ka)) if kb is None else f"{_fmt(get(ka))} / {_fmt(get(kb))}"


def format_report(r: dict, name_a: str = "A", name_b: str = "B") -> str:
    """Tables of equivalence, models and properties; '?' marks an undecided verdict."""
    kd = r["k_decision"]
    subset = r.get("contexts")
    head = f"simident compare   A = {name_a}   B = {name_b}   tol = {r['tol']:.3g}"
    if subset:
        head += f"   contexts: {subset['name']} ({subset['n_used']} of {subset['n_total']})"
    lines = [
        head,
        "",
        "Equivalence (same next-token distribution?)",
        _table(
            [
                ["quantity", "value", "meaning"],
                ["equivalent", _fmt(r["equivalent"]), f"logit residual ≤ tol ({r['tol']:.3g})"],
                ["logit residual", _fmt(r["logit_residual"]), "r = ‖L_A − L_B‖/‖L‖, uniform (A1)"],
                [
                    "weighted residual",
                    _fmt(r["weighted_residual"]),
                    "r_p, cells weighted by p̄(y|s): tracks the KL (A3)",
                ],
                ["KL max", _fmt(r["kl_max"]), "max_s KL(p_A ‖ p_B), nats"],
                ["KL mean", _fmt(r["kl_mean"]), "mean_s KL(p_A ‖ p_B), nats"],
                [
                    "k",
                    str(r["k"]),
                    f"{r['k_source']}, decided by {kd['decided_by']}: σ_k = {_fmt(kd['sigma_k'])}, "
                    f"σ_k+1 = {_fmt(kd['sigma_k1'])}, threshold {_fmt(kd['threshold'])}, "
                    f"‖Δ‖_2 = {_fmt(r['delta_2'])} (A4), ν̂ = {_fmt(r['sample_noise_2'])} (A6)",
                ],
                [
                    "errors",
                    str(kd.get("errors")),
                    str(kd.get("errors_note")),
                ],
                [
                    "identified misfit",
                    f"{_fmt(r['identified_misfit_f'])} / {_fmt(r['identified_misfit_g'])}",
                    f"‖Φ_A − Φ_B‖²/‖Φ̄‖² contexts / tokens; A1 bound {_fmt(r['a1_bound'])}",
                ],
                [
                    "identified R²",
                    _fmt(r["identified_r2"], ".6f"),
                    f"T f_A = T~ f_B ({_fmt(r['identified_r2_f'], '.6f')}), "
                    f"R ḡ_A = R~ ḡ_B ({_fmt(r['identified_r2_g'], '.6f')}); 1 = identical",
                ],
                [
                    "full affine R²",
                    _fmt(r["full_r2"], ".6f"),
                    f"best affine map F_A → F_B (B → A: {_fmt(r['full_r2_ba'], '.6f')})",
                ],
                ["M residual", _fmt(r["m_residual"]), "‖P_U~ f_B − M f_A‖/‖P_U~ f_B‖"],
                ["N residual", _fmt(r["n_residual"]), "‖P_E~ ḡ_B − N ḡ_A‖/‖P_E~ ḡ_B‖"],
            ]
        ),
        "",
        "Models (dims at the pair's noise level)",
        _table(
            [["model", "d", "dim E", "dim U", "k", "diverse", "dim E∩U⊥", "dim U∩E⊥", "E gap"]]
            + [
                [
                    tag,
                    str(m["d"]),
                    str(m["dim_E"]),
                    str(m["dim_U"]),
                    str(m["k"]),
                    _fmt(m["diverse"]),
                    str(m["dim_E_cap_Uperp"]),
                    str(m["dim_U_cap_Eperp"]),
                    _fmt(m["rank_decisions"]["E"]["gap"]),
                ]
                for tag, m in (("A", r["a"]), ("B", r["b"]))
            ]
        ),
    ]
    if r["properties"]:
        lines += [
            "",
            "Properties (yes / no / ? = undecided; holds in A / B; distribution-level form; "
            "shared = decided alike in both)",
            _table(
                [["kind", "name", "A", "B", "dist", "shared", "guaranteed", "band", "score"]]
                + [
                    [
                        p["kind"],
                        p["name"],
                        _fmt(p["holds_a"]),
                        _fmt(p["holds_b"]),
                        _fmt(p["distribution_level"]),
                        _fmt(p["shared"]),
                        _fmt(p["guaranteed"]),
                        f"({_fmt(p['band']['lower'])}, {_fmt(p['band']['upper'])}]",
                        f"{_KEY_SCORE[p['kind']][0]}: {_key_score(p)}",
                    ]
                    for p in r["properties"]
                ]
            ),
            "",
        ]
        lines += [f"  {p['name']}: {p['reason']}" for p in r["properties"]]
    lines += [f"  note: {n}" for n in r.get("notes", [])]
    return "\n".join(lines)
