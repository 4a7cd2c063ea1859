"""Data preparation: standard scaling (scikit-learn's numbers), train/validation split, batches.

Fitting the scaler runs on the host in float64 NumPy (like scikit-learn); ``transform`` and
``inverse_transform`` are pure JAX and can be jitted. Shuffling uses an explicit PRNG key:
:func:`epoch_permutation` gives one epoch's sample order, and :func:`batches` and the training loop
both use it, so the same key gives the same batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ._checks import check_key, check_positive_int, fail
from ._types import Array, PRNGKey


@struct.dataclass
class ScalerState:
    """A fitted standard scaler (scikit-learn's ``StandardScaler.mean_`` / ``scale_``).

    Attributes:
        mean: per-feature mean, shape ``(features,)``.
        scale: per-feature population standard deviation, shape ``(features,)``; 1 for a constant
            feature.
    """

    mean: Array
    scale: Array


def _host_2d(func: str, x: Any) -> np.ndarray:
    """``x`` as a finite float64 host array of shape (n, features) with n >= 1."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        fail(func, "x", "a numeric array of shape (n_samples, n_features)", type(x).__name__, exc=TypeError)
    if arr.ndim != 2:
        fail(
            func,
            "x",
            "a 2-D array of shape (n_samples, n_features)",
            f"shape {arr.shape}",
            hint="reshape a single feature with x.reshape(-1, 1)",
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        fail(func, "x", "non-empty", f"shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        fail(func, "x", "finite", f"{int(bad.sum())} NaN/inf values, the first at index {first}")
    return arr


def _float_dtype() -> Any:
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def _fit_host(func: str, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (x as float64, mean, scale) with scikit-learn's StandardScaler numbers."""
    arr = _host_2d(func, x)
    n = arr.shape[0]
    mean = arr.mean(axis=0)
    centred = arr - mean
    # corrected two-pass variance (Chan, Golub & LeVeque), as scikit-learn computes it
    var = (np.sum(centred**2, axis=0) - np.sum(centred, axis=0) ** 2 / n) / n
    eps = np.finfo(np.float64).eps
    constant_feature = var <= n * eps * var + (n * mean * eps) ** 2
    scale = np.where(constant_feature, 1.0, np.sqrt(var))
    return arr, mean, scale


def fit_scaler(x: Any) -> ScalerState:
    """Fit a standard scaler: per-feature mean and population standard deviation.

    The numbers are scikit-learn's ``StandardScaler().fit(x)`` (``mean_``, ``scale_``): the
    standard deviation divides by ``n`` (not ``n - 1``), and a (near-)constant feature gets scale 1
    instead of a division by zero. Runs on the host in float64; not jittable.

    Args:
        x: features of shape ``(n_samples, n_features)``, finite, ``n_samples >= 1``.

    Returns:
        A :class:`ScalerState` with ``mean`` and ``scale`` of shape ``(n_features,)`` in JAX's
        default float dtype.

    Raises:
        ValueError: if ``x`` is not 2-D, is empty, or holds NaN/inf (the message says how many and
            where the first is).
        TypeError: if ``x`` is not numeric.

    Example:
        >>> state = fit_scaler(x_train)
        >>> x_val_scaled = transform(state, x_val)
    """
    _, mean, scale = _fit_host("fit_scaler", x)
    dt = _float_dtype()
    return ScalerState(mean=jnp.asarray(mean, dt), scale=jnp.asarray(scale, dt))


def _check_features(func: str, state: ScalerState, x: Any) -> None:
    if not isinstance(state, ScalerState):
        fail(func, "state", "a ScalerState (from fit_scaler)", type(state).__name__, exc=TypeError)
    n_features = int(np.shape(state.mean)[0])
    if np.ndim(x) < 1 or np.shape(x)[-1] != n_features:
        fail(
            func,
            "x",
            f"an array whose last axis has {n_features} features (as the scaler was fitted)",
            f"shape {tuple(np.shape(x))}",
        )


def transform(state: ScalerState, x: Any) -> Array:
    """Standardise ``x`` with a fitted scaler: ``(x - mean) / scale``.

    Args:
        state: a fitted :class:`ScalerState`.
        x: features of shape ``(n_samples, n_features)`` (or ``(n_features,)``).

    Returns:
        The scaled features, same shape as ``x``.

    Raises:
        ValueError: if ``x``'s last axis does not have ``n_features`` entries.

    Example:
        >>> x_scaled = jax.jit(transform)(fit_scaler(x), x)
    """
    _check_features("transform", state, x)
    return (jnp.asarray(x) - state.mean) / state.scale


def inverse_transform(state: ScalerState, x: Any) -> Array:
    """Undo :func:`transform`: ``x * scale + mean``.

    Args:
        state: a fitted :class:`ScalerState`.
        x: scaled features of shape ``(n_samples, n_features)`` (or ``(n_features,)``).

    Returns:
        Features in the original units, same shape as ``x``.

    Raises:
        ValueError: if ``x``'s last axis does not have ``n_features`` entries.

    Example:
        >>> x_back = inverse_transform(state, transform(state, x))
    """
    _check_features("inverse_transform", state, x)
    return jnp.asarray(x) * state.scale + state.mean


def prepare_data_for_nn(x: Any, y: Any) -> tuple[Array, Array, ScalerState]:
    """The tutorial's ``prepare_data_for_nn``: standard-scale ``x`` and return JAX arrays.

    ``x`` is scaled in float64 on the host and then cast to JAX's default float dtype. Unlike the
    tutorial (which makes ``y`` a ``FloatTensor``), integer class labels stay integers (for
    cross-entropy); float targets become the default float dtype. The fitted scaler is returned so
    that validation/test data can be transformed with the training statistics.

    Args:
        x: features of shape ``(n_samples, n_features)``.
        y: targets with ``n_samples`` rows, e.g. ``(n_samples,)`` labels or ``(n_samples, k)``.

    Returns:
        ``(x_scaled, y, scaler_state)``.

    Raises:
        ValueError: for bad ``x`` (see :func:`fit_scaler`) or if ``y`` has a different number of
            rows than ``x``.

    Example:
        >>> x_scaled, y, scaler = prepare_data_for_nn(x, y)
    """
    arr, mean, scale = _fit_host("prepare_data_for_nn", x)
    y_host = np.asarray(y)
    if not (np.issubdtype(y_host.dtype, np.number) or y_host.dtype == bool):
        fail(
            "prepare_data_for_nn",
            "y",
            "a numeric array",
            f"dtype {y_host.dtype}",
            hint="map class names to integers first",
            exc=TypeError,
        )
    if y_host.ndim == 0 or y_host.shape[0] != arr.shape[0]:
        fail(
            "prepare_data_for_nn",
            "y",
            f"an array with {arr.shape[0]} rows (one per row of x)",
            f"shape {y_host.shape}",
        )
    dt = _float_dtype()
    state = ScalerState(mean=jnp.asarray(mean, dt), scale=jnp.asarray(scale, dt))
    y_out = jnp.asarray(y_host) if np.issubdtype(y_host.dtype, np.integer) else jnp.asarray(y_host, dt)
    return jnp.asarray((arr - mean) / scale, dt), y_out, state


def _check_xy(func: str, x: Any, y: Any) -> int:
    nx, ny = np.shape(x), np.shape(y)
    if len(nx) == 0 or len(ny) == 0:
        fail(func, "x and y", "arrays with a leading sample axis", f"shapes {nx} and {ny}")
    if nx[0] != ny[0]:
        fail(func, "x and y", "arrays with the same number of samples", f"{nx[0]} and {ny[0]}")
    return int(nx[0])


def _check_key(func: str, key: Any) -> None:
    hint = "pass e.g. key=jax.random.key(0), or shuffle=False to keep the data order"
    check_key(func, key, hint=hint if key is None else "")


def key_bits(key: PRNGKey) -> np.ndarray:
    """The uint32 words of a PRNG key (or of a batch of keys) as a host NumPy array.

    Args:
        key: typed (``jax.random.key``) or raw (``jax.random.PRNGKey``) key, or a batch of either.

    Returns:
        A uint32 array: shape ``key.shape + (2,)`` for typed threefry keys, the raw array itself
        for raw keys.
    """
    typed = isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    return np.asarray(jax.random.key_data(key) if typed else key, dtype=np.uint32)


def key_seed(key: PRNGKey) -> tuple[int, ...]:
    """The bits of a PRNG key as Python ints, to seed a host-side NumPy generator.

    Args:
        key: typed (``jax.random.key``) or raw (``jax.random.PRNGKey``) key.

    Returns:
        A tuple of non-negative ints (the key's uint32 words).
    """
    return tuple(int(v) for v in key_bits(key).ravel())


def epoch_permutation(key: PRNGKey | None, n: int, *, shuffle: bool = True, epoch: int = 0) -> np.ndarray:
    """The order in which one epoch visits ``n`` samples, computed on the host.

    The training loop and :func:`batches` both use this, so the same key (and epoch) gives the same
    batches. The shuffle is NumPy's ``Generator.permutation`` seeded with the key's bits and the
    epoch number: on a CPU a sort-based ``jax.random.permutation`` inside the compiled epoch cost
    more than the training steps of a small model (about 1 ms for 2048 samples), while this costs
    microseconds and is just as reproducible. It is not traceable (call it outside ``jit``).

    Args:
        key: PRNG key (typed ``jax.random.key`` or raw ``PRNGKey``); may be ``None`` when
            ``shuffle=False``.
        n: number of samples, positive integer.
        shuffle: if ``False``, the identity order ``arange(n)`` (like an unshuffled ``DataLoader``).
        epoch: epoch number, mixed into the seed so that each epoch of a run gets its own order.

    Returns:
        An int32 NumPy array of shape ``(n,)``, a permutation of ``0..n-1``.

    Raises:
        ValueError: if ``n`` is not a positive integer.
        TypeError: if ``shuffle`` is true and ``key`` is ``None``.

    Example:
        >>> order = epoch_permutation(jax.random.key(0), 100, epoch=3)
    """
    n = check_positive_int("epoch_permutation", "n", n)
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        fail("epoch_permutation", "epoch", "a non-negative integer", repr(epoch))
    if not shuffle:
        return np.arange(n, dtype=np.int32)
    _check_key("epoch_permutation", key)
    rng = np.random.default_rng([*key_seed(key), int(epoch)])
    return rng.permutation(n).astype(np.int32)


def train_val_split(
    key: PRNGKey, x: Any, y: Any, val_fraction: float = 0.2
) -> tuple[Array, Array, Array, Array]:
    """Randomly split ``(x, y)`` into a training and a validation part.

    The validation part has ``ceil(val_fraction * n)`` samples (as scikit-learn's
    ``train_test_split``), the rest is training data; rows are drawn by a random permutation from
    ``key``.

    Args:
        key: PRNG key.
        x: features of shape ``(n_samples, ...)``.
        y: targets of shape ``(n_samples, ...)``.
        val_fraction: fraction of samples for validation, in (0, 1).

    Returns:
        ``(x_train, y_train, x_val, y_val)`` as JAX arrays.

    Raises:
        ValueError: if ``x`` and ``y`` differ in length, ``val_fraction`` is outside (0, 1), or
            either part would be empty.
        TypeError: if ``key`` is ``None``.

    Example:
        >>> x_tr, y_tr, x_va, y_va = train_val_split(jax.random.key(0), x, y, val_fraction=0.25)
    """
    n = _check_xy("train_val_split", x, y)
    try:
        frac = float(val_fraction)
    except (TypeError, ValueError):
        fail("train_val_split", "val_fraction", "a number in (0, 1)", repr(val_fraction), exc=TypeError)
    if not 0.0 < frac < 1.0:
        fail("train_val_split", "val_fraction", "in (0, 1)", repr(val_fraction))
    n_val = math.ceil(frac * n)
    if n_val >= n:
        fail(
            "train_val_split",
            "val_fraction",
            f"small enough to leave training data ({n} samples in all)",
            f"{val_fraction} ({n_val} validation samples)",
        )
    _check_key("train_val_split", key)
    order = np.asarray(jax.random.permutation(key, n))
    x, y = np.asarray(x), np.asarray(y)  # gather on the host: no compilation per data shape
    train, val = order[: n - n_val], order[n - n_val :]
    return jnp.asarray(x[train]), jnp.asarray(y[train]), jnp.asarray(x[val]), jnp.asarray(y[val])


def batches(
    key: PRNGKey | None, x: Any, y: Any, batch_size: int, *, shuffle: bool = True
) -> Iterator[tuple[Array, Array]]:
    """Iterate over one epoch of mini-batches, like a ``DataLoader`` with ``drop_last=False``.

    The order is :func:`epoch_permutation` ``(key, n, shuffle=shuffle)``; the last batch holds the
    remaining ``n % batch_size`` samples when ``n`` is not a multiple of ``batch_size``.
    Arguments are checked when this function is called, not at the first ``next()``.

    Args:
        key: PRNG key for the shuffle; may be ``None`` when ``shuffle=False``.
        x: features of shape ``(n_samples, ...)``.
        y: targets of shape ``(n_samples, ...)``.
        batch_size: samples per batch, positive integer.
        shuffle: if ``False``, keep the data order.

    Returns:
        A generator of ``(xb, yb)`` pairs with ``batch_size`` rows (the last may have fewer).

    Raises:
        ValueError: if ``x`` and ``y`` differ in length, are empty, or ``batch_size`` is not a
            positive integer.
        TypeError: if ``shuffle`` is true and ``key`` is ``None``.

    Example:
        >>> for xb, yb in batches(jax.random.key(epoch), x, y, 32):
        ...     state, loss = train_step(state, xb, yb)
    """
    n = _check_xy("batches", x, y)
    if n == 0:
        fail("batches", "x and y", "non-empty", "0 samples")
    batch_size = check_positive_int("batches", "batch_size", batch_size)
    if shuffle:
        _check_key("batches", key)
    order = np.asarray(epoch_permutation(key, n, shuffle=shuffle))
    # slice on the host: eager slicing of device arrays would compile for every batch shape
    xs, ys = np.asarray(x)[order], np.asarray(y)[order]

    def generate() -> Iterator[tuple[Array, Array]]:
        for start in range(0, n, batch_size):
            yield jnp.asarray(xs[start : start + batch_size]), jnp.asarray(ys[start : start + batch_size])

    return generate()
