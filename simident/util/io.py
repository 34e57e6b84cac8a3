"""Files in and out: models as `.npz` (arrays F, G), JSON, all writes atomic."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from simident.util.errors import SimidentError
from simident.util.integrity import check_readable as _check_readable


def atomic_write(path, write) -> None:
    """Write a file atomically: `write(fh)` fills a temporary sibling that then replaces
    `path` (a crash never leaves a half-written file)."""
    path = Path(path)
    replace_files(path.parent, {path.name: write})


def replace_files(folder, writers: dict, stale=()) -> None:
    """Write several files of `folder` so that nothing there is lost before everything
    new is complete: each `writers[name](fh)` fills a temporary sibling first; only when
    all are written are they renamed into place (in the given order: the last one marks
    completion), and then the files named in `stale` that were not rewritten are removed.
    A crash or Ctrl-C before the renames leaves the folder as it was. A failing write
    (full disk, file-size limit, no permission) raises SimidentError naming the target
    file, not the temporary; a target that exists and is not a regular file (a folder, a
    device) is refused before anything is written."""
    folder = Path(folder)
    for name in writers:
        target = folder / name
        if (target.exists() or target.is_symlink()) and not target.is_file():
            raise SimidentError(f"cannot write {target}: exists and is not a regular file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SimidentError(f"cannot create folder {folder} ({e.strerror or e})") from None
    temps: list[tuple[str, str]] = []
    name = None
    try:
        for name, write in writers.items():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            temps.append((tmp, name))
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        for tmp, name in temps:
            os.replace(tmp, folder / name)
    except BaseException as e:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        if isinstance(e, OSError):
            where = folder / name if name is not None else folder
            raise SimidentError(f"cannot write {where} ({e.strerror or e})") from None
        raise
    for name in set(stale) - set(writers):
        (folder / name).unlink(missing_ok=True)


def check_out_dir(out, overwrite: bool, replaces: str = "its files") -> None:
    """The *fresh* --out policy (train, world, embed): refuse an `--out` that is a file, or
    a non-empty folder without --overwrite. Nothing is deleted: the writer replaces files
    once the new ones are complete (`replace_files`). `replaces`: what --overwrite
    replaces, for the message."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SimidentError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise SimidentError(
            f"--out {out}: directory is not empty; pass --overwrite to replace {replaces}, "
            "or choose another --out"
        )


def check_resumable(out, what: str, markers, hint: str = "choose another --out") -> bool:
    """The *resume* --out policy (sweep, calibrate, reproduce): an `--out` must be absent,
    empty (hidden files aside) or a folder of this kind (one of `markers` present);
    returns whether it holds earlier work to resume. Refuses a file, or a foreign
    non-empty folder, in one line naming `what` the folder should be."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SimidentError(f"--out {out}: exists and is not a directory")
    if not out.is_dir() or not any(p for p in out.iterdir() if not p.name.startswith(".")):
        return False
    if any((out / m).exists() for m in markers):
        return True
    raise SimidentError(
        f"--out {out}: not empty and not a {what} folder (no {' or '.join(markers)}); {hint}"
    )


def write_text(path, text: str) -> None:
    """Write a text file atomically (UTF-8)."""
    data = text.encode()
    atomic_write(path, lambda fh: fh.write(data))


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        if np.isnan(v):
            return None
        if np.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if hasattr(x, "to_dict"):
        return _jsonable(x.to_dict())
    return x


def to_json(obj, indent: int | None = 2) -> str:
    """JSON text with numpy scalars converted; NaN becomes null, ±inf the strings "inf"/"-inf"."""
    return json.dumps(_jsonable(obj), indent=indent, allow_nan=False)


def json_writer(obj):
    """A `replace_files` writer of `obj` as JSON (see `to_json`)."""
    text = to_json(obj).encode()
    return lambda fh: fh.write(text)


def write_json(path, obj) -> None:
    """Write JSON atomically (a crash never leaves a half-written file)."""
    atomic_write(path, json_writer(obj))


def read_json(path, what: str = "JSON file"):
    """Parse a JSON file; a missing, unreadable, non-text, invalid or absurdly nested file
    is refused with one line naming it."""
    path = Path(path)
    _check_readable(path, what)
    try:
        text = path.read_text()
    except OSError as e:
        raise SimidentError(f"{what} {path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise SimidentError(f"{what} {path}: not a text file ({e})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SimidentError(f"{what} {path}: not valid JSON ({e})") from None
    except RecursionError:
        raise SimidentError(f"{what} {path}: nested too deeply to be a valid input") from None


def read_toml(path, what: str = "TOML file") -> dict:
    """Parse a TOML file; a missing file, bad TOML or non-text names the file."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib

    path = Path(path)
    if path.is_dir():
        raise SimidentError(f"{path}: is a directory, not a {what}")
    if not path.is_file():
        raise SimidentError(f"{path}: no such {what}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise SimidentError(f"{path}: not valid TOML ({e})") from None
    except UnicodeDecodeError as e:
        raise SimidentError(f"{path}: not a text file ({e})") from None
    except OSError as e:
        raise SimidentError(f"{path}: cannot read ({e.strerror or e})") from None


def model_arrays(F, G, **extra) -> dict:
    """The arrays of a model file in the `compare` format: F, G and any `extra`."""
    return {
        "F": np.asarray(F),
        "G": np.asarray(G),
        **{k: np.asarray(v) for k, v in extra.items()},
    }


def npz_writer(arrays: dict):
    """A `replace_files` writer of `arrays` as an `.npz` (uncompressed, no pickles)."""
    return lambda fh: np.savez(fh, **arrays)


def model_writer(F, G, **extra):
    """A `replace_files` writer of a model in the `compare` format (arrays F, G, extra)."""
    return npz_writer(model_arrays(F, G, **extra))


def save_model(path, F, G, **extra) -> None:
    """Write a model in the `compare` format: `F` (n×d) and `G` (V×d), atomically."""
    atomic_write(path, model_writer(F, G, **extra))


def load_model(path, limit=None) -> tuple[np.ndarray, np.ndarray]:
    """Read and validate a model file: arrays `F` (n×d) and `G` (V×d) (`arrays.check_arrays`),
    read in bounds (`integrity.read_npz`: headers checked before any array is read, at
    most `limit` bytes). A file listed with checksums in the run.json, world.json or
    embed.json beside it must match them.

    Raises SimidentError naming the file and the problem.
    """
    from simident.util.arrays import check_arrays
    from simident.util.integrity import read_npz, verify

    path = Path(path)
    _check_readable(path, "model file")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            single = fh.read(6) == b"\x93NUMPY"
        why = "a single array? save F and G with numpy.savez" if single else "truncated?"
        raise SimidentError(f"{path}: not an .npz archive ({why})")
    arrays = read_npz(
        path,
        "model file",
        expect={"F": (None, None), "G": (None, None)},
        required=("F", "G"),
        limit=limit,
    )
    record = sibling_checksums(path)
    if record is not None:
        verify(arrays, record, path)
    return check_arrays(arrays["F"], arrays["G"], str(path))


RECORDS = ("run.json", "world.json", "embed.json")


def sibling_checksums(path) -> dict | None:
    """The checksum record of `path` in the run.json, world.json or embed.json of its
    folder (written by `simident train`, `world`, `embed`), or None when none lists it."""
    path = Path(path)
    for name in RECORDS:
        record = path.parent / name
        if not record.is_file():
            continue
        try:
            meta = json.loads(record.read_text())
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            continue  # an unreadable record is the reader's of that folder to refuse
        seal = meta.get("integrity") if isinstance(meta, dict) else None
        if seal is None:
            continue  # written by an older simident: nothing to verify against
        files = seal.get("files") if isinstance(seal, dict) else None
        if not isinstance(files, dict):
            raise SimidentError(f"{record}: field 'integrity' is malformed (no 'files' object)")
        if path.name in files:
            return files[path.name]
    return None


RECORD_PREFIXES = ("noise/", "meta/")  # small arrays a model file may carry beside F, G
RECORD_BYTES = 1 << 16  # each at most this large (read in bounds: checked from its header)


def load_model_record(path) -> dict:
    """The small arrays `noise/*` and `meta/*` of a model file (scalars and strings: its ν̂
    and where its data came from), {} when it has none. Each must be 0-d; their headers
    are checked before any is read (`integrity.members`)."""
    from simident.util.integrity import members

    path = Path(path)
    heads = {k: v for k, v in members(path).items() if k.startswith(RECORD_PREFIXES)}
    for name, (shape, dtype, size) in heads.items():
        if shape != () or dtype.kind not in "iufU" or size > RECORD_BYTES:
            raise SimidentError(f"{path}: array '{name}' must be a scalar or a short string")
    out = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            for name in heads:
                out[name] = z[name].item()
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise SimidentError(f"{path}: not a readable .npz file ({e})") from None
    return out
