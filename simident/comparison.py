"""`compare(a, b)`: how two models relate, and which linear properties they share.

The typed entry point of the library (the CLI, claims and sweeps call it):

    import simident as si
    a, b = si.Model.load("seed_0.npz"), si.Model.load("seed_1.npz")
    c = si.compare(a, b, properties=[si.Probe("topic", contexts=(0, 1, 2), values=(0., 1., 2.))])
    c.k, c.logit_residual, c.properties[0].shared

Everything runs in float64 whatever the global `jax_enable_x64` flag says. Verdicts are
three-valued (True, False, None = undecided) with the band that decided them
(`simident.theory.decisions`); `Comparison.to_dict()` is the `simident compare --json`
object.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from simident.errors import SimidentError
from simident.model import Model
from simident.specs import (
    ParallelEmbedding,
    ParallelUnembedding,
    Probe,
    PropertySpec,
    Relational,
    parse_properties,
    restrict,
)
from simident.theory import properties as P
from simident.theory.decisions import DEFAULT_MARGINS, Band, band, check_margins, same3
from simident.theory.equivalence import Equivalence, compare_models
from simident.theory.linalg import RankDecision
from simident.theory.precision import in_float64

Verdict = bool | None


@dataclass(frozen=True)
class PropertyResult:
    """One property's verdicts (True / False / None = undecided), scores and band.

    holds_a / holds_b: the model-level statement in each model; distribution_level: its
    logit form in both (Kleene AND); shared: both decided alike (None if either is
    undecided); guaranteed: the theory says it is all-or-none for this instance;
    `extra` holds projected_a/b (P1, P2) or inclusion_a/b (P3).
    """

    kind: str
    name: str
    holds_a: Verdict
    holds_b: Verdict
    distribution_level: Verdict
    shared: Verdict
    guaranteed: Verdict
    reason: str
    band: Band
    tol: float
    scores: dict = field(repr=False)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "holds_a": self.holds_a,
            "holds_b": self.holds_b,
            **self.extra,
            "distribution_level": self.distribution_level,
            "shared": self.shared,
            "guaranteed": self.guaranteed,
            "reason": self.reason,
            "band": self.band.to_dict(),
            "scores": self.scores,
            "tol": self.tol,
        }


@dataclass(frozen=True)
class Comparison:
    """The result of `compare(a, b)`; `to_dict()` is the `simident compare --json` object.

    equivalent: logit_residual ≤ tol. logit_residual r (uniform) and weighted_residual
    r_p (weighted by p̄, §4 A3); kl_mean / kl_max in nats; k decided at the pair's noise
    level (A4, `k_decision` says which term decided); identified_misfit_f / _g with their
    A1 bound `a1_bound`; the full theory object (maps T, R, M, N, spans) in `equivalence`.
    """

    equivalent: bool
    tol: float
    logit_residual: float
    weighted_residual: float
    kl_mean: float
    kl_max: float
    k: int
    k_decision: RankDecision
    k_source: str
    identified_r2: float
    identified_misfit_f: float
    identified_misfit_g: float
    a1_bound: float
    full_r2: float
    properties: tuple[PropertyResult, ...]
    margins: tuple[float, float]
    contexts: dict | None = None
    notes: tuple[str, ...] = ()
    equivalence: Equivalence = field(default=None, repr=False, compare=False)

    def property(self, name: str) -> PropertyResult:
        """The result of the property called `name`."""
        for p in self.properties:
            if p.name == name:
                return p
        from simident.errors import SimidentError

        known = ", ".join(repr(p.name) for p in self.properties) or "none were tested"
        raise SimidentError(f"Comparison.property: no property named {name!r} (known: {known})")

    def to_dict(self) -> dict:
        out = self.equivalence.to_dict()
        out["k_source"] = self.k_source
        out["margins"] = list(self.margins)
        out["contexts"] = self.contexts
        out["notes"] = list(self.notes)
        out["properties"] = [p.to_dict() for p in self.properties]
        return out


def _as_model(x, which: str) -> Model:
    if isinstance(x, Model):
        return x
    if isinstance(x, (tuple, list)) and len(x) == 2:
        try:  # validated once, by Model; the message names which model
            return Model(x[0], x[1])
        except SimidentError as e:
            raise SimidentError(f"model {which}{str(e).removeprefix('Model')}") from None
    raise SimidentError(f"model {which}: expected simident.Model or a pair (F, G)")


def _check_contexts(contexts, n: int) -> np.ndarray:
    ids = list(contexts)
    if not ids:
        raise SimidentError("contexts: the subset is empty")
    for i, c in enumerate(ids):
        if isinstance(c, bool) or not isinstance(c, Integral):
            raise SimidentError(f"contexts[{i}]: expected an integer context id, got {c!r}")
        if not 0 <= int(c) < n:
            raise SimidentError(f"contexts[{i}] = {c}: context id out of range [0, {n})")
    if len(set(int(c) for c in ids)) != len(ids):
        raise SimidentError("contexts: duplicate context ids")
    return np.asarray(ids, dtype=np.int64)


def _evaluate(sp: PropertySpec, va: P.View, vb: P.View, bd: Band) -> PropertyResult:
    if isinstance(sp, ParallelUnembedding):
        r = P.parallel_unembedding(va, vb, sp.pairs, bd)
    elif isinstance(sp, ParallelEmbedding):
        r = P.parallel_embedding(va, vb, sp.pairs, bd)
    elif isinstance(sp, Relational):
        r = P.relational(va, vb, sp.pairs, bd)
    elif isinstance(sp, Probe):
        r = P.probe(va, vb, sp.contexts, sp.values, bd)
    else:
        r = P.steering(va, vb, bd, sp.pairs, sp.vector)
    extra = {
        k: r[k] for k in ("projected_a", "projected_b", "inclusion_a", "inclusion_b") if k in r
    }
    return PropertyResult(
        kind=sp.kind,
        name=sp.name,
        holds_a=r["holds_a"],
        holds_b=r["holds_b"],
        distribution_level=r["distribution_level"],
        shared=same3(r["holds_a"], r["holds_b"]),
        guaranteed=r["guaranteed"],
        reason=r["reason"],
        band=r["band"],
        tol=float(bd.tol),
        scores=r["scores"],
        extra=extra,
    )


@in_float64
def compare(
    a: Model | tuple,
    b: Model | tuple,
    *,
    tol: float | None = None,
    k: int | None = None,
    contexts: Sequence[int] | None = None,
    properties: Iterable[PropertySpec | dict] | dict = (),
    kl: bool = True,
    margins: tuple[float, float] = DEFAULT_MARGINS,
    contexts_name: str | None = None,
) -> Comparison:
    """Compare two models of the same contexts and vocabulary (any dimensions).

    tol: relative tolerance of ranks and verdicts (default sqrt(eps) of the input dtype;
    the pair's disagreement widens it, A4). k: force the effective complexity.
    contexts: compare on this subset of context ids (properties are remapped; entries
    outside are dropped with a note). properties: specs or their JSON dicts.
    kl: compute the per-context KL and r_p (O(nVd)). margins: (lo, hi) of the bands.
    """
    A, B = _as_model(a, "A"), _as_model(b, "B")
    if A.n != B.n:
        raise SimidentError(f"number of contexts differs: A has n={A.n}, B n={B.n}")
    if A.V != B.V:
        raise SimidentError(f"vocabulary size differs: A has V={A.V}, B V={B.V}")
    if tol is not None and not (isinstance(tol, (int, float)) and 0.0 < tol < 1.0):
        raise SimidentError(f"tol = {tol}: must lie in (0, 1)")
    if k is not None and not 0 <= k <= min(A.d, B.d):
        raise SimidentError(f"k = {k}: must lie in [0, min(d_a, d_b)] = [0, {min(A.d, B.d)}]")
    try:
        margins = check_margins(margins)
    except (ValueError, TypeError) as e:
        raise SimidentError(str(e)) from None
    props = properties
    if isinstance(props, dict) or props:
        props = parse_properties(props, A.n, A.V, A.d)
    else:
        props = ()
    subset, notes = None, []
    if contexts is not None:
        ids = _check_contexts(contexts, A.n)
        props, notes = restrict(props, ids.tolist())
        subset = {"name": contexts_name or "given", "n_used": int(ids.size), "n_total": A.n}
        A, B = A.restrict(ids), B.restrict(ids)
    eq = compare_models(A.F, A.G, B.F, B.G, tol=tol, k=k, kl=kl)
    results = ()
    if props:  # the views (centred G, projectors) only serve the properties
        va, vb = P.make_view(A.F, A.G, eq.a), P.make_view(B.F, B.G, eq.b)
        bd = band(eq.tol, verdict_noise(eq), margins)  # one band for every property
        results = tuple(_evaluate(sp, va, vb, bd) for sp in props)
    out = Comparison(
        equivalent=eq.equivalent,
        tol=eq.tol,
        logit_residual=eq.logit_residual,
        weighted_residual=eq.weighted_residual,
        kl_mean=eq.kl_mean,
        kl_max=eq.kl_max,
        k=eq.k.rank,
        k_decision=eq.k,
        k_source="given" if k is not None else "estimated",
        identified_r2=eq.identified_r2,
        identified_misfit_f=eq.identified_misfit_f,
        identified_misfit_g=eq.identified_misfit_g,
        a1_bound=eq.a1_bound,
        full_r2=eq.full_r2,
        properties=results,
        margins=margins,
        contexts=subset,
        notes=tuple(notes),
        equivalence=eq,
    )
    bad = [key for key in ("logit_residual", "identified_r2") if math.isnan(getattr(out, key))]
    if bad:
        raise SimidentError(f"numerical failure: {', '.join(bad)} is NaN for this pair")
    return out


def verdict_noise(eq: Equivalence) -> float:
    """The noise level of the verdict bands: sqrt of the A1 bound (0 for an exact pair;
    inf when the disagreement leaves nothing identified, k = 0, so nothing is decided)."""
    if eq.k.rank == 0:
        return float("inf") if eq.logit_residual > 0.0 else 0.0
    return math.sqrt(eq.a1_bound) if eq.logit_residual > 0.0 else 0.0


def run_compare(Fa, Ga, Fb, Gb, properties=None, tol=None, k=None, kl=True) -> dict:
    """`compare` on raw arrays, as the JSON dict (kept for the experiment code)."""
    return compare((Fa, Ga), (Fb, Gb), tol=tol, k=k, properties=properties or (), kl=kl).to_dict()
