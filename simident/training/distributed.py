"""One program across processes: `jax.distributed` for `simident train` and `sweep`.

Every process runs the same command; `jax.distributed.initialize` joins them into one
JAX program whose devices (`jax.devices()`) span all processes. The lanes are then split
over that global mesh (devices.py) exactly as over local devices: each device trains its
block of lanes, with no communication during training. Every process builds the same
inputs (seeds, world, data: all deterministic), puts its own blocks on its own devices
(`global_put`), and gathers the outputs back (`to_host`: every process ends with every
lane). Decisions that read the disk (finished sweep cells, cached trainings, an existing
run folder) are taken by process 0 and broadcast (`leader_decides`), so that all
processes always run the same sequence of compiled programs; only process 0 writes files.

How a process learns that it is one of several (`setup`): the options
`--coordinator HOST:PORT --num-processes N --process-id I`, or `--coordinator auto`
(the scheduler's environment, e.g. SLURM's or Open MPI's, as `jax.distributed` detects
it). Without `--coordinator` a run is one process, as before.
"""

from __future__ import annotations

import numpy as np

from simident.util.errors import SimidentError

INIT_TIMEOUT_S = 300  # how long a process waits for the others to join


class LeaderLoaded(Exception):
    """Raised on a process other than 0 when process 0 took a cell's training from its
    store: nothing for this process to run (it writes nothing)."""


def add_options(parser) -> None:
    """The launch options of a multi-process run (train and sweep)."""
    parser.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        default=None,
        help="run as one of several processes (one program, lanes split over every "
        "process's devices): the address of process 0, or 'auto' to take it and the "
        "process count and index from the scheduler (SLURM, Open MPI); see docs/train.md",
    )
    parser.add_argument(
        "--num-processes",
        type=int,
        default=None,
        metavar="N",
        help="with --coordinator HOST:PORT: how many processes run the program",
    )
    parser.add_argument(
        "--process-id",
        type=int,
        default=None,
        metavar="I",
        help="with --coordinator HOST:PORT: this process's index, 0..N-1 (0 writes the files)",
    )


def setup(args) -> None:
    """Join the processes named by args' --coordinator options (nothing without them)."""
    coordinator = getattr(args, "coordinator", None)
    n, i = getattr(args, "num_processes", None), getattr(args, "process_id", None)
    if coordinator is None:
        if n is not None or i is not None:
            raise SimidentError("--num-processes and --process-id need --coordinator HOST:PORT")
        return
    if coordinator == "auto":
        if n is not None or i is not None:
            raise SimidentError(
                "--coordinator auto takes the process count and index from the scheduler; "
                "drop --num-processes and --process-id (or give --coordinator HOST:PORT)"
            )
        initialize(None, None, None)
        return
    host, _, port = coordinator.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SimidentError(f"--coordinator {coordinator}: expected HOST:PORT (or 'auto')")
    if n is None or i is None:
        raise SimidentError("--coordinator HOST:PORT needs --num-processes N and --process-id I")
    if n < 1:
        raise SimidentError(f"--num-processes {n}: must be ≥ 1")
    if not 0 <= i < n:
        raise SimidentError(f"--process-id {i}: must be in 0..{n - 1} (--num-processes {n})")
    initialize(coordinator, n, i)


def initialize(coordinator: str | None, num_processes: int | None, process_id: int | None):
    """`jax.distributed.initialize`, with its failures as one-line SimidentErrors."""
    import jax

    if jax.distributed.is_initialized():
        return
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator,
            num_processes=num_processes,
            process_id=process_id,
            initialization_timeout=INIT_TIMEOUT_S,
        )
    except (ValueError, RuntimeError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        where = "from the scheduler's environment" if coordinator is None else coordinator
        raise SimidentError(f"--coordinator {where}: cannot join the processes ({first})") from None


def process_count() -> int:
    import jax

    return jax.process_count()


def is_leader() -> bool:
    """Whether this process writes the files (process 0; always true in one process)."""
    import jax

    return jax.process_index() == 0


def leader_decides(value: bool) -> bool:
    """Process 0's `value`, on every process (the value itself in one process)."""
    if process_count() == 1:
        return bool(value)
    from jax.experimental import multihost_utils

    got = multihost_utils.broadcast_one_to_all(np.asarray(bool(value), dtype=np.int32))
    return bool(np.asarray(got))


def leader_mask(members: set[int], n: int) -> set[int]:
    """Process 0's subset `members` of range(n), on every process."""
    if process_count() == 1:
        return set(members)
    from jax.experimental import multihost_utils

    mask = np.zeros(n, dtype=np.int32)
    mask[sorted(members)] = 1
    got = np.asarray(multihost_utils.broadcast_one_to_all(mask))
    return {int(i) for i in np.flatnonzero(got)}


def leader_checks(check, *args, **kwargs):
    """Run `check` on process 0 only (e.g. one that reads the output folder) and make every
    process stop when it refuses: process 0 raises its own error, the others a line
    pointing at it."""
    if process_count() == 1:
        return check(*args, **kwargs)
    error = None
    if is_leader():
        try:
            check(*args, **kwargs)
        except SimidentError as e:
            error = e
    if not leader_decides(error is None):
        if error is not None:
            raise error
        raise SimidentError("process 0 refused the run (its error names the cause)")
    return None


def global_put(tree, sharding):
    """Put every array of `tree` (the same value on every process) on `sharding`, each
    process filling only its own devices' blocks. Typed PRNG keys travel as key data."""
    import jax

    if sharding.is_fully_addressable:
        return jax.device_put(tree, sharding)

    def put(x):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            impl = jax.random.key_impl(x)
            return jax.random.wrap_key_data(put(jax.random.key_data(x)), impl=impl)
        if isinstance(x, jax.Array) and x.sharding == sharding:
            return x
        host = to_host(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(put, tree)


def wait_ready(tree) -> None:
    """Wait until every array of `tree` is computed, interruptibly: a helper thread blocks
    on the device while this thread waits on an Event, which a Ctrl-C interrupts at once
    (a blocking device-to-host copy held the signal until the chunk ended, minutes at
    10⁶ steps a chunk). A device error surfaces in the copy that follows."""
    import threading

    import jax

    leaves = [x for x in jax.tree.leaves(tree) if isinstance(x, jax.Array)]
    if all(x.is_ready() for x in leaves):
        return
    done = threading.Event()

    def block():
        try:
            jax.block_until_ready(leaves)
        except Exception:  # noqa: BLE001  (re-raised by the copy in the calling thread)
            pass
        finally:
            done.set()

    threading.Thread(target=block, daemon=True).start()
    done.wait()


def to_host(tree):
    """Every array of `tree` as numpy, whole: gathered from every process when its blocks
    live on several (all processes must call this together). Waits interruptibly first
    (`wait_ready`)."""
    import jax

    wait_ready(tree)

    def get(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)

    return jax.tree.map(get, tree)
