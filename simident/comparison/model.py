"""`Model(F, G)`: a next-token predictor p(y|s) = softmax(f(s)·g(y)) given by its matrices.

F (n×d) holds the context embeddings f(s), G (V×d) the unembeddings g(y). Any real
float dtype up to float64 is accepted (integers are read as float64); the checks that
refuse bad input live in `simident.util.arrays`, once, for the Python API, `simident compare`
and every file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from simident.theory.noise import NoiseLevel
from simident.util.arrays import check_arrays
from simident.util.errors import SimidentError

DATA_KINDS = ("exact", "population", "independent", "shared")


@dataclass(frozen=True, eq=False)
class Model:
    """A model by its matrices: F (n×d) context embeddings, G (V×d) unembeddings.

    Validated on construction (2-D, same d, finite, real float dtype ≤ 64 bits, logits
    that cannot overflow). The arrays are kept as given (no copy to another dtype).

    Optional record of where the model came from (seed files of `simident train` carry
    it): `noise`, its sample-noise level ν̂ (THEORY.md §4, A6); `data`, what it was fitted
    to ("exact" for a world's truth, "population", "independent" draws of its own,
    "shared" samples); `data_id`, which data set (two models with the same data_id
    fitted the same samples, so their errors are not independent: A4 does not apply).
    """

    F: np.ndarray
    G: np.ndarray
    noise: NoiseLevel | None = None
    data: str | None = None
    data_id: str | None = None

    def __post_init__(self) -> None:
        F, G = check_arrays(self.F, self.G, "Model")
        object.__setattr__(self, "F", F)
        object.__setattr__(self, "G", G)
        if self.noise is not None and not isinstance(self.noise, NoiseLevel):
            raise SimidentError("Model: noise must be a simident.NoiseLevel or None")
        if self.data is not None and self.data not in DATA_KINDS:
            raise SimidentError(
                f"Model: data must be one of {', '.join(DATA_KINDS)} or None (got {self.data!r})"
            )

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
        """The same model on a subset of contexts (rows of F, in the given order). ν̂ is
        kept: the distance of a refit on a subset of rows is at most that on all rows.
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
        F = self.F[ids.astype(np.int64)]
        return Model(F, self.G, self.noise, self.data, self.data_id)

    def record_arrays(self) -> dict:
        """The `noise/*` and `meta/*` scalars of this model's file (empty when unknown)."""
        return record_arrays(self.noise, self.data, self.data_id)

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Read an `.npz` with arrays F and G (the `simident compare` format), and its
        ν̂ and data record when it carries them."""
        from simident.util.io import load_model, load_model_record

        F, G = load_model(path)
        return cls(F, G, **parse_record(load_model_record(path), str(path)))

    def save(self, path: str | Path) -> None:
        """Write the `.npz` read by `Model.load` and `simident compare`, atomically."""
        from simident.util.io import save_model

        save_model(path, self.F, self.G, **self.record_arrays())


def record_arrays(noise: NoiseLevel | None, data: str | None, data_id: str | None) -> dict:
    """A model file's record: ν̂ as `noise/<field>`, provenance as `meta/data[_id]`."""
    out = {}
    if noise is not None:
        out.update({f"noise/{f.name}": np.asarray(getattr(noise, f.name)) for f in fields(noise)})
    if data is not None:
        out["meta/data"] = np.asarray(data)
    if data_id is not None:
        out["meta/data_id"] = np.asarray(data_id)
    return out


def parse_record(rec: dict, where: str) -> dict:
    """Model keyword arguments from a file's record (`load_model_record`); errors name it."""
    out = {"data": rec.get("meta/data"), "data_id": rec.get("meta/data_id")}
    for key in ("data", "data_id"):
        if out[key] is not None and not isinstance(out[key], str):
            raise SimidentError(f"{where}: meta/{key} must be a string")
    if out["data"] is not None and out["data"] not in DATA_KINDS:
        raise SimidentError(f"{where}: meta/data must be one of {', '.join(DATA_KINDS)}")
    noise = {k[len("noise/") :]: v for k, v in rec.items() if k.startswith("noise/")}
    if noise:
        try:
            out["noise"] = NoiseLevel(**noise)
        except (TypeError, ValueError) as e:
            raise SimidentError(f"{where}: bad noise record ({e})") from None
    return out
