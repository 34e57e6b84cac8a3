"""Equivalence of two models and the linear maps between them (THEORY.md §2, E1-E5).

Factorised route: one thin QR of [1 | F_a | F_b] (n×(1+d_a+d_b)) and one of
[Ḡ_a | Ḡ_b] (V×(d_a+d_b)) give small triangular factors
    F_a = Q_F X_a,  F_b = Q_F X_b,  1 = Q_F e,  Ḡ_a = Q_G Y_a,  Ḡ_b = Q_G Y_b
with Q_F, Q_G orthonormal, so L_a = Q_F (X_a Y_aᵀ) Q_Gᵀ and every quantity below
(ranks, spans, residuals, R², the maps T, R, M, N) is computed from matrices of size
(1+d_a+d_b)². Time O((n+V)(d_a+d_b)²), memory O((n+V)(d_a+d_b)); the n×V logit
matrix is never formed (the per-context KL walks over contexts in chunks). Above
n·m² = `tallqr.GRAM_WORK` the small factors come from float64 Gram matrices instead
(`tallgram`); their error bound widens the rank floors (`Identification`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from simident.theory import divergence, estimates
from simident.theory.linalg import (
    RankDecision,
    affine_sse,
    decide_rank,
    default_tol,
    noise_floor,
    pinv,
    row_space,
    tall_r,
)
from simident.theory.logits import center
from simident.theory.tallqr import Compressed, Identification, compress


@dataclass(frozen=True)
class Spans:
    """One model's spans: E = span{f(s)}, U = span{ḡ(y)}, and k = rank(L) (E2).

    `E` and `U` are orthonormal bases (d×dim). dim(E ∩ U⊥) = dim_E - k and
    dim(U ∩ E⊥) = dim_U - k; diversity means dim_E = dim_U = d.
    """

    d: int
    E: np.ndarray
    U: np.ndarray
    rank_E: RankDecision
    rank_U: RankDecision
    rank_k: RankDecision

    @property
    def dim_E(self) -> int:
        return self.rank_E.rank

    @property
    def dim_U(self) -> int:
        return self.rank_U.rank

    @property
    def k(self) -> int:
        return self.rank_k.rank

    @property
    def diverse(self) -> bool:
        return self.dim_E == self.d and self.dim_U == self.d

    def P_E(self):
        return self.E @ self.E.T

    def P_U(self):
        return self.U @ self.U.T

    def summary(self) -> dict:
        return {
            "d": self.d,
            "dim_E": self.dim_E,
            "dim_U": self.dim_U,
            "k": self.k,
            "diverse": self.diverse,
            "dim_E_cap_Uperp": self.dim_E - self.k,
            "dim_U_cap_Eperp": self.dim_U - self.k,
            "rank_decisions": {
                "E": self.rank_E.to_dict(),
                "U": self.rank_U.to_dict(),
                "k": self.rank_k.to_dict(),
            },
        }


def _floors(X, Y, g_scale: float, ident: Identification | None = None):
    """Absolute noise floors for the ranks of F, Ḡ and L = F Ḡᵀ (see `noise_floor`), plus
    the Gram route's resolutions (`Identification`; zero on the QR route)."""
    m = max(X.shape[0], Y.shape[0], 1)
    x, y = float(np.linalg.norm(X)), max(float(np.linalg.norm(Y)), g_scale)
    fE, fU, fk = (noise_floor(X.dtype, m, v) for v in (x, y, x * y))
    if ident is None:
        return fE, fU, fk
    return fE + ident.resolution_f, fU + ident.resolution_g, fk + ident.logit_floor(X, Y)


def _spans(X, Y, tol, g_scale: float = 0.0, noise: float = 0.0, ident=None) -> Spans:
    """Spans of one model from its factors (F = Q X, Ḡ = Q Y).

    `noise` is the pair's disagreement ‖L_a − L_b‖_2 (A4; 0 for one model or an exact
    pair). k counts σ_i(F Ḡᵀ) above it; a direction of E (of U) counts when its singular
    value exceeds noise/‖Ḡ‖_2 (noise/‖F‖_2): below that its effect on the logits is
    smaller than the two models' disagreement.
    """
    fE, fU, fk = _floors(X, Y, g_scale, ident)
    if X.size and Y.size:  # X = Q_X R_X, Y = Q_Y R_Y: the same spans and σ, d×d work
        X, Y = tall_r(X), tall_r(Y)
    nF = float(np.linalg.norm(X, 2)) if X.size else 0.0
    nG = float(np.linalg.norm(Y, 2)) if Y.size else 0.0
    E, dE = row_space(X, tol, floor=fE, noise=noise / nG if nG > 0 else 0.0)
    U, dU = row_space(Y, tol, floor=fU, noise=noise / nF if nF > 0 else 0.0)
    s_core = np.linalg.svd(X @ Y.T, compute_uv=False)
    kdec = decide_rank(np.asarray(s_core), tol, floor=fk, noise=noise, cap=min(dE.rank, dU.rank))
    return Spans(int(X.shape[1]), E, U, dE, dU, kdec)


def spans(F, G, tol: float | None = None, identification: str = "auto") -> Spans:
    """E, U, their dimensions and k of one model (F: n×d, G: V×d), factorised route
    (`identification`: "auto", "qr" or "gram", see `tallqr.compress`)."""
    tol = default_tol(np.asarray(F).dtype) if tol is None else tol
    c = compress(F, G, route=identification)
    return _spans(c.Xa, c.Ya, tol, c.ga, ident=c.identification)


def effective_complexity(F, G, tol: float | None = None) -> RankDecision:
    """k = rank(F Ḡᵀ) from the SVD of the small core R_F R_Gᵀ (E2)."""
    return spans(F, G, tol).rank_k


def canonical_coordinates(F, G, tol: float | None = None, k: int | None = None):
    """Rank-k factorisation L = Φ Ψᵀ and the maps T = Ψ⁺Ḡ, R = Φ⁺F of one model (E3).

    Returns (Phi n×k, Psi V×k, T k×d, R k×d, RankDecision of k). Then T f(s) = φ(s),
    R ḡ(y) = ψ(y), T Rᵀ = I_k.
    """
    tol = default_tol(np.asarray(F).dtype) if tol is None else tol
    F, G = np.asarray(F, dtype=np.float64), np.asarray(G, dtype=np.float64)
    QF, RF = np.linalg.qr(F)
    QG, RG = np.linalg.qr(center(G))
    Uc, s, Vct = np.linalg.svd(RF @ RG.T)
    dec = decide_rank(np.asarray(s), tol, k)
    r = dec.rank
    sq = np.sqrt(s[:r])
    Phi = QF @ (Uc[:, :r] * sq)
    Psi = QG @ (Vct[:r].T * sq)
    T = (Vct[:r] @ RG) / sq[:, None]
    R = (Uc[:, :r].T @ RF) / sq[:, None]
    return Phi, Psi, T, R, dec


@dataclass
class Equivalence:
    """How two models relate (E1, E4, E6; §4 A1-A4). Scores are continuous; `equivalent`
    applies tol.

    - logit_residual r: ‖L_a - L_b‖_F / sqrt((‖L_a‖² + ‖L_b‖²)/2) (0 = same distribution)
    - weighted_residual r_p (A3): the same with every cell weighted by p̄(y|s), centred
      under p̄; it tracks the KL, r tracks A1 (nan without the KL pass)
    - kl_max / kl_mean: max / mean over contexts of KL(p_a ‖ p_b), nats
    - delta_2: ‖L_a − L_b‖_2, the noise level of the pair's rank decisions (A4)
    - identified_misfit_f / _g: ‖Φ_a − Φ_b‖_F² / ‖Φ̄‖_F² (context side; token side with Ψ)
      in the canonical basis of L̄, and a1_bound = ‖Δ‖_F² / (σ_k Σ_{i≤k} σ_i) bounding both
    - sample_noise_2 / _f: the larger of the two models' bootstrap levels ν̂ (A6; 0 when
      unknown), spectral and Frobenius; error_bound: the A1 bound at the pair's error
      level, max(‖Δ‖_F, ν̂_F)² / (σ_k Σ_{i≤k} σ_i) (= a1_bound without ν̂)
    - identified_r2_f: 1 - Σ‖T_a f_a(s) - T_b f_b(s)‖² / SST (canonical coordinates agree)
    - identified_r2_g: the same for R_a ḡ_a(y) versus R_b ḡ_b(y)
    - full_r2: pooled R² of the best affine map from F_a to F_b (full_r2_ba: b to a)
    - M = Ḡ_b⁺ Ḡ_a with m_residual = ‖P_Ub f_b - M f_a‖/‖P_Ub f_b‖ (pooled over s)
    - N = F_b⁺ F_a with n_residual = ‖P_Eb ḡ_b - N ḡ_a‖/‖P_Eb ḡ_b‖ (pooled over y)
    """

    tol: float
    equivalent: bool
    logit_residual: float
    weighted_residual: float
    kl_max: float
    kl_mean: float
    delta_2: float
    k: RankDecision
    identified_misfit_f: float
    identified_misfit_g: float
    a1_bound: float
    identified_r2_f: float
    identified_r2_g: float
    full_r2: float
    full_r2_ba: float
    m_residual: float
    n_residual: float
    tr_error_a: float
    tr_error_b: float
    sample_noise_2: float
    sample_noise_f: float
    error_bound: float
    a: Spans
    b: Spans
    T_a: np.ndarray = field(repr=False)
    R_a: np.ndarray = field(repr=False)
    T_b: np.ndarray = field(repr=False)
    R_b: np.ndarray = field(repr=False)
    M: np.ndarray = field(repr=False)
    N: np.ndarray = field(repr=False)
    kl_sample: dict | None = None  # set when KL and r_p are estimated on a subset
    identification: Identification = field(default_factory=Identification)  # route, bounds

    @property
    def identified_r2(self) -> float:
        return min(self.identified_r2_f, self.identified_r2_g)

    def to_dict(self) -> dict:
        return {
            "equivalent": self.equivalent,
            "tol": self.tol,
            "logit_residual": self.logit_residual,
            "weighted_residual": self.weighted_residual,
            "kl_max": self.kl_max,
            "kl_mean": self.kl_mean,
            "delta_2": self.delta_2,
            "k": self.k.rank,
            "k_decision": self.k.to_dict(),
            "identified_misfit_f": self.identified_misfit_f,
            "identified_misfit_g": self.identified_misfit_g,
            "a1_bound": self.a1_bound,
            "identified_r2": self.identified_r2,
            "identified_r2_f": self.identified_r2_f,
            "identified_r2_g": self.identified_r2_g,
            "full_r2": self.full_r2,
            "full_r2_ba": self.full_r2_ba,
            "m_residual": self.m_residual,
            "n_residual": self.n_residual,
            "tr_error_a": self.tr_error_a,
            "tr_error_b": self.tr_error_b,
            "sample_noise_2": self.sample_noise_2,
            "sample_noise_f": self.sample_noise_f,
            "error_bound": self.error_bound,
            "a": self.a.summary(),
            "b": self.b.summary(),
            "kl_sample": self.kl_sample,
            "identification": self.identification.to_dict(),
        }


def _fro2(X):
    return float(np.sum(X * X))


def _rel(num2: float, den2: float) -> float:
    if den2 <= 0.0:
        return 0.0 if num2 <= 0.0 else float("inf")
    return float(np.sqrt(max(num2, 0.0) / den2))


def _r2(sse: float, sst: float) -> float:
    if sst <= 0.0:
        return 1.0 if sse <= 0.0 else float("-inf")
    return 1.0 - sse / sst


def _full_r2(c: Compressed, X_from, X_to, tol) -> float:
    """Pooled R² of the best affine map between two models' context embeddings."""
    mu = lambda X: np.outer(c.e, c.e @ X) / c.n  # noqa: E731
    sse, sst, _, _ = affine_sse(X_from - mu(X_from), X_to - mu(X_to), tol, False)
    return _r2(float(sse), float(sst))


def a1_terms(core_a, core_b, s, Uc, Vct, k: int) -> tuple[float, float, float]:
    """A1 on the small cores (L_x = Q_F core_x Q_Gᵀ, L̄'s SVD Uc diag(s) Vct):
    the identified misfits ‖Φ_a − Φ_b‖²/‖Φ̄‖² (context side), ‖Ψ_a − Ψ_b‖²/‖Ψ̄‖² (token
    side) in the first k canonical directions of L̄, and the bound ‖Δ‖_F²/(σ_k Σ_{i≤k} σ_i)."""
    if k == 0:
        return 0.0, 0.0, 0.0
    D = core_a - core_b
    sk = s[:k]
    total = float(np.sum(sk))
    if float(sk[-1]) <= 0.0 or total <= 0.0:
        return float("inf"), float("inf"), float("inf")
    w = 1.0 / np.sqrt(sk)
    mis_f = _fro2((D @ Vct[:k].T) * w) / total
    mis_g = _fro2((D.T @ Uc[:, :k]) * w) / total
    return mis_f, mis_g, _fro2(D) / (float(sk[-1]) * total)


def compare_models(
    Fa,
    Ga,
    Fb,
    Gb,
    tol: float | None = None,
    k: int | None = None,
    kl: bool = True,
    kl_chunk: int | None = None,
    sample_noise: tuple[float, float] = (0.0, 0.0),
    kl_contexts: int | None = None,
    kl_seed: int = 0,
    identification: str = "auto",
    report: dict | None = None,
) -> Equivalence:
    """Decide whether (F_a, G_a) and (F_b, G_b) induce the same distribution and recover
    the maps between their identified parts (E1, E3, E4), with the rank decisions at the
    pair's noise level (A4; with `sample_noise` = (ν̂_2, ν̂_F), the larger of the models'
    bootstrap levels, at max(‖Δ‖_2, ν̂_2), A6) and the A1 misfits. Dimensions d_a, d_b
    may differ; n and V must match. `k` overrides the estimated effective complexity.
    Runs in float64. `kl_contexts`: estimate KL and r_p on that many uniformly drawn
    contexts (seed `kl_seed`) with 95% intervals in `kl_sample` (default: all contexts
    up to n·V = 1e10, 4096 contexts above; `simident.theory.estimates`).
    `identification`: "qr" (row-block Householder QR), "gram" (float64 Gram, `tallgram`)
    or "auto" (Gram above n·m² = `tallqr.GRAM_WORK`); the route and its error bound are
    in `identification` of the result, and that bound widens every rank floor.
    `report` (a dict) receives the seconds of the identification and of the KL pass and
    the pass's own report (contexts, recomputed).
    """
    t0 = time.perf_counter()
    nu_2, nu_f = (max(float(x), 0.0) for x in sample_noise)
    if tol is None:
        tol = max(default_tol(np.asarray(x).dtype) for x in (Fa, Ga, Fb, Gb))
    Fa, Ga, Fb, Gb = (np.asarray(x) for x in (Fa, Ga, Fb, Gb))
    if Fa.shape[0] != Fb.shape[0] or Ga.shape[0] != Gb.shape[0]:
        raise ValueError(
            f"models must share contexts and vocabulary: n {Fa.shape[0]} vs {Fb.shape[0]}, "
            f"V {Ga.shape[0]} vs {Gb.shape[0]}"
        )
    c = compress(Fa, Ga, Fb, Gb, route=identification)
    ident = c.identification
    core_a, core_b = c.Xa @ c.Ya.T, c.Xb @ c.Yb.T
    # differences below rounding noise count as zero (L_a = L_b = 0 must be equivalent)
    floor = _floors(c.Xa, c.Ya, c.ga, ident)[2] + _floors(c.Xb, c.Yb, c.gb, ident)[2]
    logit_error = ident.logit_floor(c.Xa, c.Ya) + ident.logit_floor(c.Xb, c.Yb)
    ident = replace(ident, logit_error=logit_error)
    D = core_a - core_b
    delta_2 = float(np.linalg.norm(D, 2)) if D.size else 0.0
    noise = delta_2 if delta_2 > floor else 0.0
    da, db = int(c.Xa.shape[1]), int(c.Xb.shape[1])
    sa = _spans(c.Xa, c.Ya, tol, c.ga, noise=max(noise, nu_2), ident=ident)
    sb = _spans(c.Xb, c.Yb, tol, c.gb, noise=max(noise, nu_2), ident=ident)

    # within the floor: zero; above it, less the rounding floor (not the Gram route's
    # error bound `logit_error`, which would bias r down: it only gates)
    norm_d = float(np.sqrt(_fro2(D)))
    diff = norm_d - (floor - logit_error) if norm_d > floor else 0.0
    ref = max(float(np.sqrt(0.5 * (_fro2(core_a) + _fro2(core_b)))), floor)
    residual = _rel(diff**2, ref**2)

    if k is not None and not 0 <= k <= min(da, db):
        raise ValueError(f"k={k} must lie in [0, min(d_a, d_b)] = [0, {min(da, db)}]")
    Uc, s, Vct = np.linalg.svd(0.5 * (core_a + core_b))
    kdec = decide_rank(
        np.asarray(s), tol, k, floor=0.5 * floor, noise=noise, cap=min(da, db), sample_noise=nu_2
    )
    r = kdec.rank
    mis_f, mis_g, bound = a1_terms(core_a, core_b, s, Uc, Vct, r)
    error_bound = bound
    if nu_f > 0.0 and r > 0:
        den = float(s[r - 1]) * float(np.sum(s[:r]))
        error_bound = max(_fro2(D), nu_f**2) / den if den > 0.0 else float("inf")
    sq = np.sqrt(np.where(s[:r] > 0, s[:r], 1.0))
    Uk, Vk = Uc[:, :r], Vct[:r].T
    T_a, T_b = (Vk.T @ c.Ya) / sq[:, None], (Vk.T @ c.Yb) / sq[:, None]
    R_a, R_b = (Uk.T @ c.Xa) / sq[:, None], (Uk.T @ c.Xb) / sq[:, None]

    phi_a, phi_b = c.Xa @ T_a.T, c.Xb @ T_b.T
    mean_phi = c.e @ phi_a
    sst_f = _fro2(phi_a) - float(mean_phi @ mean_phi) / c.n
    psi_a, psi_b = c.Ya @ R_a.T, c.Yb @ R_b.T
    id_f = _r2(_fro2(phi_a - phi_b), sst_f)
    id_g = _r2(_fro2(psi_a - psi_b), _fro2(psi_a))

    M = pinv(c.Yb, tol) @ c.Ya
    N = pinv(c.Xb, tol) @ c.Xa
    PUb_fb = c.Xb @ sb.P_U()
    PEb_gb = c.Yb @ sb.P_E()
    m_res = _rel(_fro2(PUb_fb - c.Xa @ M.T), _fro2(PUb_fb))
    n_res = _rel(_fro2(PEb_gb - c.Ya @ N.T), _fro2(PEb_gb))
    eye = np.eye(r)
    tr_a = float(np.linalg.norm(T_a @ R_a.T - eye)) if r else 0.0
    tr_b = float(np.linalg.norm(T_b @ R_b.T - eye)) if r else 0.0

    sample = None
    t1 = time.perf_counter()
    if kl:
        fac = divergence.factors(Fa, Ga, Fb, Gb, c.RF, c.RG)
        size = estimates.plan(c.n, c.V, kl_contexts)
        ids = None if size is None else estimates.sample_ids(c.n, size, kl_seed)
        kl_report: dict = {}
        kls, num, den = divergence.kl_pass(fac, ids=ids, chunk=kl_chunk, report=kl_report)
        if report is not None:
            report["kl_pass"] = kl_report
        kl_max, kl_mean = float(kls.max()), float(kls.mean())
        rp = _rel(float(num.sum()), float(den.sum())) if residual > 0.0 else 0.0
        if ids is not None:
            by = "given" if kl_contexts is not None else f"n·V > {estimates.EXACT_CELLS:.0e}"
            sample = estimates.estimate(kls, num, den, c.n, kl_seed, by)
            sample["weighted_residual"] = rp
            if rp == 0.0:
                sample["weighted_residual_ci95"] = [0.0, 0.0]
    else:
        kl_max = kl_mean = rp = float("nan")
    if report is not None:
        report.update(identification_s=t1 - t0, kl_s=time.perf_counter() - t1)

    return Equivalence(
        tol=float(tol),
        equivalent=bool(residual <= tol),
        logit_residual=residual,
        weighted_residual=rp,
        kl_max=kl_max,
        kl_mean=kl_mean,
        delta_2=delta_2,
        k=kdec,
        identified_misfit_f=mis_f,
        identified_misfit_g=mis_g,
        a1_bound=bound,
        identified_r2_f=id_f,
        identified_r2_g=id_g,
        full_r2=_full_r2(c, c.Xa, c.Xb, tol),
        full_r2_ba=_full_r2(c, c.Xb, c.Xa, tol),
        m_residual=m_res,
        n_residual=n_res,
        tr_error_a=tr_a,
        tr_error_b=tr_b,
        sample_noise_2=nu_2,
        sample_noise_f=nu_f,
        error_bound=error_bound,
        a=sa,
        b=sb,
        T_a=np.asarray(T_a),
        R_a=np.asarray(R_a),
        T_b=np.asarray(T_b),
        R_b=np.asarray(R_b),
        M=np.asarray(M),
        N=np.asarray(N),
        kl_sample=sample,
        identification=ident,
    )
