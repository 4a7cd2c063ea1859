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
