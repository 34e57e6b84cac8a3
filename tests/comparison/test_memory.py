"""compare's memory estimate (`simident.comparison.memory.compare_bytes`): the inputs in their own
dtype plus O((rows + V)·d) float64, never n×V or n-sized float64 copies."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simident.comparison.memory import compare_bytes
from simident.util.memory import MEMORY_FRACTION


def test_real_model_scale_float32_inputs_fit_this_machine_class():
    """n = 10⁶, V = 50,000, d = 768 float32 (6.4 GB of inputs) is estimated at under
    2× the inputs, within 80% of a 24 GiB machine (the old 6-float64-copies count
    asked for 77 GB)."""
    est = compare_bytes(10**6, 50_000, 768, 768, 4)
    inputs = 4 * (10**6 + 50_000) * 1536
    assert inputs < est < 2 * inputs
    assert est < MEMORY_FRACTION * 24 * 2**30


@given(
    n=st.integers(1, 10**7),
    V=st.integers(2, 10**5),
    da=st.integers(1, 2048),
    db=st.integers(1, 2048),
)
def test_estimate_counts_the_inputs_and_grows_with_their_size(n, V, da, db):
    """At least the inputs themselves; float64 inputs cost more than float32 ones; more
    contexts never cost less; the n-dependence is the inputs' alone beyond one QR block."""
    e4, e8 = compare_bytes(n, V, da, db, 4), compare_bytes(n, V, da, db, 8)
    assert e8 > e4 >= 4 * (n + V) * (da + db)
    assert compare_bytes(n + 1, V, da, db, 4) >= e4
    big = compare_bytes(10**6, V, da, db, 4)
    assert compare_bytes(2 * 10**6, V, da, db, 4) - big == 4 * 10**6 * (da + db)
