"""`simident reproduce [--quick] --out DIR [--overwrite] [--seeds N]`: run the seven claims
of THEORY.md (§2-§4) end to end on models trained from scratch and write DIR/report.md,
DIR/results.json and DIR/figures/*.png. Verdicts are computed from the numbers.

A rerun with the same arguments resumes: finished training programs (DIR/cache/) and
claim results (DIR/claims/) are reused. --overwrite builds the new outputs in a staging
folder beside DIR and swaps it in only when they are complete (docs/reproduce.md).
"""

from __future__ import annotations

import argparse


def configure(p) -> None:
    from simident.cli.jobs import add_option as add_jobs_option

    p.add_argument(
        "--quick",
        action="store_true",
        help="small shipped worlds, 4 seeds, small transformers (a few minutes)",
    )
    p.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # tests only
    p.add_argument("--out", metavar="DIR", required=True, help="output folder")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="recompute and replace the outputs of the claims run (DIR keeps its old "
        "results until the new ones are complete; other claims' results are kept)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="table seeds per configuration (default: 4 quick, 6 full; ≥ 2)",
    )
    p.add_argument(
        "--only",
        default=None,
        metavar="IDS",
        help="run only these claims, e.g. 1,3 (default: all seven)",
    )
    add_jobs_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args) -> int:
    from simident.claims.config import MODES
    from simident.claims.run import run_all
    from simident.util.env import enable_x64
    from simident.util.errors import SimidentError

    if args.quick and args.tiny:
        raise SimidentError("--quick and --tiny exclude each other")
    if args.seeds is not None and not 2 <= args.seeds <= 2**16:
        raise SimidentError(
            f"--seeds {args.seeds}: need at least 2 (claims compare seed pairs) and at most 2^16"
        )
    only = None
    if args.only:
        try:
            only = sorted({int(x) for x in args.only.split(",") if x.strip()})
        except ValueError:
            raise SimidentError(f"--only {args.only!r}: expected claim ids like 1,3") from None
    enable_x64()
    mode = MODES["tiny" if args.tiny else "quick" if args.quick else "full"]
    if args.seeds is not None:
        mode = mode.with_seeds(args.seeds)
    result = run_all(
        mode,
        args.out,
        overwrite=args.overwrite,
        verbose=not args.quiet,
        only=only,
        jobs=args.jobs,
    )
    print(f"report: {result['report']}")
    resume = result["resume"]
    if resume["reused_claims"] or resume["reused_cells"]:
        print(
            f"resumed: reused claim(s) {resume['reused_claims'] or 'none'} and "
            f"{resume['reused_cells']} trained cell(s); trained "
            f"{resume['trained_cells']}"
        )
    for c in result["claims"]:
        print(f"  claim {c['id']}: {c['verdict']:<12} {c['title']}")
    print(f"total {result['seconds']:.0f}s")
    return 0
