"""Data sets: scikit-learn's geometry (noise-free points equal up to row order), shapes, determinism."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sklearn.datasets as skd
from helpers import assert_close

from jnnbasics import load_iris, make_blobs, make_circles, make_moons, make_regression, make_spirals


def match_rows(ours, theirs):
    """Reorder ``theirs`` so that row i is the point (of the same label) nearest our row i.

    Compares two point sets regardless of the shuffle; the matching must be one to one.
    """
    (x, y), (tx, ty) = ours, theirs
    x, y = np.asarray(x, np.float64), np.asarray(y)
    dist = np.linalg.norm(x[:, None, :] - tx[None, :, :], axis=-1)
    dist[y[:, None] != ty[None, :]] = np.inf
    nearest = dist.argmin(axis=1)
    assert len(set(nearest.tolist())) == len(nearest), "not a one-to-one match"
    return x, tx[nearest]


@pytest.mark.parametrize("n", [200, 7])
def test_moons_and_circles_are_sklearns_points_without_noise(n):
    key = jax.random.key(0)
    for ours, theirs in [
        (make_moons(key, n, noise=0.0), skd.make_moons(n, noise=None, random_state=0)),
        (
            make_circles(key, n, noise=0.0, factor=0.3),
            skd.make_circles(n, noise=None, factor=0.3, random_state=0),
        ),
    ]:
        assert_close(*match_rows(ours, theirs))


@pytest.mark.parametrize(
    "make,n,features,classes",
    [
        (lambda k, n: make_moons(k, n), 201, 2, 2),
        (lambda k, n: make_circles(k, n), 201, 2, 2),
        (lambda k, n: make_spirals(k, n, n_classes=4), 203, 2, 4),
        (lambda k, n: make_blobs(k, n, n_classes=3, n_features=5), 200, 5, 3),
    ],
)
def test_classification_sets_shapes_dtypes_balance_determinism(make, n, features, classes):
    x, y = make(jax.random.key(1), n)
    assert x.shape == (n, features) and x.dtype == jnp.float32
    assert y.shape == (n,) and y.dtype == jnp.int32
    counts = np.bincount(np.asarray(y), minlength=classes)
    assert len(counts) == classes
    # sklearn's rule: n // k each, the first n % k classes one more (moons/circles: class 1 gets it)
    expected = [n // classes + (c < n % classes) for c in range(classes)]
    np.testing.assert_array_equal(counts, expected if classes > 2 else expected[::-1])
    x2, y2 = make(jax.random.key(1), n)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(x2))
    np.testing.assert_array_equal(np.asarray(y), np.asarray(y2))
    x3, _ = make(jax.random.key(2), n)
    assert not np.array_equal(np.asarray(x), np.asarray(x3))
    assert np.asarray(y)[: n // 2].tolist() != sorted(np.asarray(y)[: n // 2].tolist())  # shuffled


def test_moons_noise_statistics():
    # noise is N(0, noise^2) per coordinate added to the noise-free points: residuals have std noise
    n, noise = 4000, 0.1
    x, y = make_moons(jax.random.key(3), n, noise=noise)
    clean_x, clean_y = make_moons(jax.random.key(3), n, noise=0.0)  # same key: same shuffle
    np.testing.assert_array_equal(np.asarray(y), np.asarray(clean_y))
    residual = np.asarray(x, np.float64) - np.asarray(clean_x, np.float64)
    assert abs(residual.std() - noise) < 0.005 and abs(residual.mean()) < 0.005


def test_blobs_statistics_match_sklearn():
    n, std = 3000, 0.7
    x, y = make_blobs(jax.random.key(4), n, n_classes=3, n_features=2, cluster_std=std, center_box=(-5, 5))
    sx, sy = skd.make_blobs(n, n_features=2, centers=3, cluster_std=std, center_box=(-5, 5), random_state=0)
    for xs, ys in [(np.asarray(x, np.float64), np.asarray(y)), (sx, sy)]:
        for c in range(3):
            pts = xs[ys == c]
            assert np.all(np.abs(pts.mean(axis=0)) < 5.1)  # centre inside the box
            assert np.all(np.abs(pts.std(axis=0) - std) < 0.05)
        np.testing.assert_array_equal(np.bincount(ys), np.bincount(sy))


def test_spirals_geometry():
    x, y = make_spirals(jax.random.key(5), 300, n_classes=3, noise=0.0)
    r = np.linalg.norm(np.asarray(x, np.float64), axis=1)
    assert r.max() <= 1.0 + 1e-6
    # without noise, class c lies on r = (t - 4c) / 4 at angle t (x = r sin t, y = r cos t)
    for c in range(3):
        pts = np.asarray(x, np.float64)[np.asarray(y) == c]
        rc = np.linalg.norm(pts, axis=1)
        t = 4.0 * c + 4.0 * rc
        assert_close(pts, np.column_stack([rc * np.sin(t), rc * np.cos(t)]), kind="value")


def test_regression_is_linear_plus_noise():
    n, d, noise = 2000, 4, 0.1
    x, y = make_regression(jax.random.key(6), n, n_features=d, noise=noise)
    assert x.shape == (n, d) and x.dtype == jnp.float32
    assert y.shape == (n,) and y.dtype == jnp.float32
    xs, ys = np.asarray(x, np.float64), np.asarray(y, np.float64)
    coef, *_ = np.linalg.lstsq(xs, ys, rcond=None)
    assert np.all(np.abs(coef) <= 1.0 + 0.05)
    assert abs((ys - xs @ coef).std() - noise) < 0.01
    y2 = make_regression(jax.random.key(6), n, n_features=d, noise=noise)[1]
    np.testing.assert_array_equal(np.asarray(y), np.asarray(y2))


def test_load_iris_equals_sklearn():
    x, y, features, classes = load_iris()
    ref = skd.load_iris()
    assert x.shape == (150, 4) and x.dtype == jnp.float32
    assert y.shape == (150,) and y.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(x), ref.data.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(y), ref.target)
    assert classes == tuple(ref.target_names)
    assert features == ("sepal_length", "sepal_width", "petal_length", "petal_width")


@pytest.mark.parametrize(
    "call,match,exc",
    [
        (lambda: make_moons(None), "make_moons: key must be a PRNG key", TypeError),
        (lambda: make_moons(jax.random.key(0), 1), "make_moons: n_samples must be at least 2", ValueError),
        (
            lambda: make_moons(jax.random.key(0), noise=-1),
            "make_moons: noise must be a finite number >= 0",
            ValueError,
        ),
        (
            lambda: make_circles(jax.random.key(0), factor=1.0),
            "make_circles: factor must be in \\[0, 1\\)",
            ValueError,
        ),
        (
            lambda: make_spirals(jax.random.key(0), n_classes=1),
            "make_spirals: n_classes must be at least 2",
            ValueError,
        ),
        (
            lambda: make_spirals(jax.random.key(0), 2, n_classes=3),
            "make_spirals: n_samples must be at least 3",
            ValueError,
        ),
        (
            lambda: make_blobs(jax.random.key(0), n_features=0),
            "make_blobs: n_features must be a positive integer",
            ValueError,
        ),
        (
            lambda: make_blobs(jax.random.key(0), center_box=(1, 1)),
            "make_blobs: center_box must be a pair",
            ValueError,
        ),
        (
            lambda: make_blobs(jax.random.key(0), center_box=3),
            "make_blobs: center_box must be a pair",
            TypeError,
        ),
        (
            lambda: make_blobs(jax.random.key(0), cluster_std=-1),
            "make_blobs: cluster_std must be a finite",
            ValueError,
        ),
        (
            lambda: make_regression(jax.random.key(0), 0),
            "make_regression: n_samples must be a positive integer",
            ValueError,
        ),
    ],
)
def test_errors(call, match, exc):
    with pytest.raises(exc, match=match):
        call()
