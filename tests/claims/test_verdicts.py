"""Verdict logic on synthetic numbers: confirmed, refuted and inconclusive cases."""

import json
import math
from dataclasses import MISSING, FrozenInstanceError, asdict, fields

import pytest

from simident.claims.run import load_claims, verdict_for
from simident.claims.verdicts import (
    Check,
    Thresholds,
    at_least,
    below,
    decide,
    worst,
)

TH = Thresholds()

GOOD = {
    1: {
        "max_kl_mean": 1e-9,
        "identified_r2_min": 0.9999,
        "full_r2_nondiverse_max": 0.85,
        "identified_r2_nondiverse_min": 0.9999,
        "full_r2_diverse_min": 0.9998,
    },
    2: {
        "max_kl_mean": 1e-9,
        "identified_r2_min": 0.9999,
        "free_norm_min": 0.3,
        "free_cancorr_max": 0.2,
        "full_r2_at_k_min": 0.9999,
        "full_r2_at_dmax_max": 0.8,
    },
    3: {
        "max_kl_mean": 1e-9,
        "truth_log_ratio_sin_max": 1e-14,
        "full_span_cos_min": 0.9999,
        "projected_cos_min": 0.999,
        "counterexample_cos": 0.7,
        "counterexample_residual": 1e-15,
    },
    4: {
        "max_kl_mean": 1e-9,
        "ic_truth_r2_min": 1.0,
        "ic_r2_min": 0.9999,
        "noic_truth_r2_min": 1.0,
        "noic_truth_d3_r2_max": 0.8,
        "noic_dk_r2_max": 0.8,
    },
    5: {
        "max_kl_mean": 1e-9,
        "truth_probe_r2_min": 1.0,
        "visible_r2_min": 0.9999,
        "invisible_truth_logit_r2_max": 0.0,
        "invisible_dk_r2_max": 0.05,
        "in_span_transfer_max": 1e-4,
        "same_combination_max": 1e-3,
        "outside_truth_out_of_row_L": 0.9,
        "outside_dk_transfer_min": 0.9,
    },
}

# (label, claim, key, value that contradicts the claim)
REFUTING = [
    ("identified parts disagree", 1, "identified_r2_min", 0.7),
    ("full R² not lower in non-diverse world", 1, "full_r2_nondiverse_max", 0.99),
    ("full R² low in diverse world", 1, "full_r2_diverse_min", 0.8),
    ("no free parts at d > k", 2, "free_norm_min", 0.001),
    ("free parts identical across seeds", 2, "free_cancorr_max", 0.99),
    ("full R² does not fall", 2, "full_r2_at_dmax_max", 0.9999),
    ("log-ratios unequal in truth", 3, "truth_log_ratio_sin_max", 0.1),
    ("a seed not parallel under full span", 3, "full_span_cos_min", 0.5),
    ("projected parallelism lost", 3, "projected_cos_min", 0.9),
    ("counterexample still parallel", 3, "counterexample_cos", 0.999),
    ("inclusion relation missing in a seed", 4, "ic_r2_min", 0.9),
    ("minimal model has non-IC relation", 4, "noic_dk_r2_max", 0.995),
    ("visible probe missing", 5, "visible_r2_min", 0.5),
    ("invisible probe found at d = k", 5, "invisible_dk_r2_max", 0.999),
    ("in-span steering fails", 5, "in_span_transfer_max", 0.3),
    ("same combination differs", 5, "same_combination_max", 0.3),
    ("outside vector transfers", 5, "outside_dk_transfer_min", 1e-3),
]

# (label, claim, key, value that makes the test meaningless)
INCONCLUSIVE = [
    ("KL gap too large", 1, "max_kl_mean", 0.05),
    ("KL gap too large", 3, "max_kl_mean", 0.5),
    ("missing number", 2, "free_norm_min", float("nan")),
    ("counterexample not equivalent", 3, "counterexample_residual", 1e-2),
    ("non-IC relation is a logit relation", 4, "noic_truth_d3_r2_max", 0.999),
    ("truth lacks the inclusion relation", 4, "ic_truth_r2_min", 0.9),
    ("invisible probe visible in truth", 5, "invisible_truth_logit_r2_max", 0.999),
    ("outside vector not outside", 5, "outside_truth_out_of_row_L", 0.0),
    ("missing evidence", 4, "noic_dk_r2_max", None),
]


@pytest.mark.parametrize("claim", sorted(GOOD))
def test_confirmed_when_numbers_agree(claim):
    v = verdict_for(claim, GOOD[claim], TH)
    assert v.verdict == "confirmed", v.reasons
    assert all(c.passed for c in v.checks)


@pytest.mark.parametrize("label,claim,key,value", REFUTING)
def test_refuted_when_numbers_contradict(label, claim, key, value):
    v = verdict_for(claim, {**GOOD[claim], key: value}, TH)
    assert v.verdict == "refuted", (label, v.reasons)
    assert any("failed" in r for r in v.reasons)


@pytest.mark.parametrize("label,claim,key,value", INCONCLUSIVE)
def test_inconclusive_when_test_is_not_meaningful(label, claim, key, value):
    v = verdict_for(claim, {**GOOD[claim], key: value}, TH)
    assert v.verdict == "inconclusive", (label, v.reasons)


def test_precondition_beats_refutation():
    ev = {**GOOD[1], "max_kl_mean": 1.0, "identified_r2_min": 0.2}
    assert verdict_for(1, ev, TH).verdict == "inconclusive"


def test_thresholds_are_used_and_recorded():
    ev = {**GOOD[1], "identified_r2_min": 0.995}
    assert verdict_for(1, ev, TH).verdict == "confirmed"
    strict = Thresholds(identified_r2=0.999)
    v = verdict_for(1, ev, strict)
    assert v.verdict == "refuted"
    check = next(c for c in v.to_dict()["checks"] if c["name"] == "identified_r2_all_pairs")
    assert check["threshold"] == 0.999 and check["value"] == 0.995 and not check["passed"]


def test_decide_rules():
    ok = at_least("a", "", 1.0, 0.5)
    bad = below("b", "", 1.0, 0.5)
    pre_bad = at_least("p", "", 0.0, 0.5, role="precondition")
    obs_bad = at_least("o", "", 0.0, 0.5, role="observation")
    assert decide([ok]).verdict == "confirmed"
    assert decide([ok, obs_bad]).verdict == "confirmed"
    assert decide([ok, bad]).verdict == "refuted"
    assert decide([ok, bad, pre_bad]).verdict == "inconclusive"
    assert decide([]).verdict == "inconclusive"
    assert decide([obs_bad]).verdict == "inconclusive"


def test_check_validation_and_nan():
    with pytest.raises(ValueError):
        Check("x", "", 1.0, "==", 1.0)
    with pytest.raises(ValueError):
        Check("x", "", 1.0, ">=", 1.0, role="maybe")
    c = at_least("x", "", float("nan"), 0.5)
    assert not c.passed and not c.finite


def test_worst_propagates_missing_values():
    assert worst([0.5, 0.9], "min") == 0.5
    assert worst([0.5, 0.9], "max") == 0.9
    assert math.isnan(worst([], "min"))
    assert math.isnan(worst([0.5, float("nan")], "max"))


def test_thresholds_round_trip():
    th = Thresholds(rl_r2=0.95)
    assert Thresholds.from_dict(th.to_dict()) == th
    with pytest.raises(ValueError, match="bogus"):
        Thresholds.from_dict({"bogus": 1})


def test_a_misspelled_evidence_key_is_loud_not_inconclusive():
    """Evidence from a mapping goes through the strict `Evidence.from_dict`: a missing or
    misspelled number raises instead of turning into a silent 'inconclusive'."""
    ev = {k: v for k, v in GOOD[4].items() if k != "ic_r2_min"}
    ev["ic_r2_mni"] = 0.9999
    with pytest.raises(ValueError, match="missing ic_r2_min; unknown ic_r2_mni"):
        verdict_for(4, ev, TH)


MODULES = {m.ID: m for m in load_claims()}

# every field of every claim's Evidence, observations included, in the claim record's form
FULL = {
    1: {
        **GOOD[1],
        "identified_r2_where": "min over 12 pairs in both worlds",
        "n_pairs_nondiverse_dstar": 3,
        "n_pairs_diverse_dstar": 3,
        "transformer_full_r2": [0.7, 0.8],
        "transformer_identified_r2": [0.9999, 0.99995],
    },
    2: {
        **GOOD[2],
        "k": 3,
        "dims": [3, 6],
        "identified_cancorr_min": 0.9999,
        "by_d": {
            "6": {
                "f_ratio": [0.3, 0.4],
                "g_ratio": [0.2, 0.1],
                "full_r2_mean": 0.8,
                "identified_r2_min": 0.9999,
                "free_cancorr": [0.2],
                "random_cancorr": 0.25,
            }
        },
        "grid": {"init0.1_wd0": {"free_ratio_vs_default": 0.2, "full_r2_mean": 0.95}},
        "transformer_d3": {"f_ratio": [0.0], "g_ratio": [0.0], "full_r2": [0.999]},
        "transformer_d6": {"f_ratio": [0.1], "g_ratio": [0.2], "full_r2": [0.9]},
    },
    3: {
        **GOOD[3],
        "counterexamples": [{"cos": 0.7, "proj_cos": 1.0, "residual": 1e-15, "world": "low"}],
        "configurations": {
            "low d=3": {
                "cos_min": 0.9999,
                "cos_max": 1.0,
                "proj_cos_min": 0.9999,
                "g_free_mean": 1e-5,
                "shared": True,
                "guaranteed": True,
            }
        },
    },
    4: {**GOOD[4], "noic_d_above_k": {"table d=6 seed 0": 0.9}},
    5: {
        **GOOD[5],
        "invisible_d_above_k": [0.5, 0.6],
        "n_seed_pairs": 4,
        "outside_d_above_k": [0.4],
    },
    6: {
        "models": [{"kl": 1e-3, "r": 0.1, "misfit": 0.01, "bound": 0.02, "verdicts": {}}],
        "pairs": [{"misfit": 0.1, "bound": 0.2, "r": 0.1, "kl": 1e-3}],
    },
    7: {
        "truth_agrees": 1.0,
        "max_kl_mean": 0.01,
        "d3_decided": 0.9,
        "d3_contradictions": 0.0,
        "verdict_contradictions": 0.0,
        "dist_parallel_contradictions": 0.0,
        "projected_contradictions": 0.0,
        "a5_full_contradictions": 0.0,
        "w5_truth_d3_max": 1e-14,
        "w5_growth": 2.0,
        "rows": [{"world": "visible", "seed": 0, "kl": 0.01, "queries": {}}],
        "sweep": [{"visibility": 1.0, "misfit": 0.1}],
    },
}


@pytest.mark.parametrize("claim", sorted(FULL))
def test_evidence_round_trips_and_is_strict(claim):
    Evidence = MODULES[claim].Evidence
    ev = Evidence.from_dict(FULL[claim])
    assert ev.to_dict() == FULL[claim]  # the claim record's JSON form, key for key
    assert Evidence.from_dict(asdict(ev)) == ev
    assert Evidence.from_dict(json.loads(json.dumps(ev.to_dict()))) == ev
    with pytest.raises(ValueError, match="unknown bogus"):
        Evidence.from_dict({**FULL[claim], "bogus": 1.0})
    required = [
        f.name for f in fields(Evidence) if f.default is MISSING and f.default_factory is MISSING
    ]
    assert required and all(name in ev.to_dict() for name in required)
    for name in required:
        with pytest.raises(ValueError, match=f"missing {name}"):
            Evidence.from_dict({k: v for k, v in FULL[claim].items() if k != name})
    with pytest.raises(FrozenInstanceError):
        setattr(ev, required[0], None)
    assert verdict_for(claim, ev, TH).verdict == verdict_for(claim, FULL[claim], TH).verdict
