"""Training: tiny configs reach low KL, seeds are equivalent, vmapped = solo, x64-proof."""

from dataclasses import replace

import jax
import numpy as np
import pytest

from simident.theory.equivalence import compare_models
from simident.training import TrainingDiverged, train_world, train_world_grid
from simident.util.errors import SimidentError

pytestmark = pytest.mark.slow  # trains models for real

TOL = 1e-2  # recommended `compare --tol` for trained models (docs/train.md)


def test_table_trains_to_low_kl(table_result, world):
    r = table_result
    assert r.F.shape == (3, world.n, 3) and r.G.shape == (3, world.V, 3)
    assert r.F.dtype == np.float32
    assert np.all(r.kl_mean < 1e-5), r.kl_mean
    assert np.all(r.kl_max < 1e-4), r.kl_max
    assert np.all(r.diverged_step == -1)
    assert np.isnan(r.kl_mean_heldout).all()  # no held-out contexts in this world
    np.testing.assert_allclose(r.kl_mean_train, r.kl_mean)


def test_transformer_trains_to_low_kl(transformer_result):
    assert np.all(transformer_result.kl_mean < 1e-2), transformer_result.kl_mean


@pytest.mark.parametrize("which", ["table", "transformer"])
def test_trained_seeds_are_equivalent(which, table_result, transformer_result, world):
    """Two seeds, and each seed versus the truth, are equivalent under compare --tol 1e-2."""
    r = table_result if which == "table" else transformer_result
    pairs = [(r.F[0], r.G[0], r.F[1], r.G[1]), (world.F, world.G, r.F[0], r.G[0])]
    for Fa, Ga, Fb, Gb in pairs:
        eq = compare_models(Fa, Ga, Fb, Gb, tol=TOL)
        assert eq.equivalent, eq.logit_residual
        assert eq.k.rank == 3
        assert eq.identified_r2 > 0.99, eq.identified_r2


def test_same_seed_same_result(world, table_config, table_result):
    again = train_world(world, table_config, progress=False)
    np.testing.assert_allclose(again.F, table_result.F, rtol=0, atol=1e-6)
    np.testing.assert_allclose(again.G, table_result.G, rtol=0, atol=1e-6)


@pytest.mark.parametrize("which", ["table", "transformer"])
def test_vmapped_seed_matches_solo(
    which, world, table_config, transformer_config, table_result, transformer_result
):
    """Seed 1 trained among others equals seed 1 trained alone (float tolerance)."""
    cfg, r = (
        (table_config, table_result)
        if which == "table"
        else (transformer_config, transformer_result)
    )
    solo = train_world(world, cfg, seeds=[1], progress=False)
    assert solo.seeds == [1]
    scale = np.abs(r.F[1]).max()
    np.testing.assert_allclose(solo.F[0], r.F[1], rtol=0, atol=1e-3 * scale)
    np.testing.assert_allclose(solo.G[0], r.G[1], rtol=0, atol=1e-3 * np.abs(r.G[1]).max())
    np.testing.assert_allclose(solo.kl_mean[0], r.kl_mean[1], rtol=0.2, atol=1e-8)


def test_x64_flag_does_not_change_training(world, table_config, table_result):
    """Training is float32 whether jax_enable_x64 is on (conftest) or off."""
    with jax.enable_x64(False):
        off = train_world(world, table_config, seeds=[0], progress=False)
    assert off.F.dtype == np.float32
    np.testing.assert_allclose(off.F[0], table_result.F[0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(off.kl_mean[0], table_result.kl_mean[0], rtol=0.2, atol=1e-8)


def test_grid_point_matches_plain_run(world, table_config, table_result):
    """A second vmapped axis over init scale: each point equals the plain run."""
    results = train_world_grid(world, table_config, init_scales=[0.5, 1.0], progress=False)
    assert [r.config.init_scale for r in results] == [0.5, 1.0]
    np.testing.assert_allclose(results[1].F, table_result.F, rtol=0, atol=1e-4)
    assert np.all(results[0].kl_mean < 1e-4)
    assert results[0].shared == {"grid_points": 2, "lanes": 6}


def test_divergence_names_seed_and_step(world, table_config):
    cfg = replace(table_config, optimizer="sgd", lr=1e30, steps=40)
    with pytest.raises(TrainingDiverged, match=r"seed 0 diverged at step \d+") as info:
        train_world(world, cfg, progress=False)
    assert isinstance(info.value, SimidentError) and info.value.seed == 0


def test_divergence_can_mark_and_continue(world, table_config):
    cfg = replace(table_config, optimizer="sgd", lr=1e30, steps=40, stop_on_divergence=False)
    bad, good = train_world_grid(world, cfg, seeds=[0], lrs=[1e30, 0.1], progress=False)
    assert bad.diverged_step[0] >= 0 and np.isnan(bad.kl_mean[0])
    assert good.diverged_step[0] == -1 and np.isfinite(good.kl_mean[0])


def test_samples_loss_and_minibatches():
    """Finite data (sampled next tokens) with minibatches: KL to p* falls to sampling noise."""
    from simident.training import TrainConfig
    from simident.worlds import toy_world

    w = toy_world(n=16, V=8, d=3, T=3, seed=1, n_samples=400, heldout=4)
    cfg = TrainConfig(
        model="table", d=3, seeds=2, steps=300, lr=0.1, loss="samples", batch_size=6, chunk_steps=70
    )  # 300 % 70 != 0: masked last chunk
    r = train_world(w, cfg, progress=False)
    assert np.all(r.kl_mean_train < 0.05), r.kl_mean_train
    assert np.all(np.isfinite(r.kl_mean_heldout))
    assert r.history["step"][-1] == 300


def test_samples_loss_needs_samples(world, table_config):
    with pytest.raises(SimidentError, match="samples"):
        train_world(world, replace(table_config, loss="samples"), progress=False)


def test_lane_groups_match_one_vmap(world, table_config, table_result):
    """Running the lanes in groups (lax.map over vmapped groups) changes speed only."""
    grouped = train_world(world, replace(table_config, lane_group=1), progress=False)
    np.testing.assert_allclose(grouped.F, table_result.F, rtol=0, atol=1e-4)
    with pytest.raises(SimidentError, match="lane_group 2 must divide"):
        train_world(world, replace(table_config, lane_group=2), progress=False)
