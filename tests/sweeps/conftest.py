"""Fixtures of the sweep tests: a fake trainer (see _fake.py) and one that gets interrupted."""

import pytest

from ._fake import fake_models


@pytest.fixture
def fake_trainer():
    return fake_models


@pytest.fixture
def interrupting_trainer():
    """A trainer that raises KeyboardInterrupt on its n-th call (mid-cell)."""

    def make(n):
        calls = {"n": 0}

        def trainer(world, config):
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt
            return fake_models(world, config)

        return trainer

    return make
