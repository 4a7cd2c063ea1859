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
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        fail(func, arg, "integer class indices", f"dtype {a.dtype}", exc=TypeError)
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
    t, p = (_host_float64(func, n, a) for n, a in (("y_true", y_true), ("y_pred", y_pred)))
    for name, a in (("y_true", t), ("y_pred", p)):
        if not (a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1)):
            fail(func, name, "one target per sample, shape (n,) or (n, 1)", f"shape {a.shape}")
        check_finite(func, name, a)
    t, p = t.reshape(-1), p.reshape(-1)
    if t.shape != p.shape:
        fail(func, "y_true and y_pred", "of the same length", f"{t.shape[0]} and {p.shape[0]}")
    if t.size == 0:
        fail(func, "y_true", "non-empty", "0 samples")
    return t, p


def describe(value: Any) -> str:
    """A short description of ``value`` for a message: arrays by type, shape and dtype, others by repr."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} of shape {tuple(np.shape(value))} and dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


def as_array(func: str, arg: str, x: Any) -> Any:
    """``x`` as a JAX array (a traced value passed through), after checking it holds numbers.

    Arrays, NumPy arrays, Python numbers and (nested) lists of numbers are accepted; None, strings,
    dicts, objects and arrays of strings are refused with a ``TypeError`` naming ``arg``.
    """
    import jax
    import jax.numpy as jnp

    if isinstance(x, jax.core.Tracer):
        return x
    if x is None or isinstance(x, (str, bytes, dict)):
        fail(func, arg, "a numeric array", describe(x), exc=TypeError)
    try:
        a = jnp.asarray(x)
    except (TypeError, ValueError):
        fail(func, arg, "a numeric array", describe(x), exc=TypeError)
    if not (jnp.issubdtype(a.dtype, jnp.number) or a.dtype == jnp.bool_):
        fail(func, arg, "a numeric array", f"dtype {a.dtype}", exc=TypeError)
    return a


def check_axis(func: str, arg: str, axis: Any, ndim: int) -> int:
    """Return ``axis`` if it is an integer axis of an array with ``ndim`` dimensions (negative counts back)."""
    if (
        isinstance(axis, bool)
        or not isinstance(axis, (int, np.integer))
        or not -max(ndim, 1) <= axis < max(ndim, 1)
    ):
        fail(
            func,
            arg,
            f"an integer in [{-max(ndim, 1)}, {max(ndim, 1)}) for an array of {ndim} dimensions",
            repr(axis),
        )
    return int(axis)


def check_number(func: str, arg: str, value: Any) -> float:
    """Return ``float(value)`` for a finite real number or 0-d numeric array (a traced value passed through)."""
    if _is_traced(value):
        return value
    scalar_array = isinstance(value, np.ndarray) or _is_jax_array(value)
    if scalar_array and (np.ndim(value) != 0 or not np.issubdtype(np.asarray(value).dtype, np.number)):
        fail(func, arg, "a number", describe(value), exc=TypeError)
    if isinstance(value, bool) or not (scalar_array or isinstance(value, (int, float, np.number))):
        fail(func, arg, "a number", describe(value), exc=TypeError)
    f = float(value)
    if not math.isfinite(f):
        fail(func, arg, "a finite number", repr(value))
    return f


def check_shape(func: str, arg: str, shape: Any, *, allow_zero: bool = False) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of ints if it is a sequence of positive (or, ``allow_zero``, >= 0) ints."""
    want = "a sequence of " + ("non-negative" if allow_zero else "positive") + " integers"
    try:
        dims = tuple(shape)
    except TypeError:
        fail(func, arg, want, describe(shape), exc=TypeError)
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < (0 if allow_zero else 1):
            fail(func, arg, want, repr(shape))
    return tuple(int(d) for d in dims)


def check_float_dtype(func: str, arg: str, dtype: Any) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is a floating dtype (float16/32/64, bfloat16)."""
    import jax.numpy as jnp

    try:
        dt = np.dtype(dtype)
    except TypeError:
        fail(func, arg, "a floating dtype (e.g. jnp.float32)", repr(dtype), exc=TypeError)
    if not jnp.issubdtype(dt, jnp.floating):
        fail(func, arg, "a floating dtype (e.g. jnp.float32)", repr(dtype), exc=TypeError)
    return dt


def check_key(func: str, key: Any, *, arg: str = "key", hint: str = "") -> None:
    """Raise ``TypeError`` unless ``key`` is one PRNG key: typed (``jax.random.key(seed)``, shape ``()``)
    or raw (``jax.random.PRNGKey(seed)``: uint32 of shape ``(2,)``, or ``(4,)`` for the rbg keys).

    Ints, floats, None, batches of keys and arrays of any other shape or dtype are refused with a
    message that says how to make a key.
    """
    import jax

    if isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape == ():
            return
    elif isinstance(key, (np.ndarray, jax.Array)) and key.shape in ((2,), (4,)) and key.dtype == np.uint32:
        return  # a raw key: threefry (2 words, the default) or rbg (4)
    fail(
        func,
        arg,
        "a PRNG key made with jax.random.key(seed)",
        "None" if key is None else describe(key),
        hint=hint or f"pass e.g. {arg}=jax.random.key(0) (one key, not a batch of keys)",
        exc=TypeError,
    )


def check_class_labels(func: str, arg: str, y: np.ndarray, n_classes: int, *, context: str = "") -> None:
    """Raise ``ValueError`` unless every entry of the integer-valued ``y`` is in ``[0, n_classes)``.

    The message names the first bad label and its row, in PyTorch's words too (``Target 3 is out of
    bounds``), so that it reads the same wherever the labels enter.
    """
    flat = np.asarray(y).reshape(-1)
    bad = np.flatnonzero((flat < 0) | (flat >= n_classes))
    if bad.size:
        i, v = int(bad[0]), flat[bad[0]]
        v = int(v) if float(v).is_integer() else v
        fail(
            func,
            arg,
            f"class labels in [0, {n_classes}) " + (context or f"for a model with {n_classes} outputs"),
            f"{v!r} at row {i} (target {v} is out of bounds; {bad.size} such label(s))",
        )


def check_finite(func: str, arg: str, a: Any) -> None:
    """Raise ``ValueError`` if the floating array ``a`` holds NaN or infinite values (says how many, where)."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        return
    bad = ~np.isfinite(a)
    if bad.any():
        first = [int(i) for i in np.argwhere(bad)[0]]
        where = (
            f"row {first[0]}" + (f", column {first[1]}" if len(first) > 1 else "") if first else "the value"
        )
        fail(func, arg, "finite", f"{int(bad.sum())} NaN/infinite value(s), the first at {where}")


def check_tree_like(func: str, arg: str, tree: Any, reference: Any, *, same_dtype: bool = True) -> None:
    """Raise unless ``tree`` has ``reference``'s structure, leaf shapes and (``same_dtype``) dtypes.

    ``reference`` is typically ``jax.eval_shape(model.init, key)``. The message names the first leaf
    that differs, by its path (``params[0]['w']``). With ``same_dtype=False`` every leaf must
    instead share one floating dtype (the whole tree in another precision, e.g. float64).

    Raises:
        ValueError: another tree structure, or a leaf of another shape.
        TypeError: another dtype (``same_dtype``), or a non-floating / mixed dtype.
    """
    import jax

    got, want = jax.tree_util.tree_flatten_with_path(tree), jax.tree_util.tree_flatten_with_path(reference)
    if got[1] != want[1]:
        fail(
            func,
            arg,
            f"a tree like the model's ({len(want[0])} leaves: {_tree_summary(want[0])})",
            f"{len(got[0])} leaves, {_first_difference(arg, got[0], want[0])}",
            hint=f"{arg} was made for another architecture than the model",
        )
    first_dtype = np.dtype(got[0][0][1].dtype) if got[0] else None
    for (path, leaf), (_, ref) in zip(got[0], want[0]):
        name = arg + jax.tree_util.keystr(path)
        if tuple(np.shape(leaf)) != tuple(ref.shape):
            fail(
                func,
                name,
                f"of shape {tuple(ref.shape)} like the model's",
                f"shape {tuple(np.shape(leaf))}",
                hint=f"{arg} was made for another architecture than the model",
            )
        dtype, expected = np.dtype(getattr(leaf, "dtype", np.asarray(leaf).dtype)), np.dtype(ref.dtype)
        if same_dtype and dtype != expected:
            fail(func, name, f"of dtype {expected} like the model's", f"dtype {dtype}", exc=TypeError)
        if not same_dtype and not np.issubdtype(dtype, np.floating):
            fail(func, name, "a floating-point array", f"dtype {dtype}", exc=TypeError)
        if not same_dtype and dtype != first_dtype:
            fail(
                func,
                name,
                f"floating, of one dtype with the other leaves ({first_dtype})",
                f"dtype {dtype}",
                exc=TypeError,
            )


def _tree_summary(leaves_with_paths: list) -> str:
    import jax

    shapes = [f"{jax.tree_util.keystr(p)}: {tuple(np.shape(v))}" for p, v in leaves_with_paths[:6]]
    more = ", ..." if len(leaves_with_paths) > 6 else ""
    return "{" + ", ".join(shapes) + more + "}" if shapes else "an empty tree"


def _first_difference(arg: str, got: list, want: list) -> str:
    import jax

    gp = [jax.tree_util.keystr(p) for p, _ in got]
    wp = [jax.tree_util.keystr(p) for p, _ in want]
    i = next((i for i, (a, b) in enumerate(zip(gp, wp)) if a != b), min(len(gp), len(wp)))
    if i < len(gp) and i < len(wp):
        return f"the first difference at {arg}{gp[i]} where the model has {arg}{wp[i]}"
    if i < len(wp):
        return f"missing {arg}{wp[i]} and after"
    if i < len(gp):
        return f"with {arg}{gp[i]} and after, which the model does not have"
    return "the same leaves in other containers (e.g. a tuple for a list)"


def _host_float64(func: str, arg: str, x: Any) -> np.ndarray:
    """``x`` as a float64 NumPy array (no round trip through float32), or a ``TypeError`` naming ``arg``."""
    a = np.asarray(x)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.issubdtype(
        a.dtype, np.complexfloating
    ):
        fail(func, arg, "a real numeric array", f"dtype {a.dtype}", exc=TypeError)
    return a.astype(np.float64)


def _is_traced(value: Any) -> bool:
    import jax

    return isinstance(value, jax.core.Tracer)


def _is_jax_array(value: Any) -> bool:
    import jax

    return isinstance(value, jax.Array)
