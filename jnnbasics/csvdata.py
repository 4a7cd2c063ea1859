"""CSV tables for the command line: read, validate, and turn into feature and target arrays.

A table has a header row and one sample per line. Feature columns must hold finite numbers; the
target column may hold numbers (a regression target or integer class labels) or class names,
which are mapped to indices ``0..k-1`` in sorted order (the mapping is kept so that predictions can
be turned back into names). Every problem is reported as a ``ValueError`` whose message names the
file, the column and the line, so the CLI can print it as a one-line error.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
"""Task names, as ``jnnbasics train --task`` takes them."""

MAX_INFERRED_CLASSES = 20
"""An integer-valued target with at most this many distinct values is taken for class labels."""


@dataclass(frozen=True)
class Table:
    """A CSV file's header and rows of strings (all rows as long as the header).

    Attributes:
        path: the file read.
        columns: column names from the header row.
        rows: the data rows, each a tuple of ``len(columns)`` stripped strings.
        lines: the file's line number (1-based) of each data row, for messages.
    """

    path: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]


@dataclass(frozen=True)
class Labels:
    """Targets prepared for a task.

    Attributes:
        y: float64 targets of shape (n,) for regression, int32 class indices of shape (n,) otherwise.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        class_names: the name of each class index (None for regression).
    """

    y: np.ndarray
    task: str
    class_names: tuple[str, ...] | None


def read_table(path: str | os.PathLike[str]) -> Table:
    """Read a CSV file with a header row, checking that it has data and no ragged rows.

    Blank lines are skipped; surrounding spaces of every field are stripped.

    Args:
        path: the CSV file.

    Returns:
        A :class:`Table`.

    Raises:
        ValueError: the file does not exist or cannot be read, has no header, no data rows, an empty
            or repeated column name, or a row whose number of fields differs from the header's
            (the message gives the line number).

    Example:
        >>> table = read_table("data.csv")
        >>> table.columns
        ('x1', 'x2', 'label')
    """
    p = Path(path)
    if not p.exists():
        raise ValueError(f"CSV file {str(p)!r} does not exist")
    if p.is_dir():
        raise ValueError(f"CSV path {str(p)!r} is a folder, not a file")
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            records = list(_numbered_rows(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"cannot read CSV file {str(p)!r}: {e}") from None
    if not records:
        raise ValueError(f"CSV file {str(p)!r} is empty: expected a header row and data rows")
    _, header = records[0]
    columns = tuple(h.strip() for h in header)
    for i, name in enumerate(columns):
        if not name:
            raise ValueError(f"CSV file {str(p)!r}: column {i + 1} of the header has no name")
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise ValueError(f"CSV file {str(p)!r}: the header repeats the column name(s) {', '.join(dup)}")
    rows, lines = [], []
    for line, row in records[1:]:
        if len(row) != len(columns):
            raise ValueError(
                f"CSV file {str(p)!r}: line {line} has {len(row)} field(s) but the header has "
                f"{len(columns)} (ragged rows)"
            )
        rows.append(tuple(v.strip() for v in row))
        lines.append(line)
    if not rows:
        raise ValueError(f"CSV file {str(p)!r} has a header but no data rows (empty data)")
    return Table(str(p), columns, tuple(rows), tuple(lines))


def _numbered_rows(f):
    """Yield ``(line_number, fields)`` for each non-blank record (1-based line of its start)."""
    reader = csv.reader(f)
    line = 1
    for row in reader:
        start = line
        line = reader.line_num + 1
        if not row or all(not v.strip() for v in row):
            continue
        yield start, row


def column_index(table: Table, name: str, *, role: str = "column") -> int:
    """Index of column ``name``; a ``ValueError`` listing the columns if it is missing."""
    try:
        return table.columns.index(name)
    except ValueError:
        raise ValueError(
            f"CSV file {table.path!r} has no {role} {name!r}; its columns are: {', '.join(table.columns)}"
        ) from None


def _parse_number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def numeric_column(table: Table, index: int) -> np.ndarray:
    """Column ``index`` as float64, shape (n,); a ``ValueError`` naming the column and first bad line."""
    out = np.empty(len(table.rows), dtype=np.float64)
    for r, row in enumerate(table.rows):
        v = _parse_number(row[index])
        if v is None:
            what = "is empty" if not row[index] else f"holds {row[index]!r}"
            raise ValueError(
                f"CSV file {table.path!r}: feature column {table.columns[index]!r} must hold finite "
                f"numbers, but line {table.lines[r]} {what}"
            )
        out[r] = v
    return out


def feature_matrix(table: Table, names: Sequence[str]) -> np.ndarray:
    """The columns ``names`` (in that order) as a float64 matrix of shape (n, len(names)).

    Raises:
        ValueError: a column is missing (the message lists the columns) or holds a non-number.
    """
    idx = [column_index(table, n, role="feature column") for n in names]
    if not idx:
        raise ValueError(f"CSV file {table.path!r}: no feature columns (only the target column)")
    return np.stack([numeric_column(table, i) for i in idx], axis=1)


def load_csv(
    path: str | os.PathLike[str], target: str
) -> tuple[np.ndarray, list[str], tuple[str, ...], tuple[int, ...]]:
    """Read features and raw target strings from a CSV file.

    Every column except ``target`` is a feature and must be numeric.

    Args:
        path: the CSV file (header row, one sample per line).
        target: name of the target column.

    Returns:
        ``(x, targets, feature_names, lines)``: ``x`` float64 of shape (n, features), ``targets``
        the target column's n strings, ``feature_names`` the other columns in file order, ``lines``
        the file line of each row (for messages).

    Raises:
        ValueError: any problem of :func:`read_table`, a missing target column (the message lists
            the columns), no feature column, or a non-numeric feature value (column and row named).

    Example:
        >>> x, raw, names, lines = load_csv("iris.csv", "species")
    """
    table = read_table(path)
    t = column_index(table, target, role="target column")
    names = tuple(c for i, c in enumerate(table.columns) if i != t)
    x = feature_matrix(table, names)
    return x, [row[t] for row in table.rows], names, table.lines


def _where(r: int, lines: Sequence[int] | None) -> str:
    return f"line {lines[r]}" if lines is not None else f"data row {r + 1}"


def make_labels(
    raw: Sequence[str | float], task: str | None = None, *, lines: Sequence[int] | None = None
) -> Labels:
    """Turn a target column into targets for ``task`` (inferred when None).

    Inference: a column that is not all numbers holds class names; numbers that are all integers
    with at most :data:`MAX_INFERRED_CLASSES` distinct values are class labels; anything else is a
    regression target. Classes are then binary (2) or multiclass (more than 2). Class names are
    sorted (numerically for numbers) and mapped to ``0..k-1``.

    Args:
        raw: the target values, shape (n,): strings from a CSV file or numbers.
        task: ``"binary"``, ``"multiclass"``, ``"regression"`` or None to infer it.
        lines: the file line of each value, used in messages (default: the 1-based data row).

    Returns:
        :class:`Labels`.

    Raises:
        ValueError: empty targets or an empty value, an unknown task, a single class for a classification task, more
            than two classes for ``"binary"``, class names or a missing value for ``"regression"``,
            or non-integer numbers for a classification task given explicitly.

    Example:
        >>> make_labels(["cat", "dog", "cat"]).class_names
        ('cat', 'dog')
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    values = [v if isinstance(v, str) else repr(float(v)) for v in raw]
    if not values:
        raise ValueError("the target column is empty (no data rows)")
    if "" in values:
        raise ValueError(f"the target value is missing in {_where(values.index(''), lines)}")
    nums = [_parse_number(v) for v in values]
    numeric = all(v is not None for v in nums)
    if task == "regression":
        if not numeric:
            bad = next(i for i, v in enumerate(nums) if v is None)
            raise ValueError(
                f"task 'regression' needs a numeric target, but {_where(bad, lines)} holds {values[bad]!r}; "
                "use --task binary or multiclass for class names"
            )
        return Labels(np.asarray(nums, dtype=np.float64), "regression", None)
    if numeric:
        arr = np.asarray(nums, dtype=np.float64)
        integral = bool(np.all(arr == np.round(arr)))
        uniq = np.unique(arr)
        if task is None and (not integral or uniq.size > MAX_INFERRED_CLASSES):
            return Labels(arr, "regression", None)
        if not integral:
            bad = int(np.flatnonzero(arr != np.round(arr))[0])
            raise ValueError(
                f"task {task!r} needs class labels, but the target has the non-integer value "
                f"{values[bad]!r} in {_where(bad, lines)}; use --task regression"
            )
        names = tuple(_int_name(u) for u in uniq)
        index = {float(u): i for i, u in enumerate(uniq)}
        y = np.asarray([index[float(a)] for a in arr], dtype=np.int32)
    else:
        names = tuple(sorted(set(values)))
        index = {n: i for i, n in enumerate(names)}
        y = np.asarray([index[v] for v in values], dtype=np.int32)
    k = len(names)
    if k < 2:
        raise ValueError(
            f"a classification task needs at least 2 classes, but the target holds the single class "
            f"{names[0]!r}"
        )
    if task == "binary" and k != 2:
        raise ValueError(f"task 'binary' needs exactly 2 classes, the target has {k}; use --task multiclass")
    inferred = task or ("binary" if k == 2 else "multiclass")
    return Labels(y, inferred, names)


def _int_name(v: float) -> str:
    return str(int(v))


def encode_labels(
    raw: Sequence[str], class_names: Sequence[str], *, lines: Sequence[int] | None = None
) -> np.ndarray:
    """Map target strings to the indices of ``class_names`` (numbers compare by value).

    Args:
        raw: target values, shape (n,).
        class_names: the class names of a trained run.
        lines: the file line of each value, used in messages.

    Returns:
        int32 class indices of shape (n,).

    Raises:
        ValueError: a value is not one of ``class_names`` (the row is named).
    """
    index = {n: i for i, n in enumerate(class_names)}
    numeric_names = {}
    for i, n in enumerate(class_names):
        v = _parse_number(n)
        if v is not None:
            numeric_names[v] = i
    out = np.empty(len(raw), dtype=np.int32)
    for r, v in enumerate(raw):
        if v in index:
            out[r] = index[v]
            continue
        num = _parse_number(v)
        if num is not None and num in numeric_names:
            out[r] = numeric_names[num]
            continue
        raise ValueError(
            f"target value {v!r} in {_where(r, lines)} is not one of the run's classes: "
            f"{', '.join(class_names)}"
        )
    return out


__all__ = [
    "Labels",
    "MAX_INFERRED_CLASSES",
    "TASKS",
    "Table",
    "column_index",
    "encode_labels",
    "feature_matrix",
    "load_csv",
    "make_labels",
    "numeric_column",
    "read_table",
]
