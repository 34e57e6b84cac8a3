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
from dataclasses import dataclass, field, replace
from numbers import Integral

import numpy as np

from simident.comparison.model import Model
from simident.comparison.properties import (
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
from simident.theory.noise import pair_level
from simident.theory.precision import in_float64
from simident.theory.tallqr import ROUTES
from simident.util.errors import SimidentError

Verdict = bool | None


@dataclass(frozen=True)
class PropertyResult:
    """One property's verdicts (True / False / None = undecided), scores and band.

    holds_a / holds_b: the model-level statement in each model; distribution_level: its
    logit form in both (Kleene AND); shared: both decided alike (None if either is
    undecided); guaranteed: the theory says it is all-or-none for this instance;
    scores: the kind's typed scores (`theory.properties.ParallelScores`, ...);
    projected (P1, P2) and inclusion (P3): the (a, b) verdicts of those forms; a5 (P1,
    P2): A5's bound in each model (THEORY.md §4).
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
    scores: P.Scores = field(repr=False)
    projected: tuple[Verdict, Verdict] | None = None
    inclusion: tuple[Verdict, Verdict] | None = None
    a5: tuple | None = None

    def to_dict(self) -> dict:
        forms = {}
        for form in ("projected", "inclusion"):
            pair = getattr(self, form)
            if pair is not None:
                forms.update({f"{form}_a": pair[0], f"{form}_b": pair[1]})
        return {
            "kind": self.kind,
            "name": self.name,
            "holds_a": self.holds_a,
            "holds_b": self.holds_b,
            **forms,
            "distribution_level": self.distribution_level,
            "shared": self.shared,
            "guaranteed": self.guaranteed,
            "reason": self.reason,
            "band": self.band.to_dict(),
            "scores": self.scores.to_dict(),
            "tol": self.tol,
            **({"a5": {t: b.to_dict() for t, b in zip("ab", self.a5)}} if self.a5 else {}),
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
        from simident.util.errors import SimidentError

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


def check_contexts(contexts, n: int, source: str = "contexts") -> np.ndarray:
    """A subset of context ids in [0, n), distinct, as int64; errors name `source`."""
    ids = list(contexts)
    if not ids:
        raise SimidentError(f"{source}: the subset is empty")
    for i, c in enumerate(ids):
        if isinstance(c, bool) or not isinstance(c, Integral):
            raise SimidentError(f"{source}[{i}]: expected an integer context id, got {c!r}")
        if not 0 <= int(c) < n:
            raise SimidentError(f"{source}[{i}] = {c}: context id out of range [0, {n})")
    if len(set(int(c) for c in ids)) != len(ids):
        raise SimidentError(f"{source}: duplicate context ids")
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
    return PropertyResult(
        kind=sp.kind,
        name=sp.name,
        holds_a=r.holds_a,
        holds_b=r.holds_b,
        distribution_level=r.distribution_level,
        shared=same3(r.holds_a, r.holds_b),
        guaranteed=r.guaranteed,
        reason=r.reason,
        band=r.band,
        tol=float(bd.tol),
        scores=r.scores,
        projected=r.projected,
        inclusion=r.inclusion,
        a5=r.a5,
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
    kl_contexts: int | None = None,
    identification: str = "auto",
) -> Comparison:
    """Compare two models of the same contexts and vocabulary (any dimensions).

    tol: relative tolerance of ranks and verdicts (default sqrt(eps) of the input dtype;
    the pair's disagreement widens it, A4). k: force the effective complexity.
    contexts: compare on this subset of context ids (properties are remapped; entries
    outside are dropped with a note). properties: specs or their JSON dicts.
    kl: compute the per-context KL and r_p (O(nVd)). margins: (lo, hi) of the bands.
    kl_contexts: estimate KL and r_p on this many uniformly drawn contexts (seeded), with
    95% intervals in `equivalence.kl_sample` / the JSON's `kl_sample` (default: exact up
    to n·V = 1e10 context-token cells, 4096 contexts above; docs/compare.md).
    identification: "qr", "gram" or "auto" (Gram above n·m² = 1e10, m = 1 + d_a + d_b;
    the route and its error bound: `equivalence.identification`, docs/numerics.md).
    """
    return compare_at_margins(
        a,
        b,
        [margins],
        tol=tol,
        k=k,
        contexts=contexts,
        properties=properties,
        kl=kl,
        contexts_name=contexts_name,
        kl_contexts=kl_contexts,
        identification=identification,
    )[0]


@in_float64
def compare_at_margins(
    a: Model | tuple,
    b: Model | tuple,
    margin_grid: Sequence[tuple[float, float]],
    *,
    tol: float | None = None,
    k: int | None = None,
    contexts: Sequence[int] | None = None,
    properties: Iterable[PropertySpec | dict] | dict = (),
    kl: bool = True,
    contexts_name: str | None = None,
    kl_contexts: int | None = None,
    identification: str = "auto",
) -> list[Comparison]:
    """`compare` at several band margins (lo, hi) at once, one Comparison per margins: the
    equivalence and the property scores are computed once, only the verdicts differ
    (the calibration study chooses the margins this way)."""
    A, B = _as_model(a, "A"), _as_model(b, "B")
    if A.n != B.n:
        raise SimidentError(f"number of contexts differs: A has n={A.n}, B n={B.n}")
    if A.V != B.V:
        raise SimidentError(f"vocabulary size differs: A has V={A.V}, B V={B.V}")
    if tol is not None and not (isinstance(tol, (int, float)) and 0.0 < tol < 1.0):
        raise SimidentError(f"tol = {tol}: must lie in (0, 1)")
    if kl_contexts is not None and (
        isinstance(kl_contexts, bool) or not isinstance(kl_contexts, Integral) or kl_contexts < 2
    ):
        raise SimidentError(f"kl_contexts = {kl_contexts!r}: expected an integer ≥ 2")
    if identification not in ROUTES:
        raise SimidentError(
            f"identification = {identification!r}: expected one of {', '.join(ROUTES)}"
        )
    if k is not None and not 0 <= k <= min(A.d, B.d):
        raise SimidentError(f"k = {k}: must lie in [0, min(d_a, d_b)] = [0, {min(A.d, B.d)}]")
    try:
        grid = [check_margins(m) for m in margin_grid]
    except (ValueError, TypeError) as e:
        raise SimidentError(str(e)) from None
    if not grid:
        raise SimidentError("margin_grid: give at least one (lo, hi) pair")
    props = properties
    if isinstance(props, dict) or props:
        props = parse_properties(props, A.n, A.V, A.d)
    else:
        props = ()
    subset, notes = None, []
    if contexts is not None:
        ids = check_contexts(contexts, A.n)
        props, notes = restrict(props, ids.tolist())
        subset = {"name": contexts_name or "given", "n_used": int(ids.size), "n_total": A.n}
        A, B = A.restrict(ids), B.restrict(ids)
    eq = compare_models(
        A.F,
        A.G,
        B.F,
        B.G,
        tol=tol,
        k=k,
        kl=kl,
        sample_noise=pair_level(A.noise, B.noise),
        kl_contexts=kl_contexts,
        identification=identification,
    )
    errors, why = error_independence(A, B)
    kdec = replace(eq.k, errors=errors, errors_note=why)
    eq = replace(eq, k=kdec)
    if math.isnan(eq.logit_residual) or math.isnan(eq.identified_r2):
        bad = [k for k in ("logit_residual", "identified_r2") if math.isnan(getattr(eq, k))]
        raise SimidentError(f"numerical failure: {', '.join(bad)} is NaN for this pair")
    views = None
    if props:  # the views (centred G, projectors) only serve the properties
        views = P.make_view(A.F, A.G, eq.a), P.make_view(B.F, B.G, eq.b)
    out = []
    for margins in grid:
        results = ()
        if views:
            bd = band(eq.tol, verdict_noise(eq), margins, eq.logit_residual)
            exact = band(eq.tol, 0.0, margins)  # an exact model (a world's truth) has no error
            va, vb = (
                replace(v, band=exact if m.data == "exact" else None) for v, m in zip(views, (A, B))
            )
            results = tuple(_evaluate(sp, va, vb, bd) for sp in props)
        out.append(_comparison(eq, k, results, margins, subset, notes))
    return out


def _comparison(eq: Equivalence, k, results, margins, subset, notes) -> Comparison:
    return Comparison(
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


def verdict_noise(eq: Equivalence) -> float:
    """The noise level of the verdict bands: sqrt of the A1 bound at the pair's error level
    max(‖Δ‖_F, ν̂_F) (`Equivalence.error_bound`; 0 for an exact pair without ν̂; inf when
    the error level leaves nothing identified, k = 0, so nothing is decided)."""
    noisy = eq.logit_residual > 0.0 or eq.sample_noise_f > 0.0
    if eq.k.rank == 0:
        return float("inf") if noisy else 0.0
    return math.sqrt(eq.error_bound) if noisy else 0.0


def error_independence(a: Model, b: Model) -> tuple[str, str]:
    """Whether A4's assumption (the two models' errors are independent) holds for a pair,
    from the models' data records: ("independent" | "shared" | "unknown", why)."""
    if "exact" in (a.data, b.data):
        return "independent", "one model is exact (a world's truth): its error is zero"
    if a.data is None or b.data is None:
        return "unknown", (
            "a model carries no data record (not a simident seed file): A4's assumption of "
            "independent errors is made, not checked"
        )
    if a.data_id is not None and a.data_id == b.data_id and a.data != "population":
        level = (
            "ν̂ (the bootstrap level, A6) sets the noise level"
            if (a.noise or b.noise)
            else "no ν̂ is known, so k and the bands may keep noise-fitted directions (A6)"
        )
        return "shared", (
            f"both were fitted to the same samples ({a.data_id}): their disagreement misses "
            f"the sampling error they share; {level}"
        )
    if a.data == b.data == "population":
        return "independent", "both were fitted to the exact p* (no sampling error)"
    return "independent", "the models were fitted to independent data (A4 applies)"
