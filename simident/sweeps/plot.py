"""Figures of a finished (or partly finished) sweep, drawn from its table (`table.load`).

heatmap (default)  one PNG per metric: the metric's mean over a cell's seed pairs over two
                   swept axes, one panel per combination of the other swept axes (facets)
line               a metric (--y) against a swept axis or a column (--x): the mean over
                   the seed pairs and the other axes, bars from the min to the max, one
                   line per value of --hue
scatter            a metric against any column (e.g. kl_a, logit_residual): one point per
                   seed pair, coloured by --hue
truth              sweeps over process worlds with predictions (language): per swept axis,
                   the seeds' D3 residuals to the truth (predicted to hold: the largest;
                   predicted to fail: the smallest) with the pairs' decision band, and the
                   share of D3 statuses decided and of decided statuses agreeing with W2,
                   against that axis with the other axes at their first values (the
                   one-axis-at-a-time reading); drawn by default when the table has them

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
from simident.util.plotting import THRESHOLD_STYLE, label_cells, new_figure, save

KINDS = ("heatmap", "line", "scatter", "truth")
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
    default = kind is None and x is None and y is None and hue is None
    if kind is None:  # y a metric: line against a swept axis, else scatter
        kind = "heatmap" if y is None or y in axes else ("line" if x in axes else "scatter")
    if kind == "truth":
        if y is not None or hue is not None:
            raise SimidentError("--kind truth: takes only --x (a swept axis; default: each)")
        return _truth_plots(out, df, axis_values, x, title, required=True)
    if kind == "heatmap":
        if hue is not None:
            raise SimidentError("--hue: only for --kind line or scatter")
        paths = _heatmaps(out, df, axis_values, x, y, title)
        if default:
            paths += _truth_plots(out, df, axis_values, None, title, required=False)
        return paths
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


TRUTH_COLUMNS = (
    "d3_residual_predicted_max",
    "d3_residual_unpredicted_min",
    "d3_decided",
    "verdict_agreement",
)
BAND_COLUMNS = ("d3_band_lower_min", "d3_band_upper_max")


def has_truth(df) -> bool:
    """Whether a sweep table carries the seeds-against-truth columns with any number."""
    return all(c in df.columns for c in TRUTH_COLUMNS) and bool(
        df[list(TRUTH_COLUMNS)].notna().any().any()
    )


def _at_first(df, axis_values: dict, x: str):
    """The table's rows whose swept axes other than x hold their first value."""
    keep = np.ones(len(df), dtype=bool)
    for name, values in axis_values.items():
        if name != x and values:
            keep &= (df[name].map(_norm) == _norm(values[0])).to_numpy()
    return df[keep]


def _truth_plots(out: Path, df, axis_values: dict, x, title: str, required: bool) -> list:
    """DIR/plots/truth_vs_<axis>.png per swept axis (or only `x`): see the module
    docstring. The columns are per cell (every seed pair of a cell carries the same), so
    one point per cell; bars span the cell's seeds' band [min lower, max upper]."""
    if not has_truth(df):
        if required:
            raise SimidentError(
                "--kind truth: this sweep has no seeds-against-truth columns (only sweeps "
                'over process worlds with predictions, e.g. kind = "language", have them)'
            )
        return []
    names = [n for n, v in axis_values.items() if len(v) > 1] or list(axis_values)
    if x is not None:
        if x not in axis_values:
            raise SimidentError(
                f"--x {x!r}: not a swept axis of this sweep; valid: {', '.join(axis_values)}"
            )
        names = [x]
    paths = []
    for axis in names:
        part = _at_first(df, axis_values, axis)
        cells = part.groupby(part[axis].map(_norm), sort=False).first()
        pos, numeric = _positions(axis_values[axis])
        keys = [k for k in pos if k in cells.index]
        if not keys:
            continue
        c = cells.loc[keys]
        xs = np.array([pos[k] for k in keys])
        fig, (a, b) = new_figure(1, 2, figsize=(10.5, 4.0), layout="constrained")
        floor = 1e-16
        banded = all(col in c.columns for col in BAND_COLUMNS)
        if banded and c[list(BAND_COLUMNS)].notna().any().any():
            lo = np.clip(c[BAND_COLUMNS[0]].to_numpy(float), floor, None)
            hi = np.clip(c[BAND_COLUMNS[1]].to_numpy(float), floor, None)
            a.fill_between(xs, lo, hi, color="0.85", step="mid", label="decision band")
        for col, mark, lab in (
            ("d3_residual_predicted_max", "o-", "W2 predicts D3: largest residual"),
            ("d3_residual_unpredicted_min", "x--", "W2 predicts no D3: smallest residual"),
        ):
            ys = c[col].to_numpy(float)
            if np.isfinite(ys).any():
                a.plot(xs, np.clip(ys, floor, None), mark, label=lab)
        a.axhline(1.0, **THRESHOLD_STYLE, label="1 (no fit; a band above decides nothing)")
        a.set_yscale("log")
        a.set_ylabel("D3 residual in the seeds' logits (relative; 0 = exact)")
        a.set_title("D3 residual against the truth's prediction", fontsize=9)
        a.legend(fontsize=7)
        for col, mark, lab in (
            ("d3_decided", "s-", "share of D3 statuses decided"),
            ("verdict_agreement", "o--", "decided statuses agreeing with W2"),
        ):
            b.plot(xs, c[col].to_numpy(float), mark, label=lab)
        b.set_ylim(-0.05, 1.05)
        b.set_ylabel("fraction (seeds × queries)")
        b.set_title("verdicts: decided and in agreement", fontsize=9)
        b.legend(fontsize=7)
        others = [f"{n} = {v[0]}" for n, v in axis_values.items() if n != axis and v]
        wide = numeric and xs.min() > 0 and xs.max() >= 10 * xs.min()  # e.g. 1, 0.1, 0.01
        for ax in (a, b):
            ax.set_xlabel(axis)
            if wide:
                ax.set_xscale("log")
            if not numeric:
                ax.set_xticks(list(pos.values()), [str(v) for v in axis_values[axis]])
        fig.suptitle(
            f"{title}: seeds against the truth along {axis}"
            + (f" ({', '.join(others)})" if others else ""),
            fontsize=9,
        )
        path = out / "plots" / f"truth_vs_{_slug(axis)}.png"
        save(fig, path, bbox_inches=None)
        paths.append(path)
    return paths


def _slug(name: str) -> str:
    """A swept axis as a file-name part (attributes[1] → attributes1)."""
    return "".join(ch for ch in name if ch.isalnum() or ch in "._-")


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
