"""The ``jnnbasics`` command line: ``train``, ``evaluate``, ``predict``, ``tune`` and ``bench``.

One module per command (each registers its own arguments and has a short ``run``), assembled into
one parser here; command bodies call library functions (``train_model``, ``jnnbasics.runs``) and
never re-implement them. Every failure is printed as one line ``jnnbasics: error: ...``, never a traceback;
the exit statuses are those of :mod:`jnnbasics.cli.common` (2: the input is wrong, 1: training
diverged or an internal error, 130: Ctrl-C). matplotlib is imported only inside the functions that
draw.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..runs import RUN_FILES
from . import bench, evaluate, launch, predict, train, tune
from .common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, PROG, CLIError, Parser, error, guard
from .rundata import load_run_data

COMMANDS = (train, evaluate, predict, tune, bench, launch)

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "PROG",
    "RUN_FILES",
    "CLIError",
    "build_parser",
    "load_run_data",
    "main",
]


def build_parser() -> Parser:
    """The argument parser of the ``jnnbasics`` command (every subcommand has ``--help``)."""
    from .. import __version__

    parser = Parser(
        prog=PROG,
        description="Neural-network basics in JAX: train, evaluate and use small MLPs from the command line.",
        epilog="Start with 'jnnbasics train' (two-moons data, under a minute on a laptop); "
        "'jnnbasics COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jnnbasics`` command line.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 2 when the input is wrong (one line on stderr, no
        traceback), 1 when training diverged (the run folder keeps the good epochs) or on an
        internal error, 130 when interrupted with Ctrl-C.

    Example:
        >>> main(["train", "--epochs", "5", "--quiet", "--out", "runs/demo"])  # doctest: +SKIP
        0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":  # everything after "bench" belongs to the benchmark
        return guard(lambda: bench.run_bench(argv[1:]))
    try:
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            where = f"{PROG} {args.command}" if args.command else PROG
            raise CLIError(f"unrecognized arguments: {' '.join(unknown)} (see '{where} --help')")
    except CLIError as e:
        return error(str(e))
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
    if args.command is None:
        names = ", ".join(c.__name__.rsplit(".", 1)[-1] for c in COMMANDS)
        return error(f"a command is required, one of: {names} (see '{PROG} --help')")
    return guard(lambda: args.func(args))
