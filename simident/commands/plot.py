"""`simident plot DIR [--x AXIS] [--y AXIS]`: heatmaps of a sweep's results.

One PNG per metric in DIR/plots/: identified and full-space R² between seeds, the size of
the free parts, and the fraction of planted properties held by both seeds of a pair, over
two swept axes (default: the first two with several values), one panel per combination of
the other swept axes.
"""

from __future__ import annotations


def configure(p) -> None:
    p.add_argument("dir", metavar="DIR", help="a `simident sweep` output folder")
    p.add_argument("--x", default=None, metavar="AXIS", help="x axis, e.g. learner.d")
    p.add_argument("--y", default=None, metavar="AXIS", help="y axis, e.g. world.rank_E")


def run(args) -> int:
    from simident.sweeps.plot import plot_sweep

    paths = plot_sweep(args.dir, x=args.x, y=args.y)
    for p in paths:
        print(p)
    return 0
