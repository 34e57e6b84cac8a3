"""Hypothesis strategies and small helpers shared by the theory tests.

Sizes (n, V, d) are drawn at random (compare's identification is numpy: a new shape
costs no compilation). A model of dimension d splits R^d (in its canonical
coordinates, see `constructors.canonical_blocks`) into

    k  coupled directions (E ∩ U seen by the logits),
    a = dim(E ∩ U⊥)  context directions the distribution cannot see,
    b = dim(U ∩ E⊥)  token directions no context uses,
    c = dim((E + U)⊥) unused directions,

so dim_E = k + a, dim_U = k + b and d = k + a + b + c. Diversity is a = b = c = 0.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st

from simident.theory import constructors as C
from simident.theory.logits import centered_logits, log_probs


@st.composite
def shapes(draw, d_max: int = 8):
    """(n, V, d) at random: 4 ≤ d ≤ d_max, n ∈ [2d + 4, 3d + 6], V ∈ [d + 5, 2d + 5]
    (the tests' constructions need n ≳ 2d contexts and V > d + 1 tokens)."""
    d = draw(st.integers(4, d_max))
    return draw(st.integers(2 * d + 4, 3 * d + 6)), draw(st.integers(d + 5, 2 * d + 5)), d


SIZES = shapes()
SMALL = shapes(d_max=6)
TOL = 1e-8  # assertion tolerance for exact float64 constructions (they reach ~1e-13)


class Dims(NamedTuple):
    n: int
    V: int
    d: int
    dim_E: int
    dim_U: int
    k: int

    @property
    def a(self) -> int:  # dim(E ∩ U⊥)
        return self.dim_E - self.k

    @property
    def b(self) -> int:  # dim(U ∩ E⊥)
        return self.dim_U - self.k

    @property
    def c(self) -> int:  # dim((E + U)⊥)
        return self.d - self.dim_E - self.dim_U + self.k

    @property
    def diverse(self) -> bool:
        return self.dim_E == self.d and self.dim_U == self.d


@st.composite
def dims(draw, pred=lambda D: True, sizes=SIZES, min_k: int = 1):
    """A feasible (n, V, d, dim_E, dim_U, k) of a drawn size satisfying `pred`."""
    n, V, d = draw(sizes)
    table = [
        D
        for k in range(min_k, d + 1)
        for a in range(d - k + 1)
        for b in range(d - k - a + 1)
        if pred(D := Dims(n, V, d, k + a, k + b, k))
    ]
    if not table:
        reject()
    return draw(st.sampled_from(table))


ANY = dims()
ANY_SMALL = dims(sizes=SMALL)
DIVERSE = dims(lambda D: D.diverse)
NON_DIVERSE = dims(lambda D: not D.diverse)
U_NOT_FULL = dims(lambda D: D.dim_U < D.d)  # room for a context free part a(s) ⊥ U
E_NOT_FULL = dims(lambda D: D.dim_E < D.d)  # room for a token free part b̄(y) ⊥ E
E_FULL_ONLY = dims(lambda D: D.dim_E == D.d and D.dim_U < D.d)  # context- but not token-diverse
U_FULL_ONLY = dims(lambda D: D.dim_U == D.d and D.dim_E < D.d)
E_HIDDEN = dims(lambda D: D.a >= 1)  # E ∩ U⊥ ≠ {0}
U_HIDDEN = dims(lambda D: D.b >= 1)  # U ∩ E⊥ ≠ {0}
SEEDS = st.integers(0, 2**32 - 1)


def model(rng, D: Dims):
    return C.random_model(rng, D.n, D.V, D.d, D.dim_E, D.dim_U, D.k)


def perturbed(rng, F, G, eps: float):
    """A generic non-equivalent model of the same shape: F + εX, G + εY (X, Y Gaussian)."""
    return F + eps * rng.normal(size=F.shape), G + eps * rng.normal(size=G.shape)


def equivalent_variant(rng, F, G, scale: float = 3.0, pad: bool = True):
    """An equivalent model built from every E6 transformation: an invertible map, free
    parts on both sides (where there is room), and (optionally) two padded coordinates."""
    Fb, Gb = C.transform(F, G, C.random_invertible(rng, F.shape[1]))
    Fb, Gb = C.add_context_free_part(rng, Fb, Gb, scale)
    Fb, Gb = C.add_token_free_part(rng, Fb, Gb, scale)
    if pad:
        Fb, Gb = C.pad(rng, Fb, Gb, extra_context=1, extra_token=1)
    return Fb, Gb


def naive_residual(Fa, Ga, Fb, Gb) -> float:
    """‖L_a − L_b‖_F / sqrt((‖L_a‖² + ‖L_b‖²)/2) from the full n×V matrices."""
    La, Lb = np.asarray(centered_logits(Fa, Ga)), np.asarray(centered_logits(Fb, Gb))
    ref = np.sqrt(0.5 * (np.sum(La**2) + np.sum(Lb**2)))
    return float(np.linalg.norm(La - Lb) / ref) if ref > 0 else 0.0


def naive_kl(Fa, Ga, Fb, Gb) -> np.ndarray:
    """KL(p_a(·|s) ‖ p_b(·|s)) per context from float64 log-probabilities."""
    la, lb = np.asarray(log_probs(Fa, Ga)), np.asarray(log_probs(Fb, Gb))
    return np.sum(np.exp(la) * (la - lb), axis=1)


def centered(G):
    G = np.asarray(G, dtype=np.float64)
    return G - G.mean(0, keepdims=True)


RCOND = 1e-10  # relative cut for dense references (numpy's default keeps rounding noise)


def pinv(X):
    """Dense pseudo-inverse that drops singular values ≤ RCOND·σ_1 (rounding noise)."""
    return np.linalg.pinv(np.asarray(X, dtype=np.float64), rcond=RCOND)


def lstsq(X, Y):
    """Dense least squares with the same relative cut as `pinv`."""
    return np.linalg.lstsq(np.asarray(X, dtype=np.float64), Y, rcond=RCOND)[0]


def proj(B):
    """Orthogonal projector onto the column span of B (numpy, any B)."""
    B = np.asarray(B, dtype=np.float64)
    if B.size == 0:
        return np.zeros((B.shape[0], B.shape[0]))
    return B @ pinv(B)


def orth(X, tol: float = 1e-9):
    """Orthonormal basis (columns) of the row span of X (numpy SVD, independent check)."""
    X = np.asarray(X, dtype=np.float64)
    if X.size == 0:
        return np.zeros((X.shape[1], 0))
    _, s, Vt = np.linalg.svd(X, full_matrices=True)
    r = int(np.sum(s > tol * s[0])) if s.size and s[0] > 0 else 0
    return Vt[:r].T


def perp(B):
    """Orthonormal basis of the orthogonal complement of span(B), B orthonormal (d×r)."""
    B = np.asarray(B, dtype=np.float64)
    if B.shape[1] == 0:
        return np.eye(B.shape[0])
    _, _, Vt = np.linalg.svd(B.T, full_matrices=True)
    return Vt[B.shape[1] :].T


def rank(X, tol: float = 1e-9) -> int:
    return orth(X, tol).shape[1]
