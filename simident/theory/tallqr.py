"""The R factor of a thin QR of a tall matrix given in row blocks (TSQR), and the choice
between it and the Gram route (`tallgram`) for a pair's two tall factors (`compress`).

R of [B_1; B_2; …] is R of [R(B_1); B_2; …]: one block of rows in float64 at a time,
so memory is O(chunk·m) whatever n (inputs stay in their own dtype; nothing n×m in
float64 is formed). Backward stable as one Householder QR. numpy's LAPACK on the CPU
(no compilation at a new shape; faster than XLA's CPU QR, measured in
benchmarks/README.md); under an accelerator the blocks go through one jitted QR of a
fixed block height.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

ROWS = 32768  # rows per block (a 32768×1537 float64 block is 400 MB)
GRAM_WORK = 1e10  # n·m² above which `compress(route="auto")` takes the Gram route
ROUTES = ("auto", "qr", "gram")


def _jax_block_qr():
    import jax
    import jax.numpy as jnp

    @jax.jit
    def qr_r(X):
        return jnp.linalg.qr(X, mode="r")

    return qr_r


def _on_accelerator() -> bool:
    import jax

    return jax.default_backend() != "cpu"


def stacked_r(block: Callable[[int, int], np.ndarray], n: int, m: int, rows: int = ROWS):
    """R (min(n, m)×m, float64) of the n×m matrix whose rows [i, j) are `block(i, j)`."""
    if n == 0 or m == 0:
        return np.zeros((0, m))
    if n <= rows:
        X = np.asarray(block(0, n), dtype=np.float64)
        return np.linalg.qr(X, mode="r") if n > m else X
    if _on_accelerator():  # pragma: no cover - exercised on GPU machines only
        import jax

        qr = _jax_block_qr()
        with jax.enable_x64(True):
            R = np.zeros((m, m))  # fixed shape (rows + m)×m: one compilation per m
            for i in range(0, n, rows):
                X = np.asarray(block(i, min(i + rows, n)), dtype=np.float64)
                X = np.concatenate([R, X, np.zeros((rows - X.shape[0], m))])
                R = np.asarray(qr(X))[:m]
            return R
    R = np.zeros((0, m))
    for i in range(0, n, rows):
        X = np.concatenate([R, np.asarray(block(i, min(i + rows, n)), dtype=np.float64)])
        R = np.linalg.qr(X, mode="r") if X.shape[0] > m else X
    return R


@dataclass(frozen=True)
class Identification:
    """How the small factors of [1 | F_a | F_b] (F side) and [Ḡ_a | Ḡ_b] (G side) were
    obtained: `route_f` / `route_g` "qr" (row-block Householder QR, backward stable) or
    "gram" (`tallgram`: float64 Gram and eigh, above n·m² = `gram_work` or when forced).
    `gram_error_f` / `_g` bound ‖RᵀR − WᵀW‖_2 on the Gram route (0 on the QR route, whose
    rounding the noise floors already cover), `_rel` the same over ‖W‖_F²;
    `resolution_f` / `_g` = √gram_error: σ_i of F_a, F_b (of Ḡ_a, Ḡ_b) are within it of
    the true ones, so rank decisions count none below it. `logit_error` (set by
    `compare`): bound on the error of every σ_i of L_a − L_b and 2·L̄ and of
    ‖L_a − L_b‖_F from the route (docs/numerics.md, *Identification at scale*)."""

    route_f: str = "qr"
    route_g: str = "qr"
    gram_error_f: float = 0.0
    gram_error_g: float = 0.0
    gram_error_f_rel: float = 0.0
    gram_error_g_rel: float = 0.0
    gram_work: float = GRAM_WORK
    logit_error: float = 0.0

    @property
    def resolution_f(self) -> float:
        return float(np.sqrt(self.gram_error_f))

    @property
    def resolution_g(self) -> float:
        return float(np.sqrt(self.gram_error_g))

    def logit_floor(self, X, Y) -> float:
        """Bound on |σ_i(X Yᵀ) − σ_i(F Ḡᵀ)| and |‖X Yᵀ‖_F − ‖F Ḡᵀ‖_F| for F = W J_F,
        Ḡ = Z J_G with column selections J (‖J‖ ≤ 1) and X = R_F J_F, Y = R_G J_G:
        r_F ‖Y‖_F + r_G ‖X‖_F + r_F r_G √m (‖A^½ − B^½‖ ≤ ‖A − B‖^½ for PSD A, B)."""
        rf, rg = self.resolution_f, self.resolution_g
        if rf == 0.0 and rg == 0.0:
            return 0.0
        m = max(X.shape[0], Y.shape[0], 1)
        return float(rf * np.linalg.norm(Y) + rg * np.linalg.norm(X) + rf * rg * np.sqrt(m))

    def to_dict(self) -> dict:
        return {
            "route_f": self.route_f,
            "route_g": self.route_g,
            "gram_work": self.gram_work,
            "gram_error_f": self.gram_error_f,
            "gram_error_g": self.gram_error_g,
            "gram_error_f_rel": self.gram_error_f_rel,
            "gram_error_g_rel": self.gram_error_g_rel,
            "resolution_f": self.resolution_f,
            "resolution_g": self.resolution_g,
            "logit_error": self.logit_error,
        }


def choose_route(route: str, n: int, m: int) -> str:
    """The route, "qr" or "gram", for an n×m tall factor ("auto": Gram above n·m² = GRAM_WORK)."""
    if route not in ROUTES:
        raise ValueError(f"identification route {route!r}: expected one of {', '.join(ROUTES)}")
    if route != "auto":
        return route
    return "gram" if float(n) * float(m) ** 2 > GRAM_WORK and n > m else "qr"


def _factor(block, n: int, m: int, route: str) -> tuple[np.ndarray, str, float, float]:
    """(R, route taken, ‖RᵀR − WᵀW‖_2 bound, the same over ‖W‖_F²)."""
    how = choose_route(route, n, m)
    if how == "qr" or n == 0 or m == 0:
        return stacked_r(block, n, m), how, 0.0, 0.0
    from simident.theory.tallgram import gram_r

    R, eps = gram_r(block, n, m, ROWS)
    total = float(np.sum(R * R))
    return R, how, eps, eps / total if total > 0.0 else 0.0


@dataclass(frozen=True)
class Compressed:
    """Small factors of a model pair: F_a = Q_F Xa, 1 = Q_F e, Ḡ_a = Q_G Ya (same for b);
    RF = [e | Xa | Xb] and RG = [Ya | Yb] are the R factors of the two thin QRs."""

    n: int
    V: int
    e: np.ndarray
    Xa: np.ndarray
    Xb: np.ndarray
    Ya: np.ndarray
    Yb: np.ndarray
    ga: float = 0.0  # ‖G_a‖_F before centering (sets the noise floor of Ḡ_a)
    gb: float = 0.0
    RF: np.ndarray | None = field(default=None, repr=False)
    RG: np.ndarray | None = field(default=None, repr=False)
    identification: Identification = field(default_factory=Identification)


def _f64(X) -> np.ndarray:
    return np.asarray(X, dtype=np.float64)


def compress(Fa, Ga, Fb=None, Gb=None, route: str = "auto") -> Compressed:
    """Small factors of a pair (or of one model when Fb, Gb are None), float64.

    The inputs stay in their own dtype; [1 | F_a | F_b] and [Ḡ_a | Ḡ_b] go through the
    QR one block of rows at a time (`tallqr.stacked_r`), or above n·m² = GRAM_WORK
    (`route` "auto") or when `route` is "gram" through the float64 Gram
    (`tallgram.gram_r`); no n×(1+d_a+d_b) float64 copy is made. Which route each side
    took and its error bound: `identification`."""
    Fa, Ga = np.asarray(Fa), np.asarray(Ga)
    if Fb is None:
        Fb, Gb = np.zeros((Fa.shape[0], 0)), np.zeros((Ga.shape[0], 0))
    Fb, Gb = np.asarray(Fb), np.asarray(Gb)
    n, da = Fa.shape
    V = Ga.shape[0]

    def rows_F(i, j):
        return np.concatenate([np.ones((j - i, 1)), _f64(Fa[i:j]), _f64(Fb[i:j])], axis=1)

    mean = np.concatenate([_f64(Ga).mean(0), _f64(Gb).mean(0)])

    def rows_G(i, j):
        return np.concatenate([_f64(Ga[i:j]), _f64(Gb[i:j])], axis=1) - mean

    RF, how_f, err_f, rel_f = _factor(rows_F, n, 1 + da + Fb.shape[1], route)
    RG, how_g, err_g, rel_g = _factor(rows_G, V, da + Gb.shape[1], route)
    ident = Identification(how_f, how_g, err_f, err_g, rel_f, rel_g)
    return Compressed(
        n=int(n),
        V=int(V),
        e=RF[:, 0],
        Xa=RF[:, 1 : 1 + da],
        Xb=RF[:, 1 + da :],
        Ya=RG[:, :da],
        Yb=RG[:, da:],
        ga=float(np.linalg.norm(_f64(Ga))),
        gb=float(np.linalg.norm(_f64(Gb))),
        RF=RF,
        RG=RG,
        identification=ident,
    )
