"""A fake trainer for sweep tests: exactly equivalent models of the truth (no JAX training),
deterministic in (world, config, seed), with seed-dependent free parts when d > k."""

from types import SimpleNamespace

import numpy as np

from simident.theory.constructors import minimal_model, pad, random_invertible


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
    N = len(config.seed_list)
    return SimpleNamespace(
        F=np.stack(Fs),
        G=np.stack(Gs),
        kl_mean=np.zeros(N),
        kl_max=np.zeros(N),
        seeds=config.seed_list,
    )
