"""The output folder of a reproduction: where the work happens, and the final swap.

Without --overwrite the work happens in DIR itself: an empty (or new) DIR starts fresh,
a DIR that already holds a reproduction is resumed (finished training programs and claim
results whose content keys match are reused; `run.py` refuses claim results of other
settings), and any other non-empty DIR is refused.

With --overwrite and a DIR that holds something, the work happens in a sibling staging
folder `.DIR.partial`: it starts as a copy (hard links where possible) of DIR without the
outputs being replaced (report.md, results.json, cache/, and the results and figures of
the claims being run); other claims' results and the user's own files come along. When
every claim is done, `swap` exchanges the two folders (two renames, the old one kept as
`.DIR.old` until the new one is in place), so an interrupted run leaves DIR as it was and
a rerun with the same arguments resumes the staging folder.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from simident.util.errors import SimidentError
from simident.util.io import check_resumable, read_json, write_json

MARKS = ("results.json", "report.md", "claims", "cache")  # any of them: a reproduction
STAGING_RECORD = ".staging.json"


@dataclass(frozen=True)
class Workspace:
    final: Path  # DIR
    work: Path  # where outputs are written: DIR, or the staging folder
    resumed: bool  # work already held outputs of a reproduction

    @property
    def staged(self) -> bool:
        return self.work != self.final


def staging_path(out: Path) -> Path:
    return out.parent / f".{out.name}.partial"


def backup_path(out: Path) -> Path:
    return out.parent / f".{out.name}.old"


def recover(out: Path) -> None:
    """Finish or undo a swap that was interrupted between its two renames."""
    backup = backup_path(out)
    if not backup.exists():
        return
    if out.exists():
        shutil.rmtree(backup)  # the new folder is in place: the old one is garbage
    else:
        os.rename(backup, out)  # the old folder was moved away only: put it back


def prepare(out, overwrite: bool, replaced_claims, args_key: str) -> Workspace:
    """Choose (and create) the folder the run writes into; see the module docstring.
    `replaced_claims`: the ids of the claims this run computes; `args_key`: a hash of
    the run's settings (a staging folder of other settings is discarded)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SimidentError(f"--out {out}: exists and is not a directory")
    recover(out)
    content = out.is_dir() and any(out.iterdir())
    if not content:
        out.mkdir(parents=True, exist_ok=True)
        return Workspace(final=out, work=out, resumed=False)
    if not overwrite:  # the resume policy; --overwrite: the staged swap below
        check_resumable(
            out,
            "reproduction",
            MARKS,
            "pass --overwrite to write the reproduction's outputs beside its files, or "
            "choose another --out",
        )
        return Workspace(final=out, work=out, resumed=True)
    staging = staging_path(out)
    record = staging / STAGING_RECORD
    if staging.is_dir() and record.is_file():
        try:
            same = read_json(record, "staging record").get("args_key") == args_key
        except SimidentError:
            same = False
        if same:
            return Workspace(final=out, work=staging, resumed=True)
    if staging.exists():
        shutil.rmtree(staging)
    _copy_kept(out, staging, set(replaced_claims))
    write_json(record, {"args_key": args_key, "final": str(out)})
    return Workspace(final=out, work=staging, resumed=False)


def _replaced(rel: Path, claims: set) -> bool:
    parts = rel.parts
    if parts[0] in ("report.md", "results.json", "cache", STAGING_RECORD):
        return True
    if len(parts) >= 2 and parts[0] == "claims" and parts[1] in {f"claim{i}" for i in claims}:
        return True
    if len(parts) == 2 and parts[0] == "figures":
        return any(parts[1].startswith(f"claim{i}_") for i in claims)
    return False


def _copy_kept(src: Path, dst: Path, claims: set) -> None:
    """Copy src into dst without the outputs the run replaces (hard links when the
    filesystem allows: every write of the run replaces files, never edits them)."""
    for root, dirs, files in os.walk(src):
        rel_root = Path(root).relative_to(src)
        dirs[:] = [d for d in dirs if not _replaced(rel_root / d, claims)]
        (dst / rel_root).mkdir(parents=True, exist_ok=True)
        for name in files:
            rel = rel_root / name
            if _replaced(rel, claims):
                continue
            try:
                os.link(src / rel, dst / rel)
            except OSError:
                shutil.copy2(src / rel, dst / rel)


def swap(ws: Workspace) -> None:
    """Put the staging folder in place of DIR (no-op when the work was done in DIR)."""
    if not ws.staged:
        return
    backup = backup_path(ws.final)
    if backup.exists():
        shutil.rmtree(backup)
    os.rename(ws.final, backup)
    os.rename(ws.work, ws.final)
    (ws.final / STAGING_RECORD).unlink(missing_ok=True)
    shutil.rmtree(backup)
