"""What every command shares: the program name, exit codes, one-line errors, argument types.

Exit statuses (also in ``docs/errors.md``):

* 0 — done;
* 1 (``EXIT_FAILURE``) — the command ran but failed: training diverged (the run folder keeps the
  good epochs), or an unexpected internal error;
* 2 (``EXIT_USAGE``) — the input is wrong (an option, a file, the data), or a file cannot be
  written; nothing the user had is changed;
* 130 (``EXIT_INTERRUPTED``) — Ctrl-C (a training run keeps its last finished epoch).

Every failure is printed as one line ``jnnbasics: error: ...`` (argparse's usage errors included:
the line plus a ``--help`` hint), never a traceback (set ``JNNBASICS_TRACEBACK=1`` to see where an
error came from); every warning as one line ``jnnbasics: warning: ...``.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PROG = "jnnbasics"
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
TRACEBACK_ENV = "JNNBASICS_TRACEBACK"


class CLIError(Exception):
    """A user error: printed as ``jnnbasics: error: <message>`` with exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (raised as :class:`CLIError`)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise CLIError(f"{message} (see '{self.prog} --help')")


def one_line(message: str) -> str:
    """``message`` with all whitespace runs (newlines included) as single spaces."""
    return " ".join(str(message).split())


def error(message: str, status: int = EXIT_USAGE) -> int:
    """Print the one-line error and return ``status`` (default: the usage exit status)."""
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)
    return status


def os_error_text(e: OSError) -> str:
    """``"<file>: <reason>"`` for an ``OSError`` (``str(e)`` when it names no file)."""
    if e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror.lower()}"
    return str(e)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one line ``jnnbasics: warning: ...`` (no source line)."""
    print(f"{PROG}: warning: {one_line(str(message))}", file=sys.stderr)


def guard(run: Callable[[], int]) -> int:
    """Run a command body: one-line errors (exit 2, or 1 for failures), warnings as one line, Ctrl-C 130."""
    with warnings.catch_warnings():  # the filters as they are (a library's DeprecationWarning stays quiet)
        warnings.showwarning = _show_warning
        return _guarded(run)


def _guarded(run: Callable[[], int]) -> int:
    from .._lockfile import LockedError

    try:
        return int(run() or 0)
    except CLIError as e:
        return error(str(e))
    except BrokenPipeError:  # e.g. `jnnbasics predict ... | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        if os.environ.get(TRACEBACK_ENV):  # for developers: show where the error came from
            raise
        if isinstance(e, OSError):
            return error(os_error_text(e))
        if isinstance(e, (ValueError, TypeError, LockedError)):
            return error(str(e))
        return error(
            f"internal error ({type(e).__name__}: {e}); set {TRACEBACK_ENV}=1 to see where, and please "
            "report it",
            EXIT_FAILURE,
        )


def default_out(stem: str) -> Path:
    """``runs/<stem>-<date>-<time>`` (with a suffix if it exists)."""
    now = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{stem}-{now}"
    out, i = base, 2
    while out.exists():
        out, i = Path(f"{base}-{i}"), i + 1
    return out


def make_folder(out: Path, flag: str) -> None:
    """Create the folder ``out`` (and its parents); a :class:`CLIError` naming ``flag`` if it cannot be."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CLIError(
            f"cannot create the {flag} folder {out} ({os_error_text(e)}); choose another {flag}"
        ) from None


def prepare_out(out: Path, *, force: bool, ours: Sequence[str], flag: str, resumable: bool = False) -> None:
    """Create ``out``; refuse an existing non-empty folder unless ``force`` (then remove only our files)."""
    if out.exists() and not out.is_dir():
        raise CLIError(f"{out} exists and is not a folder; choose another {flag}")
    if out.is_dir() and any(p.name != ".lock" for p in out.iterdir()):
        if not force:
            hint = "use --resume to continue the run, " if resumable else ""
            raise CLIError(
                f"{flag} folder {out} exists and is not empty; {hint}--force to overwrite its "
                f"{'run' if resumable else 'result'} files, or choose another {flag}"
            )
        for name in ours:
            f = out / name
            if f.is_file():
                f.unlink()
    out.mkdir(parents=True, exist_ok=True)


# ----------------------------------------------------------------------------------------------
# Argument types (errors become one-line usage errors, exit status 2)
# ----------------------------------------------------------------------------------------------
def number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def positive_float(text: str) -> float:
    """A number > 0 (e.g. a learning rate)."""
    v = number(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def nonnegative_float(text: str) -> float:
    """A number >= 0 (e.g. a penalty weight)."""
    v = number(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return v


def rate(text: str) -> float:
    """A dropout probability in [0, 1)."""
    v = number(text)
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"must be a drop probability in [0, 1), got {text}")
    return v


def fraction(text: str) -> float:
    """A fraction in (0, 1) (the validation share)."""
    v = number(text)
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1), got {text}")
    return v


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return v


def seed_int(text: str) -> int:
    """An integer >= 0."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return v


def layer_list(text: str) -> list[int]:
    """Hidden layer sizes ``"64,32"`` -> ``[64, 32]``; ``"none"``: no hidden layer (a linear model).

    An empty value is refused (an unset shell variable, not a way to ask for a linear model).
    """
    t = text.strip()
    if t.lower() == "none":
        return []
    if not t:
        raise argparse.ArgumentTypeError(
            "expected comma-separated layer sizes like 64,32, or none for a linear model (no hidden "
            "layer), got an empty value"
        )
    sizes = []
    for part in t.split(","):
        try:
            v = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated layer sizes like 64,32, got {text!r}"
            ) from None
        if v < 1:
            raise argparse.ArgumentTypeError(f"layer sizes must be positive integers, got {text!r}")
        sizes.append(v)
    return sizes


def grid_of(item: Callable[[str], Any], sep: str = ",") -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        parts = [p for p in text.split(sep)] if text.strip() else []
        if not parts:
            raise argparse.ArgumentTypeError("expected at least one value")
        return [item(p.strip()) for p in parts]

    return parse


def activations() -> tuple[str, ...]:
    """The hidden activations a command accepts."""
    from ..activations import ACTIVATIONS

    return tuple(ACTIVATIONS)


def flags_given(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """The flags among ``names`` that the user gave (not None)."""
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """``RUN_DIR`` and ``--params best|last``: the arguments of every command that reads a run folder."""
    from ..runs import PARAMS_CHOICES

    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by 'jnnbasics train'")
    p.add_argument(
        "--params",
        choices=PARAMS_CHOICES,
        default="best",
        help="the best validation epoch's parameters (default) or the last epoch's",
    )
