"""ν̂, the sample-noise level of every trained lane, by a parametric bootstrap (THEORY.md
§4, A6): B refits per lane, each on n_fit next tokens per training context drawn from the
trained model itself, all P×B refits in one compiled program (`steps.refit_lanes`);
ν̂ = mean_b ‖L_b − L‖_2 over every context.

Start ("bootstrap_start"): "cold" (default) repeats the training recipe from a fresh
initialisation for `steps` steps — the parametric bootstrap proper, right whether or not
the fit converged; "warm" starts from the trained model (THEORY.md's shortcut, exact only
for a converged fit: when the improbable cells' logits still drift, A3, a warm refit's
distance grows with its length; measured in docs/train.md).

Cost: B × bootstrap_steps optimiser steps per lane (vmapped with the seeds), i.e. B times
the training for a cold start, plus B embeddings; memory B× the lanes'.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simident.theory.noise import NoiseLevel, logit_distance
from simident.training.devices import eval_chunk, lane_group, lane_layout, pad_lanes, place
from simident.training.distributed import to_host
from simident.training.steps import Hyper, embed_contexts, init_params, lane_keys, refit_lanes

BOOT_SALT = 0xB0075  # refit b of seed s: key fold_in(key(s), BOOT_SALT + b)


@dataclass(frozen=True)
class Bootstrap:
    """What the bootstrap measured: ν̂ per lane, and what it cost."""

    noise: list[NoiseLevel]  # one per lane (seed × grid point), lane order
    refits: int
    steps: int
    seconds: float
    final_loss: np.ndarray  # lanes × B

    start: str = "cold"

    def record(self) -> dict:
        return {
            "refits": self.refits,
            "start": self.start,
            "steps": self.steps,
            "seconds": float(self.seconds),
            "what": "nu_hat = mean over refits of ||L_refit - L||_2 over all contexts; each "
            "refit fits samples drawn from the trained model (A6), from a fresh "
            "initialisation (cold) or from the trained model (warm)",
        }


def _fresh(static, key, init_scale):
    """A refit's cold start: an initialisation of its own (not any trained seed's)."""
    return init_params(static, key, init_scale)


def refit_static(static, steps: int):
    """The Static of the refits: `steps` steps in one chunk, samples from the teacher."""
    warmup = static.warmup if steps >= static.steps else min(static.warmup, max(steps // 10, 1))
    return static._replace(
        steps=int(steps), warmup=warmup, chunk_steps=int(steps), early_stop=False, data="teacher"
    )


def bootstrap(
    static, config, weights, lanes, data, tokens, lengths, F, G, best_step=None, devices=None
):
    """ν̂ of every lane. `weights`: the trained parameters (lane-leading numpy, P lanes);
    `lanes`: [(seed, (lr, wd, init_scale))]; F, G: the trained models (P×n×d, P×V×d);
    `best_step`: each lane's kept step (early stopping: a cold refit without a given
    bootstrap_steps runs for their median)."""
    B, P = int(config.bootstrap), len(lanes)
    steps = config.bootstrap_steps
    if steps is None:
        steps = max(1, int(np.median(best_step))) if best_step is not None else static.steps
    st = refit_static(static, steps)
    t0 = time.perf_counter()
    rep = lambda x: jnp.repeat(jnp.asarray(x)[:P], B, axis=0)  # noqa: E731
    params = jax.tree.map(rep, weights)
    seeds = np.repeat([s for s, _ in lanes], B)
    salts = np.tile(BOOT_SALT + np.arange(B), P)
    keys = jax.vmap(jax.random.fold_in)(lane_keys(seeds), jnp.asarray(salts, jnp.uint32))
    hyper = Hyper(*(jnp.asarray(np.repeat([g[j] for _, g in lanes], B), jnp.float32)
                    for j in range(3)))  # fmt: skip
    start = params
    if config.bootstrap_start == "cold":
        start = jax.vmap(partial(_fresh, st))(keys, hyper.init_scale)
    layout = lane_layout(P * B, devices)
    start, teacher, keys, hyper = place(
        pad_lanes((start, params, keys, hyper), layout), layout, lane_leading=True
    )
    data = place(data, layout, lane_leading=False)
    group = lane_group(st, layout.padded // layout.devices_used)
    refit, loss = refit_lanes(st, group, layout.mesh, start, teacher, keys, hyper, data)
    Fb, Gb = embed_contexts(
        st, refit, jnp.asarray(tokens), jnp.asarray(lengths), eval_chunk(st), layout.mesh
    )
    Fb, Gb, loss = to_host((Fb, Gb, loss))  # every refit, on every process
    Fb, Gb = Fb[: P * B], Gb[: P * B]
    noise = []
    for p in range(P):
        d = [logit_distance(F[p], G[p], Fb[p * B + b], Gb[p * B + b]) for b in range(B)]
        noise.append(NoiseLevel.from_values([x[0] for x in d], [x[1] for x in d], st.n_fit))
    seconds = time.perf_counter() - t0
    loss = loss[: P * B].reshape(P, B)
    return Bootstrap(noise, B, int(st.steps), seconds, loss, config.bootstrap_start)
