"""Flax NNX next-token predictors p(y|s) = softmax(f(s)·g(y)).

Every model exposes `f(ids, tokens, lengths)` (B×d context embeddings), `g()` (V×d
unembeddings) and `logits(ids, tokens, lengths)` = f·gᵀ. `ids` index the world's
contexts; `tokens` (B×T, left-padded with pad id V) and `lengths` are the contexts'
token sequences. The table model reads ids, the transformer reads tokens.
"""

from __future__ import annotations

MODELS = ("table", "transformer")


def build_model(
    name: str,
    *,
    n: int,
    V: int,
    T: int,
    d: int,
    init_scale=1.0,
    width: int = 64,
    depth: int = 2,
    heads: int = 4,
    mlp_ratio: int = 4,
    rngs,
):
    """Construct model `name` for a world with n contexts, vocabulary V, max length T."""
    if name == "table":
        from simident.models.table import Table

        return Table(n, V, d, init_scale=init_scale, rngs=rngs)
    if name == "transformer":
        from simident.models.transformer import Transformer

        return Transformer(
            V,
            T,
            d,
            width=width,
            depth=depth,
            heads=heads,
            mlp_ratio=mlp_ratio,
            init_scale=init_scale,
            rngs=rngs,
        )
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
