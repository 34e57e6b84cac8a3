"""The output folder of `reproduce`: staging, swap and the recovery of a broken swap."""

import os

from simident.claims.outdir import backup_path, prepare, recover, staging_path, swap


def _full(out):
    out.mkdir()
    (out / "report.md").write_text("old report")
    (out / "claims" / "claim1").mkdir(parents=True)
    (out / "claims" / "claim1" / "results.json").write_text("{}")
    (out / "claims" / "claim3").mkdir(parents=True)
    (out / "claims" / "claim3" / "results.json").write_text("{}")
    return out


def test_staging_keeps_other_claims_and_is_resumed_with_the_same_arguments(tmp_path):
    out = _full(tmp_path / "out")
    ws = prepare(out, overwrite=True, replaced_claims=[3], args_key="a")
    assert (ws.work / "claims" / "claim1" / "results.json").is_file()
    assert not (ws.work / "claims" / "claim3").exists()
    (ws.work / "claims" / "claim3").mkdir()
    (ws.work / "claims" / "claim3" / "results.json").write_text('{"new": 1}')
    again = prepare(out, overwrite=True, replaced_claims=[3], args_key="a")
    assert again.work == ws.work and again.resumed
    assert (again.work / "claims" / "claim3" / "results.json").read_text() == '{"new": 1}'
    other = prepare(out, overwrite=True, replaced_claims=[3], args_key="b")
    assert not other.resumed and not (other.work / "claims" / "claim3").exists()


def test_swap_replaces_the_folder_and_leaves_no_sibling(tmp_path):
    out = _full(tmp_path / "out")
    ws = prepare(out, overwrite=True, replaced_claims=[1, 3], args_key="a")
    (ws.work / "report.md").write_text("new report")
    swap(ws)
    assert (out / "report.md").read_text() == "new report"
    assert not (out / "claims" / "claim3").exists()
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_a_swap_interrupted_between_its_renames_is_undone(tmp_path):
    out = _full(tmp_path / "out")
    os.rename(out, backup_path(out))  # killed after the first rename
    recover(out)
    assert (out / "report.md").read_text() == "old report"
    assert not backup_path(out).exists()
    backup_path(out).mkdir()  # killed after the second rename: the backup is garbage
    recover(out)
    assert not backup_path(out).exists() and out.is_dir()
    assert not staging_path(out).exists()
