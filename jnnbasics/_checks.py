"""Argument validation with uniform messages.

Every check runs in plain Python on static shapes/values (outside ``jit``) and raises
``ValueError`` for bad values or shapes and ``TypeError`` for bad types/dtypes. Messages have the
form ``"<func>: <arg> <expected>, got <got>"`` so the user learns the function, the argument, what
was expected and what was received.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def fail(func: str, arg: str, expected: str, got: Any, *, hint: str = "", exc: type = ValueError):
    """Raise ``exc`` with the uniform message ``func: arg expected ..., got ...[; hint]``."""
    msg = f"{func}: {arg} must be {expected}, got {got}"
    if hint:
        msg += f"; {hint}"
    raise exc(msg)


def check_choice(func: str, arg: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise raise listing the valid names."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        fail(func, arg, "one of " + ", ".join(repr(c) for c in choices), repr(value))
    return value


def check_positive_int(func: str, arg: str, value: Any) -> int:
    """Return ``value`` if it is a positive Python/NumPy integer (not bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        fail(func, arg, "a positive integer", repr(value))
    return int(value)


def check_nonnegative_float(func: str, arg: str, value: Any) -> float:
    """Return ``float(value)`` if it is a finite number >= 0 (a traced value is passed through)."""
    if _is_traced(value):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        fail(func, arg, "a non-negative number", repr(value), exc=TypeError)
    if not math.isfinite(f) or f < 0:
        fail(func, arg, "a finite number >= 0", repr(value))
    return f


def check_rate(func: str, arg: str, value: Any) -> float:
    """Return a drop probability in ``[0, 1)``; a traced value is passed through unchecked."""
    if _is_traced(value):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        fail(func, arg, "a number in [0, 1)", repr(value), exc=TypeError)
    if not (0.0 <= f < 1.0):
        fail(func, arg, "in [0, 1) (the probability of dropping a unit)", repr(value))
    return f


def check_same_shape(func: str, a_name: str, a: Any, b_name: str, b: Any) -> None:
    """Raise if two arrays differ in shape (no silent broadcasting)."""
    if tuple(np.shape(a)) != tuple(np.shape(b)):
        raise ValueError(
            f"{func}: {a_name} and {b_name} must have the same shape, got {a_name} {tuple(np.shape(a))} "
            f"and {b_name} {tuple(np.shape(b))}; reshape explicitly (e.g. y.reshape(-1, 1)) "
            "instead of relying on broadcasting."
        )


def check_ndim(func: str, arg: str, x: Any, ndims: Sequence[int]) -> None:
    """Raise if ``x.ndim`` is not in ``ndims``."""
    nd = np.ndim(x)
    if nd not in ndims:
        want = " or ".join(str(n) for n in ndims)
        fail(func, arg, f"an array with {want} dimensions", f"shape {tuple(np.shape(x))}")


def check_class_indices(func: str, arg: str, y: Any) -> np.ndarray:
    """Return class indices as a 1-D int64 array; accepts ``(n,)`` or ``(n, 1)`` integer-valued input.

    Floats are accepted when every value is a whole number; negative indices are refused.
    """
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        fail(func, arg, "class indices of shape (n,) or (n, 1)", f"shape {a.shape}")
    if a.size and not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_)):
        if not np.issubdtype(a.dtype, np.floating) or not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            fail(func, arg, "integer class indices", f"dtype {a.dtype} with non-integer values")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        fail(func, arg, "non-negative class indices", f"minimum {a.min()}")
    return a


def check_regression_pair(func: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return single-target regression arrays flat, in float64, after checking that they match.

    Each must hold one target per sample (shape ``(n,)`` or ``(n, 1)``); both the same non-zero ``n``.
    """
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    for name, a in (("y_true", t), ("y_pred", p)):
        if not (a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1)):
            fail(func, name, "one target per sample, shape (n,) or (n, 1)", f"shape {a.shape}")
    t, p = t.reshape(-1), p.reshape(-1)
    if t.shape != p.shape:
        fail(func, "y_true and y_pred", "of the same length", f"{t.shape[0]} and {p.shape[0]}")
    if t.size == 0:
        fail(func, "y_true", "non-empty", "0 samples")
    return t, p


def _is_traced(value: Any) -> bool:
    import jax

    return isinstance(value, jax.core.Tracer)
