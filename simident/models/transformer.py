"""The `transformer` model: a small pre-LN causal transformer over a context's tokens.

x_t = E[s_t] + P[pos_t]                         learned token and position embeddings
h   = x + Attn(LN(x)); h = h + MLP(LN(h))       `depth` blocks, `heads` heads, GELU MLP
f(s) = W_f · LN(h_T) + b_f                      final LayerNorm at the last position,
                                                then a linear read-out width → d
g(y) = G[y]                                     untied unembedding matrix (V×d)

Contexts arrive left-padded to a common length T with pad id V (`World.tokens`).
Positions count from each context's first real token (pos = t − (T − length)), so a
token's position does not depend on how much padding precedes it. Attention is causal
and never looks at padding (a padding query attends to itself only, so no row of the
attention matrix is empty); hence f at position t depends on tokens ≤ t alone.

The read-out W_f is always applied, also when width = d: LayerNorm's output lies on a
(width − 2)-dimensional ellipsoid, so without it f could not fill R^d. Choose
width ≥ d + 2 for f to be able to reach any point of R^d.

Initialisation: token and position embeddings ~ N(0, 1), kernels LeCun-normal,
G ~ N(0, 1/d), biases 0, LayerNorm scales 1; every weight matrix (embeddings,
kernels, G) is multiplied by `init_scale`, biases and LayerNorm parameters are not.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


def _scaled(init, scale):
    return lambda key, shape, dtype=jnp.float32: scale * init(key, shape, dtype)


def _linear(d_in, d_out, scale, rngs, use_bias=True):
    init = _scaled(nnx.initializers.lecun_normal(), scale)
    return nnx.Linear(d_in, d_out, use_bias=use_bias, kernel_init=init, rngs=rngs)


def attention_mask(lengths, T: int):
    """Boolean mask (B×T×T), True where query t may attend to key u.

    Causal (u ≤ t) and keys are real tokens; every query also sees itself, so padding
    queries (which attend to nothing real) still have one admissible key.
    """
    t = jnp.arange(T)
    real = t[None, :] >= (T - lengths)[:, None]  # B×T
    causal = t[:, None] >= t[None, :]  # T×T
    return (causal[None] & real[:, None, :]) | jnp.eye(T, dtype=bool)[None]


class Block(nnx.Module):
    """Pre-LN block: h + Attn(LN(h)), then h + MLP(LN(h))."""

    def __init__(self, width: int, heads: int, mlp_ratio: int, scale, rngs: nnx.Rngs):
        self.heads = heads
        self.ln_attn = nnx.LayerNorm(width, rngs=rngs)
        self.qkv = _linear(width, 3 * width, scale, rngs)
        self.out = _linear(width, width, scale, rngs)
        self.ln_mlp = nnx.LayerNorm(width, rngs=rngs)
        self.up = _linear(width, mlp_ratio * width, scale, rngs)
        self.down = _linear(mlp_ratio * width, width, scale, rngs)

    def attend(self, x_BxTxW, mask_BxTxT, last_only: bool = False):
        """Multi-head attention; with last_only, only the last position's query (B×1×W)."""
        B, T, W = x_BxTxW.shape
        H, K = self.heads, W // self.heads
        qkv_3xBxHxTxK = self.qkv(x_BxTxW).reshape(B, T, 3, H, K).transpose(2, 0, 3, 1, 4)
        q_BxHxTxK, k_BxHxTxK, v_BxHxTxK = qkv_3xBxHxTxK
        if last_only:
            q_BxHxTxK, mask_BxTxT = q_BxHxTxK[:, :, -1:], mask_BxTxT[:, -1:]
        scores_BxHxTxT = jnp.einsum("bhtk,bhuk->bhtu", q_BxHxTxK, k_BxHxTxK)
        scores_BxHxTxT = scores_BxHxTxT / jnp.sqrt(jnp.float32(K))
        scores_BxHxTxT = jnp.where(mask_BxTxT[:, None], scores_BxHxTxT, -1e30)
        att_BxHxTxT = jax.nn.softmax(scores_BxHxTxT, axis=-1)
        y_BxHxTxK = jnp.einsum("bhtu,bhuk->bhtk", att_BxHxTxT, v_BxHxTxK)
        return self.out(y_BxHxTxK.transpose(0, 2, 1, 3).reshape(B, -1, W))

    def __call__(self, h_BxTxW, mask_BxTxT, last_only: bool = False):
        """The block at every position, or (last_only) at the last position only (B×1×W)."""
        a_BxTxW = self.attend(self.ln_attn(h_BxTxW), mask_BxTxT, last_only)
        h_BxTxW = (h_BxTxW[:, -1:] if last_only else h_BxTxW) + a_BxTxW
        return h_BxTxW + self.down(jax.nn.gelu(self.up(self.ln_mlp(h_BxTxW))))


class Transformer(nnx.Module):
    """Causal transformer f(s) over tokens with an untied unembedding g (see module doc)."""

    def __init__(
        self,
        V: int,
        T: int,
        d: int,
        *,
        width: int = 64,
        depth: int = 2,
        heads: int = 4,
        mlp_ratio: int = 4,
        init_scale=1.0,
        rngs: nnx.Rngs,
    ):
        self.V, self.T = V, T
        normal = jax.random.normal
        self.tok = nnx.Param(init_scale * normal(rngs.params(), (V + 1, width), jnp.float32))
        self.pos = nnx.Param(init_scale * normal(rngs.params(), (T, width), jnp.float32))
        self.blocks = nnx.List(
            [Block(width, heads, mlp_ratio, init_scale, rngs) for _ in range(depth)]
        )
        self.ln_f = nnx.LayerNorm(width, rngs=rngs)
        self.readout = _linear(width, d, init_scale, rngs)
        std = init_scale / jnp.sqrt(jnp.float32(d))
        self.G = nnx.Param(std * normal(rngs.params(), (V, d), jnp.float32))

    def embed(self, tokens_BxT, lengths_B):
        """x_t = E[s_t] + P[pos_t] (B×T×width), positions counted from the first real token."""
        T = tokens_BxT.shape[1]
        pos_BxT = jnp.maximum(jnp.arange(T)[None, :] - (T - lengths_B)[:, None], 0)
        # one-hot products instead of gathers: their backward is a matmul, not a scatter
        tok, pos = self.tok[...], self.pos[...]
        x_BxTxW = jax.nn.one_hot(tokens_BxT, tok.shape[0], dtype=tok.dtype) @ tok
        return x_BxTxW + jax.nn.one_hot(pos_BxT, pos.shape[0], dtype=pos.dtype) @ pos

    def hidden(self, x_BxTxW, lengths_B, last_only: bool = False):
        """Residual stream after the last block (B×T×width); position t sees inputs ≤ t.

        With last_only the last block runs for the last position only (B×1×width): the
        other positions' outputs of the last block do not influence f(s).
        """
        mask = attention_mask(lengths_B, x_BxTxW.shape[1])
        h_BxTxW = x_BxTxW
        for i, block in enumerate(self.blocks):
            h_BxTxW = block(h_BxTxW, mask, last_only and i == len(self.blocks) - 1)
        return h_BxTxW

    def encode(self, x_BxTxW, lengths_B):
        """f at every position (B×T×d) from embedded inputs (the causality test uses it)."""
        return self.readout(self.ln_f(self.hidden(x_BxTxW, lengths_B)))

    def f_all(self, tokens_BxT, lengths_B):
        """f of every prefix (B×T×d); the last position is f(s)."""
        return self.encode(self.embed(tokens_BxT, lengths_B), lengths_B)

    def f(self, ids, tokens_BxT, lengths_B):
        """Context embeddings f(s) (B×d): the read-out at the last position."""
        x_BxTxW = self.embed(tokens_BxT, lengths_B)
        h_BxW = self.hidden(x_BxTxW, lengths_B, last_only=True)[:, -1]
        return self.readout(self.ln_f(h_BxW))

    def represent(self, tokens_BxT, lengths_B, layer: int):
        """The last position's representation after `layer` blocks.

        layer = depth: f(s) itself (final LayerNorm and read-out, B×d); 0 ≤ layer < depth:
        the raw residual stream h after that many blocks (B×width; layer 0 is the
        embedding x = E[s_t] + P[pos_t], no LayerNorm, no read-out).
        """
        if layer == len(self.blocks):
            return self.f(None, tokens_BxT, lengths_B)
        h_BxTxW = self.embed(tokens_BxT, lengths_B)
        mask = attention_mask(lengths_B, h_BxTxW.shape[1])
        for block in list(self.blocks)[:layer]:
            h_BxTxW = block(h_BxTxW, mask)
        return h_BxTxW[:, -1]

    def g(self):
        """Unembeddings g(y) of the whole vocabulary (V×d)."""
        return self.G[...]

    def logits(self, ids, tokens_BxT, lengths_B):
        """f(s)·g(y) for every y (B×V)."""
        return self.f(ids, tokens_BxT, lengths_B) @ self.g().T


def transformer_matmul_flops(
    B: int, T: int, V: int, d: int, width: int, depth: int, mlp_ratio: int = 4
) -> int:
    """FLOPs of the matrix products of one training step on B contexts of length T.

    Forward, per block and position: q, k, v 2·3W², attention scores and values 2·2·T·W,
    out 2·W², MLP 2·2·r·W². The last block needs only k, v at every position and the
    rest at the last one. Then read-out 2·W·d and logits 2·d·V at the last position, and
    the one-hot embedding products 2·(V+1+T)·W per position. Backward costs twice the
    forward (gradients for inputs and for weights).
    """
    W, r = width, mlp_ratio
    full = 2 * 3 * W * W + 4 * T * W + 2 * W * W + 4 * r * W * W  # one position, one block
    last = B * (T * 2 * 2 * W * W + (full - 2 * 2 * W * W))
    forward = B * T * (depth - 1) * full + last
    forward += B * (2 * W * d + 2 * d * V) + B * T * 2 * (V + 1 + T) * W
    return 3 * forward
