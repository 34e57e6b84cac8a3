"""`simident train` and `simident sweep` as one program across 2 CPU processes
(`jax.distributed` on 127.0.0.1): the same seeds give the same files as one process.

The reference is one process with the same device layout (2 forced CPU devices, so each
device runs the same block of lanes): the files are bitwise identical. (Against one
device, where all lanes share one vmap, parameters agree to float rounding, as for any
grouping of lanes: test_devices.py.) Process 0 alone writes: a second `train` into the
same folder is refused by process 0 and process 1 stops with it; the sweep runs twice,
the second time with its cell file gone but its training cached, so process 0 takes it
from the cache while process 1 only follows.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from simident.cli.main import main

TIMEOUT_S = 300  # per process; a hang fails the test, never the suite

TABLE = ["--model", "table", "--d", "3", "--steps", "40", "--lr", "0.1", "--seeds", "3"]
# finite data: early stopping (best steps gathered) and the bootstrap of ν̂ (its refits
# are lanes over the processes too)
SAMPLED = ["--loss", "samples", "--val-fraction", "0.25", "--early-stop", "--chunk-steps", "5"]
SAMPLED += ["--bootstrap", "2", "--bootstrap-steps", "20"]
SPEC = (
    'name = "dist"\nseeds = 2\n[world]\nexample = "tiny"\n[learner]\nmodel = "table"\nsteps = 60\n'
)

# one process's work: `steps`, each ["main", *argv] (its exit code is recorded) or
# ["drop_cells", sweep_dir] (process 0 keeps results.csv as first.csv and removes the
# cell files); "{out}" in an argument is this process's folder
DRIVER = textwrap.dedent(
    """
    import json, shutil, sys
    from simident.cli.main import main
    out, steps, dist = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    rc = []
    for kind, *argv in steps:
        argv = [a.replace("{out}", out) for a in argv]
        if kind == "main":
            rc.append(main([*argv, "--quiet", *dist]))
            continue
        import jax
        if jax.process_index() == 0:
            shutil.copy(f"{argv[0]}/results.csv", f"{out}/first.csv")
            shutil.rmtree(f"{argv[0]}/cells")
    import jax
    print(json.dumps({"rc": rc, "processes": jax.process_count(), "devices": jax.device_count()}))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(n, outs, steps, env):
    """Start the driver as n processes of one program (n = 1: a plain process)."""
    port = _free_port()
    procs = []
    for i, out in enumerate(outs):
        out.mkdir()
        dist = []
        if n > 1:
            dist = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", str(n)]
            dist += ["--process-id", str(i)]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", DRIVER, str(out), json.dumps(steps), json.dumps(dist)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs


def _collect(procs):
    """Each process's final JSON line and its stderr; every process is killed if any
    fails or runs past TIMEOUT_S."""
    results = []
    try:
        for i, p in enumerate(procs):
            stdout, stderr = p.communicate(timeout=TIMEOUT_S)
            assert p.returncode == 0, f"process {i} exited {p.returncode}: {stderr[-3000:]}"
            results.append((json.loads(stdout.strip().splitlines()[-1]), stderr))
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


def _run_both(tmp_path, steps):
    """(process 0's folder, process 1's, the one-process reference's), after checking
    that every step exited alike in both runs; also returns process 0's and 1's stderr."""
    two = [tmp_path / "p0", tmp_path / "p1"]
    procs = _start(2, two, steps, _env(1)) + _start(1, [tmp_path / "one"], steps, _env(2))
    (got0, err0), (got1, err1), (one, _) = _collect(procs)  # the three side by side
    assert got0["rc"] == got1["rc"] == one["rc"]
    assert got0["processes"] == got1["processes"] == 2 and got0["devices"] == 2
    assert one["processes"] == 1 and one["devices"] == 2
    assert not any((tmp_path / "p1").iterdir()), "process 1 wrote files"
    return two[0], tmp_path / "one", one["rc"], err0, err1


def _same_run(run, ref, seeds=3):
    """The seed files of two run folders are bitwise equal (run.json: timings differ)."""
    names = sorted(p.name for p in run.iterdir())
    assert names == sorted(p.name for p in ref.iterdir())
    assert names == ["run.json"] + [f"seed_{s}.npz" for s in range(seeds)]
    for s in range(seeds):
        with np.load(run / f"seed_{s}.npz") as a, np.load(ref / f"seed_{s}.npz") as b:
            assert a.files == b.files
            for k in a.files:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"seed_{s}.npz {k}")
    record = json.loads((run / "run.json").read_text())
    assert record["devices"]["process_count"] == 2 and record["devices"]["padded_lanes"] == 4
    return record, json.loads((ref / "run.json").read_text())


def test_two_processes_train_and_sweep_as_one(tmp_path, world):
    world.save(tmp_path / "world")
    (tmp_path / "s.toml").write_text(SPEC)
    w, spec = str(tmp_path / "world"), str(tmp_path / "s.toml")
    steps = [
        ["main", "train", w, *TABLE, "--out", "{out}/run"],
        ["main", "train", w, *TABLE, "--out", "{out}/run"],  # refused: the folder exists
        ["main", "sweep", spec, "--out", "{out}/sweep"],
        ["drop_cells", "{out}/sweep"],
        ["main", "sweep", spec, "--out", "{out}/sweep"],  # from process 0's cache
    ]
    p0, one, rc, err0, err1 = _run_both(tmp_path, steps)
    assert rc == [0, 2, 0, 0]
    assert "directory is not empty" in err0 and "process 0 refused the run" in err1
    _same_run(p0 / "run", one / "run")
    first = (p0 / "first.csv").read_text()
    assert first == (one / "first.csv").read_text()
    assert (p0 / "sweep" / "results.csv").read_text() == first
    cell = json.loads((p0 / "sweep" / "cells" / "cell_00000.json").read_text())
    assert cell["record"]["reused_training"] is True
    assert len(list((p0 / "sweep" / "cache").glob("*.json"))) == 1


@pytest.mark.slow
def test_two_processes_finite_data_early_stop_bootstrap(tmp_path):
    from simident.worlds import toy_world

    toy_world(n=24, V=8, d=3, T=3, seed=0, n_samples=32).save(tmp_path / "world")
    steps = [["main", "train", str(tmp_path / "world"), *TABLE, *SAMPLED, "--out", "{out}/r"]]
    p0, one, rc, _, _ = _run_both(tmp_path, steps)
    assert rc == [0]
    record, ref = _same_run(p0 / "r", one / "r")
    with np.load(p0 / "r" / "seed_0.npz") as z:
        assert any(k.startswith("noise/") for k in z.files)  # ν̂ compared above
    assert [s["best_step"] for s in record["seeds"]] == [s["best_step"] for s in ref["seeds"]]


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
