"""``jnnbasics bench``: every argument after ``bench`` goes to ``jnnbasics.bench.main``."""

from __future__ import annotations

import argparse
import importlib
from typing import NoReturn

from .common import EXIT_USAGE, PROG, CLIError


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``bench`` (its own options are the benchmark's)."""
    b = sub.add_parser(
        "bench",
        help="framework benchmark (PyTorch vs jnnbasics vs Flax); 'jnnbasics bench --help' for its options",
        add_help=False,
        description="Run the benchmark of jnnbasics.bench; every argument is passed on to it.",
    )
    b.add_argument("bench_args", nargs=argparse.REMAINDER)
    b.set_defaults(func=lambda args: run_bench(list(args.bench_args)))


def run_bench(argv: list[str]) -> int:
    """Run the benchmark with ``argv``; its exit status (a usage error: one line, exit 2)."""
    try:
        bench = importlib.import_module("jnnbasics.bench")
    except ModuleNotFoundError as e:
        if e.name != "jnnbasics.bench":
            raise CLIError(f"the benchmark needs the package {e.name!r}, which is not installed") from None
        raise CLIError("the benchmark module jnnbasics.bench is not available in this installation") from None
    try:
        _check_arguments(bench, argv)
        return int(bench.main(argv) or 0)
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)


def _check_arguments(bench, argv: list[str]) -> None:
    """The benchmark's own argument checks, with its usage errors as one line (not argparse's block)."""
    parser = bench.build_parser()
    parser.error = _usage_error
    args = parser.parse_args(argv)
    try:
        bench.make_plan(args)
        bench.resolve_targets(args.targets)
    except (argparse.ArgumentTypeError, ValueError) as e:
        _usage_error(str(e))


def _usage_error(message: str) -> NoReturn:
    raise CLIError(f"{message} (see '{PROG} bench --help')")
