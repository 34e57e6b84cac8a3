"""The fast KL pass's per-cell work in C++ (`simident.theory.native`, `kl_cells.cc`)
against the jitted XLA form and the dense float64 reference, and the fallback to the XLA
form where the kernel cannot be built."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simident.theory import divergence, native
from simident.theory.tallqr import compress

from .test_divergence import dense_reference, pairs


@contextlib.contextmanager
def per_cell_work(in_kernel: bool):
    """The fast pass's per-cell work in the kernel (True) or in XLA (False)."""
    old = os.environ.get("SIMIDENT_NATIVE")
    os.environ["SIMIDENT_NATIVE"] = "1" if in_kernel else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SIMIDENT_NATIVE")
        else:
            os.environ["SIMIDENT_NATIVE"] = old


def test_the_kernel_builds_where_a_compiler_is(monkeypatch):
    """With a C++ compiler on the machine (this one's and CI's: g++) the kernel builds and
    the fast pass uses it; SIMIDENT_NATIVE=0 turns it off."""
    monkeypatch.delenv("SIMIDENT_NATIVE", raising=False)
    if native._compiler() is None:
        pytest.skip("no C++ compiler on this machine")
    assert native.available(), native.status()
    assert native.status().startswith("native (")
    fac = _factors(np.random.default_rng(0), 20, 30, 3, 1e-3)
    assert divergence._fast_setup(fac, None)["cells"]
    monkeypatch.setenv("SIMIDENT_NATIVE", "0")
    assert native.status() == "xla: SIMIDENT_NATIVE=0"
    assert not divergence._fast_setup(fac, None)["cells"]


def _factors(rng, n, V, d, eps):
    Fa, Ga = rng.normal(size=(n, d)), rng.normal(size=(V, d)) / np.sqrt(d)
    Fb, Gb = Fa + eps * rng.normal(size=(n, d)), Ga + eps * rng.normal(size=(V, d))
    c = compress(Fa, Ga, Fb, Gb)
    return divergence.factors(Fa, Ga, Fb, Gb, c.RF, c.RG)


def _both(pair):
    c = compress(*pair)
    fac = divergence.factors(*pair, c.RF, c.RG)
    ids = np.arange(pair[0].shape[0])
    out = {}
    for in_kernel in (True, False):
        with per_cell_work(in_kernel), jax.enable_x64(True):
            out[in_kernel] = divergence._products(fac, ids, True, None, fast=True)
    return out[True], out[False]


@given(pair=pairs(), f32=st.booleans())
def test_kernel_and_xla_form_agree_within_their_bounds(pair, f32):
    """On random pairs (any size, token count against the 64-token tiles, logit scale,
    distance; float64 or float32 inputs): the kernel's KL is within its own β of the
    dense float64 value in every context; where both forms certify a context, their KLs
    differ by at most β_kernel + β_xla and their r_p sums by at most 4e-6 relative."""
    if not native.available():
        pytest.skip(native.status())
    if f32:
        pair = tuple(x.astype(np.float32) for x in pair)
    (kl, num, den, beta), (kl_x, num_x, den_x, beta_x) = _both(pair)
    ref = dense_reference(*(np.asarray(x, np.float64) for x in pair))
    assert np.all(~(np.abs(kl - ref[0]) > beta + 1e-30))  # inf β: not certified
    both = ~divergence._uncertified(kl, beta) & ~divergence._uncertified(kl_x, beta_x)
    assert np.all(np.abs(kl[both] - kl_x[both]) <= (beta + beta_x)[both] + 1e-30)
    for got, want in ((num, num_x), (den, den_x)):
        np.testing.assert_allclose(got[both], want[both], rtol=4e-6, atol=1e-30)


@pytest.mark.parametrize("V", [1, 63, 64, 65, 200])
def test_an_equivalent_pair_gets_the_same_certified_kl_from_both_forms(V):
    """A near-equivalent pair (distance 1e-6: the series' low degree) at token counts
    around the 64-token tile: both forms certify the same contexts and agree within
    their bounds; the kernel's values are within 1e-6 of the dense reference."""
    if not native.available():
        pytest.skip(native.status())
    rng = np.random.default_rng(V)
    n, d = 40, 6
    Fa, Ga = 2.0 * rng.normal(size=(n, d)), rng.normal(size=(V, d)) / np.sqrt(d)
    pair = (Fa, Ga, Fa + 1e-6 * rng.normal(size=(n, d)), Ga)
    (kl, num, den, beta), (kl_x, _, _, beta_x) = _both(pair)
    ref = dense_reference(*pair)
    kept = ~divergence._uncertified(kl, beta)
    np.testing.assert_array_equal(kept, ~divergence._uncertified(kl_x, beta_x))
    assert np.all(np.abs(kl - kl_x) <= beta + beta_x)
    for got, want in zip((kl, num, den), ref, strict=True):
        np.testing.assert_allclose(got[kept], want[kept], rtol=2e-6, atol=1e-30)


def test_without_a_working_compiler_the_xla_form_runs(tmp_path):
    """CXX naming a program that fails: `status` says the build failed, the fast pass
    runs in XLA, and its values agree with the dense float64 reference (a fresh process,
    an empty cache)."""
    code = textwrap.dedent(
        """
        import json, sys
        import numpy as np
        from simident.theory import native
        from simident.theory.divergence import kl_terms
        rng = np.random.default_rng(5)
        Fa, Ga = rng.normal(size=(60, 3)), rng.normal(size=(45, 3))
        Fb, Gb = Fa + 1e-3 * rng.normal(size=Fa.shape), Ga
        kl, num, den = kl_terms(Fa, Ga, Fb, Gb, fast=True, host=False)
        print(json.dumps(dict(status=native.status(), kl=kl.tolist(), num=num.tolist())))
        """
    )
    env = {**os.environ, "CXX": "/bin/false", "SIMIDENT_CACHE": str(tmp_path / "cache")}
    env.pop("SIMIDENT_NATIVE", None)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["status"].startswith("xla: building kl_cells.cc failed"), got["status"]
    rng = np.random.default_rng(5)
    Fa, Ga = rng.normal(size=(60, 3)), rng.normal(size=(45, 3))
    ref = dense_reference(Fa, Ga, Fa + 1e-3 * rng.normal(size=Fa.shape), Ga)
    np.testing.assert_allclose(got["kl"], ref[0], rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(got["num"], ref[1], rtol=2e-6, atol=1e-30)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_one_far_token_sets_the_series_degree_and_the_rows_rounding_is_bounded(sign):
    """Models that differ by ~1e-3 in every token's logit and by ±0.3 in an improbable
    one's (the last of 90, p_a ≈ 1e-6, a few % of the KL):
    - the series' degree must follow that token, whichever side of E_pa D it lies on
      (the degree that suits |x| ≈ 1e-2 misses ~4e-4 of its term);
    - the error of each row's float32 rounding adds coherently over its tokens here (it
      reached 1.5β before `divergence._coherent`): the kernel's KL is within its β of the
      dense float64 value in every context, and the pass's final values (float64 where
      not certified) agree with it to 1e-6."""
    if not native.available():
        pytest.skip(native.status())
    rng = np.random.default_rng(11)
    n, V, d = 30, 90, 4
    Fa = np.concatenate([np.ones((n, 1)), rng.normal(size=(n, d - 1))], axis=1)
    Ga = 0.3 * rng.normal(size=(V, d))
    Ga[-1, 0] = -8.7
    Gb = Ga + 1e-3 * rng.normal(size=(V, d))
    Gb[-1, 0] += sign * 0.3
    pair = (Fa, Ga, Fa, Gb)
    (kl, _, _, beta), _ = _both(pair)
    ref = dense_reference(*pair)
    assert np.all(np.isfinite(beta)) and np.all(np.abs(kl - ref[0]) <= beta)
    c = compress(*pair)
    got = divergence.kl_pass(divergence.factors(*pair, c.RF, c.RG), fast=True, host=False)
    for g, want in zip(got, ref, strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-30)
