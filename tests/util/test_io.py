"""Overwrites never lose what was there before the new files are complete."""

import os

import pytest

from simident.util.errors import SimidentError
from simident.util.io import replace_files


def _writer(text):
    return lambda fh: fh.write(text.encode())


def _boom(fh):
    fh.write(b"half")
    raise KeyboardInterrupt  # as if the user pressed Ctrl-C while the new files are written


def test_replace_files_renames_all_then_drops_stale(tmp_path):
    (tmp_path / "a").write_text("old a")
    (tmp_path / "seed_9").write_text("old seed")
    (tmp_path / "mine.txt").write_text("user file")
    replace_files(tmp_path, {"a": _writer("new a"), "b": _writer("new b")}, stale=["seed_9", "a"])
    assert (tmp_path / "a").read_text() == "new a" and (tmp_path / "b").read_text() == "new b"
    assert not (tmp_path / "seed_9").exists()  # stale and not rewritten
    assert (tmp_path / "mine.txt").read_text() == "user file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "mine.txt"]


def test_an_interrupted_replace_leaves_the_folder_as_it_was(tmp_path):
    (tmp_path / "a").write_text("old a")
    (tmp_path / "seed_9").write_text("old seed")
    with pytest.raises(KeyboardInterrupt):
        replace_files(tmp_path, {"a": _writer("new a"), "b": _boom}, stale=["seed_9"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "seed_9"]  # no temp files
    assert (tmp_path / "a").read_text() == "old a"


def test_a_world_overwrite_keeps_the_old_world_until_the_new_one_is_written(tmp_path, monkeypatch):
    from simident.cli.main import main

    out = tmp_path / "w"
    assert main(["world", "tiny", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fails(spec):  # generation fails after the folder was accepted for overwriting
        raise SimidentError("generation failed")

    monkeypatch.setattr("simident.worlds.generate_world", fails)
    assert main(["world", "tiny", "--out", str(out), "--overwrite"]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def _cli(args, cwd, fsize=None, stdout=None):
    """simident in a fresh process, optionally under a file-size limit of `fsize` KiB
    (bash's `ulimit -f`; Python ignores SIGXFSZ, so writes past it fail with EFBIG)."""
    import subprocess
    import sys

    limit = f"ulimit -f {fsize}; " if fsize is not None else ""
    return subprocess.run(
        ["bash", "-c", limit + 'exec "$0" -m simident.cli.main "$@"', sys.executable, *args],
        cwd=cwd,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )


def test_write_failures_name_their_file(tmp_path):
    """Under a file-size limit the failing file is named (before: "cannot write standard
    output"), exit 2, one line, and nothing half-written is left in --out."""
    r = _cli(["world", "tiny", "--out", "w"], tmp_path, fsize=4)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "simident world: error: cannot write w/" in r.stderr and "File too large" in r.stderr
    assert not list((tmp_path / "w").iterdir())  # no temporary, no partial file
    with open(tmp_path / "out.json", "w") as fh:  # compare --json > out.json, 1 KiB limit
        r = _cli(["compare", "a.npz", "a.npz", "--json"], _model_dir(tmp_path), 1, fh)
    assert r.returncode == 2, r.stderr  # before: 1,024 bytes written and exit 0
    assert "cannot write standard output (File too large)" in r.stderr


def _model_dir(tmp_path):
    import numpy as np

    from simident.util.io import save_model

    rng = np.random.default_rng(0)
    save_model(tmp_path / "a.npz", rng.normal(size=(6, 3)), rng.normal(size=(5, 3)))
    return tmp_path


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_stdout_on_a_full_device_fails(tmp_path):
    for args in (["--help"], ["--version"], ["compare", "a.npz", "a.npz"]):
        with open("/dev/full", "w") as full:
            r = _cli(args, _model_dir(tmp_path), stdout=full)
        assert r.returncode == 2, (args, r.stderr)  # before: --help exited 0
        assert "cannot write standard output (No space left on device)" in r.stderr


def test_model_save_names_the_target(tmp_path):
    import numpy as np

    from simident.comparison.model import Model

    m = Model(np.ones((3, 2)), np.ones((4, 2)))
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    for target in ("folder", "fifo"):  # before: IsADirectoryError naming the temporary
        with pytest.raises(SimidentError, match=f"cannot write {tmp_path / target}: exists"):
            m.save(tmp_path / target)
    assert (tmp_path / "folder").is_dir() and not (tmp_path / "fifo").is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(SimidentError, match=f"cannot create folder {tmp_path / 'file'}"):
        m.save(tmp_path / "file" / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "file", "folder"]
