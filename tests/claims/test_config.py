"""Modes: a claim's own per-mode settings are looked up strictly."""

import dataclasses

import pytest

from simident.claims.config import MODES, regime_of
from simident.util.errors import SimidentError


def test_a_claim_refuses_a_mode_it_has_no_settings_for():
    quick = MODES["quick"]
    assert regime_of({"quick": 1, "full": 2}, quick, 6) == 1
    other = dataclasses.replace(quick, name="mine")
    with pytest.raises(SimidentError, match="claim 6 has no settings for mode 'mine'"):
        regime_of({"quick": 1, "full": 2}, other, 6)
