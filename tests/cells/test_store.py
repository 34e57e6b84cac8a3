"""The cell store (DIR/cache/): exact round trip, content keys, incomplete entries ignored."""

import numpy as np
import pytest

from simident.cells import CellStore, digest
from simident.training import TrainConfig
from simident.training.outputs import TrainResult


def _result(rng, wd):
    N, n, V, d = 2, 5, 7, 3
    return TrainResult(
        config=TrainConfig(d=d, seeds=N, weight_decay=wd).resolved(),
        world_id="w-1",
        seeds=[0, 1],
        F=rng.normal(size=(N, n, d)).astype(np.float32),
        G=rng.normal(size=(N, V, d)).astype(np.float32),
        kl_mean=rng.random(N),
        kl_max=rng.random(N),
        kl_mean_train=rng.random(N),
        kl_mean_heldout=np.full(N, np.nan),
        final_loss=rng.random(N),
        diverged_step=np.array([-1, -1]),
        seconds=1.5,
        eval_seconds=0.1,
        history={"step": [1], "kl": [[0.1, 0.2]]},
    )


def test_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    results = [_result(rng, 0.0), _result(rng, 0.1)]
    cache = CellStore(tmp_path)
    assert cache.load("k") is None
    cache.save("k", results)
    back = cache.load("k")
    assert [r.config for r in back] == [r.config for r in results]
    for a, b in zip(back, results):
        np.testing.assert_array_equal(a.F, b.F)
        assert a.F.dtype == b.F.dtype == np.float32
        np.testing.assert_array_equal(a.kl_mean_heldout, b.kl_mean_heldout)
        assert a.seeds == b.seeds and a.world_id == b.world_id


@pytest.mark.parametrize("broken", ["no_record", "bad_record", "no_arrays"])
def test_incomplete_entry_is_not_used(tmp_path, broken):
    cache = CellStore(tmp_path)
    cache.save("k", [_result(np.random.default_rng(1), 0.0)])
    if broken == "no_record":
        (tmp_path / "k.json").unlink()
    elif broken == "bad_record":
        (tmp_path / "k.json").write_text("{")
    else:
        (tmp_path / "k.npz").write_bytes(b"not a zip")
    assert cache.load("k") is None


def test_digest_depends_on_content_not_key_order():
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
