"""Shared test setup: float64 on, hypothesis profiles.

Profiles (select with HYPOTHESIS_PROFILE or `--hypothesis-profile`):
  ci        bounded example count, used when CI=true (default there)
  dev       default locally
  thorough  thousands of random cases: HYPOTHESIS_PROFILE=thorough pytest tests/theory
All have deadline=None: JIT compilation would otherwise trip the deadline.
"""

import os

import jax
from hypothesis import HealthCheck, settings

jax.config.update("jax_enable_x64", True)

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)
settings.register_profile("ci", max_examples=15, print_blob=True, **_common)
settings.register_profile("dev", max_examples=30, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
)
