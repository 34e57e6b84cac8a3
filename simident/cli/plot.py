"""`simident plot DIR [--x NAME] [--y NAME] [--kind heatmap|line|scatter] [--hue NAME]`:
figures of a sweep's results, written to DIR/plots/.

Without --y (or with two swept axes): one heatmap per metric over two swept axes
(default: the first two with several values), one panel per combination of the others.
With --y METRIC: the metric against --x (a swept axis: a line of means with min–max bars;
any other column, e.g. kl_a or logit_residual: a scatter of seed pairs), one colour per
value of --hue. --kind truth (language sweeps; also drawn by default): the seeds' D3
residuals to the truth and their verdict agreement against each swept axis. See
docs/sweep.md.
"""

from __future__ import annotations


def configure(p) -> None:
    p.add_argument("dir", metavar="DIR", help="a `simident sweep` output folder")
    p.add_argument(
        "--x", default=None, metavar="NAME", help="x: a swept axis (e.g. learner.d) or a column"
    )
    p.add_argument(
        "--y",
        default=None,
        metavar="NAME",
        help="y: a metric (e.g. identified_r2), or a swept axis for heatmaps",
    )
    p.add_argument(
        "--kind",
        default=None,
        choices=("heatmap", "line", "scatter", "truth"),
        help="default: heatmap without --y metric (and, for language sweeps, truth); line "
        "against a swept axis; else scatter; truth: D3 residuals and verdict agreement "
        "against each swept axis (language sweeps)",
    )
    p.add_argument("--hue", default=None, metavar="NAME", help="one colour per value of NAME")


def run(args) -> int:
    from simident.sweeps.plot import plot_sweep

    paths = plot_sweep(args.dir, x=args.x, y=args.y, kind=args.kind, hue=args.hue)
    for p in paths:
        print(p)
    return 0
