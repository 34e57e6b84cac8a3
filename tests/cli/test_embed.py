"""`simident embed` reads the one store of trained models: a sweep's cache entry gives back
the models the sweep compared, bit for bit, and bad sources exit 2 with one line."""

import json

import numpy as np
import pytest

from simident.cli.main import main

pytestmark = pytest.mark.slow  # trains a tiny sweep for real (a transformer: test_reproduce)

SWEEP = """
name = "embed"
seeds = 2
[world]
example = "tiny"
[learner]
model = "table"
steps = 20
[grid.learner]
d = ["k", 6]
"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    (root / "spec.toml").write_text(SWEEP)
    assert main(["sweep", str(root / "spec.toml"), "--out", str(root / "out"), "--quiet"]) == 0
    return root / "out"


def _cells(out):
    return [json.loads(p.read_text()) for p in sorted((out / "cells").glob("cell_*.json"))]


def test_every_sweep_cell_names_its_store_entry_and_embeds_from_it(sweep, tmp_path):
    cells = _cells(sweep)
    assert len(cells) == 2
    for c in cells:
        entry = sweep / c["record"]["cache_entry"]
        out = tmp_path / f"cell{c['index']}"
        assert main(["embed", str(entry), "--out", str(out), "--quiet"]) == 0
        stored = np.load(entry.with_suffix(".npz"))
        for i, s in enumerate(c["record"]["seeds"]):
            seed = np.load(out / f"seed_{s}.npz")
            np.testing.assert_array_equal(seed["F"], stored["F_0"][i])
            np.testing.assert_array_equal(seed["G"], stored["G_0"][i])
        record = json.loads((out / "embed.json").read_text())
        assert record["cell"] == entry.stem and record["point"] == 0 and record["world_dir"] is None


def _fails(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_bad_sources_exit_2_with_one_line(sweep, tmp_path, capsys):
    entry = sweep / _cells(sweep)[0]["record"]["cache_entry"]
    out = str(tmp_path / "x")
    assert "has 1 grid point(s)" in _fails(
        capsys, ["embed", str(entry), "--point", "3", "--out", out]
    )
    not_entry = tmp_path / "note.txt"
    not_entry.write_text("hello")
    assert "not a cache entry" in _fails(capsys, ["embed", str(not_entry), "--out", out])
    # an entry written before the store kept weights (its param arrays removed)
    old = tmp_path / "old"
    old.mkdir()
    arrays = dict(np.load(entry.with_suffix(".npz")))
    np.savez(old / f"{entry.stem}.npz", **{k: v for k, v in arrays.items() if "param" not in k})
    meta = json.loads(entry.read_text())
    (old / entry.name).write_text(json.dumps(meta))
    err = _fails(capsys, ["embed", str(old / entry.name), "--out", out])
    assert str(old / entry.stem) in err  # checksums or missing weights: names the file
