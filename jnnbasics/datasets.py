"""Small data sets for examples and tests: made from a PRNG key (no download), plus Fisher's iris.

The generators follow scikit-learn's geometry (``make_moons``, ``make_circles``, ``make_blobs``) but
draw their randomness from a JAX key, so the numbers differ from scikit-learn's for any seed while
the shapes, class sizes and statistics agree. Each returns ``x`` float32 of shape
``(n_samples, n_features)`` and ``y`` int32 class labels of shape ``(n_samples,)`` (float32 targets
for :func:`make_regression`), rows shuffled; the same key gives the same data.

The data are made on the host: the key's bits seed a NumPy ``Generator`` (PCG64, stable across
platforms and versions), so no JAX computation is compiled for each new ``n_samples`` — eager
``jax.random`` calls would compile for every new shape, about a second each on a small CPU.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_nonnegative_float, check_positive_int, fail
from ._types import Array, PRNGKey


def _check_key(func: str, key: Any) -> None:
    if key is None:
        fail(func, "key", "a PRNG key (jax.random.key(seed))", "None", exc=TypeError)


def _check_samples(func: str, n_samples: Any, minimum: int) -> int:
    n = check_positive_int(func, "n_samples", n_samples)
    if n < minimum:
        fail(func, "n_samples", f"at least {minimum} (one per class)", repr(n_samples))
    return n


def _class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """Split n as evenly as possible; the first ``n % k`` classes get one more (scikit-learn's rule)."""
    return [n_samples // n_classes + (1 if c < n_samples % n_classes else 0) for c in range(n_classes)]


def _host_rng(key: PRNGKey) -> np.random.Generator:
    """A NumPy generator seeded by all bits of ``key`` (typed ``jax.random.key`` or raw ``PRNGKey``)."""
    if jax.dtypes.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.random.default_rng(np.asarray(key, dtype=np.uint32).ravel().tolist())


def _finish(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, noise: float) -> tuple[Array, Array]:
    """Shuffle the rows, then add Gaussian noise of standard deviation ``noise`` (as scikit-learn)."""
    order = rng.permutation(x.shape[0])
    x, y = x[order], y[order]
    if noise > 0:
        x = x + rng.normal(scale=noise, size=x.shape)
    return jnp.asarray(x.astype(np.float32)), jnp.asarray(y.astype(np.int32))


def make_moons(key: PRNGKey, n_samples: int = 200, *, noise: float = 0.1) -> tuple[Array, Array]:
    """Two interleaving half circles (scikit-learn's ``make_moons``).

    Class 0 is the upper half circle of radius 1 around (0, 0) with ``n_samples // 2`` points, class
    1 the lower half circle around (1, 0.5) with the rest; the points are evenly spaced along each
    arc, then shuffled and moved by Gaussian noise.

    Args:
        key: PRNG key.
        n_samples: total number of points, >= 2.
        noise: standard deviation of the Gaussian noise added to each coordinate, >= 0.

    Returns:
        ``(x, y)``: ``x`` float32 of shape ``(n_samples, 2)``, ``y`` int32 labels in {0, 1} of shape
        ``(n_samples,)``.

    Raises:
        ValueError: for ``n_samples < 2`` or a negative ``noise``.
        TypeError: if ``key`` is ``None``.

    Example:
        >>> x, y = make_moons(jax.random.key(0), 200, noise=0.1)
    """
    _check_key("make_moons", key)
    n = _check_samples("make_moons", n_samples, 2)
    noise = check_nonnegative_float("make_moons", "noise", noise)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], axis=1)
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _finish(_host_rng(key), np.concatenate([outer, inner]), y, noise)


def make_circles(
    key: PRNGKey, n_samples: int = 200, *, noise: float = 0.05, factor: float = 0.5
) -> tuple[Array, Array]:
    """A large circle (class 0) around a smaller one (class 1) (scikit-learn's ``make_circles``).

    Class 0 has ``n_samples // 2`` points evenly spaced on the unit circle, class 1 the rest on the
    circle of radius ``factor``; then the rows are shuffled and moved by Gaussian noise.

    Args:
        key: PRNG key.
        n_samples: total number of points, >= 2.
        noise: standard deviation of the Gaussian noise added to each coordinate, >= 0.
        factor: radius of the inner circle relative to the outer one, in [0, 1).

    Returns:
        ``(x, y)``: ``x`` float32 of shape ``(n_samples, 2)``, ``y`` int32 labels in {0, 1}.

    Raises:
        ValueError: for ``n_samples < 2``, a negative ``noise`` or ``factor`` outside [0, 1).
        TypeError: if ``key`` is ``None``.

    Example:
        >>> x, y = make_circles(jax.random.key(0), 200, noise=0.05, factor=0.5)
    """
    _check_key("make_circles", key)
    n = _check_samples("make_circles", n_samples, 2)
    noise = check_nonnegative_float("make_circles", "noise", noise)
    factor = check_nonnegative_float("make_circles", "factor", factor)
    if factor >= 1:
        fail("make_circles", "factor", "in [0, 1)", repr(factor))
    n_out, n_in = n // 2, n - n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1)
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _finish(_host_rng(key), np.concatenate([outer, inner]), y, noise)


def make_spirals(
    key: PRNGKey, n_samples: int = 300, *, n_classes: int = 3, noise: float = 0.2
) -> tuple[Array, Array]:
    """``n_classes`` interleaved spiral arms (the classic CS231n spiral data).

    Class ``c`` has points at radius ``r = linspace(0, 1, m)`` and angle
    ``t = linspace(4c, 4(c+1), m) + noise * N(0, 1)``, at ``(r sin t, r cos t)``: the noise
    perturbs the angle, not the coordinates. Classes are as equal in size as possible (the first
    ``n_samples % n_classes`` get one more point).

    Args:
        key: PRNG key.
        n_samples: total number of points, >= ``n_classes``.
        n_classes: number of arms (classes), >= 2.
        noise: standard deviation of the angular noise (radians), >= 0.

    Returns:
        ``(x, y)``: ``x`` float32 of shape ``(n_samples, 2)`` inside the unit disc, ``y`` int32
        labels in ``[0, n_classes)``.

    Raises:
        ValueError: for ``n_classes < 2``, ``n_samples < n_classes`` or a negative ``noise``.
        TypeError: if ``key`` is ``None``.

    Example:
        >>> x, y = make_spirals(jax.random.key(0), 300, n_classes=3)
    """
    _check_key("make_spirals", key)
    k = check_positive_int("make_spirals", "n_classes", n_classes)
    if k < 2:
        fail("make_spirals", "n_classes", "at least 2", repr(n_classes))
    n = _check_samples("make_spirals", n_samples, k)
    noise = check_nonnegative_float("make_spirals", "noise", noise)
    rng = _host_rng(key)
    angle_noise = rng.normal(size=n)
    xs, ys, start = [], [], 0
    for c, m in enumerate(_class_sizes(n, k)):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(4.0 * c, 4.0 * (c + 1), m) + noise * angle_noise[start : start + m]
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(m, c))
        start += m
    return _finish(rng, np.concatenate(xs), np.concatenate(ys), 0.0)


def make_blobs(
    key: PRNGKey,
    n_samples: int = 200,
    *,
    n_classes: int = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
) -> tuple[Array, Array]:
    """Isotropic Gaussian blobs (scikit-learn's ``make_blobs`` with ``centers=n_classes``).

    Centres are drawn uniformly from ``center_box`` in each coordinate; class ``c`` has
    ``n_samples // n_classes`` points (the first ``n_samples % n_classes`` classes one more) drawn
    from ``N(center_c, cluster_std**2 I)``.

    Args:
        key: PRNG key.
        n_samples: total number of points, >= ``n_classes``.
        n_classes: number of blobs (classes), positive.
        n_features: dimension of each point, positive.
        cluster_std: standard deviation of each blob, >= 0.
        center_box: ``(low, high)`` bounds of the centres, ``low < high``.

    Returns:
        ``(x, y)``: ``x`` float32 of shape ``(n_samples, n_features)``, ``y`` int32 labels in
        ``[0, n_classes)``.

    Raises:
        ValueError: for bad counts, a negative ``cluster_std`` or an empty ``center_box``.
        TypeError: if ``key`` is ``None``.

    Example:
        >>> x, y = make_blobs(jax.random.key(0), 300, n_classes=3, cluster_std=0.5)
    """
    _check_key("make_blobs", key)
    k = check_positive_int("make_blobs", "n_classes", n_classes)
    n = _check_samples("make_blobs", n_samples, k)
    d = check_positive_int("make_blobs", "n_features", n_features)
    std = check_nonnegative_float("make_blobs", "cluster_std", cluster_std)
    try:
        low, high = (float(v) for v in center_box)
    except (TypeError, ValueError):
        fail("make_blobs", "center_box", "a pair (low, high) of numbers", repr(center_box), exc=TypeError)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        fail(
            "make_blobs",
            "center_box",
            "a pair (low, high) of finite numbers with low < high",
            repr(center_box),
        )
    rng = _host_rng(key)
    centers = rng.uniform(low, high, size=(k, d))
    labels = np.concatenate([np.full(m, c) for c, m in enumerate(_class_sizes(n, k))])
    points = centers[labels] + rng.normal(scale=std, size=(n, d))
    return _finish(rng, points, labels, 0.0)


def make_regression(
    key: PRNGKey, n_samples: int = 200, *, n_features: int = 4, noise: float = 0.1
) -> tuple[Array, Array]:
    """A linear regression problem: ``y = x @ w + noise * N(0, 1)`` with ``x ~ N(0, I)``.

    Unlike scikit-learn's ``make_regression`` (coefficients up to 100, so targets in the hundreds),
    the coefficients ``w`` are drawn uniformly from [-1, 1), so targets are of order 1 and train well
    with default learning rates. ``w`` is not returned; fit it back by least squares if needed.

    Args:
        key: PRNG key.
        n_samples: number of samples, positive.
        n_features: number of features, positive.
        noise: standard deviation of the Gaussian noise on ``y``, >= 0.

    Returns:
        ``(x, y)``: ``x`` float32 of shape ``(n_samples, n_features)``, ``y`` float32 of shape
        ``(n_samples,)``.

    Raises:
        ValueError: for non-positive counts or a negative ``noise``.
        TypeError: if ``key`` is ``None``.

    Example:
        >>> x, y = make_regression(jax.random.key(0), 200, n_features=4)
    """
    _check_key("make_regression", key)
    n = _check_samples("make_regression", n_samples, 1)
    d = check_positive_int("make_regression", "n_features", n_features)
    noise = check_nonnegative_float("make_regression", "noise", noise)
    rng = _host_rng(key)
    x = rng.normal(size=(n, d))
    w = rng.uniform(-1.0, 1.0, size=d)
    y = x @ w + rng.normal(scale=noise, size=n)
    return jnp.asarray(x.astype(np.float32)), jnp.asarray(y.astype(np.float32))


IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
IRIS_CLASSES = ("setosa", "versicolor", "virginica")


def load_iris() -> tuple[Array, Array, tuple[str, ...], tuple[str, ...]]:
    """Fisher's iris data (150 flowers, 4 measurements in cm, 3 species), shipped with the package.

    Read from ``jnnbasics/resources/iris.csv`` (the values of scikit-learn's bundled copy; see
    ``resources/README.md`` for source and licence).

    Returns:
        ``(x, y, feature_names, class_names)``: ``x`` float32 of shape ``(150, 4)``, ``y`` int32
        labels of shape ``(150,)`` (0 setosa, 1 versicolor, 2 virginica), the feature names
        ``("sepal_length", "sepal_width", "petal_length", "petal_width")`` and the class names.

    Example:
        >>> x, y, features, classes = load_iris()
    """
    text = resources.files("jnnbasics").joinpath("resources").joinpath("iris.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], [r for r in rows[1:] if r]
    if tuple(header) != (*IRIS_FEATURES, "species"):
        raise ValueError(f"load_iris: unexpected header in iris.csv: {header}")
    x = np.array([[float(v) for v in r[:4]] for r in body], dtype=np.float32)
    y = np.array([IRIS_CLASSES.index(r[4]) for r in body], dtype=np.int32)
    return jnp.asarray(x), jnp.asarray(y), IRIS_FEATURES, IRIS_CLASSES
