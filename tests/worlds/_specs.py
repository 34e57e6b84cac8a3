"""Hypothesis strategy for random valid world specs (small, from few shapes so that JIT
compilations are reused across examples)."""

from __future__ import annotations

from hypothesis import strategies as st

from simident.worlds import WorldSpec


@st.composite
def valid_specs(draw, n_samples: int = 0) -> WorldSpec:
    d = draw(st.sampled_from([3, 4, 6]))
    e = draw(st.integers(1, d))
    u = draw(st.integers(1, d))
    k = draw(st.integers(max(1, e + u - d), min(e, u)))
    V = draw(st.sampled_from([12, 16]))
    kind = draw(st.sampled_from(["compositional", "random"]))
    T = draw(st.sampled_from([1, 2, 3]))
    n = draw(st.sampled_from([n for n in (12, 24) if n >= e + 2 and n <= V**T]))
    hidden = e > k  # E ∩ U⊥ ≠ {0}: non-inclusion relations and invisible probes allowed
    n_q = draw(st.integers(0, 2))
    queries = [
        {"name": f"q{i}", "inclusion": draw(st.booleans()) if hidden else True} for i in range(n_q)
    ]
    if n_q and draw(st.booleans()):
        queries[0]["tokens"] = draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=2))
    probes = [
        {"name": f"z{i}", "visible": draw(st.booleans()) if hidden else True}
        for i in range(draw(st.integers(0, 2)))
    ]
    heldout = 0.0
    if kind == "compositional" and n - round(0.25 * n) >= e + 2:
        heldout = draw(st.sampled_from([0.0, 0.25]))
    data = {
        "name": "hyp",
        "seed": draw(st.integers(0, 2**31 - 1)),
        "vocab_size": V,
        "d": d,
        "rank_E": e,
        "rank_U": u,
        "k": k,
        "n_contexts": n,
        "context_length": T,
        "context_kind": kind,
        "queries": queries,
        "query_length": draw(st.sampled_from([1, 2])),
        "n_parallel": draw(st.integers(0, min(2, V - 1 - u))),
        "probes": probes,
        "heldout_fraction": heldout,
        "n_samples": n_samples,
        "logit_scale": draw(st.sampled_from([0.5, 1.0, 2.0])),
        "spectrum_ratio": draw(st.sampled_from([1.0, 2.0, 3.0])),
    }
    if draw(st.booleans()):
        data["parallel_lambda"] = draw(st.sampled_from([-1.5, 0.5, 1.0, 2.5]))
    return WorldSpec.from_dict(data)
