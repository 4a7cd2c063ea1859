"""CSV tables for the command line: read, validate, and turn into feature and target arrays.

A table has a header row and one sample per line. Feature columns must hold finite numbers that
fit float32 (the precision the models compute in); the target column may hold numbers (a
regression target or integer class labels) or class names, which are mapped to indices ``0..k-1``
in sorted order (the mapping is kept so that predictions can be turned back into names).

The feature columns are chosen (``features=``/``ignore=``, ``--features``/``--ignore``) or are
every column but the target. A *text column* — no present cell is a number — is one-hot encoded:
feature ``COL=VALUE`` for each of its values in the training file, sorted (:mod:`jnnbasics.csvcolumns`);
a trained run keeps those names, so a later file is encoded with the same categories and a value
outside them is an error naming the column, line and categories. A column mixing numbers and text
is an error (a typo is not a category).

A cell that is empty or one of :data:`MISSING_VALUES` (``NA``, ``nan``, ``?``, ...) is a *missing
value*: an error naming the line, in a feature and in the target column alike (a missing target
is never a class of its own), unless the rows with missing values in the target or a feature
column are dropped explicitly (``csvcolumns.load_csv(..., drop_missing=True)``, ``jnnbasics train
--drop-missing``), which warns with their count and lines, or a numeric feature's missing cells
are filled with its mean over the whole file (``impute="mean"``, ``--impute mean``), which warns
with the count. Every problem is reported as a ``ValueError`` whose message names the file, the
column and the line, so the CLI can print it as a one-line error.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .tasks import TASKS

MAX_INFERRED_CLASSES = 20
"""An integer-valued target with at most this many distinct values is taken for class labels."""

MISSING_VALUES = frozenset(
    {"", "?", "NA", "N/A", "n/a", "#N/A", "<NA>", "NaN", "nan", "-nan", "-NaN", "NULL", "null", "None"}
)
"""Cells that mean "no value" (pandas' default markers and ``?``; case-sensitive, after stripping)."""

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""The largest float32 (about 3.4e38): a number beyond it overflows to inf in the models."""


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


def cell_problem(text: str) -> str | None:
    """Why a cell is not a usable number (``"is empty"``, ``"holds 'x' ..."``), or None if it is one."""
    if text in MISSING_VALUES:
        return "is empty (a missing value)" if not text else f"holds {text!r} (a missing value)"
    try:
        v = float(text)
    except ValueError:
        return f"holds {text!r}"
    if not math.isfinite(v):
        return f"holds {text!r}, which is not a finite number"
    if abs(v) > FLOAT32_MAX:
        return f"holds {text!r}, which overflows float32 (the largest float32 is {FLOAT32_MAX:.4g})"
    return None


def numeric_column(table: Table, index: int) -> np.ndarray:
    """Column ``index`` as float64, shape (n,); a ``ValueError`` naming the column and first bad line.

    Every cell must be a finite number within float32's range (see :func:`cell_problem`).
    """
    out = np.empty(len(table.rows), dtype=np.float64)
    for r, row in enumerate(table.rows):
        why = cell_problem(row[index])
        if why is not None:
            hint = _FEATURE_HINT if row[index] in MISSING_VALUES else ""
            raise ValueError(
                f"CSV file {table.path!r}: feature column {table.columns[index]!r} must hold finite "
                f"numbers, but line {table.lines[r]} {why}{hint}"
            )
        out[r] = float(row[index])
    return out


_MISSING_HINT = "; fill it in, or drop such rows (jnnbasics train --drop-missing)"
_FEATURE_HINT = (
    "; fill it in, fill such cells with the column's mean (jnnbasics train --impute mean), or drop "
    "such rows (jnnbasics train --drop-missing)"
)


def drop_missing_rows(table: Table, columns: Sequence[int]) -> tuple[Table, tuple[int, ...]]:
    """``table`` without the rows that have a missing value in any of ``columns``, and their lines.

    Raises:
        ValueError: every row has a missing value.
    """
    missing = [any(row[i] in MISSING_VALUES for i in columns) for row in table.rows]
    keep = [r for r, m in enumerate(missing) if not m]
    dropped = tuple(line for line, m in zip(table.lines, missing) if m)
    if not keep:
        raise ValueError(f"CSV file {table.path!r}: every data row has a missing value; no rows are left")
    rows, lines = tuple(table.rows[r] for r in keep), tuple(table.lines[r] for r in keep)
    return replace(table, rows=rows, lines=lines), dropped


def feature_matrix(table: Table, names: Sequence[str]) -> np.ndarray:
    """The features ``names`` (in that order) as a float64 matrix of shape (n, len(names)).

    A name is a column of numbers, or ``COL=VALUE`` (from :func:`expand_features`): 1.0 where the
    text column ``COL`` holds ``VALUE``, else 0.0; the categories of ``COL`` are the values named.

    Raises:
        ValueError: a column is missing (the message lists the columns), holds a non-number, or
            holds a category that is not among the names (column, line and categories named).
    """
    if not names:
        raise ValueError(f"CSV file {table.path!r}: no feature columns (only the target column)")
    cats = _categories_of(table, names)
    out, done = [], {}
    for name in names:
        if name in table.columns:
            out.append(numeric_column(table, column_index(table, name, role="feature column")))
            continue
        col = name.split("=", 1)[0]
        if col not in done:
            done[col] = _one_hot(table, col, cats[col])
        out.append(done[col][:, cats[col].index(name.split("=", 1)[1])])
    return np.stack(out, axis=1)


def _categories_of(table: Table, names: Sequence[str]) -> dict[str, list[str]]:
    """``{column: [category, ...]}`` of the ``COL=VALUE`` names that are not columns themselves."""
    cats: dict[str, list[str]] = {}
    for name in names:
        if name in table.columns:
            continue
        col, sep, value = name.partition("=")
        if not sep or col not in table.columns:
            column_index(table, name, role="feature column")  # raises, listing the columns
        cats.setdefault(col, []).append(value)
    return cats


def _one_hot(table: Table, col: str, categories: list[str]) -> np.ndarray:
    """The text column ``col`` one-hot over ``categories``, shape (n, len(categories))."""
    i = column_index(table, col, role="feature column")
    index = {c: k for k, c in enumerate(categories)}
    out = np.zeros((len(table.rows), len(categories)))
    for r, row in enumerate(table.rows):
        if row[i] not in index:
            what = (
                "a missing value (a text column cannot be imputed: fill it in, or --drop-missing)"
                if row[i] in MISSING_VALUES
                else "a category unseen in training"
            )
            raise ValueError(
                f"CSV file {table.path!r}: text column {col!r} line {table.lines[r]} holds {row[i]!r}, "
                f"{what}; its known categories are: {', '.join(categories)}"
            )
        out[r, index[row[i]]] = 1.0
    return out


def is_text_column(table: Table, index: int) -> bool:
    """Whether column ``index`` holds categories: no present cell parses as a number (one does: numeric)."""
    present = [row[index] for row in table.rows if row[index] not in MISSING_VALUES]
    return bool(present) and not any(_looks_numeric(v) for v in present)


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
        ValueError: empty targets, a missing value (:data:`MISSING_VALUES`, the line named), a
            number that is not finite or overflows float32, an unknown task, a single class for a classification task, more
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
    _check_target_values(values, lines)
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


def _check_target_values(values: Sequence[str], lines: Sequence[int] | None) -> None:
    """Refuse a missing target, or a number that is not finite or overflows float32 (first row named)."""
    for r, v in enumerate(values):
        if v in MISSING_VALUES:
            what = "is empty" if not v else f"is {v!r}"
            raise ValueError(
                f"the target value in {_where(r, lines)} {what}, a missing value (a missing target is "
                f"never a class of its own){_MISSING_HINT}"
            )
        why = cell_problem(v)
        if why is not None and _looks_numeric(v):
            raise ValueError(f"the target in {_where(r, lines)} {why}")


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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
        if v in MISSING_VALUES and v not in index:
            raise ValueError(f"the target value in {_where(r, lines)} is missing ({v!r})")
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
    "FLOAT32_MAX",
    "Labels",
    "MAX_INFERRED_CLASSES",
    "MISSING_VALUES",
    "TASKS",
    "Table",
    "cell_problem",
    "column_index",
    "drop_missing_rows",
    "encode_labels",
    "feature_matrix",
    "is_text_column",
    "make_labels",
    "numeric_column",
    "read_table",
]
