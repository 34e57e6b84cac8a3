"""A sweep's rows as a DataFrame, and line / scatter plots of any metric."""

import subprocess
import sys

import pytest

import simident.sweeps
from simident.cli.main import main
from simident.study.evaluate import PAIR_COLUMNS
from simident.sweeps.evaluate import CELL_COLUMNS
from simident.sweeps.run import run_sweep
from simident.sweeps.spec import SweepSpec
from simident.util.errors import SimidentError

from ._fake import fake_models

SPEC = {
    "name": "table",
    "seeds": 3,
    "world": {"example": "tiny"},
    "learner": {"model": "table", "steps": 20},
    "grid": {"world": {"seed": [0, 1]}, "learner": {"d": ["k", 6]}},
}
AXES = ["world.seed", "learner.d"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    run_sweep(SweepSpec.from_dict(SPEC), out, trainer=fake_models, log=None)
    return out


def test_load_gives_one_row_per_seed_pair(sweep):
    df = simident.load(sweep)
    assert list(df.columns[:3]) == ["cell", *AXES]
    assert set(CELL_COLUMNS) | set(PAIR_COLUMNS) | {"free_f", "free_g"} <= set(df.columns)
    assert len(df) == 4 * 3  # 4 cells × 3 pairs of 3 seeds
    assert df["cell"].tolist() == sorted(df["cell"].tolist())
    assert df["world.seed"].tolist()[:6] == [0] * 6  # numbers stay numbers
    assert set(df["learner.d"]) == {"k", "6"}  # an axis with words stays text
    assert (df["identified_r2"] > 0.999999).all()
    k_rows = df[df["learner.d"] == "k"]
    assert (k_rows["free_f"] < 1e-6).all() and (df[df["learner.d"] == "6"]["free_f"] > 1e-3).all()


def test_load_of_a_partial_sweep(tmp_path):
    run_sweep(SweepSpec.from_dict(SPEC), tmp_path, only=2, trainer=fake_models, log=None)
    df = simident.load(tmp_path)
    assert set(df["cell"]) == {2} and len(df) == 3
    with pytest.raises(SimidentError, match="not a results folder"):
        simident.load(tmp_path / "cells")


@pytest.mark.parametrize(
    "args,name",
    [
        (["--x", "learner.d", "--y", "full_r2", "--hue", "world.seed"], "line"),
        (["--x", "world.seed", "--y", "free_f", "--kind", "line"], "line"),
        (["--x", "free_f_a", "--y", "full_r2"], "scatter"),
        (["--x", "learner.d", "--y", "full_r2", "--kind", "scatter", "--hue", "world.seed"], ""),
    ],
)
def test_plot_cli_line_and_scatter(sweep, capsys, args, name):
    assert main(["plot", str(sweep), *args]) == 0
    paths = capsys.readouterr().out.split()
    assert len(paths) == 1 and paths[0].endswith(".png")
    assert (name or "scatter") in paths[0]
    with open(paths[0], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args,valid",
    [
        (["--x", "nope", "--y", "full_r2"], "learner.d"),
        (["--x", "learner.d", "--y", "nope"], "identified_r2"),
        (["--x", "learner.d", "--y", "full_r2", "--hue", "nope"], "world.seed"),
        (["--kind", "line", "--x", "learner.d"], "identified_r2"),
        (["--x", "full_r2"], "world.seed"),  # heatmap axes must be swept axes
    ],
)
def test_bad_names_give_one_line_listing_the_valid_ones(sweep, capsys, args, valid):
    assert main(["plot", str(sweep), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and valid in err


def test_figures_leave_pyplot_and_the_backend_alone(sweep):
    code = (
        "import sys, matplotlib; matplotlib.use('svg'); "
        "from simident.sweeps.plot import plot_sweep; "
        f"plot_sweep({str(sweep)!r}); "
        f"plot_sweep({str(sweep)!r}, x='learner.d', y='full_r2'); "
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
