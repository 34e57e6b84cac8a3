"""Lanes sharded over 4 forced CPU devices give the same seed files as one device."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from simident.training import TrainConfig, train_world

pytestmark = pytest.mark.slow  # trains models for real

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from simident.training import TrainConfig, train_world
    from simident.worlds import toy_world
    cfg = TrainConfig(**json.loads(sys.argv[1]))
    world = toy_world(n=24, V=8, d=3, T=3, seed=0, n_samples=32)
    r = train_world(world, cfg, progress=False)
    np.savez(sys.argv[2], F=r.F, G=r.G, best=r.best_step)
    print(json.dumps(r.devices))
    """
)

CONFIGS = {
    "table": dict(model="table", d=3, seeds=5, steps=100, lr=0.1),
    "transformer": dict(
        model="transformer", d=3, seeds=2, steps=40, lr=1e-2, width=8, depth=1, heads=2
    ),  # fmt: skip
}


@pytest.mark.parametrize("model", ["table", "transformer"])
def test_four_devices_equal_one(model, tmp_path):
    from simident.worlds import toy_world

    over = dict(loss="samples", val_fraction=0.25, early_stop=True, chunk_steps=20)
    cfg = {**CONFIGS[model], **over}
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    out = tmp_path / "four.npz"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(cfg), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    devices = json.loads(proc.stdout.strip().splitlines()[-1])
    P = cfg["seeds"]
    assert devices["device_count"] == 4 and devices["devices_used"] == min(4, P)
    assert devices["padded_lanes"] == -(-P // min(4, P)) * min(4, P)  # 5 lanes -> 8
    world = toy_world(n=24, V=8, d=3, T=3, seed=0, n_samples=32)
    one = train_world(world, TrainConfig(**cfg), progress=False)
    four = np.load(out)
    for name in ("F", "G"):
        ref = getattr(one, name)
        np.testing.assert_allclose(four[name], ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    np.testing.assert_array_equal(four["best"], one.best_step)
