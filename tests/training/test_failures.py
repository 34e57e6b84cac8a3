"""Runs that fail do so cleanly: one line on stderr, exit code 2 (130 for Ctrl-C), no
seed files claimed as a result, nothing allocated for work that cannot fit."""

import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from simident.cli.main import main
from simident.util.io import save_model

pytestmark = pytest.mark.slow  # trains models for real

TINY = ["--model", "table", "--d", "3", "--seeds", "2", "--steps", "100", "--quiet"]


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory, world):
    d = tmp_path_factory.mktemp("world")
    world.save(d)
    return d


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def test_huge_lr_diverges_exit_2_without_seed_files(world_dir, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", str(world_dir), *TINY, "--lr", "1e9", "--out", str(out)]
    assert main(args) == 2
    _one_line_error(capsys, "diverged at step", "lr 1e+09", "seed ")
    assert not out.exists() or not list(out.glob("seed_*.npz"))


def test_too_many_seeds_refused_before_allocating(world_dir, tmp_path, capsys):
    args = ["train", str(world_dir), *TINY, "--seeds", "100000000", "--out", str(tmp_path / "r")]
    assert main(args) == 2
    _one_line_error(capsys, "GiB", "--seeds")


def test_dry_run_prints_estimate(world_dir, capsys):
    assert main(["train", str(world_dir), *TINY, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "GFLOP per step" in out and "GiB" in out


@pytest.mark.parametrize(
    "label, line",
    [
        ("vocab 1e9 as an integer", "vocab_size = 1000000000\nd = 4\nn_contexts = 32\n"),
        ("vocab 1e9 as a float", "vocab_size = 1e9\nd = 4\nn_contexts = 32\n"),
        ("n_samples 1e9", "vocab_size = 16\nd = 4\nn_contexts = 32\nn_samples = 1000000000\n"),
    ],
)
def test_world_too_big_refused(label, line, tmp_path, capsys):
    spec = tmp_path / "w.toml"
    spec.write_text(line)
    assert main(["world", str(spec), "--out", str(tmp_path / "w")]) == 2
    _one_line_error(capsys, "vocab_size")
    assert not (tmp_path / "w").exists()


def _corrupt(src, dst, edit=None, truth=None, unsealed=False):
    """A copy of world `src` with world.json edited and/or truth.npz replaced; `unsealed`
    drops world.json's checksums (a world from an older simident) so that the checks
    behind them are reached."""
    import shutil

    shutil.copytree(src, dst)
    if edit is not None or unsealed:
        meta = json.loads((dst / "world.json").read_text())
        if unsealed:
            meta.pop("integrity")
        if edit is not None:
            edit(meta)
        (dst / "world.json").write_text(json.dumps(meta))
    if truth is not None:  # F, G replaced; the file's other arrays kept
        kept = {k: v for k, v in np.load(dst / "truth.npz").items() if k not in ("F", "G")}
        save_model(dst / "truth.npz", *truth, **kept)
    return dst


def _set(key, value):
    def edit(meta):
        if "." in key:
            a, b = key.split(".")
            meta[a][b] = value
        else:
            meta[key] = value

    return edit


@pytest.mark.parametrize(
    "label, edit, message",
    [
        ("split null", _set("split", None), "field 'split' must be an object"),
        ("train id out of range", _set("split.train", [0, 1, 999]), "split.train must be"),
        ("string tokens", lambda m: m["contexts"].__setitem__(0, ["a", "b"]), "contexts[0]"),
        ("vocab mismatch", _set("vocab_size", 99), "field 'vocab_size' is 99"),
        ("contexts not a list", _set("contexts", "abc"), "field 'contexts'"),
    ],
)
def test_corrupted_world_refused(label, edit, message, world_dir, tmp_path, capsys):
    bad = _corrupt(world_dir, tmp_path / "bad", edit=edit)
    assert main(["train", str(bad), *TINY, "--out", str(tmp_path / "run")]) == 2
    _one_line_error(capsys, message)


def test_truth_with_other_vocabulary_refused(world, world_dir, tmp_path, capsys):
    """truth.npz with V = 4 while world.json says 8: refused by its checksum, and by the
    vocabulary check in a world without checksums."""
    bad = _corrupt(world_dir, tmp_path / "bad", truth=(world.F, world.G[:4]))
    assert main(["train", str(bad), *TINY, "--out", str(tmp_path / "run")]) == 2
    _one_line_error(capsys, "truth.npz: array 'G' is <f8 [4, 3], its record says <f8 [8, 3]")
    old = _corrupt(world_dir, tmp_path / "old", truth=(world.F, world.G[:4]), unsealed=True)
    assert main(["train", str(old), *TINY, "--out", str(tmp_path / "run")]) == 2
    _one_line_error(capsys, "'vocab_size' is 8", "4")


def test_truth_edited_in_place_refused(world, world_dir, tmp_path, capsys):
    """Same shape, one value changed: only the checksum can tell."""
    F = world.F.copy()
    F[0, 0] += 1e-3
    bad = _corrupt(world_dir, tmp_path / "bad", truth=(F, world.G))
    assert main(["train", str(bad), *TINY, "--out", str(tmp_path / "run")]) == 2
    _one_line_error(capsys, "truth.npz: array 'F' does not match its checksum")


def test_samples_out_of_range_refused(world_dir, tmp_path, capsys, world):
    bad = _corrupt(world_dir, tmp_path / "old", unsealed=True)
    with open(bad / "data.npz", "wb") as fh:
        np.savez(fh, samples=np.full((world.n, 4), 99, dtype=np.int32))
    assert main(["train", str(bad), *TINY, "--out", str(tmp_path / "run")]) == 2
    _one_line_error(capsys, "data.npz", "token ids")
    sealed = _corrupt(world_dir, tmp_path / "bad")  # a data.npz its world.json does not list
    (bad / "data.npz").rename(sealed / "data.npz")
    assert main(["train", str(sealed), *TINY, "--out", str(tmp_path / "run")]) == 2
    _one_line_error(capsys, "world.json: its record lists no checksums for data.npz")


def test_config_alone_reruns_a_run(world_dir, tmp_path):
    first = tmp_path / "a"
    assert main(["train", str(world_dir), *TINY, "--out", str(first)]) == 0
    second = tmp_path / "b"
    assert (
        main(["train", "--config", str(first / "run.json"), "--out", str(second), "--quiet"]) == 0
    )
    a = json.loads((first / "run.json").read_text())
    b = json.loads((second / "run.json").read_text())
    assert a["config"] == b["config"] and a["world_id"] == b["world_id"]
    for s in a["seeds"]:
        fa = np.load(first / s["file"])["F"]
        fb = np.load(second / s["file"])["F"]
        np.testing.assert_allclose(fa, fb, rtol=0, atol=1e-6)


def test_model_required_without_config(world_dir, tmp_path, capsys):
    assert main(["train", str(world_dir), "--d", "3", "--out", str(tmp_path / "r")]) == 2
    _one_line_error(capsys, "--model is required")


def test_progress_text_never_negative():
    from simident.training.loop import _postfix

    kl = np.array([-3e-9, -1e-9])
    text = _postfix(kl, np.full(2, np.nan), np.full(2, np.nan), np.ones(2, bool))
    assert "-" not in text and "KL mean 0.00e+00 max 0.00e+00" in text


@pytest.mark.parametrize("model", ["table", "transformer"])
def test_ctrl_c_exits_130_without_crash(model, world_dir, tmp_path):
    """SIGINT while the compiled program runs: 'interrupted', exit 130, no seed files."""
    out = tmp_path / "run"
    # SIGINT to Python's handler in the child: a test run started in the background by a
    # non-interactive shell ignores SIGINT, and Python keeps an ignored SIGINT ignored
    start = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from simident.cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    cmd = [sys.executable, "-c", start, "train", str(world_dir), "--model", model,
           "--d", "3", "--steps", "20000000", "--width", "8", "--heads", "2", "--depth", "1",
           "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []

    def read():
        for chunk in iter(lambda: proc.stderr.read(1), ""):
            seen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.time() + 120
    while "step" not in "".join(seen) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)  # wait for the progress bar: training has started
    # then long enough for the first chunk (10⁶ steps: minutes) to be compiled and running,
    # so that the signal lands while the host waits for it (that wait once held it)
    time.sleep(8.0)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    reader.join(timeout=10)
    err = "".join(seen)
    assert proc.returncode == 130, err[-2000:]
    assert "simident train: interrupted" in err
    assert not out.exists() or not list(out.glob("seed_*.npz"))


def test_sweep_cell_too_big_refused_before_work(tmp_path, capsys):
    spec = tmp_path / "big.toml"
    spec.write_text(
        'name = "big"\nseeds = 100000000\n[world]\nexample = "tiny"\n'
        '[learner]\nmodel = "table"\nsteps = 10\n'
    )
    assert main(["sweep", str(spec), "--dry-run"]) == 0
    assert "cell 0" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--out", str(tmp_path / "s"), "--quiet"]) == 2
    _one_line_error(capsys, "cell 0", "GiB")
    assert not (tmp_path / "s").exists()
