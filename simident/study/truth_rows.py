"""Trained models against a process world's truth: per seed, D3 in the model's logits per
query, decided in the pair's band, next to the status the process predicts (W2).

`d3_status` is the three-valued decision of a relative residual in a band; `truth_rows`
compares each seed of a result with the truth at the world's k and returns one dict per
seed; `agreement_summary` reduces them to the numbers a sweep plots (the largest D3
residual where W2 predicts D3, the smallest where it predicts none, the share of decided
statuses, the share of decided statuses that agree with W2).
"""

from __future__ import annotations

import numpy as np


def d3_status(res: float, band):
    """True (holds) / False (fails) / None (undecided) of a relative residual in a band
    (a `Band`). A band reaching 1 decides nothing: a relative residual of 1 is no fit at
    all, so such a pair cannot tell a failing form from a holding one."""
    if band.upper >= 1.0:
        return None
    if res <= band.lower:
        return True
    if res > band.upper:
        return False
    return None


def truth_rows(world, result, tol: float, k: int) -> list[dict]:
    """One dict per seed: kl, r, r_p, k̂ and, per relational property with a `predicted`
    flag, the model's D3 residual, its decided status, the prediction and whether they
    agree (None: undecided)."""
    from simident.comparison.api import compare

    pred = {p["name"]: p for p in world.properties}
    rows = []
    for i, s in enumerate(result.seeds):
        c = compare(
            (world.F, world.G),
            (result.F[i], result.G[i]),
            properties=world.properties,
            tol=tol,
            k=k,
        )
        queries = {}
        for p in c.properties:
            if p.kind != "relational" or "predicted" not in pred[p.name]:
                continue
            res = float(p.scores.distribution_residual[1])
            st = d3_status(res, p.band)
            want = bool(pred[p.name]["predicted"])
            queries[p.name] = {
                "d3_residual": res,
                "predicted": want,
                "status": st,
                "rl": p.holds_b,
                "agrees": None if st is None else st == want,
                "band": [p.band.lower, p.band.upper],
            }
        rows.append(
            {
                "seed": int(s),
                "kl": float(np.asarray(result.kl_mean)[i]),
                "r": float(c.logit_residual),
                "r_p": float(c.weighted_residual),
                "k_hat": int(c.k),
                "queries": queries,
            }
        )
    return rows


def agreement_summary(rows: list[dict]) -> dict:
    """Sweep numbers of `truth_rows` (nan where a set is empty)."""
    qs = [q for r in rows for q in r["queries"].values()]
    hold = [q["d3_residual"] for q in qs if q["predicted"]]
    fail = [q["d3_residual"] for q in qs if not q["predicted"]]
    decided = [q for q in qs if q["status"] is not None]
    bands = [q["band"] for q in qs if "band" in q]
    nan = float("nan")
    return {
        "d3_residual_predicted_max": max(hold) if hold else nan,
        "d3_residual_unpredicted_min": min(fail) if fail else nan,
        "d3_decided": len(decided) / len(qs) if qs else nan,
        "verdict_agreement": (sum(q["agrees"] for q in decided) / len(decided) if decided else nan),
        "d3_band_lower_min": min((b[0] for b in bands), default=nan),
        "d3_band_upper_max": max((b[1] for b in bands), default=nan),
        "kl_truth_max": max((r["kl"] for r in rows), default=nan),
        "r_truth_max": max((r["r"] for r in rows), default=nan),
    }


__all__ = ["agreement_summary", "d3_status", "truth_rows"]
