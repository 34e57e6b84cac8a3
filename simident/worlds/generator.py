"""`generate_world(spec)`: the ground truth, its contexts, planted properties and data.

Deterministic from `spec.seed` (numpy Generators per named stream, see contexts.rng_for;
sampled next tokens use jax.random). The measured dim E, dim U and k over all contexts
must equal the spec; a miss is an internal error, never a silent approximation.
Cost: O((n_total + V)·d² + n·T·d²) time and O((n_total + V)·d) memory; the n×V matrix of
targets is never formed (sampling walks over contexts in chunks).
"""

from __future__ import annotations

import hashlib
import json

import jax.numpy as jnp
import numpy as np

from simident.theory.equivalence import spans
from simident.theory.linalg import default_tol
from simident.util.errors import SimidentError
from simident.worlds import truth as T
from simident.worlds.contexts import (
    compositional_features,
    draw_base_contexts,
    resolve_query_tokens,
    rng_for,
)
from simident.worlds.sampling import sample_next_tokens
from simident.worlds.spec import PARALLEL_PREFIX, WorldSpec
from simident.worlds.world import World

MAX_CONTEXT_DRAWS = 8


def world_id(spec: WorldSpec) -> str:
    """`<name>-<first 10 hex digits of sha256 of the spec's JSON>`."""
    text = json.dumps(spec.to_dict(), sort_keys=True)
    return f"{spec.name}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _base_contexts(spec: WorldSpec, sigma):
    """Distinct base contexts X (n×T) and whitened coordinates a (n×e) of f*(s).

    Compositional: a is affine in h(s) = Σ_t P_t x(s_t); random: a is affine in a
    Gaussian vector per context. Redraws when the contexts' features span < rank_E dims.
    """
    n, V, L, e = spec.n_contexts, spec.vocab_size, spec.context_length, spec.rank_E
    for attempt in range(MAX_CONTEXT_DRAWS):
        X = draw_base_contexts(rng_for(spec.seed, f"contexts/{attempt}"), V, L, n)
        feat_rng = rng_for(spec.seed, f"features/{attempt}")
        if spec.context_kind == "compositional":
            H = compositional_features(feat_rng, X, V, e)
        else:
            H = feat_rng.standard_normal((n, e))
        a, ok = T.whiten(H, e, sigma)
        if ok:
            return X, a
    raise SimidentError(
        f"n_contexts: {MAX_CONTEXT_DRAWS} draws of {n} base contexts of length {L} never "
        f"spanned rank_E = {e} dimensions of token-position features; increase n_contexts "
        "or context_length"
    )


def generate_world(spec) -> World:
    """Build the world of `spec`: a WorldSpec, a LanguageSpec, an HMMSpec or the dict form
    of any of them (dispatched on `kind`, see process_spec)."""
    from simident.worlds.process_spec import HMMSpec, LanguageSpec, spec_from_dict

    if isinstance(spec, dict):
        spec = spec_from_dict(spec)
    if isinstance(spec, LanguageSpec):
        from simident.worlds.language import generate_language_world

        return generate_language_world(spec)
    if isinstance(spec, HMMSpec):
        from simident.worlds.hmm import generate_hmm_world

        return generate_hmm_world(spec)
    seed = spec.seed
    n, V, d = spec.n_contexts, spec.vocab_size, spec.d
    e, u, k = spec.rank_E, spec.rank_U, spec.k
    ratio = spec.spectrum_ratio

    # contexts: coordinates a(s) ∈ R^e and f*(s) = E (a(s) + c)
    sa = T.spectrum(rng_for(seed, "spectrum_E"), e, ratio)
    X, a = _base_contexts(spec, sa)
    lay = T.make_layout(rng_for(seed, "layout"), d, e, u, k)
    rms_a = float(np.sqrt(np.mean(sa**2)))
    c = T.OFFSET_NORM * rms_a * T.unit(rng_for(seed, "offset_f"), e)
    a_c = a + c

    # queries: f*(s ⊕ q) = A_q f*(s) + b_q
    q_tokens = resolve_query_tokens(
        rng_for(seed, "query_tokens"), spec.queries, V, spec.query_length
    )
    F_blocks = [a_c @ lay.E.T]
    maps = []
    for i, q in enumerate(spec.queries):
        q_rng = rng_for(seed, f"query/{i}")
        A_hat = T.relation_map(q_rng, k, e, q.inclusion)
        b_hat = T.OFFSET_NORM * rms_a * T.unit(q_rng, e)
        F_blocks.append((a_c @ A_hat.T + b_hat) @ lay.E.T)
        maps.append((lay.E @ A_hat @ lay.E.T, lay.E @ b_hat))
    F = np.concatenate(F_blocks, axis=0)

    # tokens: ḡ*(y) = U b̄(y), parallel quadruples planted before whitening
    B0 = rng_for(seed, "unembeddings").standard_normal((V, u))
    quads, lams = T.plant_parallel(
        rng_for(seed, "parallel"), B0, spec.n_parallel, spec.parallel_lambda
    )
    sb = T.pair_inversely(sa[:k], T.spectrum(rng_for(seed, "spectrum_U"), u, ratio))
    b_bar, ok = T.whiten(B0, u, sb)
    if not ok:
        raise RuntimeError("internal error: unembedding coordinates lost rank")
    Gc = b_bar @ lay.U.T
    g0 = T.G_OFFSET_NORM * float(np.sqrt(np.sum(sb**2))) * T.unit(rng_for(seed, "offset_g"), d)
    G = Gc + g0

    # logit scale: RMS over contexts of std_y ℓ(s)[y] = logit_scale; f and g share the factor
    M_G = Gc.T @ Gc
    var_s = np.sum((F @ M_G) * F, axis=1) / V
    gamma = np.sqrt(spec.logit_scale / np.sqrt(np.mean(var_s)))
    F *= gamma
    G *= gamma
    maps = [(A, gamma * b) for A, b in maps]
    logit_std = gamma**2 * np.sqrt(var_s)

    contexts, queries, properties, planted = _assemble(spec, X, F, q_tokens, maps, quads, lams, lay)
    train_ids, heldout_ids = _split(spec)
    measured = _measure(spec, F, G, logit_std)
    samples = sample_next_tokens(F, G, spec.n_samples, seed) if spec.n_samples > 0 else None
    extra = {
        "n_base": n,
        "context_kind": spec.context_kind,
        "planted": planted,
        "layout": {"Q": lay.Q, "blocks": lay.blocks()},
        "constants": {
            "mix_angle": T.MIX_ANGLE,
            "shear_norm": T.SHEAR_NORM,
            "offset_norm": T.OFFSET_NORM,
            "g_offset_norm": T.G_OFFSET_NORM,
        },
    }
    return World(
        world_id=world_id(spec),
        spec=spec.to_dict(),
        F=F,
        G=G,
        contexts=contexts,
        train_ids=train_ids,
        heldout_ids=heldout_ids,
        queries=queries,
        measured=measured,
        properties=properties,
        samples=samples,
        extra=extra,
    )


def _assemble(spec, X, F, q_tokens, maps, quads, lams, lay):
    """Contexts in world order, the queries list, properties.json entries, planted params."""
    n = spec.n_contexts
    base = X.tolist()
    contexts = list(base)
    queries, properties = [], []
    planted = {"queries": [], "parallel": [], "probes": []}
    for j, (q, tok, (A, b)) in enumerate(zip(spec.queries, q_tokens, maps)):
        tok = list(tok)
        contexts.extend(s + tok for s in base)
        pairs = np.stack([np.arange(n), n * (1 + j) + np.arange(n)], axis=1).tolist()
        queries.append({"name": q.name, "tokens": tok, "inclusion": q.inclusion, "pairs": pairs})
        properties.append(
            {"kind": "relational", "name": q.name, "pairs": pairs, "inclusion": q.inclusion}
        )
        planted["queries"].append({"name": q.name, "inclusion": q.inclusion, "A": A, "b": b})
    for i, (quad, lam) in enumerate(zip(quads, lams)):
        t0, t1, t2, t3 = quad
        name = f"{PARALLEL_PREFIX}{i}"
        properties.append(
            {
                "kind": "parallel_unembedding",
                "name": name,
                "pairs": [[t0, t1], [t2, t3]],
                "lambda": lam,
            }
        )
        planted["parallel"].append({"name": name, "tokens": quad, "lambda": lam})
    F_base = F[:n]
    for i, p in enumerate(spec.probes):
        p_rng = rng_for(spec.seed, f"probe/{i}")
        w = lay.E @ T.probe_direction(p_rng, spec.k, spec.rank_E, p.visible)
        z = F_base @ w
        alpha = 1.0 / float(np.std(z))
        beta = float(p_rng.uniform(-1.0, 1.0))
        values = alpha * z + beta
        properties.append(
            {
                "kind": "probe",
                "name": p.name,
                "contexts": list(range(n)),
                "values": values.tolist(),
                "visible": p.visible,
            }
        )
        planted["probes"].append(
            {"name": p.name, "visible": p.visible, "w": alpha * w, "beta": beta}
        )
    return contexts, queries, properties, planted


def _split(spec):
    """Held-out base contexts (random, compositional kind) and their query extensions."""
    n, nq = spec.n_contexts, len(spec.queries)
    held = np.zeros(n, dtype=bool)
    if spec.n_heldout:
        held[rng_for(spec.seed, "split").choice(n, spec.n_heldout, replace=False)] = True
    held_all = np.tile(held, 1 + nq)
    ids = np.arange(n * (1 + nq), dtype=np.int64)
    return ids[~held_all], ids[held_all]


def _measure(spec, F, G, logit_std) -> dict:
    """dim E, dim U, k over all contexts (must equal the spec) and the conditioning."""
    tol = default_tol(jnp.result_type(float))
    sp = spans(F, G, tol)
    got = {"rank_E": sp.dim_E, "rank_U": sp.dim_U, "k": sp.k}
    want = {"rank_E": spec.rank_E, "rank_U": spec.rank_U, "k": spec.k}
    if got != want:
        raise RuntimeError(f"internal error: generated world has {got}, spec asks {want}")
    return {
        "dim_E": sp.dim_E,
        "dim_U": sp.dim_U,
        "k": sp.k,
        "d": sp.d,
        "diverse": sp.diverse,
        "tol": tol,
        "sigma_ratio_F": sp.rank_E.last_kept,
        "sigma_ratio_G": sp.rank_U.last_kept,
        "sigma_ratio_L": sp.rank_k.last_kept,
        "rank_decisions": {
            "E": sp.rank_E.to_dict(),
            "U": sp.rank_U.to_dict(),
            "k": sp.rank_k.to_dict(),
        },
        "logit_std": {
            "rms": float(np.sqrt(np.mean(logit_std**2))),
            "min": float(logit_std.min()),
            "max": float(logit_std.max()),
        },
    }
