"""DIR/report.md and DIR/results.json of a reproduction (both written atomically).

results.json: {"claims": [{"id", "title", "statement", "verdict", "reasons", "checks",
"evidence", ...}], "mode", "thresholds", "worlds", "runs", "versions", "seconds"}.
report.md: one section per claim: statement, figure, key numbers, verdict with the
checks (value, threshold, role) it was computed from.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from simident.util.io import to_json, write_json, write_text


def _fmt(x) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
            return f"{x:.3e}"
        return f"{x:.6f}".rstrip("0").rstrip(".") if abs(x) < 1 else f"{x:.4g}"
    if isinstance(x, (list, tuple)):
        return ", ".join(_fmt(v) for v in x)
    return str(x)


def _cell(c) -> str:
    text = c if isinstance(c, str) else _fmt(c)
    return text.replace("|", "\\|")


def _table(header, rows) -> list[str]:
    lines = [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return lines


def render(results: list, meta: dict) -> str:
    """The text of report.md."""
    th = meta["thresholds"]
    lines = [
        "# simident reproduction report",
        "",
        f"Mode **{meta['mode']['name']}**, {meta['mode']['seeds']} table seeds per "
        f"configuration, total time {meta['seconds']:.0f} s "
        f"({meta['versions'].get('backend', '?')}, jax {meta['versions'].get('jax', '?')}, "
        f"x64 {meta['versions'].get('x64')}).",
        "",
        "| claim | verdict |",
        "|---|---|",
    ]
    for c in results:
        lines.append(f"| {c['id']}. [{c['title']}](#claim-{c['id']}) | **{c['verdict']}** |")
    lines += [
        "",
        "Verdicts are computed from the numbers by `simident.claims.verdicts`: a claim is "
        "*inconclusive* when a precondition fails (e.g. a trained model's KL gap is too large "
        "for the test to mean anything), *refuted* when a consequence of the claim fails its "
        'threshold, *confirmed* otherwise. Worst cases are used: "every seed" is checked '
        "on the worst seed.",
        "",
        "## Thresholds",
        "",
    ]
    resume = meta.get("resume")
    if resume and (resume["reused_claims"] or resume["reused_cells"]):
        lines[-3:-3] = [
            f"Resumed: claim(s) {_fmt(resume['reused_claims']) or 'none'} and "
            f"{resume['reused_cells']} trained cell(s) were reused from earlier work in "
            f"this folder; {resume['trained_cells']} cell(s) trained now.",
            "",
        ]
    lines += _table(["name", "value"], [[k, v] for k, v in th.items()])
    lines += ["", "## Worlds", ""]
    lines += _table(
        ["role", "world id", "n contexts", "V", "d*", "dim E", "dim U", "k"],
        [
            [w["role"], w["world_id"], w["n"], w["V"], w["d"], w["dim_E"], w["dim_U"], w["k"]]
            for w in meta["worlds"]
        ],
    )
    for c in results:
        lines += [
            "",
            f'<a id="claim-{c["id"]}"></a>',
            f"## Claim {c['id']}: {c['title']}",
            "",
            f"> {c['statement']}",
            "",
        ]
        lines += [f"**Verdict: {c['verdict']}**", ""]
        if c.get("mode") not in (None, meta["mode"]) or c.get("thresholds") not in (None, th):
            lines += [
                f"*From an earlier run with other settings: mode {c['mode']['name']}, "
                f"{c['mode']['seeds']} table seeds (recorded in claims/claim{c['id']}/"
                "results.json).*",
                "",
            ]
        for r in c["reasons"]:
            lines.append(f"- {r}")
        lines.append("")
        for fig in c["figures"]:
            lines += [f"![claim {c['id']}]({fig})", ""]
        lines += ["Key numbers:", ""]
        lines += _table(
            ["quantity", "value", "unit / meaning"],
            [[k["label"], k["value"], k["unit"]] for k in c["key_numbers"]],
        )
        lines += ["", "Checks (value is a worst case over the models named in *where*):", ""]
        lines += _table(
            ["check", "role", "value", "test", "passed", "where", "meaning"],
            [
                [
                    ch["name"],
                    ch["role"],
                    ch["value"],
                    f"{ch['op']} {_fmt(ch['threshold'])}",
                    ch["passed"],
                    ch["where"],
                    ch["statement"],
                ]
                for ch in c["checks"]
            ],
        )
        for caption, header, rows in c.get("tables", []):
            lines += ["", f"*{caption}*", ""]
            lines += _table(header, rows)
        if c["notes"]:
            lines += [""]
            lines += [f"- {n}" for n in c["notes"]]
    lines += [
        "",
        "## Runs",
        "",
    ]
    lines += _table(
        ["world", "run", "seeds", "max mean KL (nats)", "steps", "seconds"],
        [
            [r["world"], r["label"], r["seeds"], r["kl_mean_max"], r["steps"], r["seconds"]]
            for r in meta["runs"]
        ],
    )
    lines += [
        "",
        "Trained models (weights included) are kept in `cache/`, the worlds under "
        "`worlds/`; `simident embed DIR/<entry> --point <point> --out D` writes a run's "
        "seed files in the `simident compare` format (entry and point: results.json, "
        "`runs`).",
        "",
    ]
    return "\n".join(lines)


CLAIM_META = ("key", "thresholds", "mode", "worlds", "runs", "versions")


def claim_record(result, meta: dict) -> dict:
    """The self-describing record of one claim (DIR/claims/claimN/results.json): the
    claim's result with its tables, plus `meta` (CLAIM_META: its content key, thresholds,
    mode, worlds, runs and versions)."""
    c = result.to_dict()
    c["tables"] = [{"caption": cap, "header": h, "rows": rows} for cap, h, rows in result.tables]
    return {**c, **{k: meta[k] for k in CLAIM_META}}


def claim_path(out, claim_id: int) -> Path:
    return Path(out) / "claims" / f"claim{claim_id}" / "results.json"


def write_claim(out, record: dict) -> Path:
    path = claim_path(out, record["id"])
    write_json(path, record)
    return path


def read_claims(out) -> list[dict]:
    """Every claim record in DIR/claims/, by claim id."""
    from simident.util.io import read_json

    records = []
    for path in sorted(Path(out).glob("claims/claim*/results.json")):
        rec = read_json(path, "claim record")
        if isinstance(rec, dict) and "id" in rec and "verdict" in rec:
            records.append(rec)
    return sorted(records, key=lambda r: r["id"])


def _union(items, key) -> list:
    seen, out = set(), []
    for it in items:
        k = key(it)
        if k not in seen:
            seen.add(k)
            out.append(it)
    return out


def _run_id(run: dict) -> tuple:
    """Where a run's models are: (cache entry, grid point); a record from before the
    store kept weights names its folder instead."""
    return str(run.get("entry") or run.get("folder")), int(run.get("point") or 0)


def write(out, meta: dict) -> tuple[Path, Path]:
    """Rebuild results.json and report.md of `out` from every claim record present (each
    claim with its own settings); `meta` describes this invocation (mode, thresholds,
    versions, timings, seconds, resume). Returns their paths."""
    out = Path(out)
    records = read_claims(out)
    claims = [
        {k: v for k, v in r.items() if k not in ("worlds", "runs", "versions")} for r in records
    ]
    worlds = _union(
        [w for r in records for w in r.get("worlds", [])], lambda w: (w["role"], w["world_id"])
    )
    runs = _union([x for r in records for x in r.get("runs", [])], _run_id)
    combined = {**meta, "worlds": worlds, "runs": sorted(runs, key=_run_id)}
    write_json(out / "results.json", {"claims": claims, **combined})
    combined = json.loads(to_json(combined))  # tuples → lists: compares with the records
    for c in claims:
        c["tables"] = [(t["caption"], t["header"], t["rows"]) for t in c.get("tables", [])]
    write_text(out / "report.md", render(claims, combined))
    return out / "report.md", out / "results.json"
