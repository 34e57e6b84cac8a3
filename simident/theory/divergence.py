"""Per-context KL(p_a ‖ p_b) and the sums behind r_p (A3) in one pass over chunks of
contexts, with float64-grade answers (error analysis: docs/numerics.md, *KL pass*).

The pair's centered logit difference is exactly low-rank in the thin-QR bases of the
identification: ℓ̄_a − ℓ̄_b = Q_F (X_a Y_aᵀ − X_b Y_bᵀ) Q_Gᵀ. It is evaluated as one
product D = A Bᵀ of an n×r and a V×r factor built in float64 from those bases
(r = rank of the small difference core, B with orthonormal columns), so it is accurate
relative to D itself, not to the logits: an exactly equivalent float64 pair has D = 0
and a near-equivalent one keeps its digits (forming ℓ_a − ℓ_b loses them). The two
products (ℓ_a = F_a Ḡ_aᵀ and D) and what they are centred by run in float64; every
other per-cell operation runs in float32 on quantities that are already centred, with
the float64 remainders of x and log p_a carried where an exponential would amplify
them. Per context, with x = E_pa D − D:

    KL = log1p(Σ_y t_y),  t_y = p_a(y)(e^x − 1 − x)  (series for |x| ≤ 1/2, else
         p_a e^x − p_a(1 + x), through exp(log p_a + x) where p_a is tiny, so a token
         improbable under p_a but not p_b keeps its weight); log-sum-exp of
         log p_a + x (float64) where the sum exceeds 1e30;

sums are taken in float32 within blocks of 8 tokens and in float64 across blocks.

That is the accurate pass. A pass of at most HOST_CELLS contexts × tokens runs it on the
host (`_host_products`: the same `_rows` in numpy float64 throughout; nothing compiled),
up to FAST_CELLS jitted on every context. Above, the default runs a fast pass first
(`_fast_rows`): both products in float32, taken in a seeded random orthonormal basis
with ℓ_a shifted near its maximum, and a per-context bound β on the KL's (and r_p
sums') rounding error (`_bound`, `_tree`, and `_coherent` for each row's own float32
rounding); only the contexts whose β exceeds RHO of their value are recomputed by the
accurate pass, jitted (`_run`). On a CPU the fast pass's per-cell work runs in a C++
kernel (`native`, `kl_cells.cc`) where it builds, else in XLA (`_fast_rows`). The jitted programs'
shapes do not depend on how many contexts a pass is given (`_shape`: one chunk of a
fixed number of rows per call, V, d and r padded to a few buckets per octave), so a
compare compiles at most one program per bucket up to FAST_CELLS and two above
(docs/numerics.md, *Compilation*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simident.theory import native
from simident.theory.logits import center

BLOCK = 8  # tokens summed in float32 before the float64 accumulation (≤ 7u)
U32 = float(np.finfo(np.float32).eps) / 2  # u, float32's unit roundoff
EPS64 = float(np.finfo(np.float64).eps)
_SERIES = [1.0 / math.factorial(i) for i in range(2, 12)]  # python floats: weakly typed


def _series(x, degree: int, xp=jnp):
    """e^x − 1 − x by its Taylor series to x^degree (Horner)."""
    acc = xp.full_like(x, _SERIES[degree - 2])
    for c in reversed(_SERIES[: degree - 2]):
        acc = c + x * acc
    return x * x * acc


S_MAX = 1e30  # Σ t beyond it (KL > 69 nats): the log-sum-exp form, p_b from logs
SERIES_MAX, SERIES_DEGREE = 0.5, 9  # truncation below 2e-9 relative for |x| ≤ 1/2


def _m(mask, v, fill):
    """v on the real tokens, `fill` on the padding; no select when nothing is padded
    (mask None)."""
    return v if mask is None else jnp.where(mask, v, fill)


def _cond(xp, pred, f, g):
    """f() where `pred`, else g(): lax.cond on the device, a Python branch on the host."""
    if xp is np:
        return f() if pred else g()
    return jax.lax.cond(pred, f, g)


def _dot(xp, a, b):
    """a bᵀ at full precision (no TF32/bf16 passes on accelerators)."""
    if xp is np:
        return a @ b.T
    return jnp.dot(a, b.T, precision=jax.lax.Precision.HIGHEST)


def _lse(xp, v):
    """log Σ_y e^v per row."""
    return np.logaddexp.reduce(v, axis=-1) if xp is np else jax.nn.logsumexp(v, -1)


def _bsum(*xs, xp=jnp):
    """Row sums of each c×V array: float32 over BLOCK tokens (y, y + V/BLOCK, …), float64
    across those blocks; one variadic reduction per step, so that XLA reads each
    producer once. On the host (float64 throughout): numpy's float64 row sums."""
    if xp is np:
        return [x.sum(axis=1, dtype=np.float64) for x in xs]
    c, v = xs[0].shape
    blocks = _reduce([x.reshape(c, BLOCK, v // BLOCK) for x in xs], 1)
    return _reduce([b.astype(jnp.float64) for b in blocks], 1)


def _reduce(xs, axis: int):
    """Σ over `axis` of each array, in one variadic reduction."""
    zero = tuple(jnp.zeros((), x.dtype) for x in xs)
    add = lambda a, b: tuple(p + q for p, q in zip(a, b, strict=True))  # noqa: E731
    return list(jax.lax.reduce(tuple(xs), zero, add, (axis,)))


def _t(x, x64, lpa_of, pa, mask, xmax, xp=jnp):
    """t = p_a(e^x − 1 − x) and q = p_a(e^x − 1): the series for |x| ≤ 1/2 (only it
    when every |x| of the chunk is that small), p_a e^x − p_a(1 + x) and p_a e^x − p_a
    beyond, with e^x corrected by the float64 remainder of x (e^{x + x_lo} ≈
    e^x (1 + x_lo)); where p_a is tiny, exp(log p_a + x) from the float64 sum (no
    underflow when p_a is tiny and x large)."""
    dt = x.dtype

    def near():
        s = _series(x, SERIES_DEGREE, xp)
        return pa * s, pa * (x + s)

    def big():
        split = lambda v64: (v := v64.astype(dt), (v64 - v.astype(v64.dtype)).astype(dt))  # noqa: E731
        xh, xl = split(x64)
        ah, al = split(lpa_of() + x64)  # log p_a is 0 on padded tokens: finite
        tiny = np.finfo(dt).tiny * 1e6  # below it p_a e^x could lose digits
        ex = xp.where(pa > tiny, pa * xp.exp(xh) * (1.0 + xl), xp.exp(ah) * (1.0 + al))
        ex = _m(mask, ex, 0.0)
        t, q = near()
        small = xp.abs(x) <= SERIES_MAX
        return xp.where(small, t, ex - pa * (1.0 + x)), xp.where(small, q, ex - pa)

    return _cond(xp, xmax > SERIES_MAX, big, near)


def _rows(Fa, Ga, A, B, mask, weighted: bool, dt=jnp.float32, xp=jnp):
    """KL per row and (weighted) the r_p numerator and denominator. Products ℓ_a, D
    and the quantities they are centred by in float64, the rest in `dt`. Sums over
    p̄ = (p_a + p_b)/2 are split into p_a sums and sums over q = p_a e^x − p_a, with
    p_b = p_a e^x / (1 + S), S = Σ t; the r_p sums are of squares centred under p̄ (a
    first round of sums gives the means), so nothing cancels. `xp`: jax.numpy (the
    jitted pass) or numpy (the host pass, `dt` float64, no padding)."""
    lt = Fa.dtype  # the products' dtype (float64); `dt` the elementwise pass's
    bsum = partial(_bsum, xp=xp)
    la = _m(mask, _dot(xp, Fa, Ga), -np.inf)
    D = _m(mask, _dot(xp, A, B), 0.0)
    hi = xp.max(la, -1, keepdims=True)
    e = xp.exp(la - hi)
    z, eD, ela = bsum(e, e * D, _m(mask, e * la, 0.0))
    mu, mla = (eD / z).astype(lt)[:, None], (ela / z).astype(lt)[:, None]
    lpa64 = _m(mask, la - hi - xp.log(z).astype(lt)[:, None], 0.0)
    pa = (e / z.astype(lt)[:, None]).astype(dt)
    x64 = mu - D  # −(D − E_pa D)
    x = x64.astype(dt)
    t, q = _t(x, x64, lambda: lpa64, pa, mask, xp.max(xp.abs(x)), xp)
    (S,) = bsum(t)
    kl = xp.log1p(S)
    ok = S < S_MAX  # beyond, p_a e^x is taken in the log domain
    finite = xp.all(ok)
    kl = _cond(
        xp,
        finite,
        lambda: kl,
        lambda: xp.where(ok, kl, _lse(xp, _m(mask, lpa64 + x64, -np.inf))),
    )
    kl = xp.maximum(kl, 0.0)
    if not weighted:
        return (kl,)

    def split(fs):  # p_b = p_a e^x w, p_a e^x = p_a + q: Σ p̄ f = (Σ p_a f (1+w) + w Σ q f)/2
        w = 1.0 / (1.0 + S)
        qw = q * w.astype(dt)[:, None]  # ≤ p_b: no overflow (w ≥ 1/S_MAX)
        sums = bsum(*(pa * f for f in fs), *(qw * f for f in fs))
        return [0.5 * (a * (1.0 + w) + b) for a, b in zip(sums[: len(fs)], sums[len(fs) :])]

    def direct(fs):  # S ≥ S_MAX somewhere: p_b = exp(log p_a + x − KL), exponent in f64
        pb = _m(mask, xp.exp((lpa64 + x64 - kl[:, None]).astype(dt)), 0.0)
        return bsum(*(0.5 * (pa + pb) * f for f in fs))

    def pbar_sums(*fs):
        return _cond(xp, finite, lambda: split(fs), lambda: direct(fs))

    zc64 = _m(mask, la - 0.5 * D - (mla - 0.5 * mu), 0.0)  # ℓ̄ − E_pa ℓ̄
    mx, mz = pbar_sums(x, zc64.astype(dt))
    dx = (x64 - mx[:, None]).astype(dt)  # centred under p̄, from the float64 values
    dz = _m(mask, zc64 - mz[:, None], 0.0).astype(dt)
    num, den = pbar_sums(dx * dx, dz * dz)
    return kl, num, den


def _bound(s, la, D, pa, x, t, S, mu, kl, mask, fn, gn, an, bn, ca, cb, rows):
    """Bound on |KL₃₂ − KL| from the float32 products (probabilistic rounding model,
    Higham & Mary 2019: rounding errors independent, mean zero, variance ≤ u²/3; the
    products taken in a seeded random orthonormal basis, `_haar`). The computed ℓ_a(y)
    and D(y) carry errors of variance ≤ u²(a², b²) (`_cells`); to first order
    δKL = Σ_y p_a(y)(r_y − 1 − x_y) δℓ_a(y) + Σ_y (p_a − p_b)(y) δD(y), r = p_b/p_a, and
    the mean E_pa D (f32 block sums, then rounded) moves KL by KL·δμ. The bound is LAMBDA
    standard deviations of that sum of independent terms and of the rows' own roundings
    (`_coherent`), plus u·|μ|·KL."""
    u = U32
    w = (1.0 / (1.0 + S)).astype(pa.dtype)[:, None]  # the per-cell work in float32
    Sc = S.astype(pa.dtype)[:, None]
    c1 = (t - Sc * pa * (1.0 + x)) * w  # p_a (r − 1 − x), t = p_a(e^x − 1 − x): no cancellation
    c2 = (Sc * pa - pa * x - t) * w  # p_a − p_b
    a2, b2 = _cells(s, la, D, x, fn, gn, an, bn, ca, cb)
    c3 = 6.0 * pa * jnp.abs(D) * kl.astype(pa.dtype)[:, None]  # E_pa D: block sums, e·D, e
    tw = t * w  # the elementwise rounding of t and of its block sums (`ELEM`)
    (v,) = _bsum(_m(mask, c1 * c1 * a2 + c2 * c2 * b2 + c3 * c3 + ELEM * tw * tw, 0.0))
    aD, aL = _bsum(_m(mask, c2 * D, 0.0), _m(mask, c1 * la, 0.0))
    v = v + _coherent(c1, c2, aD, aL, rows)
    return LAMBDA * u * jnp.sqrt(v) + u * jnp.abs(mu[:, 0]) * kl


def _coherent(c1, c2, aD, aL, rows):
    """Variance, in units of u², of the KL error from rounding each row of F_x and of A
    to float32 once: δF_x,i and δA_i are shared by all the row's tokens, so their
    effects add coherently, δKL = δA_i·(Bᵀc₂) + δF_x,i·(Ḡ_xᵀc₁) (c₂ = p_a − p_b, c₁ =
    p_a(r − 1 − x)), not as `_bound`'s independent cells. Over the seeded random basis
    (as `_tree`), E (Σ_k ε_k a_k g_k)² = (u²/3)(‖a‖²‖g‖² + 2(a·g)²)/(m + 2) at depth m,
    with a·g = Σ_y c·(A_i B_y or ℓ_a) summed exactly (aD, aL) and ‖g‖² from a seeded
    Gaussian sketch of SKETCH columns, taken at its 99.9% upper bound (× SKETCH_INFLATE:
    SKETCH/χ²_SKETCH at 0.001). The one pair found where `_bound` fell short (1.5β,
    tests/theory/test_native.py) is covered by this term."""
    nf2, na2, cs = rows
    hp = jax.lax.Precision.HIGHEST
    gD = jnp.dot(c2, cs["BS"], precision=hp).astype(jnp.float64)
    gL = jnp.dot(c1, cs["GS"], precision=hp).astype(jnp.float64)
    vD = (na2 * jnp.sum(gD * gD, 1) * SKETCH_INFLATE + 2.0 * aD * aD) * cs["kD"]
    vL = (nf2 * jnp.sum(gL * gL, 1) * SKETCH_INFLATE + 2.0 * aL * aL) * cs["kL"]
    return vD + vL


SKETCH, SKETCH_SEED = 16, 29
SKETCH_INFLATE = 16.0 / 3.942  # 16 / χ²₁₆ at 0.001: P(‖g‖² > sketch × this) ≤ 0.001


def _cells(s, la, D, x, fn, gn, an, bn, ca, cb):
    """Per-cell error variances of ℓ_a − max and of x, in units of u²: the product's
    (`_tree`: ca·ℓ² + (fn gn)², fn, gn the norms scaled by √(C_N/3)), plus the
    elementwise roundings (|ℓ_a − max| + 4 for the shift, exp and the division; |D|
    for E_pa D − D) taken as standard deviations."""
    a2 = ca * la * la + (fn[:, None] * gn[None, :]) ** 2 + (jnp.abs(s) + 4.0) ** 2
    b2 = cb * D * D + 2.0 * x * x + (an[:, None] * bn[None, :]) ** 2
    return a2, b2


def _tree(d: int) -> tuple[float, float]:
    """(C_ℓ, C_N): the rounding error of a float32 dot product of length d taken in a
    Haar-random orthonormal basis has variance ≤ (u²/3)(C_ℓ ℓ² + C_N ‖a‖²‖b‖²) over the
    rounding errors and the basis, for any data-independent summation tree. A node
    summing m of the d rotated terms carries s = aᵀΠb, Π a random rank-m projection:
    E s² = (m/d − dβ_m)ℓ² + β_m‖a‖²‖b‖², β_m = m(d − m)/(d(d − 1)(d + 2)); over a tree's
    nodes Σ m² ≤ Σ_{m ≤ d} m² and Σ m ≤ d(d + 1)/2 (the chain is the worst), plus the d
    products' and the 2d rounded inputs' errors (each E s² at m = 1)."""
    if d <= 1:
        return float(3 * d), 0.0
    cl = (d + 1) * (d + 2) / (3 * d) + 6 / (d + 2)
    cn = d * (d + 1) / (2 * (d - 1) * (d + 2)) + 3 / (d + 2)
    return cl, cn


def _haar(d: int) -> np.ndarray:
    """A fixed (seeded) Haar-random d×d orthogonal matrix: the basis of the fast pass's
    products (`_tree`)."""
    rng = np.random.default_rng(HAAR_SEED + d)
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


HAAR_SEED = 17
LAMBDA = 3.0  # standard deviations of the rounding model taken as the bound
# per-cell variance, in u², of the elementwise roundings of a summed term f: its own
# (≤ 6u, the series' Horner steps and products) and its share of the float32 block sums
# (partial sums of ≤ 8 terms: Σ_blocks Σ_partials s² ≤ 7·8 Σ f², variance u²/3 each)
ELEM = 36.0 + 56.0 / 3.0
RHO = 1e-6  # the fast pass's KL is kept where its bound is ≤ RHO·KL
AMP = 4.0  # r_p sums kept where the one-pass variance form amplifies errors ≤ AMP×


def _fast_rows(Fa, Ga, A, B, mask, fn, gn, an, bn, ca, cb, weighted: bool, cells, rows):
    """The float32-products pass: KL (and the r_p sums) per row and the KL's error bound
    (`_bound`; inf where the float32 form cannot be trusted). x = E_pa D − D is centred
    under p_a (E_pa x = 0 exactly), so the r_p sums take one pass: Σ p̄(x − E_p̄ x)² =
    E_p̄ x² − (E_p̄ x)², likewise for z = ℓ̄ − E_pa ℓ̄, with p̄ = ½(p_a(1 + w) + q w),
    q = p_a(e^x − 1), w = 1/(1 + S); rows where that cancels by more than AMP× are
    marked for the float64 recompute. `cells`: everything after the two products runs
    in the C++ kernel (`native.kl_cells`: the same operations; sums in another order,
    e^(ℓ_a − max) by its own float32 exponential); else here."""
    f32 = jnp.float32
    hp = jax.lax.Precision.HIGHEST
    if cells:
        la, D = jnp.dot(Fa, Ga.T, precision=hp), jnp.dot(A, B.T, precision=hp)
        cacb = jnp.stack([ca, cb])
        tokens = jnp.int32(Ga.shape[0]) if mask is None else jnp.sum(mask, dtype=jnp.int32)
        kl, num, den, beta, c1, c2, aux = native.kl_cells(
            la, D, fn, an, gn, bn, cacb, tokens, weighted
        )
        var, aD, aL = aux[:, 0], aux[:, 1], aux[:, 2]
        coh = _coherent(c1, c2, aD, aL, rows)  # β's standard deviations, grown by it
        beta = beta + LAMBDA * U32 * (jnp.sqrt(var + coh) - jnp.sqrt(var))
        return (kl, num, den, beta) if weighted else (kl, beta)
    la = _m(mask, jnp.dot(Fa, Ga.T, precision=hp), -jnp.inf)
    D = _m(mask, jnp.dot(A, B.T, precision=hp), 0.0)
    hi = jnp.max(la, -1, keepdims=True)
    sa = _m(mask, la - hi, 0.0)
    e = _m(mask, jnp.exp(sa), 0.0)
    z, eD, es = _bsum(e, e * D, e * sa)
    mu, ms = eD / z, es / z  # float64
    mu32 = mu.astype(f32)
    x = (mu32[:, None] - D) + (mu - mu32.astype(mu.dtype)).astype(f32)[:, None]
    rz = (1.0 / z).astype(f32)  # p_a = e·rz; its common rounding undone on the sums
    corr = (1.0 / z) / rz.astype(z.dtype)
    pa = e * rz[:, None]
    lpa = lambda: _m(mask, sa - jnp.log(z).astype(f32)[:, None], 0.0)  # noqa: E731
    t, q = _t(x, x, lpa, pa, mask, jnp.max(jnp.abs(x)))
    (S,) = _bsum(t)
    S = S * corr
    kl = jnp.log1p(S)
    ok = jnp.isfinite(S) & (S < S_MAX)
    beta = _bound(sa, la, D, pa, x, t, S, mu[:, None], kl, mask, fn, gn, an, bn, ca, cb, rows)
    beta = jnp.where(ok, beta, jnp.inf)
    if not weighted:
        return kl, beta
    w64 = 1.0 / (1.0 + S)
    qw = q * w64.astype(f32)[:, None]
    zc = _m(mask, (sa - ms.astype(f32)[:, None]) + 0.5 * x, 0.0)  # ℓ̄ − E_pa ℓ̄
    sums = _bsum(pa * x * x, qw * x * x, qw * x, pa * zc * zc, qw * zc * zc, qw * zc)
    ax2, qx2, qx, az2, qz2, qz = (v * corr for v in sums)
    ex2, ex = 0.5 * (ax2 * (1.0 + w64) + qx2), 0.5 * qx  # E_p̄ x², E_p̄ x (E_pa x = 0)
    ez2, ez = 0.5 * (az2 * (1.0 + w64) + qz2), 0.5 * qz
    num, den = ex2 - ex * ex, ez2 - ez * ez
    tame = (num * AMP >= ex2) & (den * AMP >= ez2)
    # their rounding-model bounds: δΣ p̄ f² ≈ Σ 2 p̄ f δf, var δx ≤ u²b², var δz ≤ 2u²(a² + b²)
    u = U32
    pbar = 0.5 * (pa * (1.0 + w64.astype(f32)[:, None]) + qw)
    a2, b2 = _cells(sa, la, D, x, fn, gn, an, bn, ca, cb)
    px, pz = pbar * x, pbar * zc
    ex2_, ez2_ = ELEM / 4 * (px * x) ** 2, ELEM / 4 * (pz * zc) ** 2  # elementwise roundings
    vx, vz = _bsum(
        _m(mask, px * px * b2 + ex2_, 0.0), _m(mask, pz * pz * 2 * (a2 + b2) + ez2_, 0.0)
    )
    ok_num = 2 * LAMBDA * u * jnp.sqrt(vx) * ex2 <= RHO * num * num  # × E_p̄x²/num ≥ 1
    ok_den = 2 * LAMBDA * u * jnp.sqrt(vz) * ez2 <= RHO * den * den
    tame = tame & ((num == 0) | ok_num) & ((den == 0) | ok_den)
    return kl, jnp.maximum(num, 0.0), jnp.maximum(den, 0.0), jnp.where(tame, beta, jnp.inf)


@partial(jax.jit, static_argnames=("weighted", "dt"))
def _chunk(Fa, Ga, A, B, mask, weighted, dt):
    return _rows(Fa, Ga, A, B, mask, weighted, dt)


def _ceil(x: int, m: int) -> int:
    return max(m, -(-x // m) * m)


def _pow2_at_most(x: int) -> int:
    return 1 << max(int(x).bit_length() - 1, 0)


def _bucket(x: int, floor: int, per_octave: int) -> int:
    """x rounded up to one of `per_octave` sizes per octave, multiples of `floor` (at
    least `floor`): the padded shapes of the jitted passes, ≤ 1/per_octave padding
    above a few multiples of `floor`."""
    step = max(floor, 1 << max((int(x) - 1).bit_length() - per_octave.bit_length(), 0))
    return _ceil(int(x), step)


def _shape(fac: Factors, chunk: int | None):
    """(Vp, rp, c): padded tokens (a multiple of BLOCK, 8 sizes per octave), padded
    difference rank (multiples of 32, 4 per octave), rows per jitted chunk (a power of
    two, about CHUNK_CELLS cells; `chunk` if given). Independent of how many contexts a
    pass is asked for: every pass, probe and recompute at one (V, r) reuses one
    program."""
    V = fac.Ga.shape[0]
    Vp, rp = _bucket(V, BLOCK, 8), _bucket(fac.rank, 32, 4)
    return Vp, rp, chunk or _pow2_at_most(max(CHUNK_CELLS // Vp, MIN_ROWS))


CHUNK_CELLS = 2**18  # contexts × tokens per jitted chunk (in cache), at least MIN_ROWS rows
MIN_ROWS = 32
# rows per chunk when the kernel does the per-cell work: at V = 20,000 (Vp = 20,480) the
# fast pass measured 30.9 / 25.3 / 23.4 / 37.1 s per 200,000 contexts at 32 / 64 / 128 /
# 256 rows (docs/numerics.md)
NATIVE_CHUNK_CELLS = 2**22
NATIVE_MAX_ROWS = 1024
HOST_CELLS = 2**18  # passes of at most this many contexts × tokens run on the host
FAST_CELLS = 2**22  # up to this many, the jitted float64 pass alone (as fast, one program)


@dataclass(frozen=True)
class Factors:
    """What the pass needs: F_a, the centered Ḡ_a, and D = A Bᵀ with A = W K_F built from
    W = [1 | F_a | F_b] row by row (float64), B (V×r) with orthonormal columns."""

    Fa: np.ndarray
    Fb: np.ndarray
    Ga: np.ndarray  # centered, float64
    K_F: np.ndarray  # (1+d_a+d_b)×r
    B: np.ndarray  # V×r, float64

    @property
    def rank(self) -> int:
        return int(self.B.shape[1])

    def A(self, rows) -> np.ndarray:
        """Rows of A (float64) for the context ids `rows`."""
        Fa, Fb = (np.asarray(X[rows], dtype=np.float64) for X in (self.Fa, self.Fb))
        W = np.concatenate([np.ones((Fa.shape[0], 1)), Fa, Fb], axis=1)
        return W @ self.K_F


def _kept(R):
    """SVD of a small factor R = U diag(s) Vᵀ restricted to σ_i above rounding noise."""
    if R.size == 0:
        return np.zeros((R.shape[0], 0)), np.zeros(0), np.zeros((R.shape[1], 0))
    U, s, Vt = np.linalg.svd(R, full_matrices=False)
    keep = s > EPS64 * max(R.shape) * (s[0] if s.size else 0.0)
    return U[:, keep], s[keep], Vt[keep].T


def factors(Fa, Ga, Fb, Gb, RF, RG) -> Factors:
    """The pass's factors from the thin-QR R factors of [1 | F_a | F_b] (RF) and
    [Ḡ_a | Ḡ_b] (RG) (`equivalence.compress`)."""
    da = int(np.shape(Fa)[1])
    Xa, Xb = RF[:, 1 : 1 + da], RF[:, 1 + da :]
    Ya, Yb = RG[:, :da], RG[:, da:]
    core_a, core_b = Xa @ Ya.T, Xb @ Yb.T
    UF, sF, VF = _kept(RF)
    UG, sG, VG = _kept(RG)
    P, sig, Qt = np.linalg.svd(UF.T @ (core_a - core_b) @ UG, full_matrices=False)
    m = max(RF.shape[1], RG.shape[1], 1)
    floor = 10 * EPS64 * np.sqrt(m) * (np.linalg.norm(core_a) + np.linalg.norm(core_b))
    keep = sig > floor
    K_F = (VF / sF) @ (P[:, keep] * sig[keep])
    K_G = (VG / sG) @ Qt[keep].T
    Gc = center(np.concatenate([np.asarray(Ga, np.float64), np.asarray(Gb, np.float64)], 1))
    return Factors(Fa, Fb, Gc[:, :da], K_F, Gc @ K_G)


def _padded(X, rows: int, cols: int, dtype):
    out = np.zeros((rows, cols), dtype)
    out[: X.shape[0], : X.shape[1]] = X
    return out


def _run(fac: Factors, ids, weighted: bool, chunk, fast, host, report=None):
    """The pass over contexts `ids`. On the host (`host`; by default when len(ids)·V ≤
    HOST_CELLS): the accurate formulas (`_rows`) in numpy float64, nothing compiled.
    Else `fast` (by default when len(ids)·V > FAST_CELLS): float32 products with a bound
    per context (`_bound`); the contexts whose bound exceeds RHO·KL (or that overflow
    the float32 form) are recomputed with float64 products. Else float64 products for
    all (one program)."""
    V = fac.Ga.shape[0]
    cells = len(ids) * V
    if host is None:
        host = cells <= HOST_CELLS
    if host:
        if report is not None:
            report.update(contexts=int(len(ids)), recomputed=0, host=True)
        return _host_products(fac, ids, weighted, chunk)
    if fast is None:
        fast = cells > FAST_CELLS
    if not fast:
        if report is not None:
            report.update(contexts=int(len(ids)), recomputed=int(len(ids)))
        return _products(fac, ids, weighted, chunk, fast=False)
    setup = _fast_setup(fac, chunk)
    rows = setup["rows"]
    probe = -(-min(PROBE, len(ids)) // rows) * rows  # the first calls: the probe
    *cols, beta = _fast_products(setup, ids[:probe], weighted)
    if probe < len(ids) and _uncertified(cols[0], beta).mean() > 0.5:
        if report is not None:
            report.update(contexts=int(len(ids)), recomputed=int(len(ids)), probe=probe)
        return _products(fac, ids, weighted, chunk, fast=False)
    if probe < len(ids):  # the fast pass pays: the rest of the contexts
        rest = _fast_products(setup, ids[probe:], weighted)
        *cols, beta = (np.concatenate(p) for p in zip([*cols, beta], rest, strict=True))
    redo = _uncertified(cols[0], beta)
    if report is not None:
        report.update(contexts=int(len(ids)), recomputed=int(redo.sum()))
    if redo.any():
        again = _products(fac, ids[redo], weighted, chunk, fast=False)
        for col, new in zip(cols, again, strict=True):
            col[redo] = new
    return cols


PROBE = 256  # contexts the fast pass tries first; above half uncertified: float64 for all
HOST_ROWS_CELLS = 2**15  # contexts × tokens per numpy block of the host pass (in cache)


def _uncertified(kl, beta):
    """Contexts the fast pass cannot certify: β not finite or above RHO·KL."""
    return ~(np.isfinite(beta) & (beta <= RHO * kl))


def _host_products(fac: Factors, ids, weighted: bool, chunk: int | None):
    """The accurate pass (`_rows`) in numpy float64 (products and elementwise work),
    HOST_ROWS_CELLS cells at a time: no compilation, for passes too small to repay one."""
    V = fac.Ga.shape[0]
    c = chunk or max(1, HOST_ROWS_CELLS // V)
    outs = []
    with np.errstate(all="ignore"):  # both sides of a select are evaluated
        for i in range(0, len(ids), c):
            rows = ids[i : i + c]
            Fa = np.asarray(fac.Fa[rows], np.float64)
            outs.append(_rows(Fa, fac.Ga, fac.A(rows), fac.B, None, weighted, np.float64, np))
    return _joined(outs, len(ids))


def _products(fac: Factors, ids, weighted: bool, chunk: int | None, fast: bool):
    """One jitted pass over `ids` with float32 (`fast`, the bound per context last) or
    float64 products, in chunks of a fixed padded shape (`_shape`)."""
    if fast:
        return _fast_products(_fast_setup(fac, chunk), ids, weighted)
    V, da = fac.Ga.shape
    Vp, rp, c = _shape(fac, chunk)
    dp = _bucket(da, 32, 4)
    Ga = jax.device_put(_padded(fac.Ga, Vp, dp, np.float64))
    B = jax.device_put(_padded(fac.B, Vp, rp, np.float64))
    mask = jax.device_put(np.arange(Vp) < V) if Vp > V else None
    outs = []
    for i in range(0, len(ids), c):
        rows = ids[i : i + c]
        Fa = _padded(np.asarray(fac.Fa[rows], np.float64), c, dp, np.float64)
        A = _padded(fac.A(rows), c, rp, np.float64)
        outs.append(_chunk(Fa, Ga, A, B, mask, weighted, np.float32))
    return _joined(outs, len(ids))


def _joined(outs, n):
    return [np.concatenate([np.asarray(o[j]) for o in outs])[:n] for j in range(len(outs[0]))]


SHIFT_TOKENS = 256  # the fast pass shifts ℓ_a by its maximum over these tokens


def _fast_setup(fac: Factors, chunk: int | None) -> dict:
    """What every call of the fast pass shares: Ḡ_a and B in float32 in seeded random
    bases (`_haar`, `_tree`), padded (`_shape`; d_a and d_b to 32 or 4 sizes per
    octave, the product's depth d_a + 1 to 32 or above it to 8 sizes per octave), the
    per-token norms of the bound (`_cells`), the constants of the per-row float64
    preparation (`_fast_call`), and whether the C++ kernel does the per-cell work
    (`cells`; then NATIVE_CHUNK_CELLS cells per chunk)."""
    f32 = np.float32
    V, da = fac.Ga.shape
    db = fac.Fb.shape[1]
    Vp, rp, c = _shape(fac, chunk)
    cells = native.available()  # the per-cell work in C++ (`native`), row by row
    if cells and chunk is None:  # only ℓ_a and D are c×V: more rows, faster products
        c = min(_pow2_at_most(max(NATIVE_CHUNK_CELLS // Vp, MIN_ROWS)), NATIVE_MAX_ROWS)
    g2 = np.sum(fac.Ga**2, axis=1)
    top = np.argsort(-g2, kind="stable")[: min(SHIFT_TOKENS, V)]
    top = np.resize(top, SHIFT_TOKENS)  # repeated tokens leave the maximum as it is
    kappa = float(np.sqrt(3.0 * np.mean(g2) / np.sqrt(da))) or 1.0  # ≈ √(m‖Ḡ‖/‖F‖)
    Gx = np.concatenate([fac.Ga, np.full((V, 1), kappa)], axis=1)
    dx = da + 1
    dpa, dpb = _bucket(da, 32, 4), _bucket(db, 32, 4)
    dp = _bucket(dx, 32, 4) if dx <= 32 else _bucket(dx, 8, 8)  # the product depth: ≤ 1/8 padding
    Qa, Qr = _haar(dx), _haar(fac.rank)
    Qx = np.zeros((dpa + 1, dp))  # rows of [F_a (padded to dpa), −m/κ]
    Qx[:da, :dx], Qx[dpa, :dx] = Qa[:da], Qa[da]
    KQ = fac.K_F @ Qr  # rows of [1 | F_a | F_b]
    KQx = np.zeros((1 + dpa + dpb, rp))
    KQx[: 1 + da, : fac.rank], KQx[1 + dpa : 1 + dpa + db, : fac.rank] = KQ[: 1 + da], KQ[1 + da :]
    (cla, cna), (clr, cnr) = _tree(dx), _tree(fac.rank)
    put = jax.device_put  # numpy to the device: no compilation (jnp.asarray of a scalar has one)
    sk = np.random.default_rng(SKETCH_SEED).normal(size=(2, max(dx, fac.rank), SKETCH))
    sk /= np.sqrt(SKETCH)
    consts = put(
        dict(
            ca=np.asarray(cla / 3.0, f32),
            cb=np.asarray(clr / 3.0, f32),
            sa=np.asarray(np.sqrt(cna / 3.0)),
            sr=np.asarray(np.sqrt(cnr / 3.0)),
            kappa=np.asarray(kappa),
            Qa=Qx,
            KQ=KQx,
            Gtop=_padded(fac.Ga[top], SHIFT_TOKENS, dpa, np.float64),
            # the rows' own roundings (`_coherent`): sketches of Ḡ_x and B in the random
            # bases, V×SKETCH, and the constants 1/(3(m + 2)) of depth m = d_a + 1, r
            GS=_padded((Gx @ Qa) @ sk[0, :dx], Vp, SKETCH, f32),
            BS=_padded((fac.B @ Qr) @ sk[1, : fac.rank], Vp, SKETCH, f32),
            kL=np.asarray(1.0 / (3.0 * (dx + 2)), f32),
            kD=np.asarray(1.0 / (3.0 * (fac.rank + 2)), f32),
        )
    )
    gn = np.sqrt(cna / 3.0) * np.linalg.norm(Gx, axis=1)
    bn = np.sqrt(cnr / 3.0) * np.linalg.norm(fac.B, axis=1)
    return dict(
        fac=fac,
        dpa=dpa,
        dpb=dpb,
        rows=c,
        Ga=put(_padded(Gx @ Qa, Vp, dp, f32)),
        B=put(_padded(fac.B @ Qr, Vp, rp, f32)),
        mask=put(np.arange(Vp) < V) if Vp > V else None,
        gn=put(_padded(gn[:, None], Vp, 1, f32)[:, 0]),
        bn=put(_padded(bn[:, None], Vp, 1, f32)[:, 0]),
        consts=consts,
        cells=cells,
    )


def _fast_products(setup: dict, ids, weighted: bool):
    """The fast pass over `ids`: ℓ_a − m_i and D in float32 in seeded random bases
    (`_fast_setup`), with the per-row and per-token norms of the bound (`_cells`).
    m_i = max of ℓ_a(i, ·) over the SHIFT_TOKENS tokens of largest ‖Ḡ_y‖ (float64),
    carried as one more column ([F_i, −m_i/κ]·[Ḡ_y, κ]), so that the likely tokens' ℓ_a
    is small and so is its product's rounding (the C_ℓ ℓ² term). The per-row float64
    preparation (A = W K_F, the shift, the rotations, the norms) runs on the device, one
    chunk of setup["rows"] rows per call (zero rows pad the last)."""
    s, c = setup, setup["rows"]
    fac = s["fac"]
    shared = (s["Ga"], s["B"], s["mask"], s["gn"], s["bn"], s["consts"])
    outs = []
    for i in range(0, len(ids), c):
        rows = ids[i : i + c]
        Fa = _padded(np.asarray(fac.Fa[rows], np.float64), c, s["dpa"], np.float64)
        Fb = _padded(np.asarray(fac.Fb[rows], np.float64), c, s["dpb"], np.float64)
        outs.append(_fast_call(Fa, Fb, np.int32(len(rows)), *shared, weighted, s["cells"]))
    return _joined(outs, len(ids))


@partial(jax.jit, static_argnames=("weighted", "cells"))
def _fast_call(Fa, Fb, live, Ga, B, mask, gn, bn, cs, weighted, cells=False):
    """One chunk of rows (the first `live` real, the rest zero): their float64
    preparation (constants `cs`), then the fast pass."""
    f64 = jnp.float64
    one = (jnp.arange(Fa.shape[0]) < live).astype(f64)[:, None]  # padded rows: A = 0
    W = jnp.concatenate([one, Fa, Fb], axis=1)
    A = W @ cs["KQ"]  # = (W K_F) Q': rows of A in the random basis
    m = jnp.max(Fa @ cs["Gtop"].T, axis=1, keepdims=True)
    Fx = jnp.concatenate([Fa, -m / cs["kappa"]], axis=1)
    fn = (cs["sa"] * jnp.linalg.norm(Fx, axis=1)).astype(jnp.float32)
    an = (cs["sr"] * jnp.linalg.norm(A, axis=1)).astype(jnp.float32)  # invariant under Q'
    rows = (jnp.sum(Fx * Fx, 1), jnp.sum(A * A, 1), cs)  # ‖F_x,i‖², ‖A_i‖² (`_coherent`)
    Fx = (Fx @ cs["Qa"]).astype(jnp.float32)
    A = A.astype(jnp.float32)
    return _fast_rows(Fx, Ga, A, B, mask, fn, gn, an, bn, cs["ca"], cs["cb"], weighted, cells, rows)


def kl_pass(
    fac: Factors,
    ids=None,
    weighted: bool = True,
    chunk: int | None = None,
    fast: bool | None = None,
    report: dict | None = None,
    host: bool | None = None,
):
    """(kl, num, den) per context of `ids` (all contexts by default), numpy float64;
    (kl,) without `weighted`. `host` (default: len(ids)·V ≤ HOST_CELLS): the accurate
    pass in numpy float64, nothing compiled. Else `fast` (default: len(ids)·V >
    FAST_CELLS): the float32-products pass, contexts it cannot certify to RHO·KL
    recomputed with float64 products (`_run`); not `fast`: float64 products for all.
    `report` receives how many contexts the float64 passes computed."""
    n = int(np.shape(fac.Fa)[0])
    ids = np.arange(n) if ids is None else np.asarray(ids, dtype=np.int64)
    if ids.size == 0:
        return tuple(np.zeros(0) for _ in range(3 if weighted else 1))
    with jax.enable_x64(True):
        return tuple(
            np.asarray(c, np.float64) for c in _run(fac, ids, weighted, chunk, fast, host, report)
        )


def kl_terms(
    Fa,
    Ga,
    Fb,
    Gb,
    chunk: int | None = None,
    weighted: bool = True,
    fast: bool | None = None,
    host: bool | None = None,
):
    """Per context: KL(p_a ‖ p_b) in nats, and (with `weighted`) the two sums behind r_p,
    Σ_y p̄ (δ − E_p̄ δ)² and Σ_y p̄ (ℓ̄ − E_p̄ ℓ̄)² with p̄ = (p_a + p_b)/2, δ = ℓ_a − ℓ_b,
    ℓ̄ = (ℓ_a + ℓ_b)/2; numpy float64 arrays, chunk by chunk (never n×V numbers);
    `fast`, `host` as in `kl_pass`."""
    from simident.theory.tallqr import compress

    c = compress(Fa, Ga, Fb, Gb)
    fac = factors(Fa, Ga, Fb, Gb, c.RF, c.RG)
    return kl_pass(fac, weighted=weighted, chunk=chunk, fast=fast, host=host)


def kl_per_context(Fa, Ga, Fb, Gb, chunk: int | None = None):
    """KL(p_a ‖ p_b) in nats for every context (n,): the KL alone (the training
    evaluation's path)."""
    return kl_terms(Fa, Ga, Fb, Gb, chunk, weighted=False)[0]
