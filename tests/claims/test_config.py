"""Modes: every mode holds claims 6 and 7's own settings; a mode without them is refused."""

import dataclasses

import pytest

from simident.claims.config import MODES, regime_of
from simident.util.errors import SimidentError


def test_every_mode_holds_claim_6_and_7_settings_in_its_record():
    for mode in MODES.values():
        assert regime_of(mode, 6) is mode.claim6 and regime_of(mode, 7) is mode.claim7
        record = mode.to_dict()  # part of every claim's content key
        assert record["claim6"]["learners"] and record["claim7"]["steps"] == mode.claim7.steps


def test_a_claim_refuses_a_mode_without_its_settings():
    other = dataclasses.replace(MODES["quick"], name="mine", claim6=None)
    with pytest.raises(SimidentError, match="claim 6 has no settings in mode 'mine'"):
        regime_of(other, 6)
    assert regime_of(other, 7) is MODES["quick"].claim7
