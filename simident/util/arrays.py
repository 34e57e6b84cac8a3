"""The checks that refuse bad model arrays, once, for the Python API (`Model`),
`simident compare` and every model file (`io.load_model`).
"""

from __future__ import annotations

import numpy as np

from simident.util.errors import SimidentError

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
