"""One cell of a sweep: generate its world, train its seeds (one vmapped program), compare
every pair of seeds with `run_compare` and the world's planted properties → one row per
seed pair.

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

import time

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
CELL_COLUMNS = (
    "world_id",
    "world_d",
    "world_rank_E",
    "world_rank_U",
    "world_k",
    "world_V",
    "n_eval",
    "model",
    "d",
    "init_scale",
    "weight_decay",
    "lr",
    "steps",
)


def group_of(prop: dict) -> str | None:
    kind = prop.get("kind")
    if kind == "parallel_unembedding":
        return "parallel"
    if kind == "relational":
        return "relational_ic" if prop.get("inclusion", True) else "relational_noic"
    if kind == "probe":
        return "probe_visible" if prop.get("visible", True) else "probe_invisible"
    return None


def _score(p: dict) -> float:
    s = p["scores"]
    if p["kind"] == "parallel_unembedding":
        return abs(s["parallel_a"]["cos"]), abs(s["parallel_b"]["cos"])
    if p["kind"] == "relational":
        return s["rl_r2_a"], s["rl_r2_b"]
    if p["kind"] == "probe":
        return s["probe_r2_a"], s["probe_r2_b"]
    return float("nan"), float("nan")


def _decided_mean(x: np.ndarray) -> float:
    """Mean over the decided entries (NaN = undecided); NaN when none is decided."""
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def summarize_properties(evaluated: list, planted: list) -> dict:
    """Group statistics of one `run_compare` properties list (see module docstring)."""
    by_name = {p["name"]: p for p in planted}
    acc = {g: [] for g in GROUPS}
    for p in evaluated:
        g = group_of(by_name.get(p["name"], p))
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
        ha = np.array([p["holds_a"] for p in ps], dtype=float)  # None → NaN (undecided)
        hb = np.array([p["holds_b"] for p in ps], dtype=float)
        sc = np.array([_score(p) for p in ps], dtype=float)
        out[f"{g}_holds_a"] = _decided_mean(ha)
        out[f"{g}_holds_b"] = _decided_mean(hb)
        out[f"{g}_agree"] = float(np.mean([p["shared"] is True for p in ps]))
        out[f"{g}_shared"] = float(np.mean((ha == 1) & (hb == 1)))
        out[f"{g}_undecided"] = float(np.mean(np.isnan(np.concatenate([ha, hb]))))
        out[f"{g}_score_a"] = float(sc[:, 0].mean())
        out[f"{g}_score_b"] = float(sc[:, 1].mean())
    return out


def default_trainer(world, config, progress: bool = False):
    from simident.training import train_world

    return train_world(world, config, progress=progress)


def evaluate_cell(spec, cell, *, trainer=None, pad_to: int | None = None, progress=False):
    """Rows (one per seed pair) and a record of the cell. `trainer(world, config)` returns
    an object with F (N×n×d), G (N×V×d), kl_mean, kl_max (N,), seeds; the default trains
    with `simident.training.train_world`."""
    from simident.comparison import run_compare
    from simident.theory.equivalence import effective_complexity
    from simident.theory.free_parts import free_parts
    from simident.theory.subsets import restrict, zero_pad
    from simident.training import TrainConfig
    from simident.worlds import generate_world

    t0 = time.perf_counter()
    world = generate_world(cell.world)
    config = TrainConfig.from_dict(cell.learner)
    trainer = trainer or (lambda w, c: default_trainer(w, c, progress))
    result = trainer(world, config)
    t_train = time.perf_counter() - t0

    ids = np.arange(world.n) if spec.contexts == "all" else np.asarray(world.train_ids)
    props = restrict(world.properties, ids)
    k = effective_complexity(np.asarray(world.F)[ids], world.G).rank
    F_all, G_all = np.asarray(result.F), np.asarray(result.G)
    d = F_all.shape[2]
    D = max(d, pad_to or d)
    models = [zero_pad(F_all[i][ids], G_all[i], D) for i in range(F_all.shape[0])]
    free = [free_parts(F_all[i][ids], G_all[i], k) for i in range(F_all.shape[0])]
    seeds = list(getattr(result, "seeds", range(F_all.shape[0])))
    kl_mean = np.asarray(result.kl_mean, dtype=float)
    kl_max = np.asarray(result.kl_max, dtype=float)

    base = {
        "world_id": world.world_id,
        "world_d": world.d,
        "world_rank_E": int(cell.world["rank_E"]),
        "world_rank_U": int(cell.world["rank_U"]),
        "world_k": int(cell.world["k"]),
        "world_V": world.V,
        "n_eval": len(ids),
        "model": config.model,
        "d": d,
        "init_scale": config.init_scale,
        "weight_decay": config.weight_decay,
        "lr": config.lr,
        "steps": config.steps,
    }
    rows = []
    for a in range(len(models)):
        for b in range(a + 1, len(models)):
            r = run_compare(*models[a], *models[b], properties=props, tol=spec.tol, k=k, kl=False)
            row = {
                "seed_a": int(seeds[a]),
                "seed_b": int(seeds[b]),
                "kl_a": kl_mean[a],
                "kl_b": kl_mean[b],
                "kl_max_a": kl_max[a],
                "kl_max_b": kl_max[b],
                "logit_residual": r["logit_residual"],
                "identified_r2": r["identified_r2"],
                "identified_r2_f": r["identified_r2_f"],
                "identified_r2_g": r["identified_r2_g"],
                "full_r2": min(r["full_r2"], r["full_r2_ba"]),
                "full_r2_ab": r["full_r2"],
                "full_r2_ba": r["full_r2_ba"],
                "free_f_a": free[a].f_ratio,
                "free_f_b": free[b].f_ratio,
                "free_g_a": free[a].g_ratio,
                "free_g_b": free[b].g_ratio,
                "k_used": k,
                "dim_E_a": r["a"]["dim_E"],
                "dim_U_a": r["a"]["dim_U"],
                "dim_E_b": r["b"]["dim_E"],
                "dim_U_b": r["b"]["dim_U"],
            }
            row.update(summarize_properties(r["properties"], world.properties))
            rows.append({**base, **row})
    record = {
        "world_id": world.world_id,
        "seeds": [int(s) for s in seeds],
        "kl_mean": kl_mean.tolist(),
        "kl_max": kl_max.tolist(),
        "train_seconds": t_train,
        "seconds": time.perf_counter() - t0,
    }
    return rows, record
