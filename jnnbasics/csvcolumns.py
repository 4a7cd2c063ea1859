"""A CSV table's feature columns: chosen, one-hot encoded (text), imputed, read as arrays.

The choice: ``features`` (in that order) or every column but the target and ``ignore``. A *text
column* (no present cell is a number, see :func:`jnnbasics.csvdata.is_text_column`) becomes the
features ``COL=VALUE``, one per value in the training file, sorted (:func:`expand_features`); a
trained run keeps those names, and :func:`jnnbasics.csvdata.feature_matrix` encodes a later file
with exactly those categories (an unseen one is an error naming the column, line and categories).
So a model — and :class:`jnnbasics.Run` — always takes the encoded numeric matrix; the encoding
lives here, in the CSV layer. ``impute="mean"`` fills a numeric feature's missing cells with its
mean over the whole file (not only the training split: the split does not change what is filled).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .csvdata import (
    MAX_INFERRED_CLASSES,
    MISSING_VALUES,
    Table,
    column_index,
    drop_missing_rows,
    feature_matrix,
    is_text_column,
    numeric_column,
    read_table,
)


def select_columns(
    table: Table, target: str, *, features: Sequence[str] | None = None, ignore: Sequence[str] | None = None
) -> tuple[str, ...]:
    """The feature columns: ``features`` (in that order), or every column but ``target`` and ``ignore``.

    Raises:
        ValueError: both given, an unknown column (the columns listed), the target among ``features``.
    """
    if features and ignore:
        raise ValueError("give either --features or --ignore, not both")
    for flag, names in (("--features", features), ("--ignore", ignore)):
        for name in names or ():
            if name not in table.columns:
                raise ValueError(
                    f"{flag}: CSV file {table.path!r} has no column {name!r}; its columns are: "
                    f"{', '.join(table.columns)}"
                )
    if features:
        if target in features:
            raise ValueError(f"the target column {target!r} cannot be a feature (--features)")
        dup = sorted({c for c in features if list(features).count(c) > 1})
        if dup:
            raise ValueError(f"--features repeats the column(s) {', '.join(dup)}")
        return tuple(features)
    return tuple(c for c in table.columns if c != target and c not in (ignore or ()))


def impute_mean(table: Table, columns: Sequence[str]) -> tuple[Table, int]:
    """``table`` with the missing cells of the numeric ``columns`` set to the column's mean over the
    whole file's present cells, and the number of cells filled (a text column is left as it is).

    Raises:
        ValueError: a numeric column has no value at all.
    """
    rows = [list(r) for r in table.rows]
    filled = 0
    for col in columns:
        i = column_index(table, col, role="feature column")
        gaps = [r for r, row in enumerate(table.rows) if row[i] in MISSING_VALUES]
        if not gaps or is_text_column(table, i):
            continue
        present = [r for r in range(len(rows)) if r not in set(gaps)]
        if not present:
            raise ValueError(f"CSV file {table.path!r}: column {col!r} has no value to take the mean of")
        mean = float(
            numeric_column(
                replace(
                    table,
                    rows=tuple(table.rows[r] for r in present),
                    lines=tuple(table.lines[r] for r in present),
                ),
                i,
            ).mean()
        )
        for r in gaps:
            rows[r][i] = repr(mean)
        filled += len(gaps)
    return replace(table, rows=tuple(tuple(r) for r in rows)), filled


def expand_features(table: Table, columns: Sequence[str]) -> tuple[str, ...]:
    """Feature names of ``columns``: a numeric column as itself, a text column as ``COL=VALUE`` for
    each of its values (sorted; the categories one-hot encoding uses)."""
    names: list[str] = []
    for col in columns:
        i = column_index(table, col, role="feature column")
        if is_text_column(table, i):
            values = sorted({row[i] for row in table.rows if row[i] not in MISSING_VALUES})
            if len(values) > MAX_INFERRED_CLASSES and len(values) > len(table.rows) // 2:
                warnings.warn(
                    f"CSV file {table.path!r}: text column {col!r} has {len(values)} distinct values in "
                    f"{len(table.rows)} rows (an identifier?), one-hot encoded as {len(values)} features; "
                    f"leave it out with --ignore {col}",
                    UserWarning,
                    stacklevel=3,
                )
            names += [f"{col}={v}" for v in values]
        else:
            names.append(col)
    return tuple(names)


def categories(names: Sequence[str], columns: Sequence[str]) -> dict[str, list[str]]:
    """``{text column: categories}`` of expanded feature ``names`` (``columns``: the table's header)."""
    cats: dict[str, list[str]] = {}
    for name in names:
        col, sep, value = name.partition("=")
        if name not in columns and sep and col in columns:
            cats.setdefault(col, []).append(value)
    return cats


def load_csv(
    path: str | os.PathLike[str],
    target: str,
    *,
    drop_missing: bool = False,
    features: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    impute: str | None = None,
    encoded: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str], tuple[str, ...], tuple[int, ...]]:
    """Read features and raw target strings from a CSV file.

    The feature columns are ``features``, or every column except ``target`` and ``ignore``. A
    numeric column is one feature; a text column (no cell a number) is one-hot encoded as
    ``COL=VALUE`` features, its categories the sorted values of this file (see
    :func:`expand_features`) — or the categories of ``encoded``, a trained run's feature names.

    Args:
        path: the CSV file (header row, one sample per line).
        target: name of the target column.
        drop_missing: drop the rows with a missing value (:data:`MISSING_VALUES`) in the target or a
            feature column, with a ``UserWarning`` giving their count and lines; by default a
            missing value is an error.
        features: the feature columns, in order (not with ``ignore``).
        ignore: columns that are not features.
        impute: ``"mean"``: fill the missing cells of numeric feature columns with the column's
            mean over the whole file (not only the training split), with a ``UserWarning`` giving
            the count; not with ``drop_missing``.
        encoded: the feature names of a trained run (overrides ``features``/``ignore``).

    Returns:
        ``(x, targets, feature_names, lines)``: ``x`` float64 of shape (n, len(feature_names)),
        ``targets`` the target column's n strings, ``feature_names`` the (expanded) feature names,
        ``lines`` the file line of each row (for messages).

    Raises:
        ValueError: any problem of :func:`read_table`, a missing target or feature column (the
            message lists the columns), no feature column, a non-numeric, missing or
            float32-overflowing feature value (column and line named), or no rows left after dropping.

    Example:
        >>> x, raw, names, lines = load_csv("iris.csv", "species")
    """
    if drop_missing and impute:
        raise ValueError("give either --drop-missing or --impute, not both")
    table = read_table(path)
    t = column_index(table, target, role="target column")
    columns = select_columns(table, target, features=features, ignore=ignore)
    if encoded is not None:
        columns = tuple(dict.fromkeys(n if n in table.columns else n.partition("=")[0] for n in encoded))
    if drop_missing:
        table = _drop_and_warn(table, [t, *(table.columns.index(c) for c in columns if c in table.columns)])
    if impute == "mean":
        table, filled = impute_mean(table, columns)
        if filled:
            warnings.warn(
                f"CSV file {table.path!r}: filled {filled} missing cell(s) with their column's mean "
                "(over the whole file)",
                UserWarning,
                stacklevel=2,
            )
    names = tuple(encoded) if encoded is not None else expand_features(table, columns)
    x = feature_matrix(table, names)
    return x, [row[t] for row in table.rows], names, table.lines


def _drop_and_warn(table: Table, columns: Sequence[int]) -> Table:
    table, dropped = drop_missing_rows(table, columns)
    if dropped:
        shown = ", ".join(map(str, dropped[:10])) + (", ..." if len(dropped) > 10 else "")
        warnings.warn(
            f"CSV file {table.path!r}: dropped {len(dropped)} row(s) with a missing value (line(s) "
            f"{shown}); {len(table.rows)} row(s) remain",
            UserWarning,
            stacklevel=3,
        )
    return table


__all__ = ["categories", "expand_features", "impute_mean", "load_csv", "select_columns"]
