"""Train a cell, or take it from the store: the one way claims and sweeps get models."""

from __future__ import annotations


def obtain(world, cell, *, store=None, trainer=None, progress: bool = False):
    """(results, reused): the cell's TrainResults on `world`, one per grid point in
    (weight decay, init scale) product order, and whether they came from `store`.

    When `store` (a CellStore) holds the cell's key they are loaded; otherwise the cell
    is trained in one compiled program (`train_world_grid`), or by `trainer(world,
    config)` when given (a test double; single-point cells only), and stored at once.
    """
    from simident.training import train_world_grid
    from simident.training.distributed import LeaderLoaded, is_leader, leader_decides

    key = cell.key(world)
    wds, scales = cell.grid()
    if store is not None:
        config = cell.config()
        expect = {
            "seeds": config.seed_list,
            "world_id": world.world_id,
            "points": len(wds) * len(scales),
            "n": world.n,
            "V": world.V,
            "d": config.resolved(world.d).d,
        }
        # verified; a bad entry is reported and retrained. Across processes process 0
        # alone reads the store and every process follows its decision.
        got = store.load(key, expect) if is_leader() else None
        if leader_decides(got is not None):
            if got is None:
                raise LeaderLoaded(key)
            return got, True
    if trainer is None:
        results = train_world_grid(
            world, cell.config(), weight_decays=wds, init_scales=scales, progress=progress
        )
    else:
        if len(wds) * len(scales) != 1:
            raise ValueError("a custom trainer trains single-point cells only")
        results = [trainer(world, cell.config())]
    if store is not None and is_leader():
        store.save(key, results, world.spec.get("name"), cell.learner, world.spec)
    return results, False
