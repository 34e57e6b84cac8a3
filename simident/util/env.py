"""Numerical environment: float64 switch and the versions recorded with every result."""

from __future__ import annotations

import platform


def enable_x64() -> None:
    """Turn on float64 in JAX (the math checks need it). Call before creating arrays."""
    import jax

    jax.config.update("jax_enable_x64", True)


def versions() -> dict:
    """Library versions and numerical settings to store next to every saved result."""
    import flax
    import jax
    import jaxlib
    import numpy as np
    import optax

    from simident.util.version import __version__

    devices = jax.devices()
    return {
        "simident": __version__,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "flax": flax.__version__,
        "optax": optax.__version__,
        "numpy": np.__version__,
        "x64": bool(jax.config.jax_enable_x64),
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind if devices else "none",
        "n_devices": len(devices),
    }
