"""Evaluate a trained cell: every pair of its seeds through `simident.compare` → one row
per pair, with the world's planted properties summarised by group.

Property groups (columns `<group>_<stat>`):
  parallel          planted parallel unembedding differences (P1), score |cos(δ1, δ2)|
  relational_ic     relations with the inclusion condition (P3), score RL R²
  relational_noic   relations without it, score RL R²
  probe_visible     probes affine in the centered logits (P4), score probe R²
  probe_invisible   probes reading E ∩ U⊥, score probe R²
Stats: n (properties in the group), holds_a / holds_b (fraction that hold in seed a / b
among the decided verdicts of compare), agree (fraction decided alike in both: compare's
"shared" is true), shared (fraction decided as holding in both seeds), undecided
(fraction of verdicts, both seeds pooled, that compare left undecided), score_a /
score_b (mean score).
"""

from __future__ import annotations

import numpy as np

GROUPS = ("parallel", "relational_ic", "relational_noic", "probe_visible", "probe_invisible")
GROUP_STATS = ("n", "holds_a", "holds_b", "agree", "shared", "undecided", "score_a", "score_b")

PAIR_COLUMNS = (
    "seed_a",
    "seed_b",
    "kl_a",
    "kl_b",
    "kl_max_a",
    "kl_max_b",
    "logit_residual",
    "identified_r2",
    "identified_r2_f",
    "identified_r2_g",
    "full_r2",
    "full_r2_ab",
    "full_r2_ba",
    "free_f_a",
    "free_f_b",
    "free_g_a",
    "free_g_b",
    "k_used",
    "dim_E_a",
    "dim_U_a",
    "dim_E_b",
    "dim_U_b",
)


def world_k(world, ids=None) -> int:
    """The world's k on the contexts `ids` (all when None): rank of the truth's centred
    logits there (E2), the number every comparison of the world's models is made at."""
    if ids is None or len(ids) == world.n:
        return int(world.measured["k"])
    from simident.theory.equivalence import effective_complexity

    return int(effective_complexity(np.asarray(world.F)[np.asarray(ids)], world.G).rank)


def group_of(prop: dict) -> str | None:
    """The summary group of a planted property (None: not summarised)."""
    kind = prop.get("kind")
    if kind == "parallel_unembedding":
        return "parallel"
    if kind == "relational":
        return "relational_ic" if prop.get("inclusion", True) else "relational_noic"
    if kind == "probe":
        return "probe_visible" if prop.get("visible", True) else "probe_invisible"
    return None


def scores(p) -> tuple[float, float]:
    """The (a, b) score of a PropertyResult its group is summarised by: |cos| (P1), the
    model-level R² (P3, P4); NaN for the kinds no group summarises (P2, P5)."""
    if p.kind in ("parallel_unembedding", "relational", "probe"):
        return p.scores.key()
    return float("nan"), float("nan")


def _decided_mean(x: np.ndarray) -> float:
    """Mean over the decided entries (NaN = undecided); NaN when none is decided."""
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def summarize_properties(results, planted: list) -> dict:
    """Group statistics (module docstring) of a Comparison's PropertyResults."""
    by_name = {p["name"]: p for p in planted}
    acc = {g: [] for g in GROUPS}
    for p in results:
        g = group_of(by_name.get(p.name, {"kind": p.kind}))
        if g is not None:
            acc[g].append(p)
    out = {}
    for g in GROUPS:
        ps = acc[g]
        out[f"{g}_n"] = len(ps)
        if not ps:
            for stat in GROUP_STATS[1:]:
                out[f"{g}_{stat}"] = float("nan")
            continue
        ha = np.array([p.holds_a for p in ps], dtype=float)  # None → NaN (undecided)
        hb = np.array([p.holds_b for p in ps], dtype=float)
        sc = np.array([scores(p) for p in ps], dtype=float)
        out[f"{g}_holds_a"] = _decided_mean(ha)
        out[f"{g}_holds_b"] = _decided_mean(hb)
        out[f"{g}_agree"] = float(np.mean([p.shared is True for p in ps]))
        out[f"{g}_shared"] = float(np.mean((ha == 1) & (hb == 1)))
        out[f"{g}_undecided"] = float(np.mean(np.isnan(np.concatenate([ha, hb]))))
        out[f"{g}_score_a"] = float(sc[:, 0].mean())
        out[f"{g}_score_b"] = float(sc[:, 1].mean())
    return out


def seed_pair_rows(world, result, *, ids=None, tol: float = 1e-2) -> list[dict]:
    """One row per pair of `result`'s seeds (PAIR_COLUMNS and the group statistics):
    `simident.compare` on the contexts `ids` (all when None) at the world's k there,
    with the world's planted properties. Each model keeps its own dimension."""
    from simident.comparison.api import compare
    from simident.comparison.model import Model
    from simident.theory.free_parts import free_parts

    F_all, G_all = np.asarray(result.F), np.asarray(result.G)
    N = F_all.shape[0]
    ids = np.arange(world.n) if ids is None else np.asarray(ids)
    k = world_k(world, ids)
    d = int(min(F_all.shape[2], G_all.shape[2]))
    if k > d:
        from simident.util.errors import SimidentError

        raise SimidentError(
            f"the world's k on these contexts is {k}, above the models' d = {d}: seed pairs "
            f'are compared at k, so train with d ≥ {k} (e.g. d = "k")'
        )
    if hasattr(result, "model"):  # a TrainResult: each model with its ν̂ and data record
        models = [result.model(i) for i in range(N)]
    else:
        models = [Model(F_all[i].astype(np.float64), G_all[i].astype(np.float64)) for i in range(N)]
    free = [free_parts(m.F[ids], m.G, k) for m in models]
    seeds = list(getattr(result, "seeds", range(N)))
    kl_mean = np.asarray(result.kl_mean, dtype=float)
    kl_max = np.asarray(result.kl_max, dtype=float)
    contexts = None if ids.size == world.n else ids.tolist()
    rows = []
    for a in range(N):
        for b in range(a + 1, N):
            c = compare(
                models[a],
                models[b],
                properties=world.properties,
                contexts=contexts,
                tol=tol,
                k=k,
                kl=False,
            )
            eq = c.equivalence
            row = {
                "seed_a": int(seeds[a]),
                "seed_b": int(seeds[b]),
                "kl_a": kl_mean[a],
                "kl_b": kl_mean[b],
                "kl_max_a": kl_max[a],
                "kl_max_b": kl_max[b],
                "logit_residual": c.logit_residual,
                "identified_r2": c.identified_r2,
                "identified_r2_f": eq.identified_r2_f,
                "identified_r2_g": eq.identified_r2_g,
                "full_r2": min(eq.full_r2, eq.full_r2_ba),
                "full_r2_ab": eq.full_r2,
                "full_r2_ba": eq.full_r2_ba,
                "free_f_a": free[a].f_ratio,
                "free_f_b": free[b].f_ratio,
                "free_g_a": free[a].g_ratio,
                "free_g_b": free[b].g_ratio,
                "k_used": k,
                "dim_E_a": eq.a.dim_E,
                "dim_U_a": eq.a.dim_U,
                "dim_E_b": eq.b.dim_E,
                "dim_U_b": eq.b.dim_U,
            }
            row.update(summarize_properties(c.properties, world.properties))
            rows.append(row)
    return rows
