"""`simident world SPEC --out DIR`: files, summary, refusal to overwrite, exit code 2.

The acceptance check runs `simident compare DIR/truth.npz DIR/truth.npz --properties
DIR/properties.json` on every shipped example: it must report the spec's dim E, dim U and
k, with every planted property holding.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from simident.util.errors import SimidentError
from simident.worlds import example_kind, example_names, example_spec, load_world

PLANTED = [n for n in example_names() if example_kind(n) == "planted"]


def _world_cmd(argv):
    """Run the `world` subcommand without the dispatcher (SimidentError propagates)."""
    from simident.cli import world

    p = argparse.ArgumentParser()
    world.configure(p)
    return world.run(p.parse_args(argv))


@pytest.mark.parametrize("name", PLANTED)
def test_example_world_files_and_compare(name, tmp_path, capsys):
    from simident.cli import compare

    out = tmp_path / name
    assert _world_cmd([name, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "measured dim E" in printed
    assert {p.name for p in out.iterdir()} == {"truth.npz", "properties.json", "world.json"}
    spec = example_spec(name)
    with np.load(out / "truth.npz") as z:
        assert z["F"].shape == (spec.n_total, spec.d) and z["G"].shape == (spec.vocab_size, spec.d)
    meta = json.loads((out / "world.json").read_text())
    assert {"spec", "contexts", "split", "queries", "measured", "versions"} <= set(meta)
    assert meta["spec"] == spec.to_dict()
    props = json.loads((out / "properties.json").read_text())["properties"]
    names = {p["name"] for p in props}
    assert names == (
        {q.name for q in spec.queries}
        | {p.name for p in spec.probes}
        | {f"parallel_{i}" for i in range(spec.n_parallel)}
    )

    p = argparse.ArgumentParser()
    compare.configure(p)
    truth = str(out / "truth.npz")
    args = p.parse_args([truth, truth, "--properties", str(out / "properties.json"), "--json"])
    assert compare.run(args) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["a"]["dim_E"], r["a"]["dim_U"], r["k"]) == (spec.rank_E, spec.rank_U, spec.k)
    assert len(r["properties"]) == len(props)
    assert all(q["holds_a"] and q["holds_b"] for q in r["properties"])

    w = load_world(out)
    assert w.n == spec.n_total and len(w.properties) == len(props)


def test_json_summary_and_samples(tmp_path, capsys):
    spec = tmp_path / "w.toml"
    spec.write_text(
        'name = "s"\nvocab_size = 12\nd = 3\nn_contexts = 20\nn_samples = 5\n'
        "heldout_fraction = 0.25\n"
        '[[queries]]\nname = "q"\n'
    )
    out = tmp_path / "out"
    assert _world_cmd([str(spec), "--out", str(out), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["measured"] == {"dim_E": 3, "dim_U": 3, "k": 3}
    assert s["n_samples"] == 5 and s["n_heldout"] == 10 and s["n_train"] == 30
    w = load_world(out)
    assert w.samples.shape == (40, 5)
    assert sorted(w.train_ids.tolist() + w.heldout_ids.tolist()) == list(range(40))


def test_refuses_non_empty_out_and_overwrite_removes_stale_data(tmp_path, capsys):
    spec = tmp_path / "w.toml"
    spec.write_text("vocab_size = 12\nd = 3\nn_contexts = 20\nn_samples = 2\n")
    out = tmp_path / "out"
    assert _world_cmd([str(spec), "--out", str(out)]) == 0
    assert (out / "data.npz").is_file()
    with pytest.raises(SimidentError, match="not empty"):
        _world_cmd(["tiny", "--out", str(out)])
    assert _world_cmd(["tiny", "--out", str(out), "--overwrite"]) == 0
    assert not (out / "data.npz").exists()  # tiny has no samples: the old ones must go
    assert load_world(out).samples is None
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(SimidentError, match="not a directory"):
        _world_cmd(["tiny", "--out", str(f)])


def test_bad_specs_fail_before_any_work(tmp_path):
    out = tmp_path / "out"
    typo = tmp_path / "typo.toml"
    typo.write_text("vocab_size = 12\nd = 3\nn_contexts = 20\nrank_e = 2\n")
    with pytest.raises(SimidentError, match="unknown key"):
        _world_cmd([str(typo), "--out", str(out)])
    with pytest.raises(SimidentError, match="no example world|neither a spec file"):
        _world_cmd(["no_such_world", "--out", str(out)])
    assert not out.exists()


def test_dispatcher_exit_codes(tmp_path, capsys):
    from simident.cli.main import main

    out = tmp_path / "out"
    assert main(["world", "tiny", "--out", str(out)]) == 0
    assert (out / "truth.npz").is_file()
    assert main(["world", "tiny", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("vocab_size = 12\nd = 3\nn_contexts = 20\nk = 4\n")
    assert main(["world", str(bad), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert "simident world: error:" in err and "k: must be <= min(rank_E, rank_U)" in err
