"""`simident calibrate --out DIR [--mode quick|full] [--holdout FAMILY]`: how often are
compare's decided verdicts right? Trains every cell of the study (world families ×
samples per context × shared/independent data × learner, resumable), scores every decided
verdict against the truth, chooses the band margins on all families but the held-out one
and reports on it: DIR/report.md, calibration.json, comparisons.csv, verdicts.csv,
figures/reliability.png.
"""

from __future__ import annotations

from pathlib import Path


def configure(p) -> None:
    from simident.calibration.plan import FAMILIES, HOLDOUT, MODES
    from simident.cli.jobs import add_option as add_jobs_option

    p.add_argument("--out", metavar="DIR", required=True, help="study folder (reruns resume)")
    p.add_argument("--mode", choices=sorted(MODES), default="quick", help="default quick")
    p.add_argument(
        "--holdout",
        choices=sorted(FAMILIES),
        default=HOLDOUT,
        help=f"the family the margins are not chosen on (default {HOLDOUT})",
    )
    p.add_argument("--list", action="store_true", help="print the cells and stop")
    add_jobs_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress output")


def run(args) -> int:
    from simident.calibration.plan import FAMILIES, MARGIN_GRID, plan
    from simident.calibration.study import run_study

    cells = plan(args.mode)
    if args.list:
        for i, c in enumerate(cells):
            print(f"{i:3d}  {c.label}")
        return 0
    from simident.util.io import check_resumable

    out = Path(args.out)
    check_resumable(out, "calibration study", ("calibration.json", "cells", "cache"))
    C, V, info = run_study(cells, out, progress=not args.quiet, jobs=args.jobs)
    record = summarize(C, V, info, args.mode, args.holdout, list(FAMILIES), MARGIN_GRID, out)
    ch, hs = record["choice"], record["holdout_summary"]
    print(
        f"chosen margins ({ch['lo']:g}, {ch['hi']:g}); held-out {args.holdout}: "
        f"{100 * hs['decided']:.1f}% decided, {100 * hs['right']:.2f}% of them right; "
        f"report: {out / 'report.md'}"
    )
    return 0


def summarize(C, V, info, mode, holdout, families, grid, out: Path) -> dict:
    """Choose the margins, build the tables, write every output of the study."""
    from simident.calibration import reliability as R
    from simident.calibration.figure import draw
    from simident.calibration.report import markdown
    from simident.calibration.study import write_csv
    from simident.util.env import versions
    from simident.util.io import atomic_write, write_json

    choice = R.choose_margins(V, grid, holdout)
    choice_all = R.choose_margins(V, grid, None)  # every family: the library's default
    loo = {}
    for fam in families:
        if fam in set(V["family"]):
            c = R.choose_margins(V, grid, fam)
            on = V[(V["family"] == fam) & (V["margin"] == c["margin"])]
            loo[fam] = {"lo": c["lo"], "hi": c["hi"], **R.summary(on)}
    tabs = R.tables(V, choice["margin"])
    held = V[(V["family"] == holdout) & (V["margin"] == choice["margin"])]
    record = {
        "mode": mode,
        "families": families,
        "holdout": holdout,
        "margin_grid": [list(m) for m in grid],
        "choice": choice,
        "choice_all_families": choice_all,
        "holdout_summary": R.summary(held),
        "leave_one_out": loo,
        "tables": tabs,
        "by_margin": R.by_margin(V),
        "k": R.k_table(C),
        "run": info,
        "versions": versions(),
    }
    draw(V, grid, choice, tabs, out / "figures" / "reliability.png")
    write_csv(out / "comparisons.csv", C)
    write_csv(out / "verdicts.csv", V)
    write_json(out / "calibration.json", record)
    atomic_write(out / "report.md", lambda fh: fh.write(markdown(record).encode()))
    return record
