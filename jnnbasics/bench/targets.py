"""Targets: a table of thresholds on measured values, read from a JSON file and judged on results.

The table is a JSON list of rows, each an object with

* ``id``: a short unique name;
* ``description``: what is judged, as printed (may hold ``{placeholders}``, see below);
* ``metric``: the dotted path of the value in the results dict, e.g.
  ``"workloads.tiny.systems.jnn_epoch.vs_torch_eager.median"``;
* ``comparison``: one of ``>=``, ``>``, ``<=``, ``<``, ``==``;
* ``threshold``: a number;

and optionally

* ``divided_by``: a second dotted path; the value is then ``metric / divided_by``, taken pair by
  pair (the median of the per-repeat ratios) when both are lists of repeats;
* ``unit``: ``"x"`` (a ratio), ``"s"`` (seconds), ``"%"`` (a fraction, printed as a percentage)
  or ``""`` (the default);
* ``detail``: more text printed beside the value;
* ``requires``: a dotted path; the row is listed only when the results have it (an extra that
  ran).

``{a.b.c}`` or ``{a.b.c:.2f}`` in ``description`` and ``detail`` is replaced by the value at that
path, formatted with that spec (``n/a`` when absent). The benchmark judges the table given with
``--targets FILE``; without one it reports no targets. (``benchmarks/run.py`` gives the project's
own table, ``benchmarks/targets.json``.)
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .timing import paired_ratio

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
"""The comparisons a row may use, by their symbol."""

UNITS: tuple[str, ...] = ("", "x", "s", "%")
"""The units a row may have."""

_REQUIRED = {"id": str, "description": str, "metric": str, "comparison": str, "threshold": (int, float)}
_OPTIONAL = {"divided_by": str, "unit": str, "detail": str, "requires": str}
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)(?::([^{}]*))?\}")


def _check_row(row: Any, where: str) -> None:
    """Raise ValueError naming the row's first problem (``where``: file and row number)."""
    if not isinstance(row, dict):
        raise ValueError(f"load_targets: {where} must be an object, got {type(row).__name__}")
    for key in _REQUIRED:
        if key not in row:
            raise ValueError(f"load_targets: {where} has no {key!r}; every row needs {', '.join(_REQUIRED)}")
    for key, value in row.items():
        kind = _REQUIRED.get(key, _OPTIONAL.get(key))
        if kind is None:
            allowed = ", ".join([*_REQUIRED, *_OPTIONAL])
            raise ValueError(f"load_targets: {where} has an unknown key {key!r}; the keys are {allowed}")
        if not isinstance(value, kind) or isinstance(value, bool):
            expected = "string" if kind is str else "number"
            raise ValueError(f"load_targets: {where}: {key!r} must be a {expected}, got {value!r}")
    if row["comparison"] not in COMPARISONS:
        raise ValueError(
            f"load_targets: {where}: comparison must be one of {' '.join(COMPARISONS)}, got {row['comparison']!r}"
        )
    if row.get("unit", "") not in UNITS:
        raise ValueError(f"load_targets: {where}: unit must be one of {UNITS}, got {row['unit']!r}")


def load_targets(path: str | Path) -> list[dict[str, Any]]:
    """Read and check a targets table (see the module's docstring for its form).

    Args:
        path: a JSON file holding a list of rows.

    Returns:
        The rows, as read.

    Raises:
        ValueError: the file is missing, is not JSON, or a row is malformed (the message names the
            row and the key); ids must be unique.
    """
    path = Path(path)
    try:
        rows = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"load_targets: cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"load_targets: {path} is not valid JSON: {exc}") from None
    if not isinstance(rows, list):
        raise ValueError(f"load_targets: {path} must hold a JSON list of rows, got {type(rows).__name__}")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        _check_row(row, f"{path}, row {i}")
        if row["id"] in seen:
            raise ValueError(f"load_targets: {path}, row {i}: id {row['id']!r} is used twice")
        seen.add(row["id"])
    return rows


def read_metric(results: dict[str, Any], path: str) -> Any:
    """The value at the dotted ``path`` of ``results`` (``"a.b.c"`` is ``results["a"]["b"]["c"]``).

    Returns:
        The value, or None when some key along the path is absent.
    """
    value: Any = results
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _number(value: Any) -> float:
    """``value`` as a float; NaN for None and anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def measure(results: dict[str, Any], row: dict[str, Any]) -> float:
    """A row's measured value: its ``metric``, over ``divided_by`` if it has one; NaN if not taken."""
    value = read_metric(results, row["metric"])
    if "divided_by" not in row:
        return _number(value)
    other = read_metric(results, row["divided_by"])
    if isinstance(value, list) and isinstance(other, list):
        return paired_ratio(value, other)["median"]
    num, den = _number(value), _number(other)
    return num / den if den else math.nan


def fill(template: str, results: dict[str, Any]) -> str:
    """``template`` with each ``{path}`` or ``{path:spec}`` replaced by the value at ``path``."""

    def one(match: re.Match) -> str:
        value = read_metric(results, match.group(1))
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return format(value, match.group(2) or "")

    return _PLACEHOLDER.sub(one, template)


def wanted(row: dict[str, Any]) -> str:
    """The threshold as printed: ``">= 50x"``, ``"<= 1 s"``, ``">= 75%"``; an ``==`` row its number."""
    unit = row.get("unit", "")
    number = f"{row['threshold'] * 100:g}%" if unit == "%" else f"{row['threshold']:g}"
    text = number + {"x": "x", "s": " s"}.get(unit, "")
    return text if row["comparison"] == "==" else f"{row['comparison']} {text}"


def evaluate_targets(results: dict[str, Any], table: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Judge each row of a targets table on a run's results.

    A row whose ``requires`` is absent from the results is left out; a row whose value was not
    measured (workload or extra not run, system failed) has ``met = None`` and no detail.

    Args:
        results: the benchmark's results dict.
        table: the rows (see :func:`load_targets`).

    Returns:
        One ``{"id", "what", "target", "value", "unit", "met", "detail"}`` per row listed.
    """
    out: list[dict[str, Any]] = []
    for row in table:
        if "requires" in row and read_metric(results, row["requires"]) is None:
            continue
        value = measure(results, row)
        measured = not math.isnan(value)
        out.append(
            {
                "id": row["id"],
                "what": fill(row["description"], results),
                "target": wanted(row),
                "value": value,
                "unit": row.get("unit", ""),
                "met": bool(COMPARISONS[row["comparison"]](value, row["threshold"])) if measured else None,
                "detail": fill(row.get("detail", ""), results) if measured else "",
            }
        )
    return out


def resolve_targets(path: str | Path | None) -> tuple[list[dict[str, Any]] | None, Path | None]:
    """The targets table to judge a run by, and its file.

    Args:
        path: the file given with ``--targets``, or None.

    Returns:
        ``(rows, path)``, or ``(None, None)`` when no path is given.

    Raises:
        ValueError: the file cannot be read or is malformed (see :func:`load_targets`).
    """
    if path is None:
        return None, None
    return load_targets(path), Path(path)
