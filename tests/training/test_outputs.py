"""Saving a run: seed_<s>.npz in the compare format, run.json, refusal to overwrite."""

import json

import numpy as np
import pytest

from simident.training import check_run_dir
from simident.util.errors import SimidentError
from simident.util.io import load_model


def test_save_writes_compare_format_and_record(tmp_path, table_result, world):
    out = table_result.save(tmp_path / "run", world)
    for i, s in enumerate(table_result.seeds):
        F, G = load_model(out / f"seed_{s}.npz")
        assert F.shape == (world.n, 3) and G.shape == (world.V, 3)
        np.testing.assert_array_equal(F, table_result.F[i])
    rec = json.loads((out / "run.json").read_text())
    assert rec["world_id"] == world.world_id
    assert rec["config"]["model"] == "table" and rec["config"]["d"] == 3
    assert [s["seed"] for s in rec["seeds"]] == [0, 1, 2]
    assert {"seed", "kl_mean", "kl_max"} <= set(rec["seeds"][0])
    assert rec["seeds"][0]["kl_mean"] == pytest.approx(float(table_result.kl_mean[0]))
    assert rec["training_seconds"] > 0 and "jax" in rec["versions"]


def test_existing_run_dir_refused_without_overwrite(tmp_path, table_result, world):
    out = tmp_path / "run"
    table_result.save(out, world)
    with pytest.raises(SimidentError, match="--overwrite"):
        table_result.save(out, world)
    (out / "seed_99.npz").write_bytes(b"stale")
    (out / "notes.txt").write_text("mine")
    table_result.save(out, world, overwrite=True)
    assert not (out / "seed_99.npz").exists()  # stale seeds go, other files stay
    assert (out / "notes.txt").read_text() == "mine"


def test_check_run_dir(tmp_path):
    check_run_dir(tmp_path / "new", overwrite=False)
    (tmp_path / "empty").mkdir()
    check_run_dir(tmp_path / "empty", overwrite=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SimidentError, match="not a directory"):
        check_run_dir(tmp_path / "file", overwrite=True)


def test_save_checks_world(tmp_path, table_result):
    from simident.worlds import toy_world

    other = toy_world(n=10, V=4, d=2, T=2, seed=3)
    with pytest.raises(SimidentError, match="trained on world"):
        table_result.save(tmp_path / "x", other)
