"""Overwrites never lose what was there before the new files are complete."""

import pytest

from simident.errors import SimidentError
from simident.io import replace_files


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
    from simident.cli import main

    out = tmp_path / "w"
    assert main(["world", "tiny", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fails(spec):  # generation fails after the folder was accepted for overwriting
        raise SimidentError("generation failed")

    monkeypatch.setattr("simident.worlds.generate_world", fails)
    assert main(["world", "tiny", "--out", str(out), "--overwrite"]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
