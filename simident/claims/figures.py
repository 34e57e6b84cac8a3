"""Figures of the claims (matplotlib `Figure` objects, no pyplot, imported lazily). Every axis is
labelled with its quantity and unit; R², |cos| and relative residuals are dimensionless.

Each function takes plain numbers and writes one PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

THRESHOLD_STYLE = dict(color="crimson", linestyle="--", linewidth=1)


def _figure(nrows: int = 1, ncols: int = 1, **kw):
    """A standalone Figure and its axes grid: no pyplot state, the user's backend untouched
    (Figure.savefig renders with the Agg canvas)."""
    from matplotlib.figure import Figure

    figure_kw = {k: kw.pop(k) for k in ("figsize", "layout") if k in kw}
    fig = Figure(**figure_kw)
    return fig, fig.subplots(nrows, ncols, **kw)


def _save(fig, path) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return str(path)


def pair_matrices(panels, path, title: str) -> str:
    """Claim 1. panels: [(world title, labels, identified R² matrix, full R² matrix)]."""
    fig, axs = _figure(
        len(panels), 2, figsize=(14, 6.0 * len(panels)), squeeze=False, layout="constrained"
    )
    for row, (name, labels, ident, full) in enumerate(panels):
        for col, (M, what) in enumerate(
            (
                (ident, "identified-part R² (T f vs T~ f~)"),
                (full, "full-space affine R² (min of both directions)"),
            )
        ):
            ax = axs[row][col]
            M = np.asarray(M)
            im = ax.imshow(M, vmin=0.5, vmax=1.0, cmap="viridis")
            if len(labels) <= 12:
                for i in range(len(labels)):
                    for j in range(len(labels)):
                        ax.text(
                            j,
                            i,
                            f"{M[i, j]:.3f}",
                            ha="center",
                            va="center",
                            fontsize=6,
                            color="white" if M[i, j] < 0.75 else "black",
                        )
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(labels)), labels, fontsize=6)
            ax.set_xlabel("model B (learner, dimension d, seed)")
            ax.set_ylabel("model A (learner, dimension d, seed)")
            ax.set_title(f"{name}:\n{what}", fontsize=9)
            cb = fig.colorbar(im, ax=ax, shrink=0.7)
            cb.set_label("R² (dimensionless; colours clipped below 0.5)")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def _integer_x(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def free_parts(by_d, grid, path, k: int, title: str) -> str:
    """Claim 2. by_d: {d: dict(f_ratio=[..], g_ratio=[..], full=[..], ident=[..],
    cc_free=[..], cc_id=[..])}; grid: [(label, f_ratios, full_r2s)]."""
    fig, axs = _figure(2, 2, figsize=(11, 8))
    ds = sorted(by_d)
    x = [d - k for d in ds]
    ax = axs[0][0]
    for d, xi in zip(ds, x):
        ax.scatter([xi] * len(by_d[d]["f_ratio"]), by_d[d]["f_ratio"], color="C0", s=18)
        ax.scatter([xi] * len(by_d[d]["g_ratio"]), by_d[d]["g_ratio"], color="C1", s=18, marker="x")
    ax.plot(
        x, [np.mean(by_d[d]["f_ratio"]) for d in ds], color="C0", label="context side ‖F_free‖/‖F‖"
    )
    ax.plot(
        x, [np.mean(by_d[d]["g_ratio"]) for d in ds], color="C1", label="token side ‖Ḡ_free‖/‖Ḡ‖"
    )
    ax.set_xlabel("d − k (free dimensions of the learner)")
    _integer_x(ax)
    ax.set_ylabel("relative norm of the free part (dimensionless)")
    ax.set_title("size of the free parts, one point per seed", fontsize=9)
    ax.legend(fontsize=7)
    ax = axs[0][1]
    for d, xi in zip(ds, x):
        ax.scatter([xi] * len(by_d[d]["full"]), by_d[d]["full"], color="C2", s=18)
        ax.scatter([xi] * len(by_d[d]["ident"]), by_d[d]["ident"], color="C3", s=18, marker="x")
    ax.plot(x, [np.mean(by_d[d]["full"]) for d in ds], color="C2", label="full-space affine R²")
    ax.plot(x, [np.mean(by_d[d]["ident"]) for d in ds], color="C3", label="identified-part R²")
    ax.set_xlabel("d − k")
    _integer_x(ax)
    ax.set_ylabel("R² between two seeds (dimensionless)")
    ax.set_title("agreement between seeds, one point per seed pair", fontsize=9)
    ax.legend(fontsize=7)
    ax = axs[1][0]
    for d, xi in zip(ds, x):
        if by_d[d]["cc_free"]:
            ax.scatter([xi] * len(by_d[d]["cc_free"]), by_d[d]["cc_free"], color="C4", s=18)
        ax.scatter([xi] * len(by_d[d]["cc_id"]), by_d[d]["cc_id"], color="C5", s=18, marker="x")
    base = [(xi, by_d[d].get("cc_random")) for d, xi in zip(ds, x)]
    base = [(xi, b) for xi, b in base if b is not None]
    if base:
        ax.plot(
            [b[0] for b in base],
            [b[1] for b in base],
            color="grey",
            linestyle=":",
            label="two random subspaces of the same size",
        )
        ax.legend(fontsize=7)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("d − k")
    _integer_x(ax)
    ax.set_ylabel("mean canonical correlation (1 = same function of s)")
    ax.set_title(
        "free parts (•) vs identified parts (×) of two seeds, as functions of the context",
        fontsize=9,
    )
    ax = axs[1][1]
    labels = [g[0] for g in grid]
    pos = np.arange(len(grid))
    ax.bar(pos - 0.2, [np.mean(g[1]) for g in grid], 0.4, label="‖F_free‖/‖F‖ (mean over seeds)")
    ax.bar(pos + 0.2, [np.mean(g[2]) for g in grid], 0.4, label="full-space R² (mean over pairs)")
    ax.set_xticks(pos, labels, rotation=20, fontsize=7)
    ax.set_ylabel("dimensionless")
    ax.set_xlabel("implicit bias: init scale, weight decay (learner d = d*)")
    ax.set_title("init scale and weight decay versus the free parts", fontsize=9)
    ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def parallel(configs, thr: float, path, title: str) -> str:
    """Claim 3. configs: [(label, full |cos| list, projected |cos| list, token free ratios)]."""
    fig, axs = _figure(2, 1, figsize=(max(8, 1.0 * len(configs) + 3), 8), sharex=True)
    pos = np.arange(len(configs))
    rng = np.random.default_rng(0)
    ax = axs[0]
    for i, (_, full, proj, _) in enumerate(configs):
        jit = rng.uniform(-0.12, 0.12, size=len(full))
        ax.scatter(
            i - 0.15 + jit, full, s=14, color="C0", label="full: |cos(δ1, δ2)|" if i == 0 else None
        )
        ax.scatter(
            i + 0.15 + rng.uniform(-0.12, 0.12, size=len(proj)),
            proj,
            s=14,
            marker="x",
            color="C1",
            label="projected: |cos(Fδ1, Fδ2)|" if i == 0 else None,
        )
    ax.axhline(thr, **THRESHOLD_STYLE, label=f"threshold {thr:g}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("|cos| (1 = parallel; dimensionless)")
    ax.set_title(
        "planted parallel unembedding differences, one point per seed × quadruple", fontsize=9
    )
    ax.legend(fontsize=7, loc="lower left")
    ax = axs[1]
    for i, (_, _, _, g) in enumerate(configs):
        ax.scatter([i] * len(g), g, s=14, color="C2")
    ax.set_ylabel("token-side free part ‖Ḡ_free‖/‖Ḡ‖")
    ax.set_xticks(pos, [c[0] for c in configs], rotation=30, ha="right", fontsize=7)
    ax.set_xlabel("world, learner (d, weight decay) — one column per configuration")
    ax.set_title("free parts of the unembeddings (⊥ E): what breaks parallelism", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def one_minus_r2(panels, thr: float, path, title: str, ylabel: str) -> str:
    """Claims 4/5. panels: [(panel title, [(series label, xs, values, marker)], truth)] with
    values R² plotted as 1 − R² on a log axis; truth: {label: R²} drawn as lines."""
    fig, axs = _figure(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
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
        _integer_x(ax)
        ax.set_ylabel(ylabel)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def residuals(panels, thr: float, path, title: str, ylabel: str) -> str:
    """Claim 5 steering: panels [(title, [(label, xs, residuals, marker)])], log axis."""
    fig, axs = _figure(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
    for ax, (name, series) in zip(axs[0], panels):
        for j, (label, xs, vals, marker) in enumerate(series):
            y = np.clip(np.asarray(vals, dtype=float), 1e-16, None)
            ax.scatter(xs, y, s=18, marker=marker, color=f"C{j}", label=label)
        ax.axhline(thr, **THRESHOLD_STYLE, label=f"threshold {thr:g}")
        ax.set_yscale("log")
        ax.set_ylim(1e-16, 2.0)
        ax.set_xlabel("dimension d of the target model (○ table, △ transformer)")
        _integer_x(ax)
        ax.set_ylabel(ylabel)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
