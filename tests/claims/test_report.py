"""The report states a refuted claim as refuted, with the numbers that refuted it."""

import json

import pytest

from simident.claims.report import write
from simident.claims.result import ClaimResult
from simident.claims.run import prepare_out
from simident.claims.verdicts import Thresholds, verdict_for
from simident.errors import SimidentError

META = {
    "mode": {"name": "synthetic", "seeds": 2},
    "thresholds": Thresholds().to_dict(),
    "worlds": [
        {"role": "low", "world_id": "w-1", "n": 10, "V": 8, "d": 4, "dim_E": 3, "dim_U": 3, "k": 2}
    ],
    "runs": [],
    "versions": {"backend": "cpu", "jax": "x", "x64": True},
    "timings": [],
    "seconds": 1.0,
}


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
    report, results = write(tmp_path, [_claim(ev)], META)
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
    report, _ = write(tmp_path, [_claim(ev)], META)
    assert "**Verdict: inconclusive**" in report.read_text()
    assert "precondition failed: training_kl" in report.read_text()


def test_prepare_out(tmp_path):
    out = prepare_out(tmp_path / "new", overwrite=False)
    assert out.is_dir()
    (out / "report.md").write_text("old")
    (out / "figures").mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(SimidentError, match="--overwrite"):
        prepare_out(out, overwrite=False)
    prepare_out(out, overwrite=True)
    assert not (out / "report.md").exists() and not (out / "figures").exists()
    assert (out / "mine.txt").read_text() == "keep"
    (tmp_path / "file").write_text("x")
    with pytest.raises(SimidentError, match="not a directory"):
        prepare_out(tmp_path / "file", overwrite=True)
