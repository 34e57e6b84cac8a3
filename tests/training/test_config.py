"""TrainConfig: validation names the field, JSON round trip, per-model defaults."""

import json

import pytest

from simident.training import TrainConfig
from simident.training.config import MODEL_DEFAULTS
from simident.util.errors import SimidentError


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


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("steps", 10**12, r"steps must be an integer ≤ 2\^30 \(got 1000000000000\)"),
        ("chunk_steps", 10**12, r"chunk_steps must be an integer ≤ 2\^30"),
        ("seeds", 2**32 + 1, r"seeds must be an integer ≤ 2\^32"),
        ("seed_offset", 2**32, r"seed_offset must be an integer ≤ 2\^32 − 1"),
        ("seed_offset", 2**32 - 1, r"seeds 4294967295..4294967298 must lie in \[0, 2\^32\)"),
        ("width", 10**20, r"width must be an integer ≤ 2\^31 − 1"),
        ("warmup", -1, "warmup must be an integer ≥ 0"),
        ("batch_size", -1, "batch_size must be an integer ≥ 0"),
    ],
)
def test_integers_out_of_range_refused(field, value, message):
    with pytest.raises(SimidentError, match=message):
        TrainConfig(**{"seeds": 4, field: value})


def test_resolved_records_the_values_used():
    """A batch of at least every training context runs (and is recorded) as the full
    batch 0; a chunk longer than the run is the run."""
    sizes = {"m": 24, "V": 8, "T": 3}
    c = TrainConfig(d=3, steps=50, batch_size=10**12, chunk_steps=10**9).resolved(3, sizes)
    assert c.batch_size == 0 and c.chunk_steps == 50
    assert TrainConfig(d=3, batch_size=24).resolved(3, sizes).batch_size == 0
    assert TrainConfig(d=3, batch_size=23).resolved(3, sizes).batch_size == 23
    assert TrainConfig(d=3, batch_size=10**12).resolved(3).batch_size == 10**12  # no sizes
