"""The table model: f(s) = F[s], g(y) = G[y], logits f·gᵀ, float32, scaled initialisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from simident.models import MODELS, build_model
from simident.models.table import Table


def test_f_g_logits():
    m = Table(10, 7, 3, rngs=nnx.Rngs(0))
    ids = jnp.array([0, 4, 9])
    assert m.f(ids).shape == (3, 3) and m.g().shape == (7, 3)
    np.testing.assert_allclose(m.logits(ids), m.F[...][ids] @ m.G[...].T, rtol=1e-6)
    assert m.F[...].dtype == jnp.float32  # float32 even with x64 on (conftest turns it on)


@pytest.mark.parametrize("scale", [0.1, 1.0, 3.0])
def test_init_scale_multiplies_standard_init(scale):
    base = Table(200, 50, 8, rngs=nnx.Rngs(1))
    m = Table(200, 50, 8, init_scale=scale, rngs=nnx.Rngs(1))
    np.testing.assert_allclose(m.F[...], scale * base.F[...], rtol=1e-6)
    assert abs(np.std(base.F[...]) - 1 / np.sqrt(8)) < 0.02


def test_build_model_names():
    assert MODELS == ("table", "transformer")
    m = build_model("table", n=5, V=4, T=2, d=2, rngs=nnx.Rngs(0))
    assert isinstance(m, Table)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("mlp", n=5, V=4, T=2, d=2, rngs=nnx.Rngs(0))


def test_only_params_in_state():
    m = Table(5, 4, 2, rngs=nnx.Rngs(0))
    _, params = nnx.split(m, nnx.Param)  # raises if anything else were stored
    assert len(jax.tree.leaves(params)) == 2
