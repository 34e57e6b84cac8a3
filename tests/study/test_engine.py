"""The engine shared by claims and sweeps: a cell trains once and is reloaded exactly,
its key follows its content, and its seed pairs are compared in their own dimension."""

import numpy as np
import pytest

from simident.study import Cell, CellStore, obtain, seed_pair_rows, world_k
from simident.theory.constructors import minimal_model, pad, random_invertible
from simident.theory.equivalence import effective_complexity
from simident.training import TrainConfig
from simident.worlds import example_spec, generate_world

from ..sweeps._fake import as_result

pytestmark = pytest.mark.slow  # trains models for real


@pytest.fixture(scope="module")
def world():
    return generate_world(example_spec("tiny"))


def _cell(world, **kw):
    cfg = TrainConfig(model="table", d=world.d, seeds=2, steps=30, **kw)
    return Cell(world=example_spec("tiny"), learner=cfg)


def test_a_cell_trains_once_then_is_reloaded_exactly(world, tmp_path):
    store = CellStore(tmp_path)
    cell = _cell(world)
    first, reused = obtain(world, cell, store=store)
    assert not reused and len(first) == 1
    again, reused = obtain(world, cell, store=store)
    assert reused
    np.testing.assert_array_equal(again[0].F, first[0].F)
    np.testing.assert_array_equal(again[0].kl_mean, first[0].kl_mean)
    assert again[0].config == first[0].config


def test_the_key_follows_the_content(world):
    a, b = _cell(world), _cell(world, lr=0.02)
    assert a.key(world) == _cell(world).key(world) and hash(a) == hash(_cell(world))
    assert a.key(world) != b.key(world)
    grid = Cell(a.world, a.learner, weight_decays=(0.0, 0.1))
    assert grid.key(world) != a.key(world) and grid.grid() == ([0.0, 0.1], [1.0])


def test_a_grid_cell_is_one_program_with_one_result_per_point(world, tmp_path):
    cell = Cell(_cell(world).world, _cell(world).learner, weight_decays=(0.0, 0.1))
    results, _ = obtain(world, cell, store=CellStore(tmp_path))
    assert [r.config.weight_decay for r in results] == [0.0, 0.1]
    back, reused = obtain(world, cell, store=CellStore(tmp_path))
    assert reused and [r.config.weight_decay for r in back] == [0.0, 0.1]


def test_world_k_is_the_rank_of_the_truth_on_the_contexts(world):
    assert world_k(world) == effective_complexity(world.F, world.G).rank
    ids = np.arange(0, world.n, 2)
    assert world_k(world, ids) == effective_complexity(world.F[ids], world.G).rank


def _exact_result(world, d, n_seeds=3):
    """Exactly equivalent models of the truth at dimension d (free parts when d > k)."""
    Phi, Psi = minimal_model(world.F, world.G)
    Fs, Gs = [], []
    for s in range(n_seeds):
        rng = np.random.default_rng(s)
        F, G = pad(rng, Phi, Psi, d - Phi.shape[1], 0) if d > Phi.shape[1] else (Phi, Psi)
        A = random_invertible(rng, d)
        Fs.append(F @ A.T)
        Gs.append(G @ np.linalg.inv(A))
    return as_result(world, TrainConfig(d=d, seeds=n_seeds), Fs, Gs)


@pytest.mark.parametrize("extra", [0, 2])
def test_seed_pairs_of_exact_models_are_equivalent_in_their_own_dimension(world, extra):
    k = world_k(world)
    rows = seed_pair_rows(world, _exact_result(world, k + extra), tol=1e-6)
    assert len(rows) == 3
    for r in rows:
        assert r["logit_residual"] < 1e-8 and r["identified_r2"] > 1 - 1e-8
        assert r["k_used"] == k
        # no padding: a d = k model has E = R^d (dim_E = d); with context-side free parts
        # (d = k + 2) E is still the model's own span, never a padded space's
        assert r["dim_E_a"] == r["dim_E_b"] == k + extra
        assert r["parallel_agree"] == 1.0 or r["parallel_n"] == 0


def test_models_below_the_worlds_k_are_refused_in_one_line(world):
    """Seed pairs are compared at the world's k: models of a smaller d (a noisy process
    world whose measured k exceeds the d it was trained at) get a clear error, not a
    comparison at a k they cannot have."""
    from simident.util.errors import SimidentError

    k = world_k(world)
    rng = np.random.default_rng(0)
    small = [rng.normal(size=(world.n, k - 1)) for _ in range(2)]
    result = as_result(world, TrainConfig(d=k - 1, seeds=2), small, [world.G[:, : k - 1]] * 2)
    with pytest.raises(SimidentError, match=rf"k on these contexts is {k}.*d ≥ {k}"):
        seed_pair_rows(world, result)
