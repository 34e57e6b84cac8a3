"""Figure helpers shared by the claims' figures and `simident plot`: standalone
matplotlib `Figure`s (no pyplot state, the user's backend untouched; `Figure.savefig`
renders with the Agg canvas), saving, the threshold line style, and value labels on a
heatmap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

THRESHOLD_STYLE = dict(color="crimson", linestyle="--", linewidth=1)


def new_figure(nrows: int = 1, ncols: int = 1, **kw):
    """A standalone Figure and its axes grid (`figsize`, `layout` go to the Figure, the
    rest to `subplots`)."""
    from matplotlib.figure import Figure

    figure_kw = {k: kw.pop(k) for k in ("figsize", "layout") if k in kw}
    fig = Figure(**figure_kw)
    return fig, fig.subplots(nrows, ncols, **kw)


def save(fig, path, **kw) -> str:
    """Write `fig` at `path` (PNG unless its suffix says otherwise), atomically (folders
    created; default dpi 110, tight box); a failed write names `path`."""
    from simident.util.io import atomic_write

    path = Path(path)
    options = {"dpi": 110, "bbox_inches": "tight", "format": path.suffix[1:] or "png", **kw}
    atomic_write(path, lambda fh: fig.savefig(fh, **options))
    return str(path)


def label_cells(ax, Z, fontsize: int, dark_below: float) -> None:
    """Write each finite value of the heatmap Z (rows = y) in its cell, white on dark."""
    Z = np.asarray(Z, dtype=float)
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            if np.isfinite(Z[i, j]):
                ax.text(
                    j,
                    i,
                    f"{Z[i, j]:.3f}",
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color="white" if Z[i, j] < dark_below else "black",
                )
