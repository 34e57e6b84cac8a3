"""Validation signals and early stopping: the kept parameters are those of the best
validation chunk, chosen per lane inside the compiled program."""

import json
from dataclasses import replace

import numpy as np
import pytest

from simident.training import TrainConfig, train_world
from simident.util.errors import SimidentError
from simident.worlds import toy_world

pytestmark = pytest.mark.slow  # trains models for real


@pytest.fixture(scope="module")
def sampled_world():
    return toy_world(n=24, V=8, d=3, T=3, seed=2, n_samples=32, heldout=4)


BASE = dict(model="table", d=3, seeds=3, steps=400, lr=0.1, chunk_steps=20, loss="samples")


def test_histories_have_validation_signals(sampled_world):
    r = train_world(sampled_world, TrainConfig(val_fraction=0.25, **BASE), progress=False)
    h = r.history
    assert set(h) == {"step", "kl", "train_kl", "val_kl", "val_nll"}
    assert len(h["step"]) == len(h["kl"]) == len(h["val_kl"]) == len(h["val_nll"]) == 20
    assert np.isfinite(np.array(h["val_kl"])).all()  # the world has held-out contexts
    assert np.isfinite(np.array(h["val_nll"])).all()  # 8 of 32 samples per context held out
    assert (r.best_step == 400).all()  # without early stopping the last step is kept


def test_early_stop_keeps_best_validation_chunk(sampled_world):
    """Overfitting 24 samples per context: the kept model is the one of the chunk with the
    lowest validation NLL, and its final KL equals that chunk's training-set KL."""
    cfg = TrainConfig(val_fraction=0.25, early_stop=True, **BASE)
    r = train_world(sampled_world, cfg, progress=False)
    nll = np.array(r.history["val_nll"])
    steps = np.array(r.history["step"])
    np.testing.assert_array_equal(r.best_step, steps[np.argmin(nll, axis=0)])
    kl = np.array(r.history["train_kl"])  # exact KL of the parameters at each chunk's end
    at_best = kl[np.argmin(nll, axis=0), np.arange(3)]
    np.testing.assert_allclose(r.kl_mean_train, at_best, rtol=1e-4)
    plain = train_world(sampled_world, replace(cfg, early_stop=False), progress=False)
    assert np.all(r.kl_mean_train <= plain.kl_mean_train * (1 + 1e-4))


def test_early_stop_on_heldout_kl_for_population_loss():
    w = toy_world(n=24, V=8, d=3, T=3, seed=2, heldout=6)
    cfg = TrainConfig(**{**BASE, "loss": "population", "model": "transformer", "steps": 60},
                      width=8, depth=1, heads=2, early_stop=True)  # fmt: skip
    r = train_world(w, cfg, progress=False)
    val = np.array(r.history["val_kl"])
    steps = np.array(r.history["step"])
    np.testing.assert_array_equal(r.best_step, steps[np.argmin(val, axis=0)])


@pytest.mark.parametrize(
    "label, over, message",
    [
        ("no validation set", dict(early_stop=True), "--early-stop needs a validation"),
        ("val without samples", dict(loss="population", val_fraction=0.2), "needs loss"),
        ("val fraction 1", dict(val_fraction=1.0), "val_fraction must lie in"),
    ],
)
def test_validation_errors(label, over, message):
    w = toy_world(n=24, V=8, d=3, T=3, seed=2, n_samples=8)
    with pytest.raises(SimidentError, match=message):
        train_world(w, TrainConfig(**{**BASE, **over}), progress=False)


def test_early_stop_validates_the_first_chunk_densely(sampled_world):
    """The first chunk is validated DENSE_START times (after steps 2, 4, ..., 16 for a
    chunk of 20), then every chunk; without early stopping the chunks are unchanged."""
    from simident.training.loop import DENSE_START

    cfg = TrainConfig(val_fraction=0.25, early_stop=True, **{**BASE, "steps": 100})
    r = train_world(sampled_world, cfg, progress=False)
    small = BASE["chunk_steps"] // DENSE_START
    dense = [small * (j + 1) for j in range(DENSE_START)]
    assert r.history["step"] == dense + list(range(dense[-1] + 20, 100, 20)) + [100]
    assert set(r.best_step) <= set(r.history["step"])
    plain = train_world(sampled_world, replace(cfg, early_stop=False), progress=False)
    assert plain.history["step"] == list(range(20, 101, 20))


def test_warns_when_the_best_is_the_first_validation(sampled_world, tmp_path, capsys):
    """Two of four samples per context held out and no warm-up: the validation NLL only
    rises after the first validation, which early stopping keeps, and says so (one line
    in the CLI); a run whose best comes later does not warn."""
    import warnings

    from simident.cli.main import main
    from simident.training.loop import EarlyStopWarning

    w = toy_world(n=24, V=8, d=3, T=3, seed=2, n_samples=4, heldout=4)
    over = dict(val_fraction=0.5, early_stop=True, warmup=0, chunk_steps=40)
    with pytest.warns(EarlyStopWarning, match=r"kept the first validation \(step 5\)"):
        r = train_world(w, TrainConfig(**{**BASE, **over}), progress=False)
    assert (r.best_step == 5).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", EarlyStopWarning)
        train_world(sampled_world, TrainConfig(val_fraction=0.25, early_stop=True, **BASE),
                    progress=False)  # fmt: skip
    w.save(tmp_path / "w")
    config = tmp_path / "c.json"
    config.write_text(json.dumps({**BASE, **over, "seeds": 2}))
    args = ["train", str(tmp_path / "w"), "--config", str(config), "--out", str(tmp_path / "r"),
            "--quiet"]  # fmt: skip
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.startswith("simident train: warning: early stopping kept the first") and (
        err.count("\n") == 1
    ), err
