"""`simident sweep SWEEP.toml --out DIR [--list] [--cell I]`: a resumable grid over world
diversity × learner × seeds. Each cell trains its seeds in one vmapped program, compares
every seed pair and appends one row per pair to DIR/results.csv. Rerunning skips finished
cells (resume is the default); `--list` prints the cells, `--cell I` runs one.
"""

from __future__ import annotations

from simident.training import distributed
from simident.util.errors import SimidentError


def configure(p) -> None:
    from simident.cli.jobs import add_option as add_jobs_option

    p.add_argument(
        "spec",
        metavar="SWEEP.toml",
        help="sweep spec (see docs/sweep.md); 'example' runs the shipped example",
    )
    p.add_argument("--out", metavar="DIR", help="sweep folder (created; reruns resume it)")
    p.add_argument("--list", action="store_true", help="print the cells (with status if --out)")
    p.add_argument("--cell", type=int, default=None, metavar="I", help="run only cell I")
    p.add_argument(
        "--resume",
        action="store_true",
        default=True,
        help="skip finished cells (always on; kept for explicitness)",
    )
    add_jobs_option(p, "cells run at once")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print each cell's estimated memory and FLOPs and stop",
    )
    distributed.add_options(p)


def spec_path(arg: str):
    """A path, or the name of a shipped sweep spec (simident/data/sweeps/NAME.toml)."""
    from importlib import resources
    from pathlib import Path

    p = Path(arg)
    if p.exists() or p.suffix == ".toml" or "/" in arg:
        return p
    shipped = resources.files("simident").joinpath("data", "sweeps", f"{arg}.toml")
    if shipped.is_file():
        return Path(str(shipped))
    return p


def run(args) -> int:
    from pathlib import Path

    from simident.sweeps.grid import cells, format_cells
    from simident.sweeps.spec import SweepSpec
    from simident.sweeps.store import SweepStore
    from simident.util.env import enable_x64

    distributed.setup(args)  # before any JAX computation
    enable_x64()
    path = spec_path(args.spec)
    spec = SweepSpec.from_toml(path)
    if args.cell is not None and args.cell < 0:
        raise SimidentError(f"--cell {args.cell}: must be ≥ 0")
    if args.list:
        cell_list = cells(spec)
        done = None
        if args.out and (Path(args.out) / "sweep.json").is_file():
            store = SweepStore(args.out)
            store.init(spec, cell_list)  # refuses a different spec
            done = store.done(cell_list)
        print(f"sweep {spec.name}: {len(cell_list)} cells × {spec.seeds} seeds")
        print(format_cells(cell_list, done))
        return 0
    if args.dry_run:
        from simident.sweeps.cost import cell_cost
        from simident.util.memory import gib, total_memory_bytes

        cell_list = cells(spec)
        if args.cell is not None and args.cell >= len(cell_list):
            raise SimidentError(
                f"--cell {args.cell}: out of range, the sweep has cells 0..{len(cell_list) - 1}"
            )
        print(f"sweep {spec.name}: machine memory {gib(total_memory_bytes())}")
        for c in cell_list if args.cell is None else cell_list[args.cell : args.cell + 1]:
            cost = cell_cost(c)
            print(f"  cell {c.index} ({c.label()}): memory ≈ {gib(cost.memory_bytes)}; {cost.line}")
        return 0
    if not args.out:
        raise SimidentError("--out DIR is required to run a sweep (or pass --list)")
    from simident.sweeps.run import run_sweep

    quiet = args.quiet or not distributed.is_leader()  # process 0 reports
    log = None if quiet else _log
    summary = run_sweep(
        spec,
        args.out,
        only=args.cell,
        spec_text=Path(path).read_text(),
        progress=not quiet,
        log=log,
        jobs=args.jobs,
    )
    if not quiet:
        print(
            f"sweep {spec.name}: ran {len(summary.ran)} cell(s), skipped "
            f"{len(summary.skipped)} finished, {summary.n_cells} in all; table "
            f"{summary.table} ({summary.seconds:.1f}s)"
        )
    return 0


def _log(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)
