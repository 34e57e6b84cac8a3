"""The cell store (DIR/cache/): exact round trip, content keys, incomplete entries ignored."""

import numpy as np
import pytest

from simident.study import CellStore, digest
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


EXPECT = {"seeds": [0, 1], "world_id": "w-1", "points": 1, "n": 5, "V": 7, "d": 3}


def _edit_json(path, edit):
    import json

    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def _nan_F(r):
    r.F[0, 0, 0] = np.nan  # a seed that did not diverge (diverged_step -1)
    return r


@pytest.mark.parametrize(
    "label, result, corrupt, expect, message",
    [
        ("truncated arrays", None, lambda p: p.with_suffix(".npz").write_bytes(
            p.with_suffix(".npz").read_bytes()[:300]), EXPECT, "k.npz: not a readable"),
        ("edited seeds", None, lambda p: _edit_json(p, lambda m: m.update(seeds=[5, 7])),
         EXPECT, "k.json: its record does not match its digest"),
        ("no integrity", None, lambda p: _edit_json(p, lambda m: m.pop("integrity")),
         EXPECT, "k.json: has no checksums"),
        ("arrays replaced", None, lambda p: np.savez(p.with_suffix(".npz"), **{
            **np.load(p.with_suffix(".npz")), "G_0": np.zeros((2, 7, 3), np.float32)}),
         EXPECT, "k.npz: array 'G_0' does not match its checksum"),
        ("other world", None, None, {**EXPECT, "world_id": "w-2"}, "world_id 'w-1' differ"),
        ("other seeds", None, None, {**EXPECT, "seeds": [0, 1, 2]}, "seeds [0, 1] differ"),
        ("wrong n", None, None, {**EXPECT, "n": 6}, "'F_0' has shape (2, 5, 3), expected"),
        ("NaN F, sealed", _nan_F, None, EXPECT, "k.npz: array 'F_0' has 1 non-finite value"),
    ],
)  # fmt: skip
def test_bad_entry_is_named_and_not_reused(tmp_path, label, result, corrupt, expect, message):
    """Each bad entry: load returns None (the cell is trained again) after one line that
    names the file; a good entry under the same expectations is reused."""
    lines = []
    cache = CellStore(tmp_path, log=lines.append)
    r = _result(np.random.default_rng(3), 0.0)
    cache.save("k", [result(r) if result else r])
    if corrupt:
        corrupt(tmp_path / "k.json")
    assert cache.load("k", expect) is None
    assert len(lines) == 1 and message in lines[0] and "\n" not in lines[0], lines
    assert "training the cell again" in lines[0]
    cache.save("k", [_result(np.random.default_rng(3), 0.0)])  # the retrained entry
    assert cache.load("k", EXPECT) is not None and len(lines) == 1


def test_a_diverged_seed_may_hold_nan(tmp_path):
    r = _nan_F(_result(np.random.default_rng(4), 0.0))
    r.diverged_step[0] = 7
    cache = CellStore(tmp_path, log=None)
    cache.save("k", [r])
    assert cache.load("k", EXPECT) is not None
