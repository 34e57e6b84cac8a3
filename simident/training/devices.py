"""Lanes over devices: a 1-D `jax.sharding.Mesh` whose one axis splits the lane axis.

Every lane (seed × grid point) is independent, so the lane axis is cut into equal blocks,
one per device, and each device runs the one-device program on its block (`jax.shard_map`
over the mesh axis "lanes"; no pmap, no communication). When the number of lanes P is not
a multiple of the devices used, the lane axis is padded with copies of lane 0 (their
results are dropped). With fewer lanes than devices only P devices are used.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from simident.util.errors import SimidentError

AXIS = "lanes"
LANE = P(AXIS)
SHARED = P()


class LaneLayout(NamedTuple):
    """How P lanes sit on the devices: `mesh` (None on one device), lanes after padding."""

    mesh: Mesh | None
    devices_used: int
    lanes: int  # real lanes
    padded: int  # lanes after padding (a multiple of devices_used)


def lane_layout(n_lanes: int, devices=None) -> LaneLayout:
    """Spread n_lanes over `devices` (default: every local device)."""
    devices = list(jax.local_devices() if devices is None else devices)
    used = max(1, min(len(devices), n_lanes))
    padded = -(-n_lanes // used) * used
    mesh = Mesh(np.asarray(devices[:used]), (AXIS,)) if used > 1 else None
    return LaneLayout(mesh, used, n_lanes, padded)


def pad_lanes(tree, layout: LaneLayout):
    """Pad every lane-leading array with copies of lane 0 up to layout.padded lanes."""
    extra = layout.padded - layout.lanes
    if extra == 0:
        return tree

    def pad(x):
        return jax.numpy.concatenate([x, jax.numpy.repeat(x[:1], extra, axis=0)])

    return jax.tree.map(pad, tree)


def place(tree, layout: LaneLayout, lane_leading: bool):
    """Put arrays on the mesh: split along the lane axis, or replicated (shared data)."""
    if layout.mesh is None:
        return tree
    sharding = NamedSharding(layout.mesh, LANE if lane_leading else SHARED)
    return jax.device_put(tree, sharding)


def over_lanes(fn, mesh: Mesh | None, lane_args: int, shared_args: int):
    """fn(*lane_args, *shared_args) run on each device's block of lanes (identity on one
    device). Every output must be lane-leading."""
    if mesh is None:
        return fn
    in_specs = (LANE,) * lane_args + (SHARED,) * shared_args
    return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=LANE, check_vma=False)


def device_record(layout: LaneLayout) -> dict:
    """What run.json records about the devices."""
    devices = jax.local_devices()
    return {
        "device_count": jax.device_count(),
        "local_device_count": len(devices),
        "device_kind": devices[0].device_kind if devices else "none",
        "platform": devices[0].platform if devices else "none",
        "process_count": jax.process_count(),
        "devices_used": layout.devices_used,
        "lanes": layout.lanes,
        "padded_lanes": layout.padded,
    }


CACHE_BYTES = 8 * 2**20  # activation budget of one lane group on a CPU


def lane_group(static, P: int, requested: int = 0) -> int:
    """How many lanes to vmap together (0: all P at once).

    A requested size must divide P. Auto: all lanes on an accelerator; on a CPU the
    largest divisor of P whose activations (the biggest per-lane intermediate, B×T×r·W
    floats for the transformer, B×V for the table) fit in CACHE_BYTES. Grouping changes
    speed only: lanes agree with any grouping up to float rounding.
    """
    if requested:
        if P % requested:
            raise SimidentError(f"lane_group {requested} must divide the number of lanes {P}")
        return 0 if requested >= P else requested
    if jax.default_backend() != "cpu":
        return 0
    B = static.batch_size or static.n_seq or static.m
    per_lane = (
        B
        * (
            static.T * static.width * static.mlp_ratio
            if static.model == "transformer"
            else static.V
        )
        * 4
    )
    fit = max(1, CACHE_BYTES // max(per_lane, 1))
    group = max(g for g in range(1, P + 1) if P % g == 0 and g <= fit)
    return 0 if group >= P else group


def eval_chunk(static) -> int:
    per_context = max(1, static.T * max(static.width * static.mlp_ratio, static.d))
    return int(max(1, min(static.n, 2**21 // per_context)))
