"""`simident train`: outputs that `simident compare` reads, and one-line errors (exit 2)."""

import json

import pytest

from simident.cli.main import main

pytestmark = pytest.mark.slow  # trains models for real

TABLE_OPTS = {}


@pytest.fixture(scope="module", autouse=True)
def _table_opts(table_opts):
    TABLE_OPTS.update(table_opts)  # the tiny table config of conftest (shared compilations)


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory, world):
    d = tmp_path_factory.mktemp("world")
    world.save(d)
    return d


def _train_args(world_dir, out, **over):
    opts = {**TABLE_OPTS, "seeds": 3, **over}
    args = ["train", str(world_dir), "--out", str(out), "--quiet"]
    for k, v in opts.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def test_train_then_compare_equivalent(tmp_path, world_dir, capsys):
    out = tmp_path / "run"
    assert main(_train_args(world_dir, out)) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "run.json",
        "seed_0.npz",
        "seed_1.npz",
        "seed_2.npz",
    ]
    rec = json.loads((out / "run.json").read_text())
    assert len(rec["seeds"]) == 3 and rec["world_dir"] == str(world_dir)
    assert all(s["kl_mean"] < 1e-5 for s in rec["seeds"])
    capsys.readouterr()
    for b in ("seed_1.npz", str(world_dir / "truth.npz")):
        assert (
            main(
                [
                    "compare",
                    str(out / "seed_0.npz"),
                    str(out / b) if "/" not in b else b,
                    "--tol",
                    "1e-2",
                    "--json",
                    "--no-kl",
                ]
            )
            == 0
        )
        report = json.loads(capsys.readouterr().out)
        eq = report.get("equivalence", report)
        assert eq["equivalent"] is True
        assert eq["identified_r2"] >= 0.99


@pytest.mark.parametrize(
    "label, over, message",
    [
        ("d below 1", {"d": 0}, "d must be an integer ≥ 1"),
        ("bad lr", {"lr": -1}, "lr must be"),
        ("heads", {"model": "transformer", "width": 10, "heads": 4}, "heads"),
    ],
)
def test_bad_arguments_exit_2(label, over, message, tmp_path, world_dir, capsys):
    assert main(_train_args(world_dir, tmp_path / "run", **over)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unknown_model_exits_2(tmp_path, world_dir, capsys):
    assert main(_train_args(world_dir, tmp_path / "run", model="mlp")) == 2  # argparse's usage
    assert "invalid choice: 'mlp'" in capsys.readouterr().err


def test_missing_world_dir(tmp_path, capsys):
    assert main(_train_args(tmp_path / "nope", tmp_path / "run")) == 2
    assert "world directory not found" in capsys.readouterr().err


def test_existing_run_dir_refused_before_training(tmp_path, world_dir, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "seed_0.npz").write_bytes(b"precious")
    assert main(_train_args(world_dir, out)) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "seed_0.npz").read_bytes() == b"precious"


def test_config_file_round_trip(tmp_path, world_dir):
    """--config accepts a run.json; options on the command line override it."""
    first = tmp_path / "a"
    assert main(_train_args(world_dir, first)) == 0
    second = tmp_path / "b"
    args = [
        "train",
        str(world_dir),
        "--model",
        "table",
        "--d",
        "3",
        "--config",
        str(first / "run.json"),
        "--out",
        str(second),
        "--quiet",
    ]
    assert main(args) == 0
    a = json.loads((first / "run.json").read_text())["config"]
    b = json.loads((second / "run.json").read_text())["config"]
    assert a == b
