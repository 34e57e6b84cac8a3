"""Optimiser and learning-rate schedule; lr and weight decay may be traced (vmapped) values."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def lr_schedule(lr, steps: int, warmup: int, schedule: str, final_lr_frac: float):
    """η(t): linear warm-up over `warmup` steps, then cosine decay to final_lr_frac·lr
    at step `steps` (or constant)."""
    warmup = max(int(warmup), 1)
    span = max(int(steps) - warmup, 1)

    def eta(count):
        t = jnp.asarray(count).astype(jnp.float32)
        ramp = jnp.minimum(1.0, (t + 1.0) / warmup)
        if schedule == "constant":
            return lr * ramp
        frac = jnp.clip((t - warmup) / span, 0.0, 1.0)
        decay = final_lr_frac + (1.0 - final_lr_frac) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac))
        return lr * ramp * decay

    return eta


def _matrices(params):
    """Weight decay applies to weight matrices only (ndim ≥ 2), not to biases or norms."""
    return jax.tree.map(lambda x: x.ndim >= 2, params)


def make_optimizer(static, lr, weight_decay) -> optax.GradientTransformation:
    """AdamW (b1 0.9, b2 `static.b2`, eps 1e-8, decoupled decay) or SGD with momentum 0.9
    and coupled L2 decay, on the schedule of `lr_schedule`."""
    eta = lr_schedule(lr, static.steps, static.warmup, static.schedule, static.final_lr_frac)
    if static.optimizer == "adamw":
        return optax.adamw(
            eta, b1=0.9, b2=static.b2, eps=1e-8, weight_decay=weight_decay, mask=_matrices
        )
    if static.optimizer == "sgd":
        return optax.chain(
            optax.add_decayed_weights(weight_decay, mask=_matrices),
            optax.sgd(eta, momentum=0.9),
        )
    raise ValueError(f"unknown optimizer {static.optimizer!r}")
