"""`simident world` on process specs: the shipped language and HMM examples (files,
predictions agreeing with the measured structure, compare on the truth), --json,
--dry-run, and bad specs exiting 2 with one line naming the key."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simident.cli.main import main
from simident.worlds import example_kind, example_names, example_spec, load_world

PROCESS = [n for n in example_names() if example_kind(n) != "planted"]


def test_process_examples_are_shipped():
    assert {"language_visible", "language_hidden", "language_confounded"} <= set(PROCESS)
    assert any(example_kind(n) == "hmm" for n in PROCESS)


@pytest.mark.parametrize("name", PROCESS)
def test_process_example_world(name, tmp_path, capsys):
    out = tmp_path / name
    assert main(["world", name, "--out", str(out), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert {p.name for p in out.iterdir()} == {
        "truth.npz",
        "properties.json",
        "world.json",
        "data.npz",
    }
    w = load_world(out)
    assert w.n == s["n_contexts_total"] and w.spec == example_spec(name).to_dict()
    meta = json.loads((out / "world.json").read_text())
    pred = meta["measured"]["predictions"]
    if example_kind(name) == "language":
        assert pred["k"]["predicted"] == pred["k"]["measured"] == w.measured["k"]
        assert all(p["agrees"] for p in w.measured["properties"])
        assert len(w.heldout_ids) > 0 and "sequences" in w.sequences
        spec = example_spec(name)
        # the training corpus runs one token past the longest context (docs/world.md)
        assert w.sequences["sequences"].shape == (spec.n_sequences, spec.length + 3)
    else:
        assert pred["prob_rank"]["measured"] <= pred["prob_rank"]["predicted_at_most"]


def test_hidden_example_compare_acceptance(tmp_path, capsys):
    """compare on the truth against itself: k and every distribution-level verdict as
    the process predicts (the topic query and probe fail, the rest hold)."""
    out = tmp_path / "w"
    assert main(["world", "language_hidden", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "predicted (W1) 15, measured 15" in printed
    truth = str(out / "truth.npz")
    props = str(out / "properties.json")
    assert main(["compare", truth, truth, "--properties", props, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["k"] == 15
    want = {p["name"]: p["predicted"] for p in json.loads(open(props).read())["properties"]}
    got = {p["name"]: p["distribution_level"] for p in r["properties"]}
    assert got == want and not want["ask_topic"] and not want["probe_topic"]
    assert not want["parallel_broken"] and want["parallel_1"]


def test_dry_run(capsys):
    assert main(["world", "language_visible", "--dry-run"]) == 0
    assert "memory" in capsys.readouterr().out


BAD = [
    ('kind = "language"\nlength = 17\n[[attributes]]\nname = "a"\nvalues = 2\n', "length"),
    ('kind = "language"\nsubjet = 3\n[[attributes]]\nname = "a"\nvalues = 2\n', "'subjet'"),
    (
        'kind = "language"\n[[attributes]]\nname = "a"\nvalues = 2\nsource = "last"\n',
        "attributes[0].source",
    ),
    (
        'kind = "language"\nsignature_rank = 3\n[[attributes]]\nname = "a"\nvalues = 2\n',
        "signature_rank",
    ),
    ('kind = "hmm"\nstates = 0\n', "states"),
    ('kind = "hmm"\nconcentration = 0.0\n', "concentration"),
    ('kind = "hmm"\nvocab = 4\n', "'vocab'"),
    ('kind = "grammar"\n', "kind"),
]


@pytest.mark.parametrize("text,key", BAD)
def test_bad_specs_exit_2_naming_the_key(text, key, tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    assert main(["world", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_language_world_is_float64_whatever_the_flag():
    import jax

    from simident.worlds import generate_world

    spec = example_spec("language_confounded")
    with jax.enable_x64(False):
        a = generate_world(spec)
    b = generate_world(spec)
    assert a.F.dtype == np.float64
    np.testing.assert_array_equal(a.F, b.F)
