"""Precision is the library's job: the math of THEORY.md runs in float64 whatever the
caller's global `jax_enable_x64` flag says.

`in_float64` wraps a function so that its body runs under `jax.enable_x64(True)` (a
scoped, thread-local switch; the global flag is left as it was). Arrays it returns keep
float64; plain floats are unaffected.
"""

from __future__ import annotations

import functools

import jax


def in_float64(fn):
    """Decorator: run `fn` with 64-bit JAX types enabled (scoped, not global)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper
