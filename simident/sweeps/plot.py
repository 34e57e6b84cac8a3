"""Figures of a finished (or partly finished) sweep, drawn from its table (`table.load`).

heatmap (default)  one PNG per metric: the metric's mean over a cell's seed pairs over two
                   swept axes, one panel per combination of the other swept axes (facets)
line               a metric (--y) against a swept axis or a column (--x): the mean over
                   the seed pairs and the other axes, bars from the min to the max, one
                   line per value of --hue
scatter            a metric against any column (e.g. kl_a, logit_residual): one point per
                   seed pair, coloured by --hue

Default heatmap metrics: identified_r2 and full_r2 (pairwise R², THEORY.md E4/E6), free_f
(mean relative norm of the seeds' context-side free parts), and for each planted property
group `<group>_shared` (fraction of seed pairs × properties held by both seeds). Every
numeric column of the table is a metric for --y (see `table.py`).

Figures are `matplotlib.figure.Figure` objects: no pyplot state, the user's backend is
left alone.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from simident.study.evaluate import GROUPS
from simident.util.errors import SimidentError
from simident.util.plotting import label_cells, new_figure, save

KINDS = ("heatmap", "line", "scatter")
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


def _norm(v):
    """A swept value as a comparable key: numbers as floats, anything else as text."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def metric_names(df, axes) -> list[str]:
    """The numeric columns of a sweep table that can be plotted (all but cell and axes)."""
    from pandas.api.types import is_numeric_dtype

    return [c for c in df.columns if c != "cell" and c not in axes and is_numeric_dtype(df[c])]


def plot_sweep(
    out, x: str | None = None, y: str | None = None, kind: str | None = None, hue=None
) -> list[Path]:
    """Draw DIR/plots/*.png and return the paths. Without x, y and kind: one heatmap per
    default metric over the first two swept axes (see the module docstring)."""
    from simident.sweeps.store import SweepStore
    from simident.sweeps.table import load

    out = Path(out)
    df = load(out)
    if df.empty:
        raise SimidentError(f"{out}: no finished cells yet")
    record = SweepStore(out).record()  # read once: axes and the sweep's name
    axis_values = {name: list(values) for name, values in record.get("axes", [])}
    title = str(record.get("spec", {}).get("name", ""))
    axes = list(axis_values)
    metrics = metric_names(df, axes)
    if kind is not None and kind not in KINDS:
        raise SimidentError(f"--kind {kind!r}: one of {', '.join(KINDS)}")
    if kind is None:  # y a metric: line against a swept axis, else scatter
        kind = "heatmap" if y is None or y in axes else ("line" if x in axes else "scatter")
    if kind == "heatmap":
        if hue is not None:
            raise SimidentError("--hue: only for --kind line or scatter")
        return _heatmaps(out, df, axis_values, x, y, title)
    columns = [*axes, *metrics]
    if y is None or y not in metrics:
        raise SimidentError(
            f"--y {y!r}: not a metric of this sweep; valid: {', '.join(metrics)}"
            if y is not None
            else f"--kind {kind} needs --y METRIC; valid: {', '.join(metrics)}"
        )
    if x is None or x not in columns:
        raise SimidentError(
            f"--x {x!r}: not a swept axis or metric of this sweep; valid: {', '.join(columns)}"
            if x is not None
            else f"--kind {kind} needs --x AXIS; valid: {', '.join(columns)}"
        )
    if hue is not None and hue not in df.columns:
        raise SimidentError(
            f"--hue {hue!r}: not a column of this sweep; valid: {', '.join(columns)}"
        )
    draw = _line if kind == "line" else _scatter
    name = f"{y}_vs_{x}" + (f"_by_{hue}" if hue else "") + f"_{kind}.png"
    path = out / "plots" / name
    save(draw(df, x, y, hue, axis_values, title), path, bbox_inches=None)
    return [path]


def _positions(values) -> tuple[dict, bool]:
    """x positions of swept values: the numbers themselves when all are numbers, else
    their order in the spec."""
    keys = [_norm(v) for v in values]
    if all(isinstance(k, float) for k in keys):
        return {k: k for k in keys}, True
    return {k: float(i) for i, k in enumerate(keys)}, False


def _groups(df, hue):
    if hue is None:
        return [(None, df)]
    return [(value, part) for value, part in df.groupby(hue, sort=True, dropna=False)]


def _line(df, x, y, hue, axis_values, title):
    fig, ax = new_figure(figsize=(6.4, 4.4), layout="constrained")
    values = axis_values.get(x) or sorted(df[x].dropna().unique().tolist())
    pos, numeric = _positions(values)
    for label, part in _groups(df, hue):
        stats = part.groupby(part[x].map(_norm))[y].agg(["mean", "min", "max"]).dropna()
        keys = [k for k in pos if k in stats.index]
        if not keys:
            continue
        s = stats.loc[keys]
        xs = np.array([pos[k] for k in keys])
        ax.errorbar(
            xs,
            s["mean"].to_numpy(),
            yerr=[s["mean"] - s["min"], s["max"] - s["mean"]],
            marker="o",
            capsize=3,
            label=None if hue is None else f"{hue} = {label}",
        )
    if not numeric:
        ax.set_xticks(list(pos.values()), [str(v) for v in values])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{y} (mean over seed pairs; bars min–max)")
    if hue is not None:
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}: {y} against {x}", fontsize=9)
    return fig


def _scatter(df, x, y, hue, axis_values, title):
    fig, ax = new_figure(figsize=(6.4, 4.4), layout="constrained")
    # a swept axis at its values (or, for words, in spec order); any other column as is
    pos, numeric = _positions(axis_values[x]) if x in axis_values else ({}, True)
    for label, part in _groups(df, hue):
        xs = part[x].map(lambda v: pos.get(_norm(v), np.nan)) if pos else part[x]
        ax.scatter(
            np.asarray(xs, dtype=float),
            part[y].to_numpy(dtype=float),
            s=14,
            alpha=0.7,
            label=None if hue is None else f"{hue} = {label}",
        )
    if not numeric:
        ax.set_xticks(list(pos.values()), [str(v) for v in axis_values[x]])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{y} (one point per seed pair)")
    if hue is not None:
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}: {y} against {x}", fontsize=9)
    return fig


def _heatmaps(out: Path, df, axis_values: dict, x, y, title: str) -> list[Path]:
    axes = [(n, v) for n, v in axis_values.items() if len(v) > 1]
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
        if (df[f"{g}_n"].fillna(0) > 0).any():
            metrics[f"{g}_shared"] = GROUP_LABELS[g]
    keyed = df.assign(**{n: df[n].map(_norm) for n in names})
    plots = out / "plots"
    paths = []
    for metric, label in metrics.items():
        means = keyed.groupby(names)[metric].mean() if names else keyed[metric].agg(["mean"])
        if means.dropna().empty:
            continue
        ncol = min(len(facets), 4)
        nrow = -(-len(facets) // ncol)
        pw = max(3.0, 0.9 * len(xs) + 1.6)
        ph = max(2.6, 0.7 * len(ys) + 1.8)
        fig, axs = new_figure(
            nrow,
            ncol,
            figsize=(pw * ncol + 1.2, ph * nrow + 0.6),
            layout="constrained",
            squeeze=False,
        )
        im = None
        for fi, facet in enumerate(facets):
            ax = axs[fi // ncol][fi % ncol]
            Z = np.full((len(ys), len(xs)), np.nan)
            for i, yv in enumerate(ys):
                for j, xv in enumerate(xs):
                    sel = {x: xv, y: yv, **dict(zip(rest, facet))}
                    Z[i, j] = _lookup(means, names, sel)
            im = ax.imshow(Z, vmin=0.0, vmax=1.0, cmap="viridis", origin="lower", aspect="auto")
            label_cells(ax, Z, fontsize=7, dark_below=0.6)
            ax.set_xticks(range(len(xs)), [str(v) for v in xs])
            ax.set_yticks(range(len(ys)), [str(v) for v in ys])
            ax.set_xlabel(x or "(no swept axis)")
            if fi % ncol == 0:
                ax.set_ylabel(y or "(single row)")
            if rest:
                ax.set_title("\n".join(f"{n} = {v}" for n, v in zip(rest, facet)), fontsize=8)
        for fi in range(len(facets), nrow * ncol):
            axs[fi // ncol][fi % ncol].axis("off")
        fig.suptitle(f"{title}: {label}", fontsize=9)
        if im is not None:
            cb = fig.colorbar(im, ax=axs.ravel().tolist(), shrink=0.8)
            cb.set_label(f"{metric} (dimensionless, cell mean)")
        path = plots / f"{metric}.png"
        save(fig, path, bbox_inches=None)
        paths.append(path)
    return paths


def _lookup(means, names, sel: dict) -> float:
    """The mean of the cell with swept values `sel` (NaN when the cell is not done)."""
    if not names:
        return float(means.iloc[0])
    key = tuple(_norm(sel[n]) for n in names)
    key = key[0] if len(names) == 1 else key
    try:
        return float(means.loc[key])
    except KeyError:
        return float("nan")
