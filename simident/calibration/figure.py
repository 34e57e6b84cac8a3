"""The calibration figure: the decided/right trade-off over the margin grid (the chosen
pair marked), and the share decided and right by family and by r-bin at the choice."""

from __future__ import annotations

from pathlib import Path


def draw(V, grid, choice: dict, tabs: dict, path: Path) -> Path:
    from simident.calibration.reliability import by_margin
    from simident.util.plotting import new_figure, save

    fig, axes = new_figure(1, 3, figsize=(15, 4.2), layout="constrained")
    ax = axes[0]
    for fam, g in V.groupby("family"):
        rows = by_margin(g)
        ax.scatter([r["decided"] for r in rows], [r["right"] for r in rows], s=12, label=fam)
    rows = by_margin(V)
    m = choice["margin"]
    ax.scatter([rows[m]["decided"]], [rows[m]["right"]], s=120, facecolors="none",
               edgecolors="k", label=f"chosen ({grid[m][0]:g}, {grid[m][1]:g}), all")  # fmt: skip
    ax.axhline(0.99, color="grey", ls=":", lw=1)
    ax.set_xlabel("share of verdicts decided")
    ax.set_ylabel("share of decided verdicts right")
    ax.set_title("every margin pair (lo, hi) of the grid")
    ax.legend(fontsize=7)
    for ax, col, title in ((axes[1], "family", "by world family"), (axes[2], "r_bin", "by r")):
        items = list(tabs[col].items())
        x = range(len(items))
        ax.bar([i - 0.2 for i in x], [v["decided"] for _, v in items], 0.4, label="decided")
        ax.bar([i + 0.2 for i in x], [v["right"] for _, v in items], 0.4, label="right | decided")
        ax.set_xticks(list(x), [k for k, _ in items], rotation=20, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.axhline(0.99, color="grey", ls=":", lw=1)
        ax.set_title(f"at the chosen margins, {title}")
        ax.legend(fontsize=7)
    return save(fig, path)
