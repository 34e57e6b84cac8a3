"""The report states a refuted claim as refuted, with the numbers that refuted it."""

import json

import pytest

from simident.claims.outdir import prepare
from simident.claims.report import claim_record, write, write_claim
from simident.claims.result import ClaimResult
from simident.claims.run import verdict_for
from simident.claims.verdicts import Thresholds
from simident.util.errors import SimidentError

META = {
    "mode": {"name": "synthetic", "seeds": 2},
    "thresholds": Thresholds().to_dict(),
    "worlds": [
        {"role": "low", "world_id": "w-1", "n": 10, "V": 8, "d": 4, "dim_E": 3, "dim_U": 3, "k": 2}
    ],
    "runs": [],
    "versions": {"backend": "cpu", "jax": "x", "x64": True},
    "key": "k1",
    "timings": [],
    "seconds": 1.0,
}


def _write(out, result):
    write_claim(out, claim_record(result, META))
    return write(out, {k: META[k] for k in ("mode", "thresholds", "versions", "seconds")})


def _claim(ev):
    return ClaimResult(
        id=4,
        title="Relational linearity is shared under the inclusion condition",
        statement="a statement",
        verdict=verdict_for(4, ev, Thresholds()),
        evidence=ev,
        key_numbers=[("non-inclusion RL R² at d = k", ev["noic_dk_r2_max"], "|x| in a table")],
    )


def test_refuted_claim_is_reported_as_refuted(tmp_path):
    ev = {
        "max_kl_mean": 1e-9,
        "ic_truth_r2_min": 1.0,
        "ic_r2_min": 0.5,  # contradicts the claim
        "noic_truth_r2_min": 1.0,
        "noic_truth_d3_r2_max": 0.7,
        "noic_dk_r2_max": 0.7,
    }
    report, results = _write(tmp_path, _claim(ev))
    text = report.read_text()
    assert "**Verdict: refuted**" in text
    assert "failed: ic_all_models: 0.5 >= 0.99" in text
    assert "\\|x\\| in a table" in text  # pipes escaped inside tables
    data = json.loads(results.read_text())
    assert data["claims"][0]["verdict"] == "refuted"
    assert (tmp_path / "claims" / "claim4" / "results.json").is_file()


def test_inconclusive_claim_is_reported_as_inconclusive(tmp_path):
    ev = {
        "max_kl_mean": 0.2,  # training did not converge: the test means nothing
        "ic_truth_r2_min": 1.0,
        "ic_r2_min": 0.5,
        "noic_truth_r2_min": 1.0,
        "noic_truth_d3_r2_max": 0.7,
        "noic_dk_r2_max": 0.7,
    }
    report, _ = _write(tmp_path, _claim(ev))
    assert "**Verdict: inconclusive**" in report.read_text()
    assert "precondition failed: training_kl" in report.read_text()


def test_report_describes_every_claim_record_beside_it(tmp_path):
    """A claim record from other settings stays in the report, marked as such."""
    ev = {
        "max_kl_mean": 1e-9,
        "ic_truth_r2_min": 1.0,
        "ic_r2_min": 1.0,
        "noic_truth_r2_min": 1.0,
        "noic_truth_d3_r2_max": 0.7,
        "noic_dk_r2_max": 0.7,
    }
    _write(tmp_path, _claim(ev))
    other = ClaimResult(**{**_claim(ev).__dict__, "id": 1})
    write_claim(tmp_path, claim_record(other, {**META, "mode": {"name": "older", "seeds": 5}}))
    report, results = write(
        tmp_path, {k: META[k] for k in ("mode", "thresholds", "versions", "seconds")}
    )
    data = json.loads(results.read_text())
    assert [c["id"] for c in data["claims"]] == [1, 4]
    assert data["claims"][0]["mode"]["name"] == "older"
    text = report.read_text()
    assert text.count("From an earlier run with other settings: mode older") == 1


def test_prepare(tmp_path):
    ws = prepare(tmp_path / "new", overwrite=False, replaced_claims=[1], args_key="a")
    out = ws.work
    assert out.is_dir() and not ws.staged
    (out / "mine.txt").write_text("keep")
    with pytest.raises(SimidentError, match="--overwrite"):
        prepare(out, overwrite=False, replaced_claims=[1], args_key="a")
    (out / "report.md").write_text("old")
    (out / "figures").mkdir()
    (out / "figures" / "claim1_x.png").write_text("1")
    (out / "figures" / "claim2_x.png").write_text("2")
    assert prepare(out, overwrite=False, replaced_claims=[1], args_key="a").resumed
    ws = prepare(out, overwrite=True, replaced_claims=[1], args_key="a")
    assert ws.staged and ws.work.name == ".new.partial"
    # the staging folder holds what is kept; DIR itself is untouched until the swap
    assert (ws.work / "mine.txt").read_text() == "keep"
    assert (ws.work / "figures" / "claim2_x.png").is_file()
    assert not (ws.work / "report.md").exists()
    assert not (ws.work / "figures" / "claim1_x.png").exists()
    assert (out / "report.md").read_text() == "old"
    (tmp_path / "file").write_text("x")
    with pytest.raises(SimidentError, match="not a directory"):
        prepare(tmp_path / "file", overwrite=True, replaced_claims=[1], args_key="a")


def test_claim_tables_load_from_the_records(tmp_path):
    import simident.claims

    ev = {
        "max_kl_mean": 1e-9,
        "ic_truth_r2_min": 1.0,
        "ic_r2_min": 0.5,
        "noic_truth_r2_min": 1.0,
        "noic_truth_d3_r2_max": 0.7,
        "noic_dk_r2_max": 0.7,
    }
    result = _claim(ev)
    _write(tmp_path, result)
    checks = simident.load(tmp_path)
    assert len(checks) == len(result.verdict.checks)
    assert set(checks["claim"]) == {4} and set(checks["verdict"]) == {"refuted"}
    row = checks[checks["name"] == "ic_all_models"].iloc[0]
    assert row["value"] == 0.5 and not row["passed"] and row["role"] == "claim"
    evidence = simident.load(tmp_path, "evidence").set_index("name")["value"]
    assert evidence.to_dict() == ev
    assert simident.load(tmp_path, "key_numbers")["value"].tolist() == [0.7]
    with pytest.raises(SimidentError, match="has checks, evidence"):
        simident.load(tmp_path, "nope")
    with pytest.raises(SimidentError, match="not a results folder"):
        simident.load(tmp_path / "claims")
