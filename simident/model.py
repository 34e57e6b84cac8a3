"""`Model(F, G)`: a next-token predictor p(y|s) = softmax(f(s)·g(y)) given by its matrices.

F (n×d) holds the context embeddings f(s), G (V×d) the unembeddings g(y). Any real
float dtype up to float64 is accepted (integers are read as float64); the checks that
refuse bad input live here, once, for the Python API, `simident compare` and every file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simident.errors import SimidentError

# |logit| ≤ max|F| · max|G| · d must stay far below float64 overflow, also once squared.
LOGIT_LIMIT = 1e100


def check_arrays(F, G, source: str = "model") -> tuple[np.ndarray, np.ndarray]:
    """Validate F (n×d) and G (V×d); return them as float arrays or raise SimidentError."""
    out = []
    for name, X in (("F", F), ("G", G)):
        X = np.asarray(X)
        if X.ndim != 2:
            raise SimidentError(f"{source}: array {name} must be 2-D, got shape {X.shape}")
        if np.issubdtype(X.dtype, np.integer) or X.dtype == np.bool_:
            X = X.astype(np.float64)
        if not np.issubdtype(X.dtype, np.floating) or X.dtype.itemsize > 8:
            raise SimidentError(
                f"{source}: array {name} has dtype {X.dtype}; use float16, float32 or float64"
            )
        if X.size == 0:
            raise SimidentError(f"{source}: array {name} is empty (shape {X.shape})")
        if not np.all(np.isfinite(X)):
            bad = int(np.sum(~np.isfinite(X)))
            raise SimidentError(f"{source}: array {name} has {bad} non-finite value(s)")
        out.append(X)
    F, G = out
    if F.shape[1] != G.shape[1]:
        raise SimidentError(
            f"{source}: F has d={F.shape[1]} columns but G has d={G.shape[1]}; they must match"
        )
    bound = float(np.max(np.abs(F), initial=0.0)) * float(np.max(np.abs(G), initial=0.0))
    if bound * F.shape[1] > LOGIT_LIMIT:
        raise SimidentError(
            f"{source}: values too large (logits up to {bound * F.shape[1]:.3g} would overflow "
            f"the computation; rescale F and G)"
        )
    return F, G


@dataclass(frozen=True, eq=False)
class Model:
    """A model by its matrices: F (n×d) context embeddings, G (V×d) unembeddings.

    Validated on construction (2-D, same d, finite, real float dtype ≤ 64 bits, logits
    that cannot overflow). The arrays are kept as given (no copy to another dtype).
    """

    F: np.ndarray
    G: np.ndarray

    def __post_init__(self) -> None:
        F, G = check_arrays(self.F, self.G, "Model")
        object.__setattr__(self, "F", F)
        object.__setattr__(self, "G", G)

    @property
    def n(self) -> int:
        return int(self.F.shape[0])

    @property
    def V(self) -> int:
        return int(self.G.shape[0])

    @property
    def d(self) -> int:
        return int(self.F.shape[1])

    def restrict(self, contexts) -> Model:
        """The same model on a subset of contexts (rows of F, in the given order)."""
        return Model(self.F[np.asarray(contexts, dtype=np.int64)], self.G)

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Read an `.npz` with arrays F and G (the `simident compare` format)."""
        from simident.io import load_model

        return cls(*load_model(path))

    def save(self, path: str | Path) -> None:
        """Write the `.npz` read by `Model.load` and `simident compare`, atomically."""
        from simident.io import save_model

        save_model(path, self.F, self.G)
