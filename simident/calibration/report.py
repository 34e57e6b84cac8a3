"""report.md and calibration.json of a calibration study."""

from __future__ import annotations


def _pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:.1f}%"


def _table(title: str, rows: dict) -> list[str]:
    out = [f"| {title} | verdicts | decided | right (of decided) | wrong |", "|---" * 5 + "|"]
    for k, v in rows.items():
        out.append(
            f"| {k} | {v['verdicts']} | {_pct(v['decided'])} | {_pct(v['right'])} | {v['wrong']} |"
        )
    return out


def markdown(record: dict) -> str:
    ch, hold = record["choice"], record["holdout"]
    tabs = record["tables"]
    lines = [
        "# Calibration of compare's decided verdicts",
        "",
        f"Mode `{record['mode']}`: {record['run']['cells']} cells "
        f"({record['run']['trained']} trained now, {record['run'].get('training_cached', 0)} "
        f"scored from cached training, {record['run']['reused']} reused whole), "
        f"{record['run']['seconds']:.0f} s. Families: {', '.join(record['families'])}; "
        f"held out: **{hold}**.",
        "",
        f"**Chosen margins (lo, hi) = ({ch['lo']:g}, {ch['hi']:g})**: the pair deciding the "
        f"most verdicts with ≥ {_pct(ch['target'])} right on the calibration families "
        f"({'met' if ch['met'] else 'NOT met: the most accurate pair is shown'}; there: "
        f"{_pct(ch['calibration']['decided'])} decided, {_pct(ch['calibration']['right'])} "
        "right).",
        "",
        f"Chosen on every family (what `DEFAULT_MARGINS` should be): "
        f"({record['choice_all_families']['lo']:g}, {record['choice_all_families']['hi']:g}).",
        "",
        f"**Held-out family {hold}**: {_pct(record['holdout_summary']['decided'])} decided, "
        f"{_pct(record['holdout_summary']['right'])} of the decided right "
        f"({record['holdout_summary']['wrong']} wrong of "
        f"{record['holdout_summary']['verdicts']}).",
        "",
        "Leave-one-family-out (margins chosen on the other families, reported on this one):",
        "",
        "| family | margins | decided | right |",
        "|---|---|---|---|",
    ]
    for fam, v in record["leave_one_out"].items():
        lines.append(f"| {fam} | ({v['lo']:g}, {v['hi']:g}) | {_pct(v['decided'])} | "
                     f"{_pct(v['right'])} |")  # fmt: skip
    lines += ["", "At the chosen margins:", ""]
    for col, title in (("family", "family"), ("r_bin", "r"), ("data", "data"),
                       ("samples", "samples / context"), ("learner", "learner"),
                       ("pair", "pair"), ("field", "verdict")):  # fmt: skip
        lines += _table(title, tabs[col]) + [""]
    lines += ["## k̂ against the truth's k", ""]
    lines += ["| cell, pair | k | k̂ (each pair) | equal | above |", "|---" * 5 + "|"]
    for key, v in record["k"].items():
        lines.append(f"| {key} | {v['k_true']} | {v['k_hat']} | {_pct(v['equal'])} | "
                     f"{_pct(v['above'])} |")  # fmt: skip
    lines += ["", "![reliability](figures/reliability.png)", ""]
    return "\n".join(lines)
