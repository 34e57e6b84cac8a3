"""`simident reproduce`: a tiny end-to-end reproduction (all seven claims, real training)
and the command's input errors."""

import json

import pytest

from simident.claims import claim6_kl_vs_structure as claim6
from simident.claims.run import verdict_for
from simident.claims.verdicts import VERDICTS, Check, Thresholds, decide
from simident.cli.main import main

pytestmark = pytest.mark.slow  # trains models for real

SECTIONS = [
    "Extended linear equivalence across dimensions",
    "Outside the identified subspace, representations differ",
    "Parallel vectors come from equal log-ratios",
    "Relational linearity is shared under the inclusion condition",
    "Probes and steering",
    "Closeness in KL is not closeness in structure; closeness in logits is",
    "Relational linearity and parallel vectors emerge from the process, shared as predicted",
]


def test_report_and_results_structure(tiny_run):
    report = (tiny_run / "report.md").read_text()
    for i, title in enumerate(SECTIONS, 1):
        assert f"## Claim {i}: {title}" in report
    assert report.count("**Verdict: ") == 7
    results = json.loads((tiny_run / "results.json").read_text())
    assert [c["id"] for c in results["claims"]] == [1, 2, 3, 4, 5, 6, 7]
    for c in results["claims"]:
        assert {"id", "statement", "verdict", "evidence", "checks", "figures"} <= set(c)
        assert c["verdict"] in VERDICTS
        for fig in c["figures"]:
            assert (tiny_run / fig).is_file() and fig.endswith(".png")
            assert f"]({fig})" in report
        per_claim = json.loads(
            (tiny_run / "claims" / f"claim{c['id']}" / "results.json").read_text()
        )
        assert per_claim["verdict"] == c["verdict"] and "versions" in per_claim
    assert results["versions"]["x64"] is True
    assert {"mode", "thresholds", "worlds", "runs", "seconds"} <= set(results)
    assert not (tiny_run / "runs").exists()  # one store of trained models: cache/
    for r in results["runs"]:
        assert (tiny_run / r["entry"]).is_file() and r["entry"].startswith("cache/")
        assert isinstance(r["point"], int) and r["point"] >= 0


def test_a_reproductions_models_embed_from_its_store(tiny_run, tmp_path):
    """`simident embed` rebuilds a run's models from the cache entry results.json names:
    their F and G are the ones the claims compared (the entry's arrays, bit for bit)."""
    import numpy as np

    results = json.loads((tiny_run / "results.json").read_text())
    runs = [r for r in results["runs"] if r["model"] == "transformer"] or results["runs"]
    run = max(runs, key=lambda r: r["point"])  # a grid point past the first, if any
    out = tmp_path / "embedded"
    code = main(
        [
            "embed",
            str(tiny_run / run["entry"]),
            "--point",
            str(run["point"]),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    stored = np.load((tiny_run / run["entry"]).with_suffix(".npz"))
    for i, s in enumerate(run["seeds"]):
        seed = np.load(out / f"seed_{s}.npz")
        np.testing.assert_array_equal(seed["F"], stored[f"F_{run['point']}"][i])
        np.testing.assert_array_equal(seed["G"], stored[f"G_{run['point']}"][i])


def test_verdicts_are_computed_from_the_recorded_numbers(tiny_run):
    results = json.loads((tiny_run / "results.json").read_text())
    th = Thresholds.from_dict(results["thresholds"])
    for c in results["claims"]:
        # from the evidence, through the decision functions
        ev = c["evidence"]
        if c["id"] == 6:  # claim 6's evidence is its models and pairs
            ev = claim6.Evidence(models=c["per_model"], pairs=c["evidence"]["pairs"])
        assert verdict_for(c["id"], ev, th).verdict == c["verdict"]
        # and from the recorded checks alone
        checks = [
            Check(
                ch["name"],
                ch["statement"],
                ch["value"] if ch["value"] is not None else float("nan"),
                ch["op"],
                ch["threshold"],
                ch["role"],
                ch["where"],
            )
            for ch in c["checks"]
        ]
        assert decide(checks).verdict == c["verdict"]
        for ch in c["checks"]:
            assert f"| {ch['name']} |" in (tiny_run / "report.md").read_text()


def test_tiny_run_confirms_the_claims(tiny_run):
    """The tiny worlds are small but training is exact enough for claims 1-5. Claim 6's
    tiny regime trains on at most 256 samples per context: at the calibrated margins
    (2, 6) its small-r models decide no verdict, so its agreement check has nothing to
    count and the claim is inconclusive, never refuted; every other check passes."""
    results = json.loads((tiny_run / "results.json").read_text())
    verdicts = [c["verdict"] for c in results["claims"]]
    assert verdicts[:5] == ["confirmed"] * 5
    assert verdicts[5] in ("confirmed", "inconclusive")
    if verdicts[5] == "inconclusive":
        checks = {c["name"]: c for c in results["claims"][5]["checks"]}
        assert checks["verdicts_agree"]["value"] is None  # nothing decided, nothing wrong
        assert all(c["passed"] for n, c in checks.items() if n != "verdicts_agree")
    # claim 7's tiny regime has no W5 sweep point and 10 steps: inconclusive by design
    assert verdicts[6] == "inconclusive"


def test_refuses_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["reproduce", "--tiny", "--out", str(tmp_path)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
    assert (tmp_path / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "args,match",
    [
        (["--seeds", "1"], "at least 2"),
        (["--only", "9"], "no claim"),
        (["--only", "x"], "claim ids"),
        (["--quick", "--tiny"], "exclude"),
        (["--jobs", "0"], "--jobs 0: must lie in [1, 64]"),
    ],
)
def test_bad_arguments(tmp_path, capsys, args, match):
    mode = [] if "--quick" in args else ["--tiny"]
    assert main(["reproduce", "--out", str(tmp_path / "o"), *mode, *args]) == 2
    assert match in capsys.readouterr().err


def test_only_one_claim_with_overwrite(tiny_run, tmp_path):
    out = tmp_path / "one"
    out.mkdir()
    (out / "report.md").write_text("old")
    (out / "notes.txt").write_text("keep me")
    assert (
        main(["reproduce", "--tiny", "--only", "4", "--out", str(out), "--overwrite", "--quiet"])
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    assert [c["id"] for c in results["claims"]] == [4]
    assert (out / "report.md").read_text() != "old"
    assert (out / "notes.txt").read_text() == "keep me"
    assert "Claim 4" in (out / "report.md").read_text()


def test_claim_tables_of_a_reproduction(tiny_run):
    import simident.claims

    results = json.loads((tiny_run / "results.json").read_text())
    checks = simident.load(tiny_run)
    assert sorted(set(checks["claim"])) == [1, 2, 3, 4, 5, 6, 7]
    assert len(checks) == sum(len(c["checks"]) for c in results["claims"])
    assert set(checks["mode"]) == {"tiny"}
    runs = simident.load(tiny_run, "runs")
    assert {(r["entry"], r["point"]) for r in results["runs"]} == set(
        zip(runs["entry"], runs["point"])
    )
    exact = runs["world"].isin(["diverse", "low", "few_contexts"])  # not claims 6, 7's cells
    assert (runs.loc[exact, "kl_mean_max"] < 1e-3).all() and (~exact).sum() > 0
    per_model = simident.load(tiny_run, "per_model")
    assert len(per_model) == sum(len(c["per_model"]) for c in results["claims"])


def _numbers(record):
    """A claim record without its timings and content key (a claim run alone trains its
    cells without the other claims' grid points, so its cells' keys differ)."""
    if isinstance(record, dict):
        return {k: _numbers(v) for k, v in record.items() if "second" not in k and k != "key"}
    if isinstance(record, list):
        return [_numbers(v) for v in record]
    return record


def test_cells_trained_one_at_a_time_give_the_same_claim(tiny_run, tmp_path):
    """--jobs 1 (cells one after another) and the default (two at once on ≥ 2 cores):
    every number of claim 1 equal, its cells trained anew."""
    out = tmp_path / "one_job"
    assert (
        main(["reproduce", "--tiny", "--only", "1", "--jobs", "1", "--out", str(out), "--quiet"])
        == 0
    )
    ours = json.loads((out / "results.json").read_text())
    theirs = json.loads((tiny_run / "results.json").read_text())
    assert ours["resume"]["trained_cells"] > 1
    assert _numbers(ours["claims"][0]) == _numbers(theirs["claims"][0])
