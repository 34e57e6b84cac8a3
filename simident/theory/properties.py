"""Linear properties P1-P5 of THEORY.md §3: model-level check, distribution-level check,
and whether the theory guarantees the answer is shared (all-or-none) for this instance.

Every check returns its continuous score next to a three-valued verdict (True, False,
None = undecided), decided by a band that scales with `noise`, the pair's measured
disagreement (`simident.theory.decisions`, §4 A1; `compare` passes sqrt of the A1 bound):
  parallelism      sin of the angle between the two vectors (NaN for a zero vector)
  affine relations relative residual sqrt(SSE/SST) of the best affine fit
For an exactly equivalent pair the band collapses to `tol` (the exact verdicts).
Distribution-level forms are computed in the metric of centered logits: with the thin QR
Ḡ = Q_G R_G, ℓ(s) = Q_G R_G f(s), so z(s) = R_G f(s) has the geometry of ℓ(s) in d numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from simident.theory.decisions import (
    Band,
    and3,
    decide,
    not3,
    or3,
)
from simident.theory.equivalence import Spans
from simident.theory.linalg import (
    AffineFit,
    Parallelism,
    affine_fit,
    decide_rank,
    parallelism,
    tall_r,
)
from simident.theory.logits import center
from simident.theory.parallel import ParallelBound, a5_bound

Verdict = bool | None
AB = tuple  # (model a's value, model b's value)


@dataclass(frozen=True)
class ParallelScores:
    """P1, P2 per model (a, b): parallelism of the model vectors, of their projections
    onto the identified span, and of their distribution-level images."""

    parallel: tuple[Parallelism, Parallelism]
    projected: tuple[Parallelism, Parallelism]
    distribution: tuple[Parallelism, Parallelism]
    distribution_name: str  # its JSON name: "log_ratio" (P1) or "logit_diff" (P2)

    def key(self) -> tuple[float, float]:
        """The (a, b) number a property is summarised by: |cos| of the model vectors."""
        return abs(self.parallel[0].cos), abs(self.parallel[1].cos)

    def to_dict(self) -> dict:
        fields = (
            ("parallel", self.parallel),
            ("projected", self.projected),
            (self.distribution_name, self.distribution),
        )
        return {f"{name}_{t}": x[i].to_dict() for i, t in enumerate("ab") for name, x in fields}


@dataclass(frozen=True)
class AffineScores:
    """P3, P4 per model (a, b): the best affine fit on f(s) (model level) and on ℓ(s)
    (distribution level), and dim(D ∩ U⊥) of the fitted contexts' differences."""

    model: tuple[AffineFit, AffineFit]
    distribution: tuple[AffineFit, AffineFit]
    dim_cap_uperp: tuple[int, int]
    n: int  # pairs (P3) or contexts (P4)
    names: ClassVar[tuple[str, str, str, str]] = ("model", "dist", "cap", "n")

    @property
    def r2(self) -> tuple[float, float]:
        """R² of the model-level fit in (a, b)."""
        return self.model[0].r2, self.model[1].r2

    @property
    def residual(self) -> tuple[float, float]:
        """Relative residual of the model-level fit in (a, b)."""
        return self.model[0].rel_residual, self.model[1].rel_residual

    @property
    def distribution_r2(self) -> tuple[float, float]:
        return self.distribution[0].r2, self.distribution[1].r2

    @property
    def distribution_residual(self) -> tuple[float, float]:
        return self.distribution[0].rel_residual, self.distribution[1].rel_residual

    def key(self) -> tuple[float, float]:
        """The (a, b) number a property is summarised by: the model-level R²."""
        return self.r2

    def to_dict(self) -> dict:
        model, dist, cap, n = self.names
        out: dict = {}
        for i, t in enumerate("ab"):
            out[f"{model}_residual_{t}"] = self.model[i].rel_residual
            out[f"{model}_r2_{t}"] = self.model[i].r2
            out[f"{dist}_residual_{t}"] = self.distribution[i].rel_residual
            out[f"{dist}_r2_{t}"] = self.distribution[i].r2
            out[f"{cap}_{t}"] = self.dim_cap_uperp[i]
        out[n] = self.n
        return out


@dataclass(frozen=True)
class RelationalScores(AffineScores):
    """P3: RL (ℓ(s⊕q) on affine f(s)) and D3 (on affine ℓ(s)); n = the pairs."""

    names: ClassVar[tuple[str, str, str, str]] = ("rl", "d3", "dim_Dq_cap_Uperp", "n_pairs")


@dataclass(frozen=True)
class ProbeScores(AffineScores):
    """P4: the probe on f(s) and on ℓ(s) (logit probe); n = the probed contexts."""

    names: ClassVar[tuple[str, str, str, str]] = (
        "probe",
        "logit_probe",
        "dim_Dz_cap_Uperp",
        "n_contexts",
    )


@dataclass(frozen=True)
class SteeringScores:
    """P5: how far model b is from reproducing A's shift Ḡ_a v (transfer_residual), how
    far v is from E and the shift from col(Lᵀ) in A, and with context pairs the distance
    between the shifts of the same combination in both models."""

    transfer_residual: float
    out_of_E_a: float
    out_of_row_L_a: float
    same_combination_residual: float | None = None

    def key(self) -> tuple[float, float]:
        return float("nan"), float("nan")

    def to_dict(self) -> dict:
        out = {
            "transfer_residual": self.transfer_residual,
            "out_of_E_a": self.out_of_E_a,
            "out_of_row_L_a": self.out_of_row_L_a,
        }
        if self.same_combination_residual is not None:
            out["same_combination_residual"] = self.same_combination_residual
        return out


Scores = ParallelScores | RelationalScores | ProbeScores | SteeringScores


@dataclass(frozen=True)
class PropertyCheck:
    """What a check of P1-P5 returns: the model-level verdict in each model, the
    distribution-level verdict, whether the theory guarantees the answer is shared and
    why, the band that decided, the scores; `projected` (P1, P2: the verdicts on P_E δ /
    P_U Δ), `inclusion` (P3: RL with the inclusion condition) and `a5` (P1, P2: A5's
    bound in each model) where they apply."""

    holds_a: Verdict
    holds_b: Verdict
    distribution_level: Verdict
    guaranteed: Verdict
    reason: str
    band: Band
    scores: Scores
    projected: tuple[Verdict, Verdict] | None = None
    inclusion: tuple[Verdict, Verdict] | None = None
    a5: tuple[ParallelBound, ParallelBound] | None = None


@dataclass(frozen=True)
class View:
    """One model seen by the property checks: F, centered Ḡ, its spans, R_G and R_F."""

    F: np.ndarray
    Gc: np.ndarray
    spans: Spans
    RG: np.ndarray  # Ḡ = Q_G R_G, so ‖Ḡ x‖ = ‖R_G x‖
    RF: np.ndarray  # F = Q_F R_F, so ‖F x‖ = ‖R_F x‖ and σ(F) = σ(R_F)
    band: Band | None = None  # this model's own band (an exact model's: tol); None: the pair's

    def band_or(self, pair: Band) -> Band:
        """The band that decides this model's scores."""
        return pair if self.band is None else self.band

    @property
    def K(self) -> np.ndarray:
        """Gram matrix Ḡᵀ Ḡ = R_Gᵀ R_G: ⟨Ḡx, Ḡy⟩ = xᵀ K y."""
        return self.RG.T @ self.RG

    def logit_coords(self, ids) -> np.ndarray:
        """z(s) = R_G f(s): the centered logits ℓ(s) in an orthonormal basis of col(Ḡ)."""
        return self.F[ids] @ self.RG.T


def make_view(F, G, spans: Spans) -> View:
    """A model for the property checks (float64 numpy: no compilation at a new shape)."""
    F = np.asarray(F, dtype=np.float64)
    Gc = center(np.asarray(G, dtype=np.float64))
    return View(F, Gc, spans, tall_r(Gc), tall_r(F))


def _undecided(b: Band, what: str) -> str:
    return (
        f"undecided: {what} lies in the band ({b.lower:.3g}, {b.upper:.3g}] set by this "
        f"pair's disagreement ({b.noise:.3g}), so the theory's guarantee cannot be applied"
    )


def _local_disagreement(xa, xb) -> float:
    """max_i ‖x_a,i − x_b,i‖ / ‖(x_a,i + x_b,i)/2‖ over a pair's two log-ratio (P1) or
    logit-difference (P2) vectors: how far the pair disagrees on what the property reads."""
    rel = []
    for u, w in zip(xa, xb):
        mean = float(np.linalg.norm(0.5 * (u + w)))
        rel.append(float(np.linalg.norm(u - w)) / mean if mean > 0 else float("inf"))
    return max(rel)


def _parallel(va: View, vb: View, vectors, matrix, b: Band, names, image) -> PropertyCheck:
    """Shared body of P1 and P2: parallelism of the model vectors, of their projections
    onto the identified span, and of their distribution-level images (under `matrix`: R_F
    for P1, R_G for P2), each decided; and A5's bound on the full angle in each model,
    at the angle θ the band calls parallel (sin θ = b.lower). The band is the pair's,
    widened where the pair disagrees more on these vectors (under `image`: F u for P1,
    Ḡ u for P2) than on the logits overall (`Band.local`)."""
    out, bounds, images = {}, {}, {}
    for tag, v in (("a", va), ("b", vb)):
        u1, u2, P = vectors(v)
        X = matrix(v)
        out[tag] = dict(
            full=parallelism(u1, u2),
            proj=parallelism(P @ u1, P @ u2),
            dist=parallelism(X @ u1, X @ u2),
        )
        images[tag] = (image(v, u1), image(v, u2))
    b = b.local(_local_disagreement(images["a"], images["b"]))
    for tag, v in (("a", va), ("b", vb)):
        u1, u2, _ = vectors(v)
        bounds[tag] = a5_bound(matrix(v), u1, u2, v.band_or(b).lower)
    bands = {"a": va.band_or(b), "b": vb.band_or(b)}
    dec = {t: {k: decide(out[t][k].sin, bands[t]) for k in ("full", "proj", "dist")} for t in "ab"}
    dist_a, dist_b = dec["a"]["dist"], dec["b"]["dist"]
    none_dist = not3(or3(dist_a, dist_b))
    a5 = bounds["a"].guaranteed and bounds["b"].guaranteed
    guaranteed = or3(none_dist, a5)
    theta = math.degrees(bounds["a"].theta)
    if guaranteed is None:
        reason = _undecided(b, "the distribution-level score")
    elif none_dist:
        reason = names["none"]
    elif a5:
        reason = (
            f"A5: σ_d ≥ τ_θ in both models ({names['matrix']}), so the differences are "
            f"parallel within θ = {theta:.3g}° in both"
        )
    else:
        reason = (
            f"A5 gives no guarantee at θ = {theta:.3g}° (σ_d of {names['matrix']} below τ_θ "
            f"in some model): only projected parallelism ({names['projected']}) is shared; "
            "full parallelism can differ"
        )
    return PropertyCheck(
        holds_a=dec["a"]["full"],
        holds_b=dec["b"]["full"],
        distribution_level=and3(dist_a, dist_b),
        guaranteed=guaranteed,
        reason=reason,
        band=b,
        scores=ParallelScores(
            parallel=(out["a"]["full"], out["b"]["full"]),
            projected=(out["a"]["proj"], out["b"]["proj"]),
            distribution=(out["a"]["dist"], out["b"]["dist"]),
            distribution_name=names["dist"],
        ),
        projected=(dec["a"]["proj"], dec["b"]["proj"]),
        a5=(bounds["a"], bounds["b"]),
    )


def parallel_unembedding(va: View, vb: View, pairs, bd: Band) -> PropertyCheck:
    """P1. δ1 = g(b)-g(a), δ2 = g(d)-g(c). Model level: δ1 ∥ δ2. Projected: P_E δ1 ∥ P_E δ2.
    Distribution level: log p(b|s)/p(a|s) = λ log p(d|s)/p(c|s) ∀s ⇔ F δ1 ∥ F δ2.
    Guaranteed shared when the distribution-level form fails (then no model has it) or
    A5 bounds the angle in both models by θ: σ_d(F) ≥ τ_θ (context diversity with room
    for the log-ratio error)."""
    (a, b), (c, d) = pairs

    def vectors(v):
        return v.Gc[b] - v.Gc[a], v.Gc[d] - v.Gc[c], np.asarray(v.spans.P_E())

    names = {
        "dist": "log_ratio",
        "none": "equal log-ratios fail, so no equivalent model has these parallel differences",
        "matrix": "F",
        "projected": "P_E δ1 ∥ P_E δ2",
    }
    return _parallel(va, vb, vectors, lambda v: v.RF, bd, names, lambda v, u: v.F @ u)


def parallel_embedding(va: View, vb: View, pairs, bd: Band) -> PropertyCheck:
    """P2. Δ1 = f(s1)-f(s0), Δ2 = f(s3)-f(s2). Model level: Δ1 ∥ Δ2. Projected: P_U Δ1 ∥ P_U Δ2.
    Distribution level: ℓ(s1)-ℓ(s0) ∥ ℓ(s3)-ℓ(s2) (= Ḡ Δ1 ∥ Ḡ Δ2). Guaranteed when the
    distribution-level form fails or A5 (mirror image: σ_d(Ḡ) ≥ τ_θ) bounds the angle in
    both models by θ."""
    (s0, s1), (s2, s3) = pairs

    def vectors(v):
        return v.F[s1] - v.F[s0], v.F[s3] - v.F[s2], np.asarray(v.spans.P_U())

    # ḠΔ in the orthonormal basis of col(Ḡ): R_G Δ. (The quadratic form ΔᵀKΔ with
    # K = ḠᵀḠ loses half the digits when Δ has a large part in U⊥.)
    names = {
        "dist": "logit_diff",
        "none": "the logit differences are not parallel, so no equivalent model has this",
        "matrix": "Ḡ",
        "projected": "P_U Δ1 ∥ P_U Δ2",
    }
    return _parallel(va, vb, vectors, lambda v: v.RG, bd, names, lambda v, u: v.Gc @ u)


def _dim_cap_uperp(v: View, ids, tol: float) -> int:
    """dim(D_S ∩ U⊥) = dim D_S - dim P_U(D_S), with D_S = span{f(s) - f(s'): s, s' ∈ ids}.

    Affine statements (relations, probes with an intercept) only see differences of
    embeddings, so the inclusion condition is stated on D_S rather than on the linear
    span E_S (a hidden component common to every f(s) is absorbed by the intercept).
    """
    X = v.F[ids] - v.F[ids].mean(axis=0)
    sv = np.linalg.svd(X, compute_uv=False)
    svu = np.linalg.svd(X @ np.asarray(v.spans.U), compute_uv=False)
    scale = sv[0] if sv.size else 0.0
    r = decide_rank(sv, tol).rank
    ru = decide_rank(svu, 0.0, floor=tol * scale).rank  # the same cut, at tol·σ_1(X)
    return r - ru


def _affine_checks(va: View, vb: View, S, target, b: Band) -> dict:
    """Per model: the fit of target(v) on affine f(s) (model level), on affine ℓ(s)
    (distribution level), and dim(D_S ∩ U⊥); plus the verdicts both P3 and P4 share."""
    out = {}
    for tag, v in (("a", va), ("b", vb)):
        Y = target(v)
        out[tag] = dict(
            model=affine_fit(v.F[S], Y, b.tol),
            dist=affine_fit(v.logit_coords(S), Y, b.tol),
            cap=_dim_cap_uperp(v, S, b.tol),
        )
    bands = {"a": va.band_or(b), "b": vb.band_or(b)}
    out["holds"] = tuple(decide(out[t]["model"].rel_residual, bands[t]) for t in "ab")
    out["dist_each"] = tuple(decide(out[t]["dist"].rel_residual, bands[t]) for t in "ab")
    out["dist"] = and3(*out["dist_each"])
    out["no_cap"] = out["a"]["cap"] == 0 and out["b"]["cap"] == 0
    return out


def _affine_scores(cls, out: dict, n: int) -> AffineScores:
    return cls(
        model=(out["a"]["model"], out["b"]["model"]),
        distribution=(out["a"]["dist"], out["b"]["dist"]),
        dim_cap_uperp=(out["a"]["cap"], out["b"]["cap"]),
        n=n,
    )


def relational(va: View, vb: View, pairs, bd: Band) -> PropertyCheck:
    """P3. Model level RL(q): P_U f(s⊕q) = P_U(A f(s) + b) ∀s (fit ℓ(s⊕q) on affine f(s)).
    Distribution level D3: ℓ(s⊕q) = B ℓ(s) + c; D3 ⇔ RL with the inclusion condition.
    Guaranteed shared when D3 holds (every equivalent model has RL) or D_q ∩ U⊥ = {0}
    in both models, D_q = span{f(s) - f(s')} (then IC is automatic and RL ⇔ D3)."""
    S = np.asarray([p[0] for p in pairs])
    Q = np.asarray([p[1] for p in pairs])
    out = _affine_checks(va, vb, S, lambda v: v.logit_coords(Q), bd)
    (holds_a, holds_b), (d3_a, d3_b) = out["holds"], out["dist_each"]
    vacuous = any(out[t]["model"].n <= out[t]["model"].x_rank + 1 for t in "ab")
    guaranteed = or3(out["dist"], out["no_cap"])
    if out["dist"]:
        reason = "ℓ(s⊕q) is affine in ℓ(s) (D3), so every equivalent model has the relation"
    elif out["no_cap"]:
        reason = "D_q ∩ U⊥ = {0} in both models, so IC is automatic and RL is all-or-none"
    elif guaranteed is None:
        reason = _undecided(bd, "the D3 score")
    else:
        reason = (
            "D3 fails and some model has varying directions in D_q ∩ U⊥, so RL without the "
            "inclusion condition may hold in one model and not another"
        )
    if vacuous:
        reason += " (warning: too few pairs for the fit to be informative)"
    return PropertyCheck(
        holds_a=holds_a,
        holds_b=holds_b,
        distribution_level=out["dist"],
        guaranteed=guaranteed,
        reason=reason,
        band=bd,
        scores=_affine_scores(RelationalScores, out, len(pairs)),
        inclusion=(and3(holds_a, d3_a), and3(holds_b, d3_b)),
    )


def probe(va: View, vb: View, contexts, values, bd: Band) -> PropertyCheck:
    """P4. Model level: z(s) = w·f(s) + β on the probed contexts. Distribution level:
    z(s) = a·ℓ(s) + β. Guaranteed shared when the distribution-level form holds (every
    model has a probe, w~ = Ḡ~ᵀa) or D_z ∩ U⊥ = {0} in both models (D_z: differences)."""
    S = np.asarray(contexts)
    z = np.asarray(values, dtype=np.float64)
    out = _affine_checks(va, vb, S, lambda v: z, bd)
    guaranteed = or3(out["dist"], out["no_cap"])
    if out["dist"]:
        reason = "z is affine in the centered logits, so every equivalent model has a probe"
    elif out["no_cap"]:
        reason = "D_z ∩ U⊥ = {0} in both models, so a probe exists in both or in neither"
    elif guaranteed is None:
        reason = _undecided(bd, "the logit-probe score")
    else:
        reason = (
            "z is not affine in the logits and some model has varying directions in D_z ∩ U⊥: "
            "a probe reading them is not shared (a minimal model has none)"
        )
    if any(out[t]["model"].n <= out[t]["model"].x_rank + 1 for t in "ab"):
        reason += " (warning: too few contexts for the fit to be informative)"
    return PropertyCheck(
        holds_a=out["holds"][0],
        holds_b=out["holds"][1],
        distribution_level=out["dist"],
        guaranteed=guaranteed,
        reason=reason,
        band=bd,
        scores=_affine_scores(ProbeScores, out, len(S)),
    )


def _shift_residual(Gc, shift) -> float:
    """‖(I - P_col(Ḡ)) shift‖ / ‖shift‖: can adding some ṽ to every f reproduce `shift`?"""
    nrm = float(np.linalg.norm(shift))
    if nrm == 0.0:
        return 0.0
    coef, *_ = np.linalg.lstsq(Gc, shift, rcond=None)
    return float(np.linalg.norm(shift - Gc @ coef) / nrm)


def steering(va: View, vb: View, bd: Band, pairs=None, vector=None) -> PropertyCheck:
    """P5. Adding v to every f(s) shifts all centered logits by Ḡ v. With `pairs`
    [[s0, s1], ...], v = Σ f(s1) - f(s0) in model a and ṽ = the same combination in b.
    Model b reproduces the shift iff Ḡ_a v ∈ col(Ḡ_b) (holds_b, transfer_residual).
    Distribution level: the shift is in col(Lᵀ) = Ḡ(E), i.e. every equivalent model
    (even a minimal one) reproduces it; guaranteed whenever v ∈ E."""
    if pairs is not None:
        v = sum(va.F[s1] - va.F[s0] for s0, s1 in pairs)
        vt = sum(vb.F[s1] - vb.F[s0] for s0, s1 in pairs)
    else:
        v, vt = np.asarray(vector, dtype=np.float64), None
    shift = va.Gc @ v
    transfer = _shift_residual(vb.Gc, shift)
    E = np.asarray(va.spans.E)
    nv = float(np.linalg.norm(v))
    out_of_E = float(np.linalg.norm(v - E @ (E.T @ v)) / nv) if nv > 0 else float("nan")
    in_LT = _shift_residual(va.Gc @ E, shift) if E.shape[1] else (0.0 if nv == 0 else 1.0)
    same = None
    if vt is not None:
        shift_b = vb.Gc @ vt
        den = float(np.linalg.norm(shift))
        same = float(np.linalg.norm(shift - shift_b) / den) if den > 0 else 0.0
    scores = SteeringScores(transfer, out_of_E, in_LT, same)
    dist = decide(in_LT, va.band_or(bd))
    in_E = decide(out_of_E, va.band_or(bd))
    if in_E:
        reason = "v lies in the context span E, so the same combination steers every model"
    elif dist:
        reason = "the shift Ḡv lies in col(Lᵀ), so every equivalent model can reproduce it"
    elif dist is None:
        reason = _undecided(bd, "the distance of the shift from col(Lᵀ)")
    else:
        reason = (
            "v has a part the distribution cannot see (outside E + U⊥): "
            "a minimal model cannot reproduce the shift"
        )
    return PropertyCheck(
        holds_a=True,
        holds_b=decide(transfer, vb.band_or(bd)),
        distribution_level=dist,
        guaranteed=or3(dist, in_E),
        reason=reason,
        band=bd,
        scores=scores,
    )
