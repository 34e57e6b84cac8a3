"""World specs: JSON round trip, TOML reading, and one oracle case per documented error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from simident.util.errors import SimidentError
from simident.worlds import WorldSpec, example_kind, example_names, example_path, example_spec

from ._specs import valid_specs

BASE = {"vocab_size": 16, "d": 4, "n_contexts": 24, "rank_E": 4, "rank_U": 3, "k": 3}


@given(spec=valid_specs())
def test_json_round_trip(spec):
    d = json.loads(json.dumps(spec.to_dict()))
    assert WorldSpec.from_dict(d) == spec
    assert WorldSpec.from_dict(d).to_dict() == spec.to_dict()


def test_defaults_are_diverse():
    s = WorldSpec(vocab_size=16, d=4, n_contexts=24)
    assert (s.rank_E, s.rank_U, s.k) == (4, 4, 4)
    assert s.n_total == 24 and s.n_heldout == 0
    assert WorldSpec(vocab_size=16, d=4, n_contexts=24, rank_E=3, rank_U=2).k == 2


@pytest.mark.parametrize("name", [n for n in example_names() if example_kind(n) == "planted"])
def test_examples_load_and_round_trip(name):
    s = example_spec(name)
    assert s.name == name
    assert WorldSpec.from_dict(s.to_dict()) == s
    assert WorldSpec.from_toml(example_path(name)) == s


def test_required_examples_are_shipped():
    names = {n for n in example_names() if example_kind(n) == "planted"}
    assert {"tiny", "diverse", "low_context", "low_token", "both_low"} <= names
    specs = [example_spec(n) for n in names]
    assert any(s.rank_E == s.d for s in specs) and any(s.rank_E < s.d for s in specs)
    assert any(s.rank_E > s.k for s in specs)  # room for invisible / non-inclusion
    for s in specs:
        assert s.vocab_size <= 64 and s.n_contexts <= 128 and s.d <= 12
        assert s.queries and s.probes and s.n_parallel > 0
        if s.rank_E > s.k:
            assert any(not q.inclusion for q in s.queries)
            assert any(not p.visible for p in s.probes)


INVALID = [
    # (label, changes to BASE, text the message must contain)
    ("k above min(rank_E, rank_U)", {"k": 4}, "k: must be <= min(rank_E, rank_U)"),
    ("k below rank_E + rank_U - d", {"rank_E": 4, "rank_U": 4, "k": 3}, "k: must be >= rank_E"),
    ("k zero", {"k": 0}, "k: must be >= 1"),
    ("rank_E above d", {"rank_E": 5}, "rank_E: must be <= d"),
    ("rank_U above d", {"rank_U": 5}, "rank_U: must be <= d"),
    ("V too small for rank_U", {"vocab_size": 3}, "vocab_size: rank_U = 3 needs"),
    ("too few contexts", {"n_contexts": 5}, "n_contexts: needs >= rank_E + 2"),
    (
        "not enough distinct contexts",
        {"context_length": 1, "n_contexts": 17},
        "n_contexts: only vocab_size^context_length",
    ),
    (
        "compositional span too small",
        {
            "vocab_size": 4,
            "d": 8,
            "rank_E": 7,
            "rank_U": 3,
            "k": 3,
            "context_length": 2,
            "n_contexts": 16,
        },
        "rank_E: a compositional",
    ),
    ("bad context kind", {"context_kind": "markov"}, "context_kind: must be one of"),
    (
        "invisible probe with rank_E = k",
        {"rank_E": 3, "probes": [{"name": "z", "visible": False}]},
        "probes[0].visible: visible = false needs rank_E > k",
    ),
    (
        "non-inclusion query with rank_E = k",
        {"rank_E": 3, "queries": [{"name": "q", "inclusion": False}]},
        "queries[0].inclusion: inclusion = false needs rank_E > k",
    ),
    (
        "colliding query tokens",
        {"queries": [{"name": "a", "tokens": [1, 2]}, {"name": "b", "tokens": [1, 2]}]},
        "queries[1].tokens: same tokens [1, 2] as query 'a'",
    ),
    (
        "query token out of range",
        {"queries": [{"name": "a", "tokens": [16]}]},
        "queries[0].tokens[0]: token id 16 out of range",
    ),
    (
        "empty query tokens",
        {"queries": [{"name": "a", "tokens": []}]},
        "queries[0].tokens: must hold at least one",
    ),
    (
        "too many automatic queries",
        {
            "vocab_size": 4,
            "d": 2,
            "rank_E": 2,
            "rank_U": 2,
            "k": 2,
            "n_contexts": 8,
            "queries": [{"name": f"q{i}"} for i in range(5)],
        },
        "query_length: 5 queries need distinct token sequences",
    ),
    (
        "duplicate property names",
        {"queries": [{"name": "x"}], "probes": [{"name": "x"}]},
        "probes[0].name: name 'x' is already used by queries[0].name",
    ),
    ("reserved name", {"probes": [{"name": "parallel_0"}]}, "probes[0].name: names starting"),
    ("too many parallel quadruples", {"n_parallel": 5}, "n_parallel: each quadruple uses 4"),
    (
        "parallel quadruples eat rank_U",
        {"vocab_size": 5, "rank_U": 4, "k": 4, "n_parallel": 1},
        "n_parallel: each quadruple fixes one",
    ),
    ("zero lambda", {"parallel_lambda": 0.0}, "parallel_lambda: |λ| must lie"),
    (
        "held out with random contexts",
        {"context_kind": "random", "heldout_fraction": 0.2},
        "heldout_fraction: must be 0 for context_kind = 'random'",
    ),
    ("held out leaves too few", {"heldout_fraction": 0.9}, "heldout_fraction: leaves 2"),
    ("held out rounds to zero", {"heldout_fraction": 0.01}, "rounds to 0 held-out"),
    ("held out fraction 1", {"heldout_fraction": 1.0}, "heldout_fraction: must lie in [0, 1)"),
    ("negative samples", {"n_samples": -1}, "n_samples: must be >= 0"),
    ("logit scale zero", {"logit_scale": 0}, "logit_scale: must lie in (0, 10]"),
    ("spectrum ratio below 1", {"spectrum_ratio": 0.5}, "spectrum_ratio: must lie in [1, 10]"),
    ("string for an int", {"vocab_size": "16"}, "vocab_size: expected an integer"),
    ("bool for an int", {"d": True}, "d: expected an integer"),
    ("float for an int", {"n_contexts": 24.0}, "n_contexts: expected an integer"),
    (
        "string for a bool",
        {"queries": [{"name": "q", "inclusion": "yes"}]},
        "queries[0].inclusion: expected true or false",
    ),
    ("query without name", {"queries": [{"inclusion": True}]}, "queries[0].name: required"),
    ("name with spaces", {"name": "my world"}, "name: must not contain whitespace"),
    ("queries not a list", {"queries": {"name": "q"}}, "queries: expected a list of tables"),
    ("negative seed", {"seed": -1}, "seed: must be >= 0"),
    ("seed 2^64 - 1", {"seed": 2**64 - 1}, "seed: must be <= 2^32 - 1"),
    ("seed 1e20", {"seed": 10**20}, "seed: must be <= 2^32 - 1"),
    ("seed 2^32", {"seed": 2**32}, "seed: must be <= 2^32 - 1"),
    ("vocab 1e20", {"vocab_size": 10**20}, "vocab_size: must be <= 2^31 - 1"),
    ("samples 2^31", {"n_samples": 2**31}, "n_samples: must be <= 2^31 - 1"),
]


def test_largest_seed_generates_with_samples():
    """Seed 2^32 − 1, the largest accepted, builds a world with samples (larger ones
    overflowed in sampling, and a 32-bit PRNG key would wrap them onto smaller seeds)."""
    from simident.worlds import generate_world

    spec = {"vocab_size": 8, "d": 3, "n_contexts": 8, "n_samples": 4}
    w = generate_world({**spec, "seed": 2**32 - 1})
    assert w.samples.shape == (8, 4)


@pytest.mark.parametrize("label, changes, message", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_specs_name_field_and_constraint(label, changes, message):
    with pytest.raises(SimidentError) as err:
        WorldSpec.from_dict({**BASE, **changes})
    assert message in str(err.value), str(err.value)


def test_missing_required_key():
    with pytest.raises(SimidentError, match="d: required key missing"):
        WorldSpec.from_dict({"vocab_size": 16, "n_contexts": 24})


@pytest.mark.parametrize(
    "data, where",
    [
        ({**BASE, "rank_e": 3}, "unknown key(s) 'rank_e'"),
        ({**BASE, "queries": [{"name": "q", "inclusoin": True}]}, "queries[0]: unknown key(s)"),
        ({**BASE, "probes": [{"name": "z", "visable": True}]}, "probes[0]: unknown key(s)"),
    ],
)
def test_unknown_keys_fail(data, where):
    with pytest.raises(SimidentError) as err:
        WorldSpec.from_dict(data)
    assert where in str(err.value)


def test_toml_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("vocab_size = 16\nd = = 4\n")
    with pytest.raises(SimidentError, match="bad.toml: not valid TOML"):
        WorldSpec.from_toml(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("vocab_size = 16\nd = 4\nn_contexts = 24\nrank_e = 3\n")
    with pytest.raises(SimidentError, match=r"typo.toml: .*unknown key\(s\) 'rank_e'"):
        WorldSpec.from_toml(typo)
    with pytest.raises(SimidentError, match="no such spec file"):
        WorldSpec.from_toml(tmp_path / "missing.toml")


def test_toml_lists_of_tables(tmp_path):
    p = tmp_path / "w.toml"
    p.write_text(
        "vocab_size = 16\nd = 4\nn_contexts = 24\nrank_E = 4\nrank_U = 3\nk = 3\n"
        '[[queries]]\nname = "language"\ninclusion = true\ntokens = [3, 5]\n'
        '[[queries]]\nname = "other"\ninclusion = false\n'
        '[[probes]]\nname = "topic"\nvisible = false\n'
    )
    s = WorldSpec.from_toml(p)
    assert [q.name for q in s.queries] == ["language", "other"]
    assert s.queries[0].tokens == (3, 5) and s.queries[1].tokens is None
    assert not s.queries[1].inclusion and not s.probes[0].visible
