"""Reliability of decided verdicts, and the choice of the band margins.

For a margin pair, a verdict is *decided* when compare said True or False, and *right*
when that equals what the truth implies (`verdicts`). The margins are chosen on the
calibration families (every family but the held-out one): among the margin pairs whose
decided verdicts are right at least `TARGET` of the time there, the one deciding the most;
the held-out family then reports how that choice does on a world it was not chosen on.
"""

from __future__ import annotations

import numpy as np

TARGET = 0.995  # share right required on the calibration families
R_BINS = (0.0, 0.05, 0.1, 0.2, 0.4, np.inf)


def summary(V) -> dict:
    """n (verdicts), decided share, right share of the decided, wrong count."""
    n = int(len(V))
    dec = V["decided"].notna()
    nd = int(dec.sum())
    right = int((V.loc[dec, "decided"] == V.loc[dec, "truth"]).sum())
    return {
        "verdicts": n,
        "decided": nd / n if n else float("nan"),
        "right": right / nd if nd else float("nan"),
        "wrong": nd - right,
    }


def by_margin(V) -> list[dict]:
    """summary() at every margin index of V."""
    return [{"margin": int(m), **summary(g)} for m, g in V.groupby("margin")]


def choose_margins(V, grid, holdout: str | None, target: float = TARGET) -> dict:
    """The margin pair deciding the most verdicts of the calibration families (all but
    `holdout`) among those whose decided verdicts are right ≥ target in EVERY calibration
    family (a pooled share would let a large easy family hide a hard one); the pair with
    the best worst-family share if none reaches it."""
    cal = V[V["family"] != holdout] if holdout else V
    rows = by_margin(cal)
    worst = {
        int(m): min(summary(f)["right"] for _, f in g.groupby("family"))
        for m, g in cal.groupby("margin")
    }
    for r in rows:
        r["worst_family_right"] = worst[r["margin"]]
    ok = [r for r in rows if r["worst_family_right"] >= target]
    if ok:
        best = max(ok, key=lambda r: (r["decided"], r["right"]))
    else:
        best = max(rows, key=lambda r: (r["worst_family_right"], r["decided"]))
    lo, hi = grid[best["margin"]]
    return {"margin": best["margin"], "lo": lo, "hi": hi, "calibration": best, "met": bool(ok),
            "target": target}  # fmt: skip


def r_bin(r: float) -> str:
    for lo, hi in zip(R_BINS[:-1], R_BINS[1:]):
        if lo <= r < hi:
            return f"[{lo:g}, {hi:g})"
    return "nan"


def tables(V, margin: int) -> dict:
    """Reliability at one margin index: overall and by family, r-bin, data mode, samples
    per context, learner, pair kind and verdict field."""
    W = V[V["margin"] == margin].copy()
    W["r_bin"] = W["r"].map(r_bin)
    out = {"all": summary(W)}
    for col in ("family", "r_bin", "data", "samples", "learner", "pair", "field"):
        out[col] = {str(k): summary(g) for k, g in W.groupby(col)}
    return out


def k_table(C) -> dict:
    """k̂ against the truth's k: share equal, share above (a direction claimed that p* does
    not have), by family × data mode × samples, pairs of seeds and seed–truth pairs."""
    out = {}
    for key, g in C.groupby(["family", "data", "samples", "learner", "pair"]):
        out[" ".join(map(str, key))] = {
            "pairs": int(len(g)),
            "k_true": int(g["k_true"].iloc[0]),
            "k_hat": sorted(int(x) for x in g["k_hat"]),
            "equal": float((g["k_hat"] == g["k_true"]).mean()),
            "above": float((g["k_hat"] > g["k_true"]).mean()),
        }
    return out
