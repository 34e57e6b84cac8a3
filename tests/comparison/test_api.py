"""The typed API (`simident.Model`, `simident.compare`, property specs) and the bad
inputs of `simident compare` (one line, exit 2, never a traceback or a silent NaN)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import simident as si
from simident.theory import constructors as C
from simident.theory.decisions import Band, and3, band, decide, or3, same3
from simident.util.errors import SimidentError
from simident.util.io import save_model
from tests.cli.test_compare import run_cli


def _pair(seed=0, n=14, V=10, d=5):
    rng = np.random.default_rng(seed)
    F, G = rng.normal(size=(n, d)), rng.normal(size=(V, d))
    Fb, Gb = C.transform(F, G, C.random_invertible(rng, d))
    return si.Model(F, G), si.Model(Fb, Gb)


# ------------------------------------------------------------------ typed API


def test_compare_returns_a_typed_frozen_result_whose_dict_is_the_json_form():
    a, b = _pair()
    c = si.compare(
        a,
        b,
        properties=[si.Probe("z", contexts=(0, 1, 2, 3), values=(0.0, 1.0, 2.0, 0.5))],
    )
    assert isinstance(c, si.Comparison) and c.equivalent and c.k == 5
    assert isinstance(c.properties[0], si.PropertyResult)
    with pytest.raises(AttributeError):
        c.k = 3  # frozen
    d = c.to_dict()
    assert d["k"] == 5 and d["properties"][0]["name"] == "z"
    assert d["k_decision"]["decided_by"] in ("tol", "floor")
    json.dumps(d, default=str)
    assert c.property("z").shared is True


def test_float64_results_do_not_depend_on_the_global_x64_flag():
    """A pair perturbed by 1e-6 (true residual ~1e-5): the same numbers with the flag off
    and on (before, float32 under the hood reported residual 0 and 'equivalent')."""
    rng = np.random.default_rng(3)
    F, G = rng.normal(size=(30, 6)), rng.normal(size=(12, 6))
    Fb = F + 1e-6 * rng.normal(size=F.shape)
    props = [si.Relational("r", pairs=tuple((i, i + 10) for i in range(8)))]
    with jax.enable_x64(False):
        off = si.compare((F, G), (Fb, G), properties=props).to_dict()
    with jax.enable_x64(True):
        on = si.compare((F, G), (Fb, G), properties=props).to_dict()
    assert off == on
    assert off["logit_residual"] > 1e-7 and not off["equivalent"]


def test_float64_results_are_identical_in_a_process_without_x64():
    code = (
        "import numpy as np, simident as si, json\n"
        "rng = np.random.default_rng(3)\n"
        "F, G = rng.normal(size=(30, 6)), rng.normal(size=(12, 6))\n"
        "c = si.compare((F, G), (F + 1e-6 * rng.normal(size=F.shape), G))\n"
        "print(json.dumps([c.logit_residual, c.kl_mean, c.k, c.identified_r2]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rng = np.random.default_rng(3)
    F, G = rng.normal(size=(30, 6)), rng.normal(size=(12, 6))
    c = si.compare((F, G), (F + 1e-6 * rng.normal(size=F.shape), G))
    assert json.loads(out.stdout) == [c.logit_residual, c.kl_mean, c.k, c.identified_r2]


def test_model_refuses_bad_arrays_with_one_line():
    with pytest.raises(SimidentError, match="dtype"):
        si.Model(np.ones((3, 2), np.longdouble), np.ones((4, 2)))
    with pytest.raises(SimidentError, match="too large"):
        si.Model(np.full((3, 2), 1e300), np.ones((4, 2)))
    with pytest.raises(SimidentError, match="non-finite"):
        si.Model(np.array([[np.nan, 1.0]]), np.ones((4, 2)))
    with pytest.raises(SimidentError, match="d=3"):
        si.Model(np.ones((3, 2)), np.ones((4, 3)))
    m = si.Model(np.ones((3, 2), np.float32), np.ones((4, 2), np.float16))
    assert (m.n, m.V, m.d) == (3, 4, 2)


def test_specs_are_validated_once_names_are_unique_and_keys_known():
    a, b = _pair()
    with pytest.raises(SimidentError, match="duplicate"):
        si.compare(a, b, properties=[si.Probe("z", (0, 1), (0.0, 1.0))] * 2)
    with pytest.raises(SimidentError, match="unknown key"):
        si.compare(
            a,
            b,
            properties=[
                {"kind": "probe", "name": "z", "contexts": [0, 1], "values": [0, 1], "colour": 1}
            ],
        )
    with pytest.raises(SimidentError, match="zero-length"):
        si.compare(a, b, properties=[si.ParallelUnembedding("p", ((1, 1), (2, 3)))])
    with pytest.raises(SimidentError, match="zero-length"):
        si.compare(a, b, properties=[si.ParallelEmbedding("p", ((0, 1), (4, 4)))])


def test_context_subsets_remap_and_drop_properties_with_notes():
    a, b = _pair()
    props = [
        si.Relational("r", pairs=((0, 7), (1, 8), (2, 9), (3, 13))),
        si.Probe("z", contexts=(0, 1, 12), values=(0.0, 1.0, 2.0)),
        si.ParallelEmbedding("pe", ((0, 1), (12, 13))),
        si.ParallelUnembedding("pu", ((0, 1), (2, 3))),
    ]
    keep = list(range(10))
    c = si.compare(a, b, properties=props, contexts=keep)
    assert c.contexts == {"name": "given", "n_used": 10, "n_total": 14}
    names = [p.name for p in c.properties]
    assert names == ["r", "z", "pu"]  # pe is dropped (context 12, 13 outside)
    assert c.property("r").scores.n == 3
    assert c.property("z").scores.n == 2
    assert any("pe: dropped" in n for n in c.notes)
    direct = si.compare(a.restrict(keep), b.restrict(keep))
    assert direct.logit_residual == c.logit_residual and direct.k == c.k
    with pytest.raises(SimidentError, match="out of range"):
        si.compare(a, b, contexts=[0, 99])
    with pytest.raises(SimidentError, match="duplicate"):
        si.compare(a, b, contexts=[0, 0, 1])


# ------------------------------------------------------------------ three-valued verdicts


@given(
    tol=st.floats(1e-10, 1e-2),
    noise=st.floats(0, 1),
    u=st.floats(0, 1),
    lo=st.floats(0.5, 3),
    w=st.floats(0, 3),
)
def test_a_score_inside_the_band_is_undecided_and_outside_decided(tol, noise, u, lo, w):
    b = band(tol, noise, (lo, lo + w))
    assert b.lower <= b.upper and b.lower >= tol
    assert decide(0.0, b) is True and decide(tol, b) is True  # exact in its model
    if b.upper < 1.0:
        assert decide(b.lower, b) is True
        above = b.upper * 1.01 + 1e-12
        assert decide(above, b) is (False if above > b.upper else None)
        inside = b.lower + u * (b.upper - b.lower)
        if b.lower < inside <= b.upper:
            assert decide(inside, b) is None
    else:  # the band reaches the largest score: nothing beyond exactness is decided
        assert decide(max(2 * tol, 0.5 * b.lower), b) is None
    assert decide(float("nan"), b) is None
    assert decide(0.5, Band(math.inf, math.inf, math.inf, tol)) is None


def test_exact_pairs_collapse_the_band_to_tol():
    assert band(1e-8, 0.0) == Band(1e-8, 1e-8, 0.0, 1e-8)


def test_kleene_logic():
    assert and3(True, None) is None and and3(False, None) is False and and3(True, True)
    assert or3(False, None) is None and or3(True, None) is True and or3(False, False) is False
    assert same3(True, True) and same3(True, False) is False and same3(None, True) is None


def test_trained_like_pair_gets_undecided_or_decided_verdicts_never_vacuous_true():
    """A visible and an invisible probe on a noisy pair: the visible one is decided as
    holding and the invisible one as failing (not 'shared, guaranteed' by default)."""
    rng = np.random.default_rng(0)
    n, V, d = 60, 20, 6
    F, G = rng.normal(size=(n, d)), rng.normal(size=(V, d))
    G[:, 4:] = 0  # U = first 4 directions; f's last 2 directions are invisible
    z_vis = F[:, 0] + 0.5 * F[:, 1]
    z_inv = F[:, 4]
    Fa, Fb = F + 0.05 * rng.normal(size=F.shape), F + 0.05 * rng.normal(size=F.shape)
    Fa[:, 4:], Fb[:, 4:] = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    ctx = tuple(range(n))
    c = si.compare(
        (Fa, G),
        (Fb, G),
        properties=[si.Probe("vis", ctx, tuple(z_vis)), si.Probe("inv", ctx, tuple(z_inv))],
    )
    vis, inv = c.property("vis"), c.property("inv")
    assert vis.holds_a is True and vis.holds_b is True and vis.distribution_level is True
    assert inv.holds_a is False and inv.holds_b is False and inv.distribution_level is False
    assert vis.band.noise > 0 and vis.band.lower > c.tol


# ------------------------------------------------------------------ CLI bad input


def _models(tmp_path):
    a, b = _pair()
    save_model(tmp_path / "a.npz", a.F, a.G)
    save_model(tmp_path / "b.npz", b.F, b.G)
    return str(tmp_path / "a.npz"), str(tmp_path / "b.npz")


def _one_line_error(capsys, argv, match):
    rc = run_cli(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert match in err, err


def test_cli_bad_properties_files(tmp_path, capsys):
    a, b = _models(tmp_path)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    _one_line_error(capsys, [a, b, "--properties", str(deep)], "nested too deeply")
    top = tmp_path / "top.json"
    top.write_text("[1, 2]")
    _one_line_error(capsys, [a, b, "--properties", str(top)], "expected an object")
    top.write_text('"properties"')
    _one_line_error(capsys, [a, b, "--properties", str(top)], "expected an object")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00\x80")
    _one_line_error(capsys, [a, b, "--properties", str(binary)], "not a text file")
    _one_line_error(capsys, [a, b, "--properties", str(tmp_path)], "is a directory")
    dup = tmp_path / "dup.json"
    entry = {"kind": "probe", "name": "z", "contexts": [0, 1], "values": [0, 1]}
    dup.write_text(json.dumps({"properties": [entry, entry]}))
    _one_line_error(capsys, [a, b, "--properties", str(dup)], "duplicate property name")
    dup.write_text(json.dumps({"properties": [{**entry, "extra": 1}]}))
    _one_line_error(capsys, [a, b, "--properties", str(dup)], "unknown key")
    zero = {"kind": "parallel_unembedding", "name": "p", "pairs": [[2, 2], [0, 1]]}
    dup.write_text(json.dumps({"properties": [zero]}))
    _one_line_error(capsys, [a, b, "--properties", str(dup)], "zero-length")


def test_cli_bad_model_files(tmp_path, capsys):
    a, b = _models(tmp_path)
    _one_line_error(capsys, [str(tmp_path), b], "is a directory")
    big = tmp_path / "big.npz"
    np.savez(big, F=np.full((14, 5), 1e300), G=np.ones((10, 5)))
    _one_line_error(capsys, [str(big), b], "too large")
    ld = tmp_path / "ld.npz"
    np.savez(ld, F=np.ones((14, 5), np.longdouble), G=np.ones((10, 5)))
    _one_line_error(capsys, [str(ld), b], "dtype")


def test_cli_stdout_on_a_full_device(tmp_path):
    a, b = _models(tmp_path)
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            [sys.executable, "-m", "simident.cli.main", "compare", a, b, "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "standard output" in p.stderr


def test_cli_contexts_subsets(tmp_path, capsys):
    from simident.worlds import generate_world

    w = generate_world(
        {"name": "t", "vocab_size": 10, "d": 4, "n_contexts": 20, "heldout_fraction": 0.25}
    )
    world = tmp_path / "w"
    w.save(world)
    rng = np.random.default_rng(0)
    a, b = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    save_model(a, w.F, w.G)
    save_model(b, w.F + 1e-3 * rng.normal(size=w.F.shape), w.G)
    n_train, n_held = len(w.train_ids), len(w.heldout_ids)
    assert n_train and n_held
    for which, n_used in (("train", n_train), ("heldout", n_held), ("all", w.n)):
        rc = run_cli([a, b, "--json", "--contexts", which, "--world", str(world)])
        out, err = capsys.readouterr()
        assert rc == 0, err
        assert json.loads(out)["contexts"]["n_used"] == n_used
    ids = tmp_path / "ids.json"
    ids.write_text("[0, 2, 4, 6, 8, 10]")
    rc = run_cli([a, b, "--json", "--contexts-file", str(ids)])
    out, err = capsys.readouterr()
    assert rc == 0 and json.loads(out)["contexts"]["n_used"] == 6
    _one_line_error(capsys, [a, b, "--contexts", "train"], "needs --world")
    ids.write_text("[0, 99]")
    _one_line_error(capsys, [a, b, "--contexts-file", str(ids)], "out of range")


@pytest.mark.parametrize(
    "ids, message",
    [
        ([-1, 0], r"ids in \[0, 6\) \(got -1\)"),  # before: -1 wrapped to the last context
        ([0, 6], r"ids in \[0, 6\) \(got 6\)"),  # before: a bare IndexError
        ([], "non-empty 1-D"),
        ([[0, 1]], "non-empty 1-D"),
        ([0.5], "integer ids"),
        ([True, False], "integer ids"),
    ],
)
def test_restrict_refuses_bad_ids(ids, message):
    m = si.Model(np.ones((6, 2)), np.ones((4, 2)))
    with pytest.raises(SimidentError, match="Model.restrict: contexts must be .*" + message):
        m.restrict(ids)
    assert m.restrict(np.array([5, 0], dtype=np.int32)).n == 2


def test_unknown_property_name_is_a_simident_error():
    rng = np.random.default_rng(0)
    m = si.Model(rng.normal(size=(6, 2)), rng.normal(size=(4, 2)))
    c = si.compare(m, m, properties=[si.Probe("z", (0, 1, 2), (0.1, 2.0, -1.0))])
    with pytest.raises(SimidentError, match=r"no property named 'nope' \(known: 'z'\)"):
        c.property("nope")
