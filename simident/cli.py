"""Thin command line: parse, validate, call the library. `simident --help` lists commands.

Every subcommand lives in `simident/commands/<name>.py` with `configure(parser)` and
`run(args) -> int`. User errors (SimidentError) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from simident.errors import SimidentError

COMMANDS = {
    "compare": "test whether two models are equivalent and which linear properties they share",
    "world": "generate a synthetic world (ground truth with controlled diversity)",
    "train": "train next-token predictors from scratch on a world, many seeds at once",
    "embed": "recompute a trained run's F and G (or a layer) on any world from saved weights",
    "reproduce": "run every claim of THEORY.md end to end and write a report",
    "sweep": "run a resumable grid over diversity and learner settings",
    "plot": "draw heatmaps of a finished sweep",
    "calibrate": "measure how often compare's decided verdicts are right, and choose its bands",
}


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="simident",
        description="Identifiability of next-token predictors, by simulation.",
    )
    from simident import __version__

    parser.add_argument("--version", action="version", version=f"simident {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"simident.commands.{name}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(p)
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        code = int(modules[args.command].run(args) or 0)
        sys.stdout.flush()
        return code
    except SimidentError as e:
        print(f"simident {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Leave at once: a normal interpreter exit would tear JAX down while XLA's threads
        # may still run the interrupted program (that crashed with SIGSEGV, exit 139).
        # Files are written atomically, so nothing half-written is left behind.
        print(f"simident {args.command}: interrupted", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:  # full disk, unwritable output, stdout on /dev/full
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        where = e.filename or "standard output"
        print(
            f"simident {args.command}: error: cannot write {where} ({e.strerror or e})",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
