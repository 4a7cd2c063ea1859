"""The ``jnnbasics`` command line: ``train``, ``evaluate``, ``predict``, ``tune`` and ``bench``.

One module per command (each registers its own arguments and has a short ``run``), assembled into
one parser here; command bodies call library functions (``train_model``, ``jnnbasics.runs``) and
never re-implement them. Every user error is printed as one line ``jnnbasics: error: ...`` with exit
status 2, never a traceback. matplotlib is imported only inside the functions that draw.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..runs import RUN_FILES
from . import bench, evaluate, predict, train, tune
from .common import EXIT_INTERRUPTED, EXIT_USAGE, PROG, CLIError, Parser, error, guard
from .rundata import load_run_data

COMMANDS = (train, evaluate, predict, tune, bench)

__all__ = [
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
        The exit status: 0 on success, 2 for a user error (one line on stderr, no traceback),
        130 when interrupted with Ctrl-C.

    Example:
        >>> main(["train", "--epochs", "5", "--quiet", "--out", "runs/demo"])  # doctest: +SKIP
        0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":  # everything after "bench" belongs to the benchmark
        return guard(lambda: bench.run_bench(argv[1:]))
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except CLIError as e:
        return error(str(e))
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return guard(lambda: args.func(args))
