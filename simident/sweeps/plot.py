"""Heatmaps of a finished (or partly finished) sweep: one PNG per metric, the metric's
mean over a cell's seed pairs over two swept axes, one panel per combination of the other
swept axes (facets).

Metrics: identified_r2 and full_r2 (pairwise R², THEORY.md E4/E6), free_f (mean relative
norm of the seeds' context-side free parts), and for each planted property group
`<group>_shared` (fraction of seed pairs × properties held by both seeds).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from simident.errors import SimidentError
from simident.sweeps.evaluate import GROUPS

METRICS = {
    "identified_r2": "identified-part R² between seeds (1 = same canonical coordinates)",
    "full_r2": "full-space affine R² between seeds, min of both directions",
    "free_f": "context-side free part ‖F_free‖/‖F‖ (mean over seeds)",
}
GROUP_LABELS = {
    "parallel": "parallel unembedding differences held by both seeds (fraction)",
    "relational_ic": "relations with inclusion condition held by both seeds (fraction)",
    "relational_noic": "relations without inclusion condition held by both seeds (fraction)",
    "probe_visible": "visible probes held by both seeds (fraction)",
    "probe_invisible": "invisible probes held by both seeds (fraction)",
}


def _value(row: dict, metric: str) -> float:
    if metric == "free_f":
        return 0.5 * (row["free_f_a"] + row["free_f_b"])
    return row.get(metric, float("nan"))


def cell_means(rows: list[dict], metric: str) -> dict[int, float]:
    acc: dict[int, list] = {}
    for r in rows:
        v = _value(r, metric)
        if isinstance(v, float) and not math.isnan(v):
            acc.setdefault(int(r["cell"]), []).append(v)
    return {c: float(np.mean(v)) for c, v in acc.items()}


def plot_sweep(out, x: str | None = None, y: str | None = None) -> list[Path]:
    """Draw DIR/plots/<metric>.png for every metric with data; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simident.sweeps.grid import cells
    from simident.sweeps.spec import SweepSpec
    from simident.sweeps.store import TABLE_FILE, SweepStore, read_table

    out = Path(out)
    store = SweepStore(out)
    if not (out / "sweep.json").is_file():
        raise SimidentError(f"{out}: not a sweep folder (no sweep.json)")
    record = store.record()
    spec = SweepSpec.from_dict(_source_of(record))
    cell_list = cells(spec)
    rows = read_table(out / TABLE_FILE)
    if not rows:
        raise SimidentError(f"{out / TABLE_FILE}: no finished cells yet")
    axes = [(n, list(v)) for n, v in spec.axes if len(v) > 1]
    names = [n for n, _ in axes]
    for given in (x, y):
        if given is not None and given not in names:
            raise SimidentError(
                f"--x/--y {given!r}: not a swept axis with several values "
                f"({', '.join(names) or 'none'})"
            )
    rest = [n for n in names if n not in (x, y)]
    x = x or (rest.pop(0) if rest else None)
    y = y or (rest.pop(0) if rest else None)
    values = dict(axes)
    xs = values.get(x, [None])
    ys = values.get(y, [None])
    facets = list(itertools.product(*[values[n] for n in rest])) or [()]

    metrics = dict(METRICS)
    for g in GROUPS:
        if any(r.get(f"{g}_n", 0) and r[f"{g}_n"] > 0 for r in rows):
            metrics[f"{g}_shared"] = GROUP_LABELS[g]

    def index_of(vals: dict):
        for c in cell_list:
            if all(str(c.values.get(k)) == str(v) for k, v in vals.items() if k is not None):
                return c.index
        return None

    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric, label in metrics.items():
        means = cell_means(rows, metric)
        if not means:
            continue
        ncol = min(len(facets), 4)
        nrow = -(-len(facets) // ncol)
        pw = max(3.0, 0.9 * len(xs) + 1.6)
        ph = max(2.6, 0.7 * len(ys) + 1.8)
        fig, axs = plt.subplots(
            nrow,
            ncol,
            figsize=(pw * ncol + 1.2, ph * nrow + 0.6),
            squeeze=False,
            layout="constrained",
        )
        vmin = 0.0
        im = None
        for fi, facet in enumerate(facets):
            ax = axs[fi // ncol][fi % ncol]
            Z = np.full((len(ys), len(xs)), np.nan)
            for i, yv in enumerate(ys):
                for j, xv in enumerate(xs):
                    sel = {x: xv, y: yv, **dict(zip(rest, facet))}
                    idx = index_of(sel)
                    if idx is not None and idx in means:
                        Z[i, j] = means[idx]
            im = ax.imshow(Z, vmin=vmin, vmax=1.0, cmap="viridis", origin="lower", aspect="auto")
            for i in range(len(ys)):
                for j in range(len(xs)):
                    if np.isfinite(Z[i, j]):
                        ax.text(
                            j,
                            i,
                            f"{Z[i, j]:.3f}",
                            ha="center",
                            va="center",
                            fontsize=7,
                            color="white" if Z[i, j] < 0.6 else "black",
                        )
            ax.set_xticks(range(len(xs)), [str(v) for v in xs])
            ax.set_yticks(range(len(ys)), [str(v) for v in ys])
            ax.set_xlabel(x or "(no swept axis)")
            if fi % ncol == 0:
                ax.set_ylabel(y or "(single row)")
            if rest:
                ax.set_title("\n".join(f"{n} = {v}" for n, v in zip(rest, facet)), fontsize=8)
        for fi in range(len(facets), nrow * ncol):
            axs[fi // ncol][fi % ncol].axis("off")
        fig.suptitle(f"{spec.name}: {label}", fontsize=9)
        if im is not None:
            cb = fig.colorbar(im, ax=axs.ravel().tolist(), shrink=0.8)
            cb.set_label(f"{metric} (dimensionless, cell mean)")
        path = plots / f"{metric}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _source_of(record: dict) -> dict:
    """The spec dict a SweepSpec can be rebuilt from (the normalised form)."""
    s = dict(record["spec"])
    grid = s.pop("grid", {})
    return {**s, "grid": grid}
