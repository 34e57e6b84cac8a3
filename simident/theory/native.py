"""The fast KL pass's per-cell work as a C++ kernel called through XLA's FFI
(`kl_cells.cc`), built on first use with the system's C++ compiler and cached.

Only on the CPU, and only where it builds: otherwise (no compiler, a failed build, an
accelerator, or SIMIDENT_NATIVE=0) the jitted XLA form in `divergence._fast_rows` runs,
which computes the same operations. `status()` says which and why. The library is
cached under $SIMIDENT_CACHE, else $XDG_CACHE_HOME/simident, else ~/.cache/simident,
named by a hash of the source, the compiler, its flags and the jaxlib headers, and
written atomically (concurrent builds are harmless)."""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import jax
import jax.numpy as jnp

SOURCE = Path(__file__).with_name("kl_cells.cc")
TARGET = "simident_kl_cells"
BUILD_TIMEOUT_S = 300
_lock = threading.Lock()
_state: dict = {}  # "ok": bool, "why": str, "path": str


def _flags() -> list[str]:
    """-O3, no FMA contraction (the rounding model counts each operation's rounding; no
    errno and no trapping assumed, which lets the loops vectorise and changes no value),
    AVX2 where this CPU has it."""
    flags = ["-O3", "-std=c++17", "-shared", "-fPIC", "-ffp-contract=off"]
    flags += ["-fno-math-errno", "-fno-trapping-math"]
    if platform.machine() in ("x86_64", "AMD64"):
        try:
            cpu = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpu = ""
        have = set(
            next(
                (ln.split(":", 1)[1].split() for ln in cpu.splitlines() if ln.startswith("flags")),
                [],
            )
        )
        if {"avx2", "fma"} <= have:
            flags += ["-mavx2", "-mfma"]
    return flags


def _cache_dir() -> Path:
    if os.environ.get("SIMIDENT_CACHE"):
        return Path(os.environ["SIMIDENT_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "simident"


def _compiler() -> str | None:
    return (
        os.environ.get("CXX")
        or shutil.which("g++")
        or shutil.which("c++")
        or shutil.which("clang++")
    )


def _build() -> tuple[Path | None, str]:
    """(path of the built library, "") or (None, why not)."""
    cxx = _compiler()
    if cxx is None:
        return None, "no C++ compiler (set CXX or install g++)"
    include = jax.ffi.include_dir()
    flags = _flags()
    try:
        version = subprocess.run(
            [cxx, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.splitlines()[:1]
    except (OSError, subprocess.SubprocessError) as err:
        return None, f"{cxx} --version failed: {err}"
    key = hashlib.sha256()
    for part in (
        SOURCE.read_bytes(),
        " ".join([cxx, *flags, *version]).encode(),
        (Path(include) / "xla/ffi/api/ffi.h").read_bytes(),
    ):
        key.update(part)
    out = _cache_dir() / f"kl_cells-{key.hexdigest()[:16]}.so"
    if out.exists():
        return out, ""
    for root in (out.parent, Path(tempfile.gettempdir()) / "simident"):
        try:
            root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=root, suffix=".so.tmp")
            os.close(fd)
        except OSError:
            continue
        cmd = [cxx, *flags, f"-I{include}", str(SOURCE), "-o", tmp]
        print(
            f"simident: building the KL pass's CPU kernel once ({cxx}, ≈ 10 s) into {root}",
            file=sys.stderr,
            flush=True,
        )
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as err:
            Path(tmp).unlink(missing_ok=True)
            return None, f"building {SOURCE.name} failed: {err}"
        if run.returncode != 0:
            Path(tmp).unlink(missing_ok=True)
            last = (run.stderr.strip().splitlines() or ["?"])[-1]
            return None, f"building {SOURCE.name} failed: {last}"
        final = root / out.name
        os.replace(tmp, final)
        return final, ""
    return None, f"no writable cache directory ({out.parent})"


def _load() -> None:
    path, why = _build()
    if path is None:
        _state.update(ok=False, why=why)
        return
    try:
        lib = ctypes.cdll.LoadLibrary(str(path))
        jax.ffi.register_ffi_target(TARGET, jax.ffi.pycapsule(lib.SimidentKlCells), platform="cpu")
    except (OSError, AttributeError, RuntimeError, ValueError) as err:
        _state.update(ok=False, why=f"loading {path.name} failed: {err}")
        return
    _state.update(ok=True, why="", path=str(path), lib=lib)


def _disabled() -> bool:
    return os.environ.get("SIMIDENT_NATIVE", "1").lower() in ("0", "false", "no", "off")


def available() -> bool:
    """Whether the fast pass runs its per-cell work in the C++ kernel: the default
    device is a CPU, SIMIDENT_NATIVE is not 0, and the kernel builds (once per
    process)."""
    if _disabled() or jax.default_backend() != "cpu":
        return False
    with _lock:
        if not _state:
            _load()
    return bool(_state["ok"])


def status() -> str:
    """ "native (path)" or "xla: why" for the fast pass's per-cell work."""
    if not available():
        if _disabled():
            return "xla: SIMIDENT_NATIVE=0"
        if jax.default_backend() != "cpu":
            return f"xla: the default device is {jax.default_backend()}"
        return f"xla: {_state['why']}"
    return f"native ({_state['path']})"


def kl_cells(la, D, fn, an, gn, bn, cacb, tokens, weighted: bool):
    """(KL, r_p numerator, denominator, β without the rows' roundings) per row, float64,
    c₁ = p_a(r − 1 − x) and c₂ = p_a − p_b per cell (float32, 0 on the padding), and per
    row (the bound's variance, Σ c₂ D, Σ c₁ ℓ_a), from one chunk's float32 products and
    norms (`kl_cells.cc`; `tokens`: an int32 scalar, the real tokens are the first of the
    padded ones; `divergence._coherent` finishes β); inside a jitted function with x64
    enabled."""
    out = jax.ShapeDtypeStruct((la.shape[0],), jnp.float64)
    cells = jax.ShapeDtypeStruct(la.shape, jnp.float32)
    aux = jax.ShapeDtypeStruct((la.shape[0], 3), jnp.float64)
    shapes = (out, out, out, out, cells, cells, aux)
    # c₁ and c₂ overwrite ℓ_a and D row by row (each row read before it is written): no
    # second pair of c×V buffers, whose allocation per call made the pass 2.5× slower
    call = jax.ffi.ffi_call(
        TARGET, shapes, vmap_method="sequential", input_output_aliases={0: 4, 1: 5}
    )
    return call(la, D, fn, an, gn, bn, cacb, tokens, weighted=bool(weighted))
