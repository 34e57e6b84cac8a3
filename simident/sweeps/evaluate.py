"""One cell of a sweep through the engine (`simident.study`): generate its world, obtain
its seeds (from DIR/cache/ or trained in one vmapped program, stored at once), compare
every pair of seeds (`study.seed_pair_rows`) → one row per seed pair, plus the cell's
resolved world and learner (CELL_COLUMNS).
"""

from __future__ import annotations

import time

import numpy as np

from simident.util.errors import SimidentError

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
    # process worlds with predictions (language): the seeds against the truth
    # (study.truth_rows.agreement_summary); empty for planted worlds
    "d3_residual_predicted_max",
    "d3_residual_unpredicted_min",
    "d3_decided",
    "verdict_agreement",
    "d3_band_lower_min",
    "d3_band_upper_max",
    "kl_truth_max",
    "r_truth_max",
)


def evaluate_cell(spec, cell, *, store=None, trainer=None, progress=False):
    """Rows (one per seed pair) and a record of sweep cell `cell`. `store`: the sweep's
    CellStore (None: nothing kept); `trainer(world, config)`: a test double replacing
    training (see `study.obtain`)."""
    from simident.study import obtain, seed_pair_rows, world_k
    from simident.worlds import generate_world

    t0 = time.perf_counter()
    unit = cell.unit()
    world = generate_world(unit.world)
    results, reused = obtain(world, unit, store=store, trainer=trainer, progress=progress)
    result, config = results[0], unit.config()
    t_train = time.perf_counter() - t0
    ids = None if spec.contexts == "all" else np.asarray(world.train_ids)
    try:
        rows = seed_pair_rows(world, result, ids=ids, tol=spec.tol)
    except SimidentError as e:
        raise SimidentError(f"cell {cell.index} ({cell.label()}): {e}") from None
    base = {
        "world_id": world.world_id,
        "world_d": world.d,
        "world_rank_E": getattr(cell.world, "rank_E", None),
        "world_rank_U": getattr(cell.world, "rank_U", None),
        "world_k": world_k(world),
        "world_V": world.V,
        "n_eval": world.n if ids is None else len(ids),
        "model": config.model,
        "d": int(np.asarray(result.F).shape[2]),
        "init_scale": config.init_scale,
        "weight_decay": config.weight_decay,
        "lr": config.lr,
        "steps": config.steps,
    }
    record = {
        "world_id": world.world_id,
        "seeds": [int(s) for s in result.seeds],
        "kl_mean": np.asarray(result.kl_mean, dtype=float).tolist(),
        "kl_max": np.asarray(result.kl_max, dtype=float).tolist(),
        "reused_training": reused,
        # the trained seeds, weights included (`simident embed DIR/<this>` rebuilds them)
        "cache_entry": f"cache/{unit.key(world)}.json" if store is not None else None,
        "train_seconds": t_train,
        "seconds": time.perf_counter() - t0,
    }
    if any("predicted" in p for p in world.properties):  # a process world's predictions
        from simident.study.truth_rows import agreement_summary, truth_rows

        base.update(agreement_summary(truth_rows(world, result, spec.tol, world_k(world))))
    return [{**base, **row} for row in rows], record
