"""The causal transformer: shapes, causality, padding, and f = f_all at the last position.

Model methods run jitted (`call`): eager op-by-op dispatch would dominate the test time.
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from simident.models.transformer import Transformer, attention_mask

V, T, D = 7, 5, 3


@partial(jax.jit, static_argnums=(0, 2))
def _call(graphdef, state, method, *args):
    return getattr(nnx.merge(graphdef, state), method)(*args)


def call(model, method, *args):
    """model.method(*args) under jax.jit."""
    graphdef, state = nnx.split(model)
    return _call(graphdef, state, method, *args)


@pytest.fixture(scope="module")
def model():
    return Transformer(V, T, D, width=16, depth=2, heads=2, rngs=nnx.Rngs(0))


@pytest.fixture(scope="module")
def batch():
    tokens = jnp.array([[1, 2, 3, 4, 5], [V, V, 0, 6, 2], [V, V, V, V, 3]], jnp.int32)
    lengths = jnp.array([5, 3, 1], jnp.int32)
    return tokens, lengths


def test_shapes_and_dtype(model, batch):
    tokens, lengths = batch
    f = call(model, "f", None, tokens, lengths)
    assert f.shape == (3, D) and f.dtype == jnp.float32
    assert call(model, "g").shape == (V, D)
    assert call(model, "logits", None, tokens, lengths).shape == (3, V)
    assert call(model, "f_all", tokens, lengths).shape == (3, T, D)


def test_f_is_f_all_at_last_position(model, batch):
    """The last-position shortcut of `f` equals the full computation."""
    tokens, lengths = batch
    np.testing.assert_allclose(
        call(model, "f", None, tokens, lengths),
        call(model, "f_all", tokens, lengths)[:, -1],
        atol=1e-5,
    )


def test_jit_matches_eager(batch):
    tokens, lengths = batch
    model = Transformer(V, T, D, width=8, depth=1, heads=2, rngs=nnx.Rngs(3))  # eager is slow
    gd, state = nnx.split(model)
    jitted = jax.jit(lambda s, t, l: nnx.merge(gd, s).f(None, t, l))
    np.testing.assert_allclose(
        jitted(state, tokens, lengths), model.f(None, tokens, lengths), atol=1e-5
    )


def test_causality_zero_gradient_to_later_positions(model, batch):
    """The loss at position t has zero gradient with respect to inputs at positions > t."""
    tokens, lengths = batch
    graphdef, state = nnx.split(model)
    x = call(model, "embed", tokens[:1], lengths[:1])  # a full-length context, 1×T×width
    target = jnp.arange(T) % V

    def losses(x):  # loss at every position t (T,)
        m = nnx.merge(graphdef, state)
        logq = jax.nn.log_softmax(m.encode(x, lengths[:1])[0] @ m.g().T, axis=-1)
        return -logq[jnp.arange(T), target]

    J = np.asarray(jax.jit(jax.jacrev(losses))(x))[:, 0]  # T (loss) × T (input) × width
    for t in range(T):
        assert np.abs(J[t, t + 1 :]).max(initial=0.0) == 0.0, f"position {t}"
        assert np.abs(J[t, : t + 1]).max() > 0.0


def test_later_tokens_do_not_change_earlier_f(model):
    a = jnp.array([[1, 2, 3, 4, 5]], jnp.int32)
    b = jnp.array([[1, 2, 3, 0, 6]], jnp.int32)
    L = jnp.array([5], jnp.int32)
    fa, fb = call(model, "f_all", a, L), call(model, "f_all", b, L)
    np.testing.assert_array_equal(fa[:, :3], fb[:, :3])
    assert not np.allclose(fa[:, 3:], fb[:, 3:])


def test_left_padding_does_not_change_f():
    """Positions count from the first real token: extra left padding changes nothing."""
    m = Transformer(V, 6, D, width=16, depth=2, heads=2, rngs=nnx.Rngs(1))
    short = jnp.array([[V, 2, 4, 1]], jnp.int32)
    long = jnp.array([[V, V, V, 2, 4, 1]], jnp.int32)
    L = jnp.array([3], jnp.int32)
    np.testing.assert_allclose(call(m, "f", None, short, L), call(m, "f", None, long, L), atol=1e-5)


def test_empty_context_is_finite(model):
    tokens = jnp.full((1, T), V, jnp.int32)
    assert np.all(np.isfinite(call(model, "f", None, tokens, jnp.array([0], jnp.int32))))


def test_attention_mask():
    m = np.asarray(attention_mask(jnp.array([2]), 4))[0]
    expected = np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]], dtype=bool
    )  # pads see themselves only; real tokens see real tokens up to themselves
    np.testing.assert_array_equal(m, expected)


def test_init_scale_scales_weights_not_norms():
    a = Transformer(V, T, D, width=8, depth=1, heads=2, rngs=nnx.Rngs(2))
    b = Transformer(V, T, D, width=8, depth=1, heads=2, init_scale=0.5, rngs=nnx.Rngs(2))
    np.testing.assert_allclose(b.tok[...], 0.5 * a.tok[...], rtol=1e-6)
    np.testing.assert_allclose(
        b.blocks[0].qkv.kernel[...], 0.5 * a.blocks[0].qkv.kernel[...], rtol=1e-6
    )
    np.testing.assert_allclose(b.G[...], 0.5 * a.G[...], rtol=1e-6)
    np.testing.assert_array_equal(b.ln_f.scale[...], a.ln_f.scale[...])
