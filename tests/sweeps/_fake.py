"""A fake trainer for sweep tests: exactly equivalent models of the truth (no JAX training),
deterministic in (world, config, seed), with seed-dependent free parts when d > k."""

import numpy as np

from simident.theory.constructors import minimal_model, pad, random_invertible
from simident.training.outputs import TrainResult


def fake_models(world, config):
    Phi, Psi = minimal_model(world.F, world.G)
    k = Phi.shape[1]
    d = config.d
    Fs, Gs = [], []
    for seed in config.seed_list:
        rng = np.random.default_rng([seed, d, int(1000 * config.weight_decay), world.n])
        F, G = Phi, Psi
        if d > k:
            extra = d - k
            F, G = pad(rng, F, G, extra - extra // 2, extra // 2)
        A = random_invertible(rng, F.shape[1])
        Fs.append(F @ A.T)
        Gs.append(G @ np.linalg.inv(A))
    return as_result(world, config, Fs, Gs, dtype=np.float32)


def as_result(world, config, Fs, Gs, dtype=np.float64) -> TrainResult:
    """A TrainResult holding the given models (KL 0: exact models of the truth)."""
    N = len(Fs)
    zeros = np.zeros(N)
    return TrainResult(
        config=config,
        world_id=world.world_id,
        seeds=list(range(config.seed_offset, config.seed_offset + N)),
        F=np.stack(Fs).astype(dtype),
        G=np.stack(Gs).astype(dtype),
        kl_mean=zeros,
        kl_max=zeros,
        kl_mean_train=zeros,
        kl_mean_heldout=zeros,
        final_loss=zeros,
        diverged_step=np.full(N, -1),
        seconds=0.0,
        eval_seconds=0.0,
    )
