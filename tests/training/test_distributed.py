"""`simident train` and `simident sweep` as one program across 2 CPU processes
(`jax.distributed` on 127.0.0.1): the same seeds give the same numbers as one process.

Against one process with the same device layout (2 forced CPU devices: each device runs
the same block of lanes) the files are bitwise identical; against one process on one
device (all lanes vmapped together, a different batch shape) parameters agree to float
rounding, as for any grouping of lanes (test_devices.py, same tolerance). The sweep runs
twice: the second time its cell file is gone but its training is cached, so process 0
takes it from the cache while process 1 only follows (nothing written by process 1).
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from simident.cli import main

TIMEOUT_S = 240  # per process; a hang fails the test, never the suite

TRAIN = ["--model", "table", "--d", "3", "--steps", "40", "--lr", "0.1", "--seeds", "3"]
SPEC = (
    'name = "dist"\nseeds = 2\n[world]\nexample = "tiny"\n[learner]\nmodel = "table"\nsteps = 60\n'
)

# one process's work: train, sweep, and the sweep again without its cell file
DRIVER = textwrap.dedent(
    """
    import json, shutil, sys
    from pathlib import Path
    from simident.cli import main
    world, out, spec, train, dist = sys.argv[1:6]
    dist, train = json.loads(dist), json.loads(train)
    rc = [main(["train", world, *train, "--out", f"{out}/run", "--quiet", *dist])]
    rc.append(main(["sweep", spec, "--out", f"{out}/sweep", "--quiet", *dist]))
    import jax
    if jax.process_index() == 0:
        shutil.copy(f"{out}/sweep/results.csv", f"{out}/first.csv")
        shutil.rmtree(f"{out}/sweep/cells")
    rc.append(main(["sweep", spec, "--out", f"{out}/sweep", "--quiet", *dist]))
    print(json.dumps({"rc": rc, "processes": jax.process_count(), "devices": jax.device_count()}))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(n, world_dir, outs, spec, env):
    """Run the driver as n processes of one program (n = 1: a plain process); returns
    each one's final JSON line. Every process is killed if any fails or runs too long."""
    port = _free_port()
    procs = []
    for i, out in enumerate(outs):
        dist = []
        if n > 1:
            dist = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", str(n)]
            dist += ["--process-id", str(i)]
        argv = [str(world_dir), str(out), str(spec), json.dumps(TRAIN), json.dumps(dist)]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", DRIVER, *argv],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    try:
        for i, p in enumerate(procs):
            stdout, stderr = p.communicate(timeout=TIMEOUT_S)
            assert p.returncode == 0, f"process {i} exited {p.returncode}: {stderr[-3000:]}"
            results.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return results


def _env(devices: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COORDINATOR")}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    return env


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def test_two_processes_equal_one(tmp_path, world):
    world_dir = tmp_path / "world"
    world.save(world_dir)
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    two = [tmp_path / "p0", tmp_path / "p1"]
    got = _launch(2, world_dir, two, spec, _env(1))
    assert [g["rc"] for g in got] == [[0, 0, 0]] * 2
    assert all(g["processes"] == 2 and g["devices"] == 2 for g in got)
    (one,) = _launch(1, world_dir, [tmp_path / "one"], spec, _env(2))  # same layout
    assert one["rc"] == [0, 0, 0] and one["processes"] == 1 and one["devices"] == 2

    # only process 0 wrote anything
    assert not two[1].exists()
    run, ref = two[0] / "run", tmp_path / "one" / "run"
    record = json.loads((run / "run.json").read_text())
    assert record["devices"]["process_count"] == 2 and record["devices"]["padded_lanes"] == 4
    names = sorted(p.name for p in run.iterdir())
    assert (
        names
        == sorted(p.name for p in ref.iterdir())
        == [
            "run.json",
            "seed_0.npz",
            "seed_1.npz",
            "seed_2.npz",
        ]
    )
    from simident.training import TrainConfig, train_world

    solo = train_world(
        world, TrainConfig(model="table", d=3, steps=40, lr=0.1, seeds=3), progress=False
    )
    for s in range(3):
        a, b = _arrays(run / f"seed_{s}.npz"), _arrays(ref / f"seed_{s}.npz")
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"seed_{s}.npz {k}")
        for name in ("F", "G"):  # one device: all lanes in one vmap, float rounding apart
            want = getattr(solo, name)[s]
            np.testing.assert_allclose(a[name], want, rtol=0, atol=1e-5 * np.abs(want).max())

    # the sweep: same table as one process, and the same again from process 0's cache
    sweep = two[0] / "sweep"
    first = (two[0] / "first.csv").read_text()
    assert first == (tmp_path / "one" / "first.csv").read_text()
    assert (sweep / "results.csv").read_text() == first
    cell = json.loads((sweep / "cells" / "cell_00000.json").read_text())
    assert cell["record"]["reused_training"] is True
    assert len(list((sweep / "cache").glob("*.json"))) == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--coordinator", "127.0.0.1"], "expected HOST:PORT"),
        (["--coordinator", "127.0.0.1:1234"], "needs --num-processes N and --process-id I"),
        (["--num-processes", "2"], "need --coordinator"),
        (["--coordinator", "127.0.0.1:1234", "--num-processes", "2", "--process-id", "2"], "0..1"),
        (["--coordinator", "auto", "--process-id", "0"], "drop --num-processes"),
    ],
)
def test_bad_launch_options_exit_2(extra, message, tmp_path, capsys):
    args = ["train", str(tmp_path), "--model", "table", "--d", "3", "--out", str(tmp_path / "r")]
    assert main(args + extra) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
