"""Scaler against scikit-learn's StandardScaler; split, permutation and batch properties."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close
from sklearn.preprocessing import StandardScaler

from jnnbasics import (
    ScalerState,
    batches,
    epoch_permutation,
    fit_scaler,
    inverse_transform,
    prepare_data_for_nn,
    train_val_split,
    transform,
)


def features(dtype, n=40):
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[3.0, -2.0, 100.0, 0.0], scale=[1.0, 0.01, 30.0, 5.0], size=(n, 4))
    x[:, 3] = 7.25  # a constant feature: scale 1, not a division by zero
    return x.astype(dtype)


def test_fit_scaler_matches_sklearn_with_constant_column(dtype):
    x = features(dtype)
    ref = StandardScaler().fit(x)
    state = fit_scaler(x)
    assert isinstance(state, ScalerState)
    assert state.mean.shape == state.scale.shape == (4,)
    assert state.mean.dtype == dtype
    assert_close(state.mean, ref.mean_, dtype)
    assert_close(state.scale, ref.scale_, dtype)
    assert float(state.scale[3]) == 1.0


def test_transform_and_inverse_match_sklearn_under_jit(dtype):
    x = features(dtype)
    ref = StandardScaler().fit(x)
    state = fit_scaler(x)
    x_new = features(dtype, n=7) * 1.5
    scaled = jax.jit(transform)(state, x_new)
    assert_close(scaled, ref.transform(x_new), dtype)
    assert_close(
        jax.jit(inverse_transform)(state, scaled), ref.inverse_transform(ref.transform(x_new)), dtype
    )
    assert_close(transform(state, x_new[0]), ref.transform(x_new[:1])[0], dtype)  # a single sample


def test_prepare_data_for_nn(dtype):
    x = features(dtype)
    labels = np.arange(40) % 3
    x_scaled, y, state = prepare_data_for_nn(x, labels)
    # scaled in float64 and then rounded (sklearn on float32 input rounds the mean to float32 first,
    # which loses digits on a column with a large mean and small spread): compare with the exact one
    assert_close(x_scaled, StandardScaler().fit_transform(x.astype(np.float64)), dtype)
    assert x_scaled.dtype == dtype
    assert jnp.issubdtype(y.dtype, jnp.integer)
    np.testing.assert_array_equal(np.asarray(y), labels)
    assert_close(state.scale, StandardScaler().fit(x).scale_, dtype)
    _, y_float, _ = prepare_data_for_nn(x, np.linspace(0, 1, 40))
    assert y_float.dtype == dtype


@pytest.mark.parametrize(
    "call,match,exc",
    [
        (
            lambda: fit_scaler(np.ones(5)),
            "fit_scaler: x must be a 2-D array.*x.reshape\\(-1, 1\\)",
            ValueError,
        ),
        (lambda: fit_scaler(np.ones((0, 3))), "fit_scaler: x must be non-empty", ValueError),
        (
            lambda: fit_scaler(np.array([[1.0, 2.0], [np.nan, 1.0], [np.inf, 0.0]])),
            "fit_scaler: x must be finite, got 2 NaN/inf values, the first at index \\(1, 0\\)",
            ValueError,
        ),
        (lambda: fit_scaler([["a", "b"]]), "fit_scaler: x must be a numeric array", TypeError),
        (
            lambda: transform(fit_scaler(np.ones((3, 2))), np.ones((3, 3))),
            "transform: x must be an array whose last axis has 2 features",
            ValueError,
        ),
        (
            lambda: inverse_transform(fit_scaler(np.ones((3, 2))), np.ones((3, 1))),
            "inverse_transform: x must be an array whose last axis has 2 features",
            ValueError,
        ),
        (
            lambda: prepare_data_for_nn(np.ones((3, 2)), np.ones(4)),
            "prepare_data_for_nn: y must be an array with 3 rows",
            ValueError,
        ),
    ],
)
def test_scaler_errors(call, match, exc):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("key_fn", [jax.random.key, jax.random.PRNGKey], ids=["typed", "raw"])
def test_train_val_split_partitions_the_data(key_fn):
    n = 23
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    x_tr, y_tr, x_va, y_va = train_val_split(key_fn(0), x, y, val_fraction=0.2)
    assert len(y_va) == 5 and len(y_tr) == 18  # ceil(0.2 * 23), as sklearn's train_test_split
    assert sorted(np.concatenate([np.asarray(y_tr), np.asarray(y_va)]).tolist()) == list(range(n))
    np.testing.assert_array_equal(np.asarray(x_tr), x[np.asarray(y_tr)])  # rows stay paired
    np.testing.assert_array_equal(np.asarray(x_va), x[np.asarray(y_va)])
    assert np.asarray(y_tr).tolist() != list(range(18))  # shuffled
    again = train_val_split(key_fn(0), x, y, val_fraction=0.2)
    np.testing.assert_array_equal(np.asarray(again[3]), np.asarray(y_va))
    other = train_val_split(key_fn(1), x, y, val_fraction=0.2)
    assert np.asarray(other[3]).tolist() != np.asarray(y_va).tolist()


@pytest.mark.parametrize(
    "args,match,exc",
    [
        (
            (np.ones((5, 2)), np.ones(4), 0.2),
            "train_val_split: x and y must be arrays with the same number of samples",
            ValueError,
        ),
        (
            (np.ones((5, 2)), np.ones(5), 0.0),
            "train_val_split: val_fraction must be in \\(0, 1\\), got 0.0",
            ValueError,
        ),
        (
            (np.ones((5, 2)), np.ones(5), 1.0),
            "train_val_split: val_fraction must be in \\(0, 1\\)",
            ValueError,
        ),
        ((np.ones((5, 2)), np.ones(5), "x"), "train_val_split: val_fraction must be a number", TypeError),
        (
            (np.ones((1, 2)), np.ones(1), 0.5),
            "val_fraction must be small enough to leave training data",
            ValueError,
        ),
        ((np.ones((5, 2)), np.ones(5), 0.9), "\\(5 validation samples\\)", ValueError),
    ],
)
def test_train_val_split_errors(args, match, exc):
    with pytest.raises(exc, match=match):
        train_val_split(jax.random.key(0), *args)


def test_train_val_split_needs_a_key():
    with pytest.raises(TypeError, match="train_val_split: key must be a PRNG key"):
        train_val_split(None, np.ones((5, 2)), np.ones(5))


def test_epoch_permutation():
    order = epoch_permutation(jax.random.key(3), 10)
    assert order.dtype == np.int32 and sorted(order.tolist()) == list(range(10))
    np.testing.assert_array_equal(order, epoch_permutation(jax.random.key(3), 10))
    assert not np.array_equal(order, epoch_permutation(jax.random.key(4), 10))
    assert not np.array_equal(order, epoch_permutation(jax.random.key(3), 10, epoch=1))
    # raw uint32[2] keys work too, and give the order of the typed key with the same bits
    raw = jax.random.key_data(jax.random.key(3))
    np.testing.assert_array_equal(epoch_permutation(raw, 10), order)
    np.testing.assert_array_equal(epoch_permutation(None, 4, shuffle=False), np.arange(4))
    with pytest.raises(TypeError, match="epoch_permutation: key must be a PRNG key.*shuffle=False"):
        epoch_permutation(None, 4)
    with pytest.raises(ValueError, match="epoch_permutation: n must be a positive integer, got 0"):
        epoch_permutation(jax.random.key(0), 0)


@pytest.mark.parametrize("n,batch_size", [(10, 3), (9, 3), (2, 5)])
def test_batches_unshuffled_are_dataloader_batches(n, batch_size):
    torch = pytest.importorskip("torch")
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.float32)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=batch_size, shuffle=False
    )
    ours = list(batches(None, x, y, batch_size, shuffle=False))
    assert len(ours) == len(loader)
    for (xb, yb), (txb, tyb) in zip(ours, loader):
        np.testing.assert_array_equal(np.asarray(xb), txb.numpy())
        np.testing.assert_array_equal(np.asarray(yb), tyb.numpy())


def test_batches_shuffled_follow_epoch_permutation():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    key = jax.random.key(7)
    got = list(batches(key, x, y, 4))
    assert [len(yb) for _, yb in got] == [4, 4, 2]  # last partial batch kept
    seen = np.concatenate([np.asarray(yb) for _, yb in got])
    np.testing.assert_array_equal(seen, np.asarray(epoch_permutation(key, 10)))
    assert sorted(seen.tolist()) == list(range(10))
    for xb, yb in got:
        np.testing.assert_array_equal(np.asarray(xb), x[np.asarray(yb)])


def test_batches_check_arguments_at_call_time():
    with pytest.raises(ValueError, match="batches: batch_size must be a positive integer, got 0"):
        batches(jax.random.key(0), np.ones((4, 2)), np.ones(4), 0)
    with pytest.raises(
        ValueError, match="batches: x and y must be arrays with the same number of samples, got 4 and 3"
    ):
        batches(jax.random.key(0), np.ones((4, 2)), np.ones(3), 2)
    with pytest.raises(ValueError, match="batches: x and y must be non-empty"):
        batches(jax.random.key(0), np.ones((0, 2)), np.ones(0), 2)
    with pytest.raises(TypeError, match="batches: key must be a PRNG key"):
        batches(None, np.ones((4, 2)), np.ones(4), 2)
