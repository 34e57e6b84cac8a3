"""TrainConfig: validation names the field, JSON round trip, per-model defaults."""

import json

import pytest

from simident.errors import SimidentError
from simident.training import TrainConfig
from simident.training.config import MODEL_DEFAULTS


def test_json_round_trip():
    c = TrainConfig(model="transformer", d=5, seeds=3, lr=1e-3, width=32, heads=4)
    back = TrainConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c


def test_resolved_fills_defaults():
    c = TrainConfig(model="transformer").resolved(world_d=6)
    assert c.d == 6
    assert c.steps == MODEL_DEFAULTS["transformer"]["steps"]
    assert c.lr == MODEL_DEFAULTS["transformer"]["lr"]
    assert c.warmup == min(100, c.steps // 10) and c.chunk_steps >= 1
    assert TrainConfig(d=2, steps=10, lr=0.1).resolved(world_d=9).d == 2


def test_seed_list():
    assert TrainConfig(seeds=3, seed_offset=5).seed_list == [5, 6, 7]


@pytest.mark.parametrize(
    "label, kwargs, field",
    [
        ("unknown model", {"model": "mlp"}, "model"),
        ("d below 1", {"d": 0}, "d"),
        ("no seeds", {"seeds": 0}, "seeds"),
        ("zero steps", {"steps": 0}, "steps"),
        ("negative lr", {"lr": -1.0}, "lr"),
        ("nan lr", {"lr": float("nan")}, "lr"),
        ("negative weight decay", {"weight_decay": -0.1}, "weight_decay"),
        ("zero init scale", {"init_scale": 0.0}, "init_scale"),
        ("float d", {"d": 2.5}, "d"),
        ("heads do not divide width", {"width": 10, "heads": 4}, "heads"),
        ("unknown loss", {"loss": "mse"}, "loss"),
        ("unknown optimizer", {"optimizer": "lion"}, "optimizer"),
    ],
)
def test_bad_values_name_the_field(label, kwargs, field):
    with pytest.raises(SimidentError, match=field):
        TrainConfig(**kwargs)


def test_unknown_key_in_json():
    with pytest.raises(SimidentError, match="unknown train config field.*dd"):
        TrainConfig.from_dict({"dd": 3})


def test_import_is_light():
    """TrainConfig (and the CLI's configure) must not need JAX."""
    import subprocess
    import sys

    code = "import sys, simident.training; assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
