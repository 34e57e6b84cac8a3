"""Thin command line: parse, validate, call the library. `simident --help` lists commands.

Every subcommand lives in `simident/cli/<name>.py` with `configure(parser)` and
`run(args) -> int`. User errors (SimidentError) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
import warnings

from simident.util.errors import SimidentError

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
    from simident.util.version import __version__

    parser.add_argument("--version", action="version", version=f"simident {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"simident.cli.{name}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(p)
        modules[name] = module
    return parser, modules


class _FullWrites(io.RawIOBase):
    """Standard output written in full: a short write (a file-size limit, a full disk)
    is continued until the system refuses, so the failure surfaces as an error instead
    of the rest of the output being dropped with exit 0."""

    def __init__(self, fd: int):
        self.fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def write(self, b) -> int:
        view = memoryview(b).cast("B")
        done = 0
        while done < len(view):
            done += os.write(self.fd, view[done:])
        return done


def _checked_stdout():
    """Route the process's standard output through `_FullWrites` (not when something else,
    e.g. a test's capture, has replaced it); returns the function that restores it."""
    original = sys.stdout
    if original is None or original is not sys.__stdout__:
        return lambda: None
    try:
        fd = original.fileno()
        original.flush()
    except (OSError, ValueError, AttributeError):
        return lambda: None
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_FullWrites(fd)),
        encoding=original.encoding,
        errors=original.errors,
        line_buffering=original.line_buffering,
    )

    def restore():
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        sys.stdout = original

    return restore


def main(argv: list[str] | None = None) -> int:
    restore = _checked_stdout()
    try:
        return _main(argv)
    finally:
        restore()


def _main(argv) -> int:
    name = "simident"
    try:
        parser, modules = _parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help, --version, a usage error (already on stderr)
            sys.stdout.flush()  # a failure to print the help is an error, not exit 0
            return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        if args.command is None:
            parser.print_help()
            sys.stdout.flush()
            return 2
        name = f"simident {args.command}"
        with warnings.catch_warnings():  # library warnings as one line each, on stderr
            warnings.showwarning = lambda message, *_, **__: print(
                f"{name}: warning: {message}", file=sys.stderr
            )
            code = int(modules[args.command].run(args) or 0)
        sys.stdout.flush()  # everything printed reached stdout before the exit code says so
        return code
    except SimidentError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Leave at once: a normal interpreter exit would tear JAX down while XLA's threads
        # may still run the interrupted program (that crashed with SIGSEGV, exit 139).
        # Files are written atomically, so nothing half-written is left behind.
        print(f"{name}: interrupted", file=sys.stderr)
        try:
            sys.stdout.flush()
        except OSError:
            pass
        sys.stderr.flush()
        os._exit(130)
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        _drop_stdout()
        return 1
    except OSError as e:  # stdout on a full disk or /dev/full; any file write names it
        _drop_stdout()
        if e.filename:
            where = f"cannot access {e.filename}"
        else:  # every file write names its file (io.replace_files): this is stdout
            where = "cannot write standard output"
        print(f"{name}: error: {where} ({e.strerror or e})", file=sys.stderr)
        return 2


def _drop_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's exit does not fail again on
    the unwritten rest of its buffer."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
