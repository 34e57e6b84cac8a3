"""Cost estimates and lane layouts: properties over random sizes."""

from hypothesis import given
from hypothesis import strategies as st

from simident.training.cost import (
    AUTO_BATCH_BYTES,
    AUTO_BATCH_MIN,
    activation_bytes,
    auto_batch_size,
    param_count,
)

SIZES = dict(
    model=st.sampled_from(["table", "transformer"]),
    m=st.integers(1, 200_000),
    V=st.integers(2, 50_000),
    T=st.integers(1, 16),
    width=st.sampled_from([8, 32, 64, 256]),
    depth=st.integers(1, 4),
)


@given(**SIZES)
def test_auto_batch_is_full_or_a_fitting_power_of_two(model, m, V, T, width, depth):
    size = dict(V=V, T=T, width=width, depth=depth, mlp_ratio=4)
    B = auto_batch_size(model, m, **size)
    if B == 0:  # full batch: it fits, or no minibatch would be smaller than m
        assert activation_bytes(model, m, **size) <= AUTO_BATCH_BYTES or m <= 2 * AUTO_BATCH_MIN
    else:
        assert AUTO_BATCH_MIN <= B < m and B & (B - 1) == 0
        assert B == AUTO_BATCH_MIN or activation_bytes(model, B, **size) <= AUTO_BATCH_BYTES


@given(n=st.integers(1, 1000), V=st.integers(2, 1000), d=st.integers(1, 64))
def test_table_parameter_count(n, V, d):
    kw = dict(T=3, width=8, depth=1, mlp_ratio=4)
    assert param_count("table", n=n, V=V, d=d, **kw) == (n + V) * d


def test_transformer_parameter_count_matches_the_model():
    import jax
    from flax import nnx

    from simident.models import build_model

    kw = dict(n=10, V=7, T=3, d=4, width=8, depth=2, mlp_ratio=4)
    model = build_model("transformer", heads=2, rngs=nnx.Rngs(params=jax.random.key(0)), **kw)
    count = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert param_count("transformer", **kw) == count


@given(lanes=st.integers(1, 40), devices=st.integers(1, 8))
def test_lane_layout_pads_to_a_multiple(lanes, devices):
    import jax

    from simident.training.devices import lane_layout

    fake = [jax.devices()[0]] * devices  # only counted here (no mesh is used)
    layout = lane_layout(lanes, fake)
    assert layout.devices_used == min(lanes, devices)
    assert layout.padded % layout.devices_used == 0
    assert lanes <= layout.padded < lanes + layout.devices_used
