"""`Model(F, G)`: a next-token predictor p(y|s) = softmax(f(s)·g(y)) given by its matrices.

F (n×d) holds the context embeddings f(s), G (V×d) the unembeddings g(y). Any real
float dtype up to float64 is accepted (integers are read as float64); the checks that
refuse bad input live in `simident.arrays`, once, for the Python API, `simident compare`
and every file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simident.arrays import check_arrays
from simident.errors import SimidentError


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
        """The same model on a subset of contexts (rows of F, in the given order).
        `contexts`: a non-empty sequence of integer ids in [0, n) (no negative indexing);
        anything else raises SimidentError naming the argument."""
        ids = np.asarray(contexts)
        if ids.ndim != 1 or ids.size == 0:
            raise SimidentError(
                f"Model.restrict: contexts must be a non-empty 1-D sequence of ids "
                f"(got shape {ids.shape})"
            )
        if ids.dtype == np.bool_ or not np.issubdtype(ids.dtype, np.integer):
            raise SimidentError(
                f"Model.restrict: contexts must be integer ids in [0, {self.n}) "
                f"(got dtype {ids.dtype})"
            )
        bad = ids[(ids < 0) | (ids >= self.n)]
        if bad.size:
            raise SimidentError(
                f"Model.restrict: contexts must be ids in [0, {self.n}) (got {int(bad[0])})"
            )
        return Model(self.F[ids.astype(np.int64)], self.G)

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Read an `.npz` with arrays F and G (the `simident compare` format)."""
        from simident.io import load_model

        return cls(*load_model(path))

    def save(self, path: str | Path) -> None:
        """Write the `.npz` read by `Model.load` and `simident compare`, atomically."""
        from simident.io import save_model

        save_model(path, self.F, self.G)
