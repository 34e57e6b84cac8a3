"""Finite data: independent draws per seed, shared samples, and ν̂ (THEORY.md §4 A4, A6)."""

import jax.numpy as jnp
import numpy as np
import pytest

from simident.theory.noise import logit_distance
from simident.training import TrainConfig, train_world
from simident.training.data import draw_key
from simident.training.steps import lane_keys
from simident.worlds import toy_world
from simident.worlds.sampling import draw_tokens

pytestmark = pytest.mark.slow  # trains models for real

BASE = dict(model="table", d=3, seeds=2, steps=200, lr=0.1, loss="samples")


@pytest.fixture(scope="module")
def sampled_world():
    return toy_world(n=24, V=8, d=3, T=3, seed=3, n_samples=64)


def test_independent_draws_depend_on_seed_and_world_alone():
    """A lane's data set: the same (seed, salt) draws the same tokens, another seed or
    another world salt other tokens; every row follows its own probabilities."""
    p = jnp.full((5, 8), 1.0 / 8)
    ids = jnp.arange(5)
    k0, k1 = lane_keys([0, 1])
    a = np.asarray(draw_tokens(p, ids, draw_key(k0, 7), 50))
    assert a.shape == (5, 50) and a.min() >= 0 and a.max() < 8
    np.testing.assert_array_equal(a, np.asarray(draw_tokens(p, ids, draw_key(k0, 7), 50)))
    assert (a != np.asarray(draw_tokens(p, ids, draw_key(k1, 7), 50))).any()
    assert (a != np.asarray(draw_tokens(p, ids, draw_key(k0, 8), 50))).any()
    one_hot = jnp.zeros((5, 8)).at[:, 3].set(1.0)
    assert (np.asarray(draw_tokens(one_hot, ids, draw_key(k0, 7), 20)) == 3).all()


def test_independent_seeds_fit_different_data_shared_seeds_the_same(sampled_world):
    """Shared seeds differ by optimisation only; independent seeds by their samples too, so
    their disagreement is larger; both reproduce exactly, and the run records its mode."""
    ind = train_world(sampled_world, TrainConfig(**BASE, bootstrap=0), progress=False)
    sh = train_world(sampled_world, TrainConfig(**BASE, data="shared", bootstrap=0), progress=False)
    d = lambda r: logit_distance(r.F[0], r.G[0], r.F[1], r.G[1])[1]  # noqa: E731
    assert d(ind) > 1.2 * d(sh)  # measured 23.8 vs 15.2 (Frobenius)
    again = train_world(sampled_world, TrainConfig(**BASE, bootstrap=0), progress=False)
    np.testing.assert_array_equal(ind.F, again.F)
    assert ind.record()["data"] == "independent" and sh.record()["data"] == "shared"
    assert ind.data_id(0) != ind.data_id(1) and sh.data_id(0) == sh.data_id(1)


def test_bootstrap_noise_level_is_stored_and_read_back(sampled_world, tmp_path):
    """ν̂ of every seed: positive, finite, B refits, in the seed file, and compare of two
    seed files (no run folder) uses it; a population run carries none."""
    import simident as si

    cfg = TrainConfig(**BASE, data="shared", bootstrap=2)
    r = train_world(sampled_world, cfg, progress=False)
    assert len(r.noise) == 2 and all(n.refits == 2 and n.spectral > 0 for n in r.noise)
    assert all(n.samples_per_context == 64 for n in r.noise)
    assert r.bootstrap["start"] == "cold" and r.bootstrap["steps"] == 200
    r.save(tmp_path / "run")
    a = si.Model.load(tmp_path / "run" / "seed_0.npz")
    b = si.Model.load(tmp_path / "run" / "seed_1.npz")
    assert a.noise.spectral == pytest.approx(r.noise[0].spectral)
    c = si.compare(a, b, tol=1e-2)
    assert c.k_decision.errors == "shared"
    assert c.equivalence.sample_noise_2 == pytest.approx(max(n.spectral for n in r.noise))
    pop = train_world(sampled_world, TrainConfig(model="table", d=3, seeds=1, steps=50),
                      progress=False)  # fmt: skip
    assert pop.noise is None and pop.record()["data"] == "population"


def test_warm_bootstrap_starts_from_the_trained_model(sampled_world):
    """A warm refit of 1 step barely moves; a cold refit of 1 step is a fresh init."""
    warm = TrainConfig(**{**BASE, "seeds": 1}, data="shared", bootstrap=2,
                       bootstrap_start="warm", bootstrap_steps=1)  # fmt: skip
    cold = TrainConfig(**{**BASE, "seeds": 1}, data="shared", bootstrap=2, bootstrap_steps=1)
    nw = train_world(sampled_world, warm, progress=False).noise[0].spectral
    nc = train_world(sampled_world, cold, progress=False).noise[0].spectral
    assert nw < 0.2 * nc


def test_old_run_records_read_as_shared():
    old = {k: v for k, v in TrainConfig(**BASE).to_dict().items()
           if k not in ("data", "bootstrap", "bootstrap_start", "bootstrap_steps")}  # fmt: skip
    c = TrainConfig.from_record(old)
    assert c.data == "shared" and c.bootstrap == 0


def test_counted_draws_give_the_same_loss_as_drawing_each_step(sampled_world):
    """A lane that counts its draws once (small m·V) has the loss of drawing them again."""
    import jax

    from simident.training.data import make_data
    from simident.training.steps import (
        batch_loss,
        draw_counts,
        graphdef_of,
        init_params,
        make_static,
    )

    cfg = TrainConfig(**BASE).resolved(3)
    data = make_data(sampled_world, "samples", 0.0, "independent")
    st = make_static(cfg, sampled_world.n, sampled_world.V, 3, int(data.ids.shape[0]), 64)
    key = lane_keys([5])[0]
    params = init_params(st, key, 1.0)
    gd = graphdef_of(st)
    draw = draw_key(key, data.salt)
    counts = draw_counts(gd, st, data, draw)
    assert float(counts.sum()) == st.m * st.n_fit
    idx = jnp.asarray([0, 3, 3, 7])
    a, _ = batch_loss(gd, st, data, idx, params, draw=draw)
    b, _ = batch_loss(gd, st, data, idx, params, draw=draw, counts=counts)
    np.testing.assert_allclose(float(a), float(b), rtol=1e-5)
    assert jax.numpy.isfinite(a)
