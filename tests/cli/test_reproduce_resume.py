"""`reproduce` loses nothing: a killed run resumes, an interrupted --overwrite leaves the
previous results in place, --only never deletes other claims' results."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from simident.claims import run as run_mod
from simident.claims.config import TINY
from simident.claims.outdir import staging_path
from simident.cli.main import main

pytestmark = pytest.mark.slow  # trains models for real


def _results(out):
    return json.loads((out / "results.json").read_text())


def _evidence(out):
    return {c["id"]: c["evidence"] for c in _results(out)["claims"]}


def _same_numbers(a, b, where="evidence"):
    """Equal structure; floats equal to 1e-9 (the same programs, loaded or trained)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _same_numbers(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same_numbers(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


def test_killed_run_resumes_from_the_finished_work(tiny_run, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "simident.cli.main", "reproduce", "--tiny", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = out / "claims" / "claim1" / "results.json"
    try:
        while not first.is_file() and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "results.json").exists()
    cached = len(list((out / "cache").glob("*.json")))  # complete cells (record written last)
    mtime = first.stat().st_mtime_ns
    assert main(["reproduce", "--tiny", "--out", str(out), "--quiet"]) == 0
    resume = _results(out)["resume"]
    assert 1 in resume["reused_claims"] and 1 not in resume["computed_claims"]
    assert resume["reused_cells"] == cached > 0  # every finished cell, none trained twice
    total = len(list((out / "cache").glob("*.json")))
    assert resume["trained_cells"] == total - cached
    assert first.stat().st_mtime_ns == mtime  # claim 1 was not recomputed
    assert "Resumed: claim(s)" in (out / "report.md").read_text()
    assert [c["id"] for c in _results(out)["claims"]] == [1, 2, 3, 4, 5, 6, 7]
    _same_numbers(_evidence(out), _evidence(tiny_run))


def test_interrupted_overwrite_keeps_the_previous_results(tiny_run, tmp_path, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(tiny_run, out)
    before = {p: p.read_bytes() for p in (out / "results.json", out / "report.md")}
    claim3 = run_mod.load_claims()[2]

    def boom(ctx):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C during claim 3

    monkeypatch.setattr(claim3, "evidence", boom)
    with pytest.raises(KeyboardInterrupt):
        run_mod.run_all(TINY, out, overwrite=True, verbose=False)
    assert {p: p.read_bytes() for p in before} == before
    assert (staging_path(out) / "claims" / "claim2" / "results.json").is_file()
    monkeypatch.undo()
    summary = run_mod.run_all(TINY, out, overwrite=True, verbose=False)
    assert summary["resume"]["reused_claims"] == [1, 2]
    assert summary["resume"]["trained_cells"] == 0
    assert not staging_path(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    _same_numbers(_evidence(out), _evidence(tiny_run))


def test_only_with_overwrite_keeps_the_other_claims(tiny_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(tiny_run, out)
    claim1 = (out / "claims" / "claim1" / "results.json").read_bytes()
    assert main(["reproduce", "--tiny", "--only", "3", "--overwrite", "--out", str(out)]) == 0
    results = _results(out)
    assert [c["id"] for c in results["claims"]] == [1, 2, 3, 4, 5, 6, 7]
    assert results["resume"]["computed_claims"] == [3]
    assert (out / "claims" / "claim1" / "results.json").read_bytes() == claim1
    for c in results["claims"]:
        assert all((out / f).is_file() for f in c["figures"])
    report = (out / "report.md").read_text()
    assert report.count("**Verdict: ") == 7
    assert "From an earlier run with other settings" not in report  # same settings
    assert (
        main(
            ["reproduce", "--tiny", "--only", "3", "--seeds", "3", "--overwrite", "--out", str(out)]
        )
        == 0
    )
    report = (out / "report.md").read_text()
    marked = [line for line in report.splitlines() if "From an earlier run with other" in line]
    assert len(marked) == 6 and not any("claim3/" in line for line in marked)  # 1, 2, 4-7


def test_other_settings_are_not_mixed_in_without_overwrite(tiny_run, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(tiny_run, out)
    assert main(["reproduce", "--tiny", "--seeds", "3", "--out", str(out), "--quiet"]) == 2
    assert "other settings" in capsys.readouterr().err
    assert (out / "results.json").read_bytes() == (tiny_run / "results.json").read_bytes()
