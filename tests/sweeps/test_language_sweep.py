"""A sweep over language worlds (simident/data/sweeps/language.toml): cells resolve a
language spec with an attribute's visibility as a key path and d = the predicted k, a tiny
version runs end to end with real training, its table carries the seeds-against-truth
columns (D3 residuals, verdict agreement) and they plot against a swept axis."""

from __future__ import annotations

import csv
from dataclasses import replace
from importlib import resources

import pytest

from simident.cli.main import main
from simident.study.truth_rows import agreement_summary, d3_status
from simident.sweeps.grid import cells, world_dims
from simident.sweeps.spec import SweepSpec
from simident.util.errors import SimidentError
from simident.worlds import generate_world

VIS = "attributes[1].visibility"


def _tiny(**grid) -> dict:
    path = resources.files("simident").joinpath("data", "sweeps", "language.toml")
    spec = SweepSpec.from_toml(str(path)).to_dict()
    spec["world"].update(subjects=6, n_sequences=48, length=2)
    spec["learner"].update(steps=8, chunk_steps=4, width=16, heads=2)
    spec["grid"] = {"world": grid, "learner": {}}
    return spec


def test_shipped_language_sweep_resolves_every_cell():
    path = resources.files("simident").joinpath("data", "sweeps", "language.toml")
    cs = cells(SweepSpec.from_toml(str(path)))
    assert len(cs) == 24
    c = cs[1 * 8]  # visibility 0.3, first values of the other axes
    assert c.world.kind == "language" and c.world.attributes[1].visibility == 0.3
    assert c.world.attributes[0].visibility == 1.0  # the other attribute untouched
    k, d = world_dims(c.world)
    assert c.learner.d == k == d == generate_world(c.world).measured["k"]
    # with attribute noise L* is not low rank: d = "k" is W6's rank, never below the
    # generated world's measured k (the seed pairs are compared at it)
    for c in (c for c in cs if c.world.noise > 0):
        measured = generate_world(c.world).measured["k"]
        assert c.learner.d >= measured > world_dims(replace(c.world, noise=0.0))[0]


def test_bad_attribute_path_names_the_key():
    with pytest.raises(SimidentError, match=r"attributes\[5\]\.visibility: the world has 2"):
        SweepSpec.from_dict(_tiny(**{"attributes[5].visibility": [1.0]}))
    with pytest.raises(SimidentError, match=r"attributes\[1\]\.visibility"):
        SweepSpec.from_dict(_tiny(**{VIS: [-1.0]}))


def test_status_and_summary():
    from simident.theory.decisions import Band

    band = Band(lower=0.1, upper=0.3, noise=0.05, tol=0.01)
    assert [d3_status(x, band) for x in (0.05, 0.2, 0.5)] == [True, None, False]
    assert d3_status(0.0, Band(lower=0.5, upper=1.0, noise=0.2, tol=0.01)) is None

    def q(res, pred, st):
        return {
            "d3_residual": res,
            "predicted": pred,
            "status": st,
            "agrees": None if st is None else st == pred,
        }

    rows = [{"kl": 0.1, "r": 0.2, "queries": {"a": q(0.01, True, True), "b": q(0.9, False, None)}}]
    s = agreement_summary(rows)
    assert s["d3_residual_predicted_max"] == 0.01 and s["d3_residual_unpredicted_min"] == 0.9
    assert s["d3_decided"] == 0.5 and s["verdict_agreement"] == 1.0


def _tiny_toml() -> str:
    """The shipped sweep at a tiny size: two visibilities, a few training steps."""
    path = resources.files("simident").joinpath("data", "sweeps", "language.toml")
    text = path.read_text()
    for old, new in [
        ("subjects = 8", "subjects = 6"),
        ("length = 3", "length = 2"),
        ("n_sequences = 2000", "n_sequences = 48"),
        ("steps = 300", "steps = 8"),
        ("chunk_steps = 300", "chunk_steps = 4"),
        ("width = 32", "width = 16"),
        ("heads = 4", "heads = 2"),
    ]:
        assert old in text
        text = text.replace(old, new, 1)
    head, _ = text.split("[grid.world]")
    return head + '[grid.world]\n"attributes[1].visibility" = [1.0, 0.1]\n'


def test_tiny_language_sweep_end_to_end(tmp_path, capsys):
    toml = tmp_path / "lang.toml"
    toml.write_text(_tiny_toml())
    out = tmp_path / "sweep"
    assert main(["sweep", str(toml), "--out", str(out), "--quiet"]) == 0
    with open(out / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2  # two cells, one seed pair each
    for r in rows:
        assert float(r["d3_residual_predicted_max"]) >= 0.0
        assert 0.0 <= float(r["d3_decided"]) <= 1.0
        assert float(r["kl_truth_max"]) > 0.0
        assert 0.0 < float(r["d3_band_lower_min"]) <= float(r["d3_band_upper_max"])
    capsys.readouterr()
    x = f"world.{VIS}"
    assert (
        main(["plot", str(out), "--kind", "line", "--x", x, "--y", "d3_residual_predicted_max"])
        == 0
    )
    path = capsys.readouterr().out.split()[0]
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    # the truth panels (D3 residuals, verdict agreement) against the swept axis: asked
    # for, and among the default figures
    assert main(["plot", str(out), "--kind", "truth"]) == 0
    truth = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[-1] for p in truth] == ["truth_vs_world.attributes1.visibility.png"]
    with open(truth[0], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(out)]) == 0
    assert truth[0] in capsys.readouterr().out.split()
    assert main(["plot", str(out), "--kind", "truth", "--x", "world.nope"]) == 2
    assert "world.attributes[1].visibility" in capsys.readouterr().err
