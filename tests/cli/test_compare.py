"""`simident compare A.npz B.npz [--properties SPEC.json] [--json] [--tol] [--k]` end to end.

Exact cases (THEORY.md E1–E6, P1–P5) must get exact answers; bad input must give a
one-line error naming the file or field, exit code 2 and no traceback.

`run_cli` goes through the dispatcher (`simident.cli.main`), as a user does.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from simident.cli.main import main
from simident.theory import constructors as C
from simident.util.io import save_model

N, V, D = 14, 10, 5  # the shapes of the theory tests (shared JIT compiles)


def run_cli(argv: list[str]) -> int:
    """`simident compare ARGV...` → exit code (stdout/stderr go to capsys)."""
    try:
        return main(["compare", *argv])
    except SystemExit as e:  # argparse
        return int(e.code)


def compare_json(capsys, a, b, *extra) -> dict:
    rc = run_cli([str(a), str(b), "--json", *map(str, extra)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    obj, end = json.JSONDecoder().raw_decode(out)
    assert out[end:].strip() == "", "--json must print exactly one JSON object"
    return obj


def write(tmp_path, name, F, G):
    path = tmp_path / name
    save_model(path, F, G)
    return path


def write_spec(tmp_path, entries, name="spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"properties": entries}))
    return path


def by_name(result) -> dict:
    return {p["name"]: p for p in result["properties"]}


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)


# --------------------------------------------------------------------------- exact cases


def test_equivalent_models_of_different_dimensions(tmp_path, capsys, rng):
    """E4/E6: d = 5 vs d~ = 7 with large free parts: equivalent, identified R² = 1, full
    R² clearly below 1, k = 2, neither diverse."""
    F, G = C.random_model(rng, N, V, D, 4, 3, 2)
    Fb, Gb = C.transform(F, G, C.random_invertible(rng, D))
    Fb, Gb = C.add_context_free_part(rng, Fb, Gb, 10.0)
    Fb, Gb = C.add_token_free_part(rng, Fb, Gb, 10.0)
    Fb, Gb = C.pad(rng, Fb, Gb, 1, 1)
    r = compare_json(capsys, write(tmp_path, "a.npz", F, G), write(tmp_path, "b.npz", Fb, Gb))
    assert r["equivalent"] is True and r["logit_residual"] < 1e-10 and r["kl_max"] < 1e-20
    assert r["k"] == 2 and r["identified_r2"] > 1 - 1e-10 and r["full_r2"] < 0.9
    assert (r["a"]["d"], r["b"]["d"]) == (5, 7)
    assert (r["a"]["dim_E"], r["a"]["dim_U"], r["a"]["k"]) == (4, 3, 2)
    assert r["a"]["diverse"] is False and r["b"]["diverse"] is False


def test_non_equivalent_pair_is_flagged(tmp_path, capsys, rng):
    """E1: a generic change of the logits: not equivalent, residual ≫ tol, KL > 0; the text
    report says so."""
    F, G = C.random_model(rng, N, V, D, 4, 4, 3)
    Fb, Gb = F + 0.1 * rng.normal(size=F.shape), G + 0.1 * rng.normal(size=G.shape)
    a, b = write(tmp_path, "a.npz", F, G), write(tmp_path, "b.npz", Fb, Gb)
    r = compare_json(capsys, a, b)
    assert r["equivalent"] is False and r["logit_residual"] > 1e-3 and r["kl_max"] > 1e-6
    assert run_cli([str(a), str(b)]) == 0
    text = capsys.readouterr().out
    equivalent_row = next(line for line in text.splitlines() if line.startswith("equivalent"))
    assert equivalent_row.split()[1] == "no"


def test_classical_diverse_case(tmp_path, capsys, rng):
    """E5: both diverse, f~ = M f, ḡ~ = M⁻ᵀ ḡ: equivalent, k = d, identified and full R² = 1."""
    F, G = C.random_model(rng, N, V, D, D, D, D)
    Fb, Gb = C.transform(F, G, C.random_invertible(rng, D))
    r = compare_json(capsys, write(tmp_path, "a.npz", F, G), write(tmp_path, "b.npz", Fb, Gb))
    assert r["equivalent"] and r["k"] == D and r["a"]["diverse"] and r["b"]["diverse"]
    assert r["identified_r2"] > 1 - 1e-10 and r["full_r2"] > 1 - 1e-10
    assert r["m_residual"] < 1e-9 and r["n_residual"] < 1e-9


def test_planted_parallel_vectors_are_shared_only_under_diversity(tmp_path, capsys, rng):
    """P1/P2: planted parallel differences. Context- and token-diverse pair: shared and
    guaranteed. Non-diverse pair broken by a free part: holds in A only, not guaranteed."""
    quad_g, quad_f = (0, 1, 2, 3), (4, 5, 6, 7)
    spec = write_spec(
        tmp_path,
        [
            {"kind": "parallel_unembedding", "name": "pu", "pairs": [[0, 1], [2, 3]]},
            {"kind": "parallel_embedding", "name": "pe", "pairs": [[4, 5], [6, 7]]},
        ],
    )
    # diverse: E = U = R^d in both models
    F, G = C.random_model(rng, N, V, D, D, D, D)
    G = C.plant_parallel_unembedding(G, quad_g, 2.0)
    F = C.plant_parallel_embedding(F, quad_f, -0.5)
    Fb, Gb = C.transform(F, G, C.random_invertible(rng, D))
    a, b = write(tmp_path, "a.npz", F, G), write(tmp_path, "b.npz", Fb, Gb)
    ps = by_name(compare_json(capsys, a, b, "--properties", spec))
    for name in ("pu", "pe"):
        p = ps[name]
        assert p["holds_a"] and p["holds_b"] and p["shared"] and p["guaranteed"], p
        assert p["distribution_level"]
    # not diverse: E ≠ R^d and U ≠ R^d, broken in B by free parts
    F, G = C.random_model(rng, N, V, D, 3, 3, 2)
    G = C.plant_parallel_unembedding(G, quad_g, 2.0)
    F = C.plant_parallel_embedding(F, quad_f, -0.5)
    Fb, Gb = C.break_parallel_unembedding(rng, F, G, token=1)
    Fb, Gb = C.break_parallel_embedding(rng, Fb, Gb, context=5)
    a, b = write(tmp_path, "a2.npz", F, G), write(tmp_path, "b2.npz", Fb, Gb)
    r = compare_json(capsys, a, b, "--properties", spec)
    assert r["equivalent"]
    for p in r["properties"]:
        assert p["holds_a"] and not p["holds_b"] and p["distribution_level"], p
        assert not p["shared"] and not p["guaranteed"]


@pytest.mark.parametrize("inclusion", [True, False])
def test_relation_with_and_without_inclusion(tmp_path, capsys, rng, inclusion):
    """P3: with IC the relation is in the minimal model too (D3, guaranteed); without IC it
    holds in A only (D3 false, not shared, not guaranteed)."""
    F, G, pairs = C.relational_model(rng, N // 2, V, D, 4, 3, 2, inclusion=inclusion)
    Fm, Gm = C.minimal_model(F, G)
    spec = write_spec(tmp_path, [{"kind": "relational", "name": "q", "pairs": pairs}])
    a, b = write(tmp_path, "a.npz", F, G), write(tmp_path, "min.npz", Fm, Gm)
    r = compare_json(capsys, a, b, "--properties", spec)
    p = r["properties"][0]
    assert r["equivalent"] and r["b"]["d"] == 2
    assert p["holds_a"] and p["holds_b"] == inclusion
    assert p["distribution_level"] == inclusion == p["guaranteed"] == p["shared"]


def test_visible_and_invisible_probes(tmp_path, capsys, rng):
    """P4: a probe along U is shared with the minimal model; one along E ∩ U⊥ is not."""
    F, G = C.random_model(rng, N, V, D, 4, 3, 2)
    ctx = list(range(N))
    z_vis = C.probe_values(F, G, ctx, visible=True, rng=rng)
    z_inv = C.probe_values(F, G, ctx, visible=False, rng=rng)
    spec = write_spec(
        tmp_path,
        [
            {"kind": "probe", "name": "visible", "contexts": ctx, "values": z_vis.tolist()},
            {"kind": "probe", "name": "invisible", "contexts": ctx, "values": z_inv.tolist()},
        ],
    )
    Fm, Gm = C.minimal_model(F, G)
    a, b = write(tmp_path, "a.npz", F, G), write(tmp_path, "min.npz", Fm, Gm)
    ps = by_name(compare_json(capsys, a, b, "--properties", spec))
    vis, inv = ps["visible"], ps["invisible"]
    assert vis["holds_a"] and vis["holds_b"] and vis["shared"] and vis["guaranteed"]
    assert inv["holds_a"] and not inv["holds_b"] and not inv["shared"]
    assert not inv["guaranteed"] and not inv["distribution_level"]


def test_steering_inside_and_outside_E(tmp_path, capsys, rng):
    """P5: v = f(s1) − f(s0) ∈ E transfers to the minimal model (identical shift);
    v ∈ U ∩ E⊥ does not."""
    F, G = C.random_model(rng, N, V, D, 2, 4, 2)
    v_out = C.steering_outside_E(rng, F, G)
    spec = write_spec(
        tmp_path,
        [
            {"kind": "steering", "name": "inside", "pairs": [[0, 1], [2, 5]]},
            {"kind": "steering", "name": "outside", "vector": v_out.tolist()},
        ],
    )
    Fm, Gm = C.minimal_model(F, G)
    a, b = write(tmp_path, "a.npz", F, G), write(tmp_path, "min.npz", Fm, Gm)
    ps = by_name(compare_json(capsys, a, b, "--properties", spec))
    inside, outside = ps["inside"], ps["outside"]
    assert inside["holds_b"] and inside["guaranteed"] and inside["shared"]
    assert inside["scores"]["same_combination_residual"] < 1e-9
    assert not outside["holds_b"] and not outside["guaranteed"] and not outside["shared"]
    assert outside["scores"]["transfer_residual"] > 1e-3


def test_json_has_the_documented_keys(tmp_path, capsys, rng):
    """--json: exactly one JSON object with the documented keys, for models and properties."""
    F, G = C.random_model(rng, N, V, D, 4, 4, 3)
    spec = write_spec(
        tmp_path,
        [
            {"kind": "parallel_unembedding", "name": "p1", "pairs": [[0, 1], [2, 3]]},
            {"kind": "parallel_embedding", "name": "p2", "pairs": [[0, 1], [2, 3]]},
            {"kind": "relational", "name": "p3", "pairs": [[0, 7], [1, 8], [2, 9], [3, 10]]},
            {"kind": "probe", "name": "p4", "contexts": [0, 1, 2, 3], "values": [0, 1, 0, 2]},
            {"kind": "steering", "name": "p5", "pairs": [[0, 1]]},
        ],
    )
    a = write(tmp_path, "a.npz", F, G)
    r = compare_json(capsys, a, a, "--properties", spec)
    for key in (
        "equivalent",
        "kl_max",
        "logit_residual",
        "k",
        "identified_r2",
        "full_r2",
        "a",
        "b",
        "properties",
        "tol",
    ):
        assert key in r, key
    for tag in ("a", "b"):
        for key in ("d", "dim_E", "dim_U", "k", "diverse"):
            assert key in r[tag], (tag, key)
    assert [p["kind"] for p in r["properties"]] == [
        "parallel_unembedding",
        "parallel_embedding",
        "relational",
        "probe",
        "steering",
    ]
    for p in r["properties"]:
        for key in (
            "kind",
            "name",
            "holds_a",
            "holds_b",
            "distribution_level",
            "shared",
            "guaranteed",
            "reason",
            "scores",
        ):
            assert key in p, (p["name"], key)
        assert p["shared"] == (p["holds_a"] == p["holds_b"])
        assert isinstance(p["reason"], str) and p["reason"]


def test_k_override(tmp_path, capsys, rng):
    """--k K replaces the estimated effective complexity (k_source 'given')."""
    F, G = C.random_model(rng, N, V, D, 4, 4, 3)
    a = write(tmp_path, "a.npz", F, G)
    assert compare_json(capsys, a, a)["k"] == 3
    r = compare_json(capsys, a, a, "--k", 1)
    assert r["k"] == 1 and r["k_source"] == "given"


def test_tol_sets_the_verdict(tmp_path, capsys, rng):
    """--tol: a pair differing by a ~1e-5 relative logit residual is not equivalent at the
    float64 default (1.5e-8) but is at --tol 1e-3; the tolerance is echoed."""
    F, G = C.random_model(rng, N, V, D, 4, 4, 3)
    Fb = F + 1e-5 * rng.normal(size=F.shape)
    a, b = write(tmp_path, "a.npz", F, G), write(tmp_path, "b.npz", Fb, G)
    strict = compare_json(capsys, a, b)
    loose = compare_json(capsys, a, b, "--tol", 1e-3)
    assert 1e-7 < strict["logit_residual"] < 1e-3
    assert strict["equivalent"] is False and loose["equivalent"] is True
    assert loose["tol"] == 1e-3


def test_integer_arrays_are_accepted(tmp_path, capsys):
    """Integer F, G are cast to float64 (documented input format)."""
    rng = np.random.default_rng(5)
    F = rng.integers(-3, 4, size=(N, D))
    G = rng.integers(-3, 4, size=(V, D))
    a = tmp_path / "int.npz"
    np.savez(a, F=F, G=G)
    r = compare_json(capsys, a, a)
    assert r["equivalent"] is True and r["logit_residual"] < 1e-14


# --------------------------------------------------------------------------- bad input


def _one_line_error(capsys, argv, *needles):
    rc = run_cli([str(x) for x in argv])
    out, err = capsys.readouterr()
    assert rc == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and out == ""
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def good(tmp_path):
    rng = np.random.default_rng(7)
    F, G = C.random_model(rng, N, V, D, 4, 4, 3)
    return write(tmp_path, "good.npz", F, G), F, G


def _bad_model(tmp_path, kind, F, G):
    path = tmp_path / f"bad_{kind}.npz"
    if kind == "missing_file":
        return path, path.name
    if kind == "text_file":
        path.write_text("not a zip archive\n")
        return path, path.name
    if kind == "missing_F":
        np.savez(path, G=G)
        return path, "F"
    if kind == "missing_G":
        np.savez(path, F=F)
        return path, "G"
    if kind in ("nan", "inf"):
        F = F.copy()
        F[1, 2] = np.nan if kind == "nan" else np.inf
        np.savez(path, F=F, G=G)
        return path, "non-finite"
    if kind == "n_mismatch":
        np.savez(path, F=F[:-1], G=G)
        return path, "n="
    if kind == "V_mismatch":
        np.savez(path, F=F, G=G[:-1])
        return path, "V="
    if kind == "d_mismatch":
        np.savez(path, F=F, G=G[:, :-1])
        return path, "d="
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "missing_file",
        "text_file",
        "missing_F",
        "missing_G",
        "nan",
        "inf",
        "n_mismatch",
        "V_mismatch",
        "d_mismatch",
    ],
)
def test_bad_model_file_gives_one_line_error(tmp_path, capsys, good, kind):
    """Bad model input → one line naming the file (and the problem), exit 2, no traceback."""
    good_path, F, G = good
    bad, needle = _bad_model(tmp_path, kind, F, G)
    _one_line_error(capsys, [good_path, bad], bad.name, needle)


def test_bad_model_file_as_first_argument(tmp_path, capsys, good):
    """The first file is validated too and named in the error."""
    good_path, F, G = good
    bad, needle = _bad_model(tmp_path, "missing_F", F, G)
    _one_line_error(capsys, [bad, good_path], bad.name, needle)


def test_npy_file_instead_of_npz_gives_one_line_error(tmp_path, capsys, good):
    """A plain .npy array (not an .npz archive) is 'not an npz': one-line error, exit 2."""
    good_path, F, _ = good
    bad = tmp_path / "array.npy"
    np.save(bad, F)
    _one_line_error(capsys, [good_path, bad], bad.name)


SPEC_ERRORS = [
    ("wrong_kind", [{"kind": "orthogonal", "name": "x", "pairs": [[0, 1], [2, 3]]}], "kind"),
    ("no_name", [{"kind": "parallel_unembedding", "pairs": [[0, 1], [2, 3]]}], "name"),
    (
        "three_pairs",
        [{"kind": "parallel_unembedding", "name": "x", "pairs": [[0, 1], [2, 3], [4, 5]]}],
        "pairs",
    ),
    (
        "not_a_pair",
        [{"kind": "parallel_embedding", "name": "x", "pairs": [[0, 1, 2], [3, 4]]}],
        "pairs",
    ),
    ("nested_pair", [{"kind": "relational", "name": "x", "pairs": [[[0, 1], 2], [3, 4]]}], "pairs"),
    (
        "token_out_of_range",
        [{"kind": "parallel_unembedding", "name": "x", "pairs": [[0, 1], [2, V]]}],
        "out of range",
    ),
    (
        "context_out_of_range",
        [{"kind": "relational", "name": "x", "pairs": [[0, 1], [2, N]]}],
        "out of range",
    ),
    ("negative_id", [{"kind": "steering", "name": "x", "pairs": [[-1, 1]]}], "out of range"),
    ("float_id", [{"kind": "steering", "name": "x", "pairs": [[0.5, 1]]}], "integer"),
    (
        "length_mismatch",
        [{"kind": "probe", "name": "x", "contexts": [0, 1, 2], "values": [1.0, 2.0]}],
        "values",
    ),
    (
        "nested_contexts",
        [{"kind": "probe", "name": "x", "contexts": [[0, 1], [2, 3]], "values": [1.0, 2.0]}],
        "contexts",
    ),
    (
        "nan_value",
        [{"kind": "probe", "name": "x", "contexts": [0, 1], "values": [1.0, None]}],
        "values",
    ),
    ("missing_values", [{"kind": "probe", "name": "x", "contexts": [0, 1]}], "values"),
    (
        "vector_and_pairs",
        [{"kind": "steering", "name": "x", "pairs": [[0, 1]], "vector": [0.0] * D}],
        "vector",
    ),
    (
        "vector_wrong_length",
        [{"kind": "steering", "name": "x", "vector": [0.0] * (D + 1)}],
        "vector",
    ),
    ("not_a_list", {"kind": "probe"}, "properties"),
]


@pytest.mark.parametrize("case, entries, needle", SPEC_ERRORS, ids=[c[0] for c in SPEC_ERRORS])
def test_malformed_property_spec_gives_one_line_error(
    tmp_path, capsys, good, case, entries, needle
):
    """Malformed --properties → one line naming the spec file and the field, exit 2."""
    good_path, _, _ = good
    spec = tmp_path / f"{case}.json"
    spec.write_text(json.dumps({"properties": entries}))
    _one_line_error(capsys, [good_path, good_path, "--properties", spec], spec.name, needle)


def test_unreadable_property_file_gives_one_line_error(tmp_path, capsys, good):
    """Missing or invalid-JSON properties file → one line naming it, exit 2."""
    good_path, _, _ = good
    missing = tmp_path / "nope.json"
    _one_line_error(capsys, [good_path, good_path, "--properties", missing], missing.name)
    broken = tmp_path / "broken.json"
    broken.write_text('{"properties": [')
    _one_line_error(capsys, [good_path, good_path, "--properties", broken], broken.name, "JSON")


@pytest.mark.parametrize("tol", ["0", "1", "1.5", "-0.001", "nan"])
def test_bad_tol_gives_one_line_error(capsys, good, tol):
    """--tol outside (0, 1) → one line naming --tol, exit 2."""
    good_path, _, _ = good
    _one_line_error(capsys, [good_path, good_path, "--tol", tol], "--tol")


def test_non_numeric_tol_and_bad_k_exit_2(capsys, good):
    """--tol abc is refused by argparse (exit 2, names --tol); --k −1 or k > min(d) give one
    line, exit 2."""
    good_path, _, _ = good
    assert run_cli([str(good_path), str(good_path), "--tol", "abc"]) == 2
    assert "--tol" in capsys.readouterr().err
    _one_line_error(capsys, [good_path, good_path, "--k", "-1"], "--k")
    _one_line_error(capsys, [good_path, good_path, "--k", str(D + 1)], "k")


# --------------------------------------------------------------------------- via simident.cli.main


def test_cli_main_runs_compare_end_to_end(tmp_path, capsys, good):
    """`simident compare A B --json` through the real dispatcher `simident.cli.main`."""
    from simident.cli.main import main

    good_path, F, G = good
    Fb, Gb = C.transform(F, G, C.random_invertible(np.random.default_rng(1), D))
    b = write(tmp_path, "b.npz", Fb, Gb)
    assert main(["compare", str(good_path), str(b), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["equivalent"] is True and r["k"] == 3


def test_cli_main_reports_bad_input_in_one_line(tmp_path, capsys, good):
    """The dispatcher turns a SimidentError into one stderr line and exit code 2."""
    from simident.cli.main import main

    good_path, _, _ = good
    missing = tmp_path / "missing.npz"
    assert main(["compare", str(good_path), str(missing)]) == 2
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "missing.npz" in lines[0] and "Traceback" not in err


def test_kl_contexts_reports_the_subset_and_its_intervals(tmp_path, capsys, rng):
    """--kl-contexts N: KL and r_p on N seeded contexts, with 95% intervals; 'all' is
    the exact pass; anything else is one line and exit 2."""
    F, G = rng.normal(size=(60, 4)), rng.normal(size=(12, 4))
    a = write(tmp_path, "a.npz", F, G)
    b = write(tmp_path, "b.npz", F + 0.1 * rng.normal(size=F.shape), G)
    r = compare_json(capsys, a, b, "--kl-contexts", 20)
    s = r["kl_sample"]
    assert s["n_used"] == 20 and s["n_total"] == 60 and s["kl_mean"] == r["kl_mean"]
    assert s["kl_mean_ci95"][0] <= r["kl_mean"] <= s["kl_mean_ci95"][1]
    assert compare_json(capsys, a, b, "--kl-contexts", "all")["kl_sample"] is None
    for bad in ("1", "x"):
        assert run_cli([str(a), str(b), "--kl-contexts", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert "--kl-contexts" in err and len(err.splitlines()) == 1
