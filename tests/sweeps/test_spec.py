"""Sweep specs: parsing, validation errors that name the key, the flat list of cells."""

import pytest

from simident.cli.main import main
from simident.sweeps.grid import cells, format_cells
from simident.sweeps.spec import SweepSpec
from simident.util.dims import parse_dim
from simident.util.errors import SimidentError

BASE = {
    "name": "t",
    "seeds": 2,
    "world": {"example": "tiny"},
    "learner": {"model": "table", "steps": 50},
    "grid": {"world": {"n_contexts": [16, 32]}, "learner": {"d": ["k", "d"], "init_scale": [1.0]}},
}


def test_parse_dim():
    assert parse_dim(5, k=3, d=8) == 5
    assert parse_dim("k", k=3, d=8) == 3
    assert parse_dim("2k", k=3, d=8) == 6
    assert parse_dim("k+3", k=3, d=8) == 6
    assert parse_dim("2d", k=3, d=8) == 16
    assert parse_dim("d-1", k=3, d=8) == 7
    for bad in ("x", "k*k", 2.5, True, "k-5"):
        with pytest.raises(SimidentError):
            parse_dim(bad, k=3, d=8)


def test_cells_are_a_flat_product_in_order():
    spec = SweepSpec.from_dict(BASE)
    cs = cells(spec)
    assert [c.index for c in cs] == [0, 1, 2, 3]
    assert [c.values["world.n_contexts"] for c in cs] == [16, 16, 32, 32]
    assert [c.values["learner.d"] for c in cs] == ["k", "d", "k", "d"]
    assert [c.learner.d for c in cs] == [3, 4, 3, 4]  # tiny: k = 3, d = 4
    assert all(c.learner.seeds == 2 for c in cs)
    assert cs[0].key != cs[1].key
    text = format_cells(cs, done={1})
    assert "1  done" in text and "0  pending" in text


@pytest.mark.parametrize(
    "label,change,match",
    [
        ("unknown top key", {"bogus": 1}, "bogus"),
        ("unknown world key", {"world": {"example": "tiny", "colour": 3}}, "colour"),
        ("unknown learner key", {"learner": {"modle": "table"}}, "modle"),
        ("unknown grid section", {"grid": {"worlds": {}}}, "worlds"),
        ("bad example", {"world": {"example": "nope"}}, "nope"),
        ("seeds too few", {"seeds": 1}, "seeds"),
        ("seeds in learner", {"learner": {"seeds": 3}}, "learner.seeds"),
        ("empty axis", {"grid": {"learner": {"d": []}}}, "grid.learner.d"),
        ("repeated value", {"grid": {"learner": {"d": [3, 3]}}}, "appears twice"),
        ("bad d expression", {"grid": {"learner": {"d": ["q"]}}}, "cell 0"),
        ("invalid world cell", {"grid": {"world": {"rank_E": [2]}}}, "cell 0"),
        ("bad tol", {"tol": 2.0}, "tol"),
        ("bad contexts", {"contexts": "some"}, "contexts"),
        ("bad model", {"learner": {"model": "mlp"}}, "model"),
    ],
)
def test_bad_specs_name_the_problem(label, change, match):
    with pytest.raises(SimidentError, match=match):
        SweepSpec.from_dict({**BASE, **change})


def test_rank_sweep_drops_the_examples_k():
    spec = SweepSpec.from_dict(
        {**BASE, "world": {"example": "low_context"}, "grid": {"world": {"rank_E": [3, 5]}}}
    )
    assert [c.world.k for c in cells(spec)] == [3, 5]


def test_shipped_example_spec_is_valid():
    from importlib import resources

    path = resources.files("simident").joinpath("data", "sweeps", "example.toml")
    spec = SweepSpec.from_toml(str(path))
    assert len(cells(spec)) == 16


def test_cli_list_and_errors(tmp_path, capsys):
    assert main(["sweep", "example", "--list"]) == 0
    out = capsys.readouterr().out
    assert "16 cells" in out and "learner.weight_decay=0.1" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nsteps = 3\n')
    assert main(["sweep", str(bad), "--list"]) == 2
    assert "steps" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [")
    assert main(["sweep", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert main(["sweep", "example"]) == 2
    assert "--out" in capsys.readouterr().err
