"""What the claims' figures share (matplotlib `Figure` objects, no pyplot, imported
lazily): a standalone figure, saving, the threshold style, and the two plot kinds used
by more than one claim (1 − R² and residual strips). Each claim module draws its own
figures with these. Every axis is labelled with its quantity and unit; R², |cos| and
relative residuals are dimensionless.
"""

from __future__ import annotations

import numpy as np

from simident.util.plotting import THRESHOLD_STYLE, new_figure, save


def integer_x(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def one_minus_r2(panels, thr: float, path, title: str, ylabel: str) -> str:
    """Claims 4/5. panels: [(panel title, [(series label, xs, values, marker)], truth)] with
    values R² plotted as 1 − R² on a log axis; truth: {label: R²} drawn as lines."""
    fig, axs = new_figure(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
    for ax, (name, series, truth) in zip(axs[0], panels):
        for j, (label, xs, vals, marker) in enumerate(series):
            y = np.clip(1.0 - np.asarray(vals, dtype=float), 1e-16, None)
            ax.scatter(xs, y, s=18, marker=marker, color=f"C{j}", label=label)
        for j, (label, r2) in enumerate((truth or {}).items()):
            ax.axhline(
                max(1.0 - r2, 1e-16), color=f"C{j + 5}", linewidth=1.5, linestyle=":", label=label
            )
        ax.axhline(1.0 - thr, **THRESHOLD_STYLE, label=f"threshold R² = {thr:g}")
        ax.set_yscale("log")
        ax.set_ylim(3e-17, 2.0)  # exact values (1 − R² ≤ 1e-16) sit on the bottom line
        ax.set_xlabel("learner dimension d (○ table, △ transformer)")
        integer_x(ax)
        ax.set_ylabel(ylabel)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def residuals(panels, thr: float, path, title: str, ylabel: str) -> str:
    """Claim 5 steering: panels [(title, [(label, xs, residuals, marker)])], log axis."""
    fig, axs = new_figure(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
    for ax, (name, series) in zip(axs[0], panels):
        for j, (label, xs, vals, marker) in enumerate(series):
            y = np.clip(np.asarray(vals, dtype=float), 1e-16, None)
            ax.scatter(xs, y, s=18, marker=marker, color=f"C{j}", label=label)
        ax.axhline(thr, **THRESHOLD_STYLE, label=f"threshold {thr:g}")
        ax.set_yscale("log")
        ax.set_ylim(1e-16, 2.0)
        ax.set_xlabel("dimension d of the target model (○ table, △ transformer)")
        integer_x(ax)
        ax.set_ylabel(ylabel)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)
