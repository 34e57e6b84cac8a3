"""A sweep resumes: interrupted runs lose at most the cell in progress, reruns skip
finished cells, and the final table equals an uninterrupted run's."""

import csv
import json

import pytest

from simident.cli.main import main
from simident.sweeps.run import run_sweep
from simident.sweeps.spec import SweepSpec
from simident.sweeps.store import SweepStore, cell_path
from simident.util.errors import SimidentError

from ._fake import fake_models

SPEC = {
    "name": "resume",
    "seeds": 3,
    "world": {"example": "tiny"},
    "learner": {"model": "table", "steps": 20},
    "grid": {
        "world": {"seed": [0, 1]},
        "learner": {"d": ["k", "d", 6], "weight_decay": [0.0, 0.1]},
    },
}


def _table(path):
    return (path / "results.csv").read_text()


def _cells_in_table(path):
    with (path / "results.csv").open() as fh:
        return [int(r["cell"]) for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    spec = SweepSpec.from_dict(SPEC)
    summary = run_sweep(spec, out, trainer=fake_models, log=None)
    assert summary.ran == list(range(12))
    return out


def test_uninterrupted_table(reference):
    cells = _cells_in_table(reference)
    assert cells == sorted(cells)
    assert sorted(set(cells)) == list(range(12))
    assert all(cells.count(c) == 3 for c in range(12))  # 3 seeds → 3 pairs per cell
    with (reference / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert all(float(r["identified_r2"]) > 0.999999 for r in rows)
    # d = k models are diverse: the full space agrees; d > k ones have free parts
    full_k = [float(r["full_r2"]) for r in rows if r["learner.d"] == "k"]
    full_6 = [float(r["full_r2"]) for r in rows if r["learner.d"] == "6"]
    assert min(full_k) > 0.999999 and max(full_6) < 0.99
    assert (reference / "sweep.json").is_file()


def test_interrupted_then_resumed_equals_uninterrupted(reference, tmp_path, interrupting_trainer):
    spec = SweepSpec.from_dict(SPEC)
    # killed during the 5th cell: cells 0-3 are on disk, 4 is lost
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, tmp_path, trainer=interrupting_trainer(5), log=None)
    store = SweepStore(tmp_path)
    from simident.sweeps.grid import cells

    assert store.done(cells(spec)) == {0, 1, 2, 3}
    assert sorted(set(_cells_in_table(tmp_path))) == [0, 1, 2, 3]
    # a stale temp file from a killed write is ignored
    (tmp_path / "cells" / ".cell_00004.json.abc.tmp").write_text("{partial")
    # interrupted again, later
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, tmp_path, trainer=interrupting_trainer(3), log=None)
    assert store.done(cells(spec)) == {0, 1, 2, 3, 4, 5}
    summary = run_sweep(spec, tmp_path, trainer=fake_models, log=None)
    assert summary.skipped == [0, 1, 2, 3, 4, 5]
    assert summary.ran == [6, 7, 8, 9, 10, 11]
    assert _table(tmp_path) == _table(reference)
    # a rerun of a finished sweep does nothing and keeps the table
    again = run_sweep(spec, tmp_path, trainer=fake_models, log=None)
    assert again.ran == [] and _table(tmp_path) == _table(reference)


def test_cells_one_at_a_time_and_out_of_order(reference, tmp_path, fake_trainer):
    spec = SweepSpec.from_dict(SPEC)
    for i in [7, 0, 11, 3, 7, 1, 2, 4, 5, 6, 8, 9, 10]:
        run_sweep(spec, tmp_path, only=i, trainer=fake_trainer, log=None)
    assert _table(tmp_path) == _table(reference)
    with pytest.raises(SimidentError, match="out of range"):
        run_sweep(spec, tmp_path, only=12, trainer=fake_trainer, log=None)


def test_corrupt_cell_file_is_recomputed(reference, tmp_path, fake_trainer):
    spec = SweepSpec.from_dict(SPEC)
    run_sweep(spec, tmp_path, trainer=fake_trainer, log=None)
    cell_path(tmp_path, 5).write_text("{not json")
    summary = run_sweep(spec, tmp_path, trainer=fake_trainer, log=None)
    assert summary.ran == [5]
    assert _table(tmp_path) == _table(reference)


def test_different_spec_is_refused(reference, fake_trainer):
    changed = json.loads(json.dumps(SPEC))
    changed["learner"]["steps"] = 21
    with pytest.raises(SimidentError, match="different spec.*learner.steps"):
        run_sweep(SweepSpec.from_dict(changed), reference, trainer=fake_trainer, log=None)


def test_foreign_folder_is_refused(tmp_path, fake_trainer):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SimidentError, match="not a sweep folder"):
        run_sweep(SweepSpec.from_dict(SPEC), tmp_path, trainer=fake_trainer, log=None)


def test_plot_draws_heatmaps(reference):
    from simident.sweeps.plot import plot_sweep

    paths = plot_sweep(reference)
    names = {p.name for p in paths}
    assert {"identified_r2.png", "full_r2.png", "parallel_shared.png"} <= names
    assert all(p.stat().st_size > 1000 for p in paths)
    with pytest.raises(SimidentError, match="not a swept axis"):
        plot_sweep(reference, x="learner.lr")


def test_cli_sweep_with_real_training(tmp_path, capsys):
    """Two tiny cells through the CLI with the real trainer, one cell at a time."""
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "real"\nseeds = 2\n[world]\nexample = "tiny"\n'
        '[learner]\nmodel = "table"\nsteps = 60\n[grid.learner]\nd = ["k", "d"]\n'
    )
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--cell", "1", "--quiet"]) == 0
    assert main(["sweep", str(spec), "--out", str(out), "--list"]) == 0
    listing = capsys.readouterr().out
    assert "0  pending" in listing and "1  done" in listing
    assert main(["sweep", str(spec), "--out", str(out), "--quiet"]) == 0
    assert _cells_in_table(out) == [0, 1]
    assert main(["plot", str(out)]) == 0
    assert (out / "plots" / "identified_r2.png").is_file()
    assert main(["plot", str(tmp_path)]) == 2


def test_bad_cache_entries_are_named_and_retrained(reference, tmp_path, capsys):
    """A truncated cache .npz and a hand-edited cache .json (its seeds): each is named on
    one line, its cell trained again (the others reused), and the table is unchanged."""
    import json
    import shutil

    out = tmp_path / "s"
    shutil.copytree(reference, out)
    shutil.rmtree(out / "cells")
    (out / "results.csv").unlink()
    entries = sorted((out / "cache").glob("*.npz"))
    entries[0].write_bytes(entries[0].read_bytes()[:300])
    meta_path = entries[1].with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["seeds"] = [5, 6, 7]
    meta_path.write_text(json.dumps(meta))
    calls = []

    def counting(world, config):
        calls.append(config)
        return fake_models(world, config)

    capsys.readouterr()
    run_sweep(SweepSpec.from_dict(SPEC), out, trainer=counting, log=None)
    err = capsys.readouterr().err.splitlines()
    assert len(calls) == 2 and len(err) == 2, err
    assert str(entries[0]) in err[0] + err[1] and str(meta_path) in err[0] + err[1]
    assert _table(out) == _table(reference)


def test_learner_below_world_k_is_refused_before_training(tmp_path):
    spec = {**SPEC, "grid": {"learner": {"d": [4, 2]}}}  # tiny: k = 3
    with pytest.raises(SimidentError, match=r"cell 1 \(learner.d=2\): learner d = 2 lies below"):
        SweepSpec.from_dict(spec)
    assert main(["sweep", "--list", _write_toml(tmp_path, spec)]) == 2


def _write_toml(tmp_path, spec) -> str:
    lines = [f'name = "{spec["name"]}"', f"seeds = {spec['seeds']}", "[world]"]
    lines += [f'{k} = "{v}"' for k, v in spec["world"].items()]
    lines += ["[learner]", 'model = "table"', "steps = 20", "[grid.learner]"]
    lines += [f"d = {spec['grid']['learner']['d']}"]
    path = tmp_path / "s.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_cells_at_once_give_the_uninterrupted_table(reference, tmp_path):
    """Three cells in flight (threads): cells finish in any order, the table is the same."""
    out = tmp_path / "jobs"
    summary = run_sweep(SweepSpec.from_dict(SPEC), out, trainer=fake_models, log=None, jobs=3)
    assert sorted(summary.ran) == list(range(12))
    assert _table(out) == _table(reference)


def test_cli_real_training_two_cells_at_once_equals_one_at_a_time(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "real"\nseeds = 2\n[world]\nexample = "tiny"\n'
        '[learner]\nmodel = "table"\nsteps = 60\n[grid.learner]\nd = ["k", "d"]\n'
    )
    tables = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        assert main(["sweep", str(spec), "--out", str(out), "--quiet", "--jobs", jobs]) == 0
        tables.append(_table(out))
    assert tables[0] == tables[1]
    assert main(["sweep", str(spec), "--out", str(tmp_path / "x"), "--jobs", "0"]) == 2
