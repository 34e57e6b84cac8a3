"""Shared test setup: float64 on, hypothesis profiles.

Profiles (select with HYPOTHESIS_PROFILE or `--hypothesis-profile`):
  ci        bounded example count, used when CI=true (default there)
  dev       default locally
  thorough  thousands of random cases: HYPOTHESIS_PROFILE=thorough pytest tests/theory
All have deadline=None: JIT compilation would otherwise trip the deadline.
"""

import os

import jax
import pytest
from hypothesis import HealthCheck, settings

from simident.training import TrainConfig
from simident.worlds import toy_world

jax.config.update("jax_enable_x64", True)

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)
settings.register_profile("ci", max_examples=15, print_blob=True, **_common)
settings.register_profile("dev", max_examples=30, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
)


# Tiny worlds and configs shared by the training and train-CLI tests (few shapes, so few
# compilations).

TABLE = dict(model="table", d=3, steps=300, lr=0.1)
TRANSFORMER = dict(model="transformer", d=3, steps=600, lr=1e-2, width=16, depth=1, heads=2)


@pytest.fixture(scope="session")
def world():
    return toy_world(n=24, V=8, d=3, T=3, seed=0)


@pytest.fixture(scope="session")
def table_config():
    return TrainConfig(seeds=3, **TABLE)


@pytest.fixture(scope="session")
def transformer_config():
    return TrainConfig(seeds=2, **TRANSFORMER)


@pytest.fixture(scope="session")
def table_result(world, table_config):
    from simident.training import train_world

    return train_world(world, table_config, progress=False)


@pytest.fixture(scope="session")
def transformer_result(world, transformer_config):
    from simident.training import train_world

    return train_world(world, transformer_config, progress=False)


@pytest.fixture(scope="session")
def table_opts():
    return dict(TABLE)
