"""Saved runs: rebuild trained models from RUN_DIR and embed the contexts of any world.

    from simident.training import load_run, embed
    run = load_run("runs/tf_d8")                 # config, seeds, weights, model shape
    F, G = embed(run, world)                     # N×n×d, N×V×d (float32)
    H, _ = embed(run, world, layer=1)            # after block 1 (see Transformer.represent)

The table model has one free row per context of the world it was trained on, so it can
only embed that world; the transformer reads tokens, so it embeds any world with the same
vocabulary whose contexts are no longer than the longest it was built for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simident.training.config import TrainConfig
from simident.training.outputs import PARAM_PREFIX
from simident.util.errors import SimidentError


@dataclass(frozen=True)
class SavedRun:
    """A finished run read back: resolved config, record (run.json), per-seed weights."""

    run_dir: Path
    config: TrainConfig
    record: dict
    seeds: list[int]
    weights: list[dict]  # per seed: {"<path>": array} of the model's parameters
    shape: dict  # {"n", "V", "T"} the model was built for

    @property
    def world_id(self) -> str:
        return str(self.record.get("world_id"))


def load_run(run_dir) -> SavedRun:
    """Read RUN_DIR/run.json and the weights in its seed files (errors name the file)."""
    from simident.util.io import read_json

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SimidentError(f"{run_dir}: run directory not found")
    record = read_json(run_dir / "run.json", "run file")
    for key in ("config", "seeds", "model_shape"):
        if key not in record:
            raise SimidentError(
                f"{run_dir / 'run.json'}: missing field '{key}' (a run from an older "
                "simident, without saved weights?)"
            )
    config = TrainConfig.from_record(record["config"])
    shape = record["model_shape"]
    if not isinstance(shape, dict) or any(not isinstance(shape.get(k), int) for k in "nVT"):
        raise SimidentError(f"{run_dir / 'run.json'}: model_shape must hold integers n, V, T")
    if not isinstance(record["seeds"], list) or not record["seeds"]:
        raise SimidentError(f"{run_dir / 'run.json'}: field 'seeds' must be a non-empty list")
    seeds, weights = [], []
    for entry in record["seeds"]:
        if not isinstance(entry, dict) or not _is_seed(entry.get("seed")):
            raise SimidentError(
                f"{run_dir / 'run.json'}: field 'seeds' must list objects with an integer "
                f"'seed' in [0, 2^32) (got {entry!r:.80})"
            )
        seed = int(entry["seed"])
        if seed in seeds:
            raise SimidentError(f"{run_dir / 'run.json'}: field 'seeds' lists seed {seed} twice")
        path = run_dir / f"seed_{seed}.npz"
        seeds.append(seed)
        weights.append(_read_weights(path, record))
    return SavedRun(run_dir, config, record, seeds, weights, dict(shape))


def _is_seed(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**32


def _read_weights(path: Path, record: dict) -> dict:
    """The saved weights of one seed file, read in bounds, checked against the checksums
    in run.json (when it has them), with finite F, G and weights."""
    from simident.util.integrity import check_finite, read_npz, recorded, verify

    n, V, d = (record.get(k) for k in ("n_contexts", "vocab_size", "d"))
    dims = [x if isinstance(x, int) and not isinstance(x, bool) else None for x in (n, V, d)]
    arrays = read_npz(path, "seed file", expect={"F": (dims[0], dims[2]), "G": (dims[1], dims[2])})
    want = recorded(record, path.name, path.parent / "run.json")
    if want is not None:
        verify(arrays, want, path)
    out = {k[len(PARAM_PREFIX) :]: v for k, v in arrays.items() if k.startswith(PARAM_PREFIX)}
    if not out:
        raise SimidentError(f"{path}: holds no saved weights (arrays '{PARAM_PREFIX}...')")
    check_finite(path, arrays, ["F", "G", *(PARAM_PREFIX + k for k in out)])
    return out


def _static(run: SavedRun, n: int):
    from simident.training.steps import make_static

    s = run.shape
    return make_static(run.config, n, s["V"], s["T"], s["n"])


def _state(run: SavedRun, static, flat: dict, where: str):
    """The weights of one seed as the model's nnx.State (shapes checked)."""
    import jax
    from flax import nnx

    state = _abstract_state(static)
    pure = nnx.to_pure_dict(state)
    paths = nnx.traversals.flatten_mapping(pure)
    filled = {}
    for path, leaf in paths.items():
        key = "/".join(map(str, path))
        if key not in flat:
            raise SimidentError(f"{where}: weight '{key}' missing")
        if tuple(flat[key].shape) != tuple(leaf.shape):
            raise SimidentError(
                f"{where}: weight '{key}' has shape {flat[key].shape}, expected {leaf.shape}"
            )
        filled[path] = jax.numpy.asarray(flat[key], dtype=leaf.dtype)
    nnx.replace_by_pure_dict(state, nnx.traversals.unflatten_mapping(filled))
    return state


def _abstract_state(static):
    import jax

    from simident.training.steps import init_params

    return jax.eval_shape(lambda: init_params(static, jax.random.key(0), 1.0))


def check_layer(run: SavedRun, layer: int | None) -> None:
    """`layer` must be None or 0..depth for a transformer; the table has no layers."""
    if layer is None:
        return
    if run.config.model != "transformer":
        raise SimidentError(f"--layer {layer}: the {run.config.model} model has no layers")
    depth = run.config.depth
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= depth:
        raise SimidentError(
            f"--layer {layer}: must lie in 0..{depth} (the model has {depth} blocks)"
        )


def check_world(run: SavedRun, world) -> None:
    """Refuse a world the run's model cannot embed (names the mismatch)."""
    s = run.shape
    if world.V != s["V"]:
        raise SimidentError(
            f"world {world.world_id} has vocabulary {world.V}, the run's model {s['V']}"
        )
    if run.config.model == "table" and world.world_id != run.world_id:
        raise SimidentError(
            f"the table model has one free row per context of its own world ({run.world_id}) "
            f"and cannot embed the contexts of world {world.world_id}; train a transformer"
        )
    T = max((len(c) for c in world.contexts), default=0)
    if T > s["T"]:
        raise SimidentError(
            f"world {world.world_id} has contexts of {T} tokens; the run's transformer was "
            f"built for at most {s['T']}"
        )


def embed(run: SavedRun, world, layer: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(F, G) of every seed of `run` over the contexts of `world`: F (N×n×d, or N×n×width
    for an intermediate `layer`), G (N×V×d), float32, in world order. The same compiled
    embedding as training (so the run's own world reproduces its seed files)."""
    import jax
    import jax.numpy as jnp

    from simident.training.loop import eval_chunk
    from simident.training.steps import embed_contexts

    check_world(run, world)
    check_layer(run, layer)
    static = _static(run, world.n)
    states = [
        _state(run, static, w, str(run.run_dir / f"seed_{s}.npz"))
        for s, w in zip(run.seeds, run.weights)
    ]
    params = jax.tree.map(lambda *xs: jnp.stack(xs), *states)
    tokens, lengths = world.tokens()
    pad = run.shape["T"] - tokens.shape[1]
    tokens = np.pad(tokens, ((0, 0), (pad, 0)), constant_values=world.V)
    F, G = embed_contexts(
        static, params, jnp.asarray(tokens), jnp.asarray(lengths), eval_chunk(static), None, layer
    )
    return np.asarray(F), np.asarray(G)
