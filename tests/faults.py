"""The fault catalogue's record: one bad input or fault, what the user did and what they get.

Both catalogue files (``tests/test_faults_api.py`` for the Python API, ``tests/test_faults_cli.py``
for the command line) hold a module-level list ``CASES`` of :class:`Fault` records and run them all
in one parametrised test; ``docs/errors.md`` is generated from (or checked against) those lists, so
the documentation cannot drift from what the tests hold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One catalogue entry.

    Attributes:
        id: stable, unique, short identifier (also the pytest id), e.g. ``"cross_entropy-labels-3d"``.
        layer: where the bad input enters: the ``jnnbasics`` module that refuses it for API cases
            (``"losses"``, ``"training"``, ...), ``"cli"`` for the command line.
        what: one line in words, what the user did (``"cross_entropy with labels of shape (4, 1, 1)"``).
        call: a zero-argument callable that makes the bad call (API) or runs the command (CLI).
        exc: the exception type the call must raise (API); for CLI cases, whatever the CLI file's
            runner expects (e.g. ``SystemExit``).
        message: a fragment that must appear in the error message (plain text, not a regex).
    """

    id: str
    layer: str
    what: str
    call: Callable[[], Any]
    exc: type
    message: str


def count_by_layer(cases: Iterable[Fault]) -> dict[str, int]:
    """Return ``{layer: number of cases}``, sorted by layer name."""
    return dict(sorted(Counter(f.layer for f in cases).items()))


def check_unique_ids(cases: Iterable[Fault]) -> None:
    """Raise ``AssertionError`` naming the ids that appear more than once."""
    dupes = [i for i, n in Counter(f.id for f in cases).items() if n > 1]
    assert not dupes, f"duplicate fault ids: {dupes}"


@dataclass(frozen=True)
class CliFault:
    """One command-line catalogue entry (``tests/test_faults_cli.py``), run through ``jnnbasics.cli.main``.

    Attributes:
        id: stable, unique, short identifier (also the pytest id), e.g. ``"train-lr-word"``.
        topic: the part of the command line it concerns, for the documentation: one of
            :data:`CLI_TOPICS`.
        what: one line in words, what the user did (``"--lr fast"``).
        argv: the arguments after ``jnnbasics``; ``{tmp}`` (the case's empty folder), ``{run}`` (a
            trained run folder) and ``{csv}`` (the CSV it was trained on) are filled in.
        exit_code: the exit status the command must end with.
        message: a fragment of its last stderr line (``jnnbasics: error: ...``), or for exit 0 of
            its output.
        setup: prepares the bad file or state, given the case's workspace (None: nothing to do).
        changes: the command may write files (a training run); otherwise every file present before
            it must be unchanged after it, and no file added.
        layer: always ``"cli"`` (for :func:`count_by_layer`).
    """

    id: str
    topic: str
    what: str
    argv: tuple[str, ...]
    exit_code: int
    message: str
    setup: Callable[[Any], Any] | None = None
    changes: bool = False
    layer: str = "cli"


CLI_TOPICS = {
    "options": "Options",
    "data": "Data files (train --csv)",
    "run folder": "Run folders (evaluate, predict, train --resume)",
    "inputs": "Input CSV files (evaluate --csv, predict --csv)",
    "output": "Where results go (--out)",
    "training": "Training",
}
"""The topics of :class:`CliFault`, in the documentation's order, with their headings."""

EXIT_MEANINGS = {
    0: "done",
    1: "failed while running (training diverged; an internal error)",
    2: "the input is wrong (an option, a file, the data) or a file cannot be written",
}

DOC_PATH = "docs/errors.md"
REGENERATE = "python tests/faults.py"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _placeholders(text: str) -> str:
    """A CLI case's ``{tmp}``, ``{run}``, ``{csv}`` as the short names a reader would use."""
    return (
        text.replace("{tmp}/", "").replace("{tmp}", ".").replace("{run}", "RUN").replace("{csv}", "data.csv")
    )


def _command(argv: Iterable[str]) -> str:
    """``jnnbasics ...`` as a user would type it (without ``--quiet``/``--no-plots``)."""
    words = [_placeholders(a) for a in argv if a not in ("--quiet", "--no-plots")]
    words = [a if a and " " not in a and ";" not in a else f"'{a}'" for a in words]
    return _cell("jnnbasics " + " ".join(words))


def render_markdown(api_cases: Iterable[Fault], cli_cases: Iterable[CliFault]) -> str:
    """``docs/errors.md``: every catalogue case in words, API by module, command line by topic."""
    api_cases, cli_cases = list(api_cases), list(cli_cases)
    counts = {**count_by_layer(api_cases), **count_by_layer(cli_cases)}
    out = [
        "# What bad input gets: the fault catalogue",
        "",
        f"<!-- generated from tests/test_faults_api.py and tests/test_faults_cli.py by `{REGENERATE}`; "
        "do not edit by hand -->",
        "",
        "Every row is a test (`tests/test_faults_api.py`, `tests/test_faults_cli.py`): the bad input, and the "
        "error it gets — the exception type and a fragment of its message from Python, the exit status and a "
        "fragment of the one line `jnnbasics: error: ...` from the command line. No command prints a traceback "
        "(set `JNNBASICS_TRACEBACK=1` to see one), and a failed command leaves every file as it was.",
        "",
        f"{len(api_cases) + len(cli_cases)} cases: "
        + ", ".join(f"{layer} {n}" for layer, n in counts.items())
        + ".",
        "",
    ]
    if api_cases:
        out += [
            "## Python API",
            "",
            "| module | what you did | you get | the message says |",
            "|---|---|---|---|",
        ]
        for f in sorted(api_cases, key=lambda f: f.layer):
            out.append(f"| `{f.layer}` | {_cell(f.what)} | `{f.exc.__name__}` | {_cell(f.message)} |")
        out.append("")
    out += ["## Command line", "", "Exit statuses:", ""]
    out += [f"- **{code}**: {text}" for code, text in EXIT_MEANINGS.items()]
    out += ["- **130**: interrupted (Ctrl-C); a training run keeps its last finished epoch", ""]
    for topic, heading in CLI_TOPICS.items():
        rows = [f for f in cli_cases if f.topic == topic]
        if not rows:
            continue
        out += [
            f"### {heading}",
            "",
            "| what you did | command | exit | the message says |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {_cell(_placeholders(f.what))} | `{_command(f.argv)}` | {f.exit_code} | "
            f"{_cell(_placeholders(f.message))} |"
            for f in rows
        ]
        out.append("")
    return "\n".join(out)


def catalogue_cases() -> tuple[list[Fault], list[CliFault]]:
    """The ``CASES`` of both catalogue files (a file without ``CASES`` yet contributes none)."""
    import importlib
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    api = importlib.import_module("test_faults_api")
    cli = importlib.import_module("test_faults_cli")
    return list(getattr(api, "CASES", [])), list(getattr(cli, "CASES", []))


if __name__ == "__main__":  # regenerate docs/errors.md
    from pathlib import Path

    text = render_markdown(*catalogue_cases())
    (Path(__file__).parents[1] / DOC_PATH).write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH}")
