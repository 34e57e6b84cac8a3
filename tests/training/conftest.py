"""Tiny worlds and configs shared by the training tests (few shapes, so few compilations)."""

import pytest

from simident.training import TrainConfig, toy_world

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
