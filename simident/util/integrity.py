"""What simident reads back is checked before it is trusted (see docs/integrity.md).

- `read_npz(path, ...)`: an `.npz` read in bounds: every member's header (shape, dtype,
  declared and stored sizes) is checked against the expected shapes and this machine's
  memory *before* any array is materialised; a truncated, inconsistent or oversized
  archive is refused with one line naming the file.
- `checksums(arrays)`: the checksum record of every array present (by name: shape,
  dtype, sha256 of the bytes); `verify(arrays, record, path)` refuses arrays that differ
  from it. Writers put the record in the JSON written last, so a complete entry carries
  the checksums of its arrays; any array a writer adds is covered without a list here.
- `record_digest(record)`: a sha256 of a JSON record itself (keys sorted), for records
  that only simident writes (cache entries), so a hand edit is detected.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from simident.util.errors import SimidentError

ALGORITHM = "sha256"
# Members whose header data size (shape·itemsize) does not match the stored size within
# this slack are inconsistent (npy headers are padded to 64 bytes; format 3 to 64 as well).
HEADER_SLACK = 1 << 16


def array_sha256(x: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and C-order bytes."""
    x = np.ascontiguousarray(x)
    h = hashlib.sha256()
    h.update(f"{x.dtype.str}|{list(x.shape)}|".encode())
    h.update(memoryview(x).cast("B") if x.size else b"")
    return h.hexdigest()


def checksums(arrays: dict) -> dict:
    """{name: {"shape", "dtype", "sha256"}} of every array in `arrays`."""
    out = {}
    for name, x in sorted(arrays.items()):
        x = np.asarray(x)
        out[name] = {"shape": list(x.shape), "dtype": x.dtype.str, ALGORITHM: array_sha256(x)}
    return out


def seal(files: dict) -> dict:
    """The `integrity` field of a record: {"algorithm", "files": {file name: checksums}}
    for `files` = {file name: {array name: array}}."""
    return {"algorithm": ALGORITHM, "files": {f: checksums(a) for f, a in files.items()}}


def recorded(record, name: str, path):
    """The checksums of file `name` in `record`'s integrity field; None when the record
    has no integrity field (written by an older simident). Refuses a field that does not
    list the file."""
    seal_ = record.get("integrity") if isinstance(record, dict) else None
    if seal_ is None:
        return None
    files = seal_.get("files") if isinstance(seal_, dict) else None
    if not isinstance(files, dict) or name not in files:
        raise SimidentError(f"{path}: its record lists no checksums for {name}")
    return files[name]


def verify(arrays: dict, record, path) -> None:
    """Refuse (SimidentError naming `path`) arrays that are not exactly those of `record`
    (`checksums` form): the same names, shapes, dtypes and bytes."""
    if not isinstance(record, dict):
        raise SimidentError(f"{path}: its checksum record is not an object")
    missing = sorted(set(record) - set(arrays))
    extra = sorted(set(arrays) - set(record))
    if missing or extra:
        raise SimidentError(
            f"{path}: arrays differ from its record (missing {missing or 'none'}, "
            f"unrecorded {extra or 'none'})"
        )
    for name in sorted(arrays):
        want, x = record[name], np.asarray(arrays[name])
        if not isinstance(want, dict):
            raise SimidentError(f"{path}: the checksum record of array '{name}' is not an object")
        if list(x.shape) != want.get("shape") or x.dtype.str != want.get("dtype"):
            raise SimidentError(
                f"{path}: array '{name}' is {x.dtype.str} {list(x.shape)}, its record says "
                f"{want.get('dtype')} {want.get('shape')}"
            )
        if array_sha256(x) != want.get(ALGORITHM):
            raise SimidentError(
                f"{path}: array '{name}' does not match its checksum (modified or corrupt)"
            )


def record_digest(record: dict, skip: str = "integrity") -> str:
    """sha256 of a record in its JSON-read form (plain types, as `json.loads` gives;
    keys sorted) without its field `skip`."""
    body = {k: v for k, v in record.items() if k != skip}
    text = json.dumps(body, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def members(path) -> dict:
    """{name: (shape, dtype, stored bytes)} of an `.npz` from its headers alone (no array
    data is read). Refuses a file that is not a well-formed archive of `.npy` members."""
    path = Path(path)
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    raise SimidentError(f"{path}: member '{info.filename}' is not an .npy array")
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                    elif version in ((2, 0), (3, 0)):
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                    else:
                        raise ValueError(f"unknown .npy format version {version}")
                    header = fh.tell()
                if dtype.hasobject:
                    raise SimidentError(
                        f"{path}: array '{info.filename[:-4]}' holds Python objects (refused)"
                    )
                data = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if abs(info.file_size - header - data) > HEADER_SLACK:
                    raise SimidentError(
                        f"{path}: array '{info.filename[:-4]}' declares {data} bytes of data "
                        f"but {info.file_size - header} are stored (truncated or forged header)"
                    )
                out[info.filename[:-4]] = (tuple(shape), dtype, data)
    except SimidentError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as e:
        raise SimidentError(f"{path}: not a readable .npz file ({e})") from None
    return out


def check_readable(path: Path, what: str) -> None:
    """A file that exists, is not a directory and can be opened; else SimidentError."""
    if path.is_dir():
        raise SimidentError(f"{what} {path}: is a directory")
    if not path.exists():
        raise SimidentError(f"{what} {path}: no such file")
    if not path.is_file():
        raise SimidentError(f"{what} {path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise SimidentError(f"{what} {path}: permission denied")


def read_npz(
    path, what: str = "array file", expect: dict | None = None, required=(), limit=None
) -> dict:
    """Every array of the `.npz` at `path`, read in bounds.

    Before any data is read: the members' headers must be consistent (`members`), the
    names in `required` present, each `expect[name]` shape matched (a tuple whose entries
    are ints or None for "any"; its length fixes ndim), and the declared total fit in
    `limit` bytes (default: MEMORY_FRACTION of this machine's memory). Only then are the
    arrays read (zip CRCs checked), so no read allocates more than its header declared.
    """
    from simident.util.memory import MEMORY_FRACTION, gib, total_memory_bytes

    path = Path(path)
    check_readable(path, what)
    heads = members(path)
    missing = [k for k in required if k not in heads]
    if missing:
        raise SimidentError(
            f"{path}: missing array(s) {', '.join(missing)} (found: {sorted(heads) or 'none'})"
        )
    for name, want in (expect or {}).items():
        if name not in heads:
            continue
        shape = heads[name][0]
        if len(shape) != len(want) or any(w is not None and w != s for w, s in zip(want, shape)):
            shown = tuple("*" if w is None else w for w in want)
            raise SimidentError(
                f"{path}: array '{name}' has shape {shape}, expected {shown}".replace("'*'", "*")
            )
    total = sum(size for _, _, size in heads.values())
    limit = MEMORY_FRACTION * total_memory_bytes() if limit is None else limit
    if total > limit:
        raise SimidentError(
            f"{path}: its arrays declare {gib(total)}, more than the {gib(int(limit))} "
            "this read may use (forged header, or a file too large for this machine)"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in heads}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise SimidentError(f"{path}: not a readable .npz file ({e})") from None


def check_finite(path, arrays: dict, names) -> None:
    """Refuse non-finite values in the named float arrays (one line naming the first)."""
    for name in names:
        x = arrays.get(name)
        if x is None or not np.issubdtype(np.asarray(x).dtype, np.floating):
            continue
        if not np.all(np.isfinite(x)):
            bad = int(np.sum(~np.isfinite(x)))
            raise SimidentError(f"{path}: array '{name}' has {bad} non-finite value(s)")
