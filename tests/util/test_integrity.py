"""What is read back is verified (integrity.py): checksums over every array present,
bounded `.npz` reads from the headers, and the model reader built on them."""

import io
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simident.util.errors import SimidentError
from simident.util.integrity import checksums, members, read_npz, record_digest, seal, verify
from simident.util.io import load_model, save_model


def _npy_header(shape, descr="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def _npy(x) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x)
    return buf.getvalue()


@given(
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=3),
    dtype=st.sampled_from(["<f4", "<f8", "<i4", "|b1"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_checksums_catch_any_change(shape, dtype, seed):
    """Every array is covered by name, shape, dtype and bytes: a change of one value, of
    the dtype or of the shape, a missing or an extra array is refused."""
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.normal(size=shape) * 10).astype(dtype)
    arrays = {"x": x, "extra": np.arange(3)}  # any array a writer adds is covered too
    record = checksums(arrays)
    verify({k: v.copy() for k, v in arrays.items()}, record, "f")  # equal copies pass
    with pytest.raises(SimidentError, match="f: arrays differ"):
        verify({"x": x}, record, "f")
    with pytest.raises(SimidentError, match="f: arrays differ"):
        verify({**arrays, "nu_hat": np.ones(2)}, record, "f")
    if x.size:
        y = x.copy()
        y.flat[0] = not y.flat[0] if dtype == "|b1" else y.flat[0] + 1
        with pytest.raises(SimidentError, match="'x' does not match its checksum"):
            verify({**arrays, "x": y}, record, "f")
    with pytest.raises(SimidentError, match="'x' is"):
        verify({**arrays, "x": x[..., None]}, record, "f")
    other = "<f8" if dtype != "<f8" else "<f4"
    with pytest.raises(SimidentError, match="'x' is"):
        verify({**arrays, "x": x.astype(other)}, record, "f")


def test_record_digest_survives_json_and_sees_edits():
    import json

    from simident.util.io import to_json

    record = {"seeds": [0, 1], "kl": [float("nan"), 0.25], "x": {"b": 1, "a": np.float32(2)}}
    written = json.loads(to_json(record))  # what a writer digests: the form read back
    back = json.loads(json.dumps(written, indent=2))
    assert record_digest(back) == record_digest(written)
    back["seeds"] = [5, 7]
    assert record_digest(back) != record_digest(written)
    assert record_digest({**written, "integrity": seal({})}) == record_digest(written)


def test_header_declaring_7_tib_is_refused_before_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("F.npy", _npy_header((10**7, 10**5)) + b"\0" * 64)
        zf.writestr("G.npy", _npy(np.zeros((3, 2))))
    with pytest.raises(SimidentError, match="declares 8000000000000 bytes of data but 64"):
        load_model(path)
    with pytest.raises(SimidentError, match="bomb.npz: array 'F' declares"):
        members(path)  # from the headers alone


def test_zip_bomb_is_refused_from_its_header(tmp_path):
    """A small compressed archive whose member inflates to 80 MB: refused from the header
    against the read's limit, before anything is decompressed."""
    path = tmp_path / "zipbomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("F.npy", "w") as fh:
            fh.write(_npy_header((10_000, 1000)))
            for _ in range(10):
                fh.write(b"\0" * 8_000_000)
        zf.writestr("G.npy", _npy(np.zeros((3, 1000))))
    assert path.stat().st_size < 200_000
    assert members(path)["F"][0] == (10_000, 1000)
    with pytest.raises(SimidentError, match="zipbomb.npz: its arrays declare"):
        load_model(path, limit=10_000_000)
    with pytest.raises(
        SimidentError, match="'F' has shape \\(10000, 1000\\), expected \\(5, \\*\\)"
    ):
        read_npz(path, expect={"F": (5, None)})


@pytest.mark.parametrize(
    "label, make, message",
    [
        ("truncated", lambda p, good: p.write_bytes(good[:300]), "not an .npz archive .truncated"),
        ("empty", lambda p, good: p.write_bytes(b""), "not an .npz archive"),
        ("bad crc", lambda p, good: p.write_bytes(good[:180] + b"x" * 8 + good[188:]), "CRC"),
        ("object array", None, "holds Python objects"),
        (
            "one .npy",
            lambda p, good: (
                np.save(p.with_suffix(".npy"), np.ones(3)) or p.with_suffix(".npy").rename(p)
            ),
            "a single array",
        ),  # fmt: skip
    ],
)
def test_broken_model_files_are_refused_in_one_line(tmp_path, label, make, message):
    path = tmp_path / "m.npz"
    save_model(path, np.ones((4, 2)), np.ones((3, 2)))
    good = path.read_bytes()
    if make is None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("F.npy", _npy_header((2,), descr="|O") + b"\0" * 16)
            zf.writestr("G.npy", _npy(np.ones((3, 2))))
    else:
        make(path, good)
    with pytest.raises(SimidentError, match=message) as e:
        load_model(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_a_model_file_listed_in_its_run_json_must_match_it(tmp_path):
    import json

    F, G = np.ones((4, 2)), np.ones((3, 2))
    save_model(tmp_path / "seed_0.npz", F, G)
    record = {"integrity": seal({"seed_0.npz": {"F": F, "G": G}})}
    (tmp_path / "run.json").write_text(json.dumps(record))
    load_model(tmp_path / "seed_0.npz")  # matches
    save_model(tmp_path / "seed_0.npz", F + 1, G)
    with pytest.raises(SimidentError, match="seed_0.npz: array 'F' does not match its checksum"):
        load_model(tmp_path / "seed_0.npz")
    save_model(tmp_path / "other.npz", F + 1, G)  # not listed: read as a plain model file
    load_model(tmp_path / "other.npz")
