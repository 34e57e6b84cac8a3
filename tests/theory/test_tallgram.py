"""The Gram route of the identification (`simident.theory.tallgram`): its backward-error
bound against exact rational arithmetic, and its agreement with the row-block QR route
within the bounds docs/numerics.md states (*Identification at scale*)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import simident as si
from simident.theory import tallqr
from simident.theory.equivalence import compare_models
from simident.theory.linalg import noise_floor
from simident.theory.tallgram import gram_r
from simident.theory.tallqr import choose_route, compress

from ._models import SEEDS


def exact_gram(A) -> list[list[Fraction]]:
    """AᵀA in exact rational arithmetic (every float is a rational)."""
    cols = [[Fraction(float(x)) for x in A[:, j]] for j in range(A.shape[1])]
    return [[sum((x * y for x, y in zip(a, b)), Fraction(0)) for b in cols] for a in cols]


@given(
    seed=SEEDS,
    n=st.integers(1, 120),
    m=st.integers(1, 9),
    rank=st.integers(0, 9),
    rows=st.integers(1, 130),
    scale=st.floats(-3, 3),
    f32=st.booleans(),
)
def test_gram_factor_meets_its_backward_error_bound(seed, n, m, rank, rows, scale, f32):
    """RᵀR = WᵀW + E with ‖E‖_2 ≤ ε = 3γ_{n+m}‖W‖_F², exactly, whatever the rank, the
    block height and the dtype; R is m×m."""
    rng = np.random.default_rng(seed)
    r = min(rank, m)
    W = 10.0**scale * rng.normal(size=(n, r)) @ rng.normal(size=(r, m))
    W = W.astype(np.float32 if f32 else np.float64)
    R, eps = gram_r(lambda i, j: W[i:j], n, m, rows)
    assert R.shape == (m, m) and eps > 0.0 or not W.any()
    G, H = exact_gram(W), exact_gram(R)
    E = np.array([[float(H[i][j] - G[i][j]) for j in range(m)] for i in range(m)])
    assert np.linalg.norm(E, 2) <= eps
    fro2 = float(sum(G[i][i] for i in range(m)))
    assert eps <= 3.1 * (n + m) * 2.0**-53 * fro2 + 1e-300


@st.composite
def pairs(draw):
    """A pair sharing a rank-r signal (r may be 0, or below d: rank-deficient F), with
    independent noise of any level down to none (an exactly equivalent pair)."""
    rng = np.random.default_rng(draw(SEEDS))
    n, V = draw(st.integers(20, 300)), draw(st.integers(5, 80))
    da, db = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    r = draw(st.integers(0, min(da, db)))
    noise = draw(st.sampled_from([0.0, 1e-6, 1e-3, 1e-1, 1.0]))
    Z, Y = rng.normal(size=(n, r)), rng.normal(size=(V, r))
    Wa, Wb = rng.normal(size=(r, da)), rng.normal(size=(r, db))
    Fa = Z @ Wa + draw(st.sampled_from([0.0, 0.3])) * rng.normal(size=(n, da))
    Ga = Y @ np.linalg.pinv(Wa).T
    Fb = Z @ Wb + noise * rng.normal(size=(n, db))
    Gb = Y @ np.linalg.pinv(Wb).T + noise * rng.normal(size=(V, db))
    Fa = Fa + draw(st.floats(-2, 2))  # a mean offset: the constant column matters
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return tuple(x.astype(dtype) for x in (Fa, Ga, Fb, Gb))


def _close(X, Y, tol) -> bool:
    """Singular values of X and Y (zero-padded to one length) within tol of each other."""
    sx, sy = (np.linalg.svd(M, compute_uv=False) if M.size else np.zeros(0) for M in (X, Y))
    k = max(sx.size, sy.size)
    sx, sy = np.pad(sx, (0, k - sx.size)), np.pad(sy, (0, k - sy.size))
    return bool(np.all(np.abs(sx - sy) <= tol))


@given(pair=pairs())
def test_gram_route_agrees_with_the_qr_route_within_its_bound(pair):
    """Forced Gram route against the QR route on the same pair: σ_i(F_a), σ_i(Ḡ_a) within
    the resolutions √ε_F, √ε_G; σ_i(L_a), σ_i(L_a − L_b) and ‖L_a − L_b‖_F within the
    logit bound; the map M = Ḡ_b⁺Ḡ_a within ε_G(1 + ‖M‖)/(σ_min(Ḡ_b)² − ε_G); the rank
    k and the verdict the same wherever no σ_i lies within the bound of the threshold."""
    cq, cg = compress(*pair, route="qr"), compress(*pair, route="gram")
    idg = cg.identification
    assert (idg.route_f, idg.route_g) == ("gram", "gram")
    assert cq.identification.route_f == "qr" and cq.identification.gram_error_f == 0.0
    nw, nz = np.linalg.norm(cq.RF), np.linalg.norm(cq.RG)
    m = max(cq.RF.shape[1], cq.RG.shape[1])
    q = noise_floor(np.float64, m, nw * nz)  # the QR route's own rounding, as its floors
    assert _close(cg.Xa, cq.Xa, idg.resolution_f + noise_floor(np.float64, m, nw))
    assert _close(cg.Xb, cq.Xb, idg.resolution_f + noise_floor(np.float64, m, nw))
    assert _close(cg.Ya, cq.Ya, idg.resolution_g + noise_floor(np.float64, m, nz))
    tau_a = idg.logit_floor(cg.Xa, cg.Ya)
    tau = tau_a + idg.logit_floor(cg.Xb, cg.Yb)
    La, Lb = cq.Xa @ cq.Ya.T, cq.Xb @ cq.Yb.T
    assert _close(cg.Xa @ cg.Ya.T, La, tau_a + q)
    Dg = cg.Xa @ cg.Ya.T - cg.Xb @ cg.Yb.T
    assert _close(Dg, La - Lb, tau + 2 * q)
    assert abs(np.linalg.norm(Dg) - np.linalg.norm(La - Lb)) <= tau + 2 * q

    eq, eg = (compare_models(*pair, tol=1e-3, kl=False, identification=r) for r in ("qr", "gram"))
    assert eg.identification.logit_error == tau and eq.identification.logit_error == 0.0
    sb = np.linalg.svd(cq.Yb, compute_uv=False)
    e_g = idg.gram_error_g
    if sb[-1] ** 2 > 2 * e_g and sb[-1] > 1e-2 * sb[0]:
        bound = e_g * (1 + np.linalg.norm(eq.M, 2)) / (sb[-1] ** 2 - e_g)
        assert np.linalg.norm(eg.M - eq.M, 2) <= 2 * bound + 1e-9 * np.linalg.norm(eq.M)
    s = np.linalg.svd(0.5 * (La + Lb), compute_uv=False)
    lo = min(eq.k.threshold, eg.k.threshold) - tau - q
    hi = max(eq.k.threshold, eg.k.threshold) + tau + q
    if not np.any((s >= lo) & (s <= hi)):
        assert eg.k.rank == eq.k.rank
    ref = np.sqrt(0.5 * (np.linalg.norm(La) ** 2 + np.linalg.norm(Lb) ** 2))
    if ref > 0 and abs(eq.logit_residual - eq.tol) * ref > 4 * tau + 2 * q:
        assert eg.equivalent == eq.equivalent


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_exactly_equivalent_pair_stays_equivalent_on_the_gram_route(rng):
    """An exactly equivalent pair forced through the Gram route: residual 0 (the route's
    error is inside its floor), full k, KL below 1e-12."""
    Fa, Ga = rng.normal(size=(400, 6)), rng.normal(size=(50, 6))
    A = rng.normal(size=(6, 6))
    eq = compare_models(Fa, Ga, Fa @ A, Ga @ np.linalg.inv(A).T, identification="gram")
    assert eq.equivalent and eq.logit_residual == 0.0 and eq.k.rank == 6
    assert eq.kl_max <= 1e-12 and eq.identification.route_f == "gram"


def test_auto_route_switches_above_the_work_threshold(rng, monkeypatch):
    """auto: QR up to n·m² = GRAM_WORK, Gram above (and only for tall factors); the
    route reaches `compare`'s JSON; an unknown route is one clear error."""
    assert choose_route("auto", 10**6, 1537) == "gram"
    assert choose_route("auto", 200_000, 129) == "qr"
    assert choose_route("auto", 10, 10**6) == "qr"
    assert choose_route("qr", 10**6, 1537) == "qr" and choose_route("gram", 5, 3) == "gram"
    with pytest.raises(ValueError, match="identification route 'x'"):
        choose_route("x", 5, 3)
    F, G = rng.normal(size=(300, 3)), rng.normal(size=(20, 3))
    pair = (F, G), (F + 0.01 * rng.normal(size=F.shape), G)
    assert si.compare(*pair).to_dict()["identification"]["route_f"] == "qr"
    monkeypatch.setattr(tallqr, "GRAM_WORK", 300 * 7**2 - 1)  # F side crosses, G side not
    ident = si.compare(*pair).to_dict()["identification"]
    assert (ident["route_f"], ident["route_g"]) == ("gram", "qr")
    assert ident["gram_error_f"] > 0.0 and ident["gram_error_g"] == 0.0
    with pytest.raises(si.SimidentError, match="identification = 'x'"):
        si.compare(*pair, identification="x")
