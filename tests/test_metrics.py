"""Metrics against independent oracles: PyTorch's loss reductions, hand loops, scikit-learn."""

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close, assert_trees_close
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, r2_score
from sklearn.metrics import confusion_matrix as sk_confusion

from jnnbasics import metrics
from jnnbasics.metrics import (
    accuracy,
    mean_of_batch_means,
    n_correct,
    per_sample_loss,
    predicted_class,
)

CLASSIFICATION = ("cross_entropy", "bce_with_logits", "binary_cross_entropy")


def make_case(loss_type, n, k, dtype, *, seed=0, one_hot=False):
    """``(pred, y)`` as numpy arrays of ``dtype`` in the form ``loss_type`` takes."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k))
    if loss_type == "cross_entropy":
        labels = rng.integers(0, k, n)
        y = np.eye(k)[labels].astype(dtype) if one_hot else labels.astype(np.int32)
        return logits.astype(dtype), y
    if loss_type == "binary_cross_entropy":
        return rng.uniform(0.05, 0.95, (n, k)).astype(dtype), rng.integers(0, 2, (n, k)).astype(dtype)
    if loss_type == "bce_with_logits":
        return logits.astype(dtype), rng.integers(0, 2, (n, k)).astype(dtype)
    return logits.astype(dtype), rng.normal(size=(n, k)).astype(dtype)


def torch_loss(loss_type, pred, y, reduction):
    p, t = torch.from_numpy(np.asarray(pred, np.float64)), torch.from_numpy(np.asarray(y))
    if loss_type == "cross_entropy":
        t = t.long() if t.ndim == 1 else t.double()
        return F.cross_entropy(p, t, reduction=reduction)
    t = t.double()
    fn = {
        "mse": F.mse_loss,
        "bce_with_logits": F.binary_cross_entropy_with_logits,
        "binary_cross_entropy": F.binary_cross_entropy,
    }[loss_type]
    return fn(p, t, reduction=reduction)


def hand_mean_of_batch_means(values, batch_size):
    means = []
    for start in range(0, len(values), batch_size):
        batch = [float(v) for v in values[start : start + batch_size]]
        means.append(sum(batch) / len(batch))
    return sum(means) / len(means)


# --------------------------------------------------------------------------------------------------
# per_sample_loss


LOSS_CASES = [
    ("mse", 5, 1, False),
    ("mse", 4, 3, False),
    ("cross_entropy", 6, 4, False),
    ("cross_entropy", 3, 2, True),
    ("bce_with_logits", 5, 1, False),
    ("bce_with_logits", 4, 3, False),
    ("binary_cross_entropy", 5, 1, False),
    ("binary_cross_entropy", 2, 3, False),
]


@pytest.mark.parametrize("loss_type, n, k, one_hot", LOSS_CASES)
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_per_sample_loss_matches_torch_reduction_none(loss_type, n, k, one_hot, jit, dtype):
    pred, y = make_case(loss_type, n, k, dtype, one_hot=one_hot)
    fn = jax.jit(per_sample_loss, static_argnames="loss_type") if jit else per_sample_loss
    got = fn(jnp.asarray(pred), jnp.asarray(y), loss_type=loss_type)
    per = torch_loss(loss_type, pred, y, "none")
    expected = per.reshape(n, -1).mean(dim=1).numpy()
    assert got.shape == (n,) and got.dtype == dtype
    assert_trees_close(got, expected, dtype)


@pytest.mark.parametrize("loss_type, n, k, one_hot", LOSS_CASES)
@pytest.mark.parametrize("batch_size", [1, 2, 4, 100])
def test_mean_of_batch_means_of_per_sample_losses_is_a_torch_loader_loop(
    loss_type, n, k, one_hot, batch_size
):
    """Averaging torch's per-batch ``reduction="mean"`` losses over a loader gives the same number."""
    pred, y = make_case(loss_type, n, k, np.float32, seed=1, one_hot=one_hot)
    got = jax.jit(lambda p, t: mean_of_batch_means(per_sample_loss(p, t, loss_type), batch_size))(
        jnp.asarray(pred), jnp.asarray(y)
    )
    batch_losses = [
        float(torch_loss(loss_type, pred[s : s + batch_size], y[s : s + batch_size], "mean"))
        for s in range(0, n, batch_size)
    ]
    assert_close(got, np.mean(batch_losses), np.float32)


# --------------------------------------------------------------------------------------------------
# mean_of_batch_means


@pytest.mark.parametrize("n, batch_size", [(1, 1), (1, 4), (6, 3), (7, 3), (7, 1), (10, 4), (5, 5), (5, 6)])
def test_mean_of_batch_means_matches_a_hand_loop(n, batch_size, dtype):
    values = np.random.default_rng(n * 10 + batch_size).normal(size=n).astype(dtype)
    expected = hand_mean_of_batch_means(values, batch_size)
    host = mean_of_batch_means(values, batch_size)  # NumPy in, NumPy out, in the input's dtype
    assert isinstance(host, np.generic) and host.dtype == dtype
    assert_close(host, expected, dtype)
    eager = mean_of_batch_means(jnp.asarray(values), batch_size)
    jitted = jax.jit(mean_of_batch_means, static_argnames="batch_size")(jnp.asarray(values), batch_size)
    assert isinstance(jitted, jax.Array) and jitted.shape == ()
    assert_trees_close([eager, jitted], [expected, expected], dtype)


def test_the_last_partial_batch_weighs_as_much_as_a_full_one():
    # batches [0, 0, 0] and [6]: mean of means 3, not the plain mean 1.5
    assert float(mean_of_batch_means(np.array([0.0, 0.0, 0.0, 6.0]), 3)) == 3.0


def test_mean_of_batch_means_errors():
    with pytest.raises(
        ValueError, match=r"mean_of_batch_means: per_sample must be an array with 1 dimensions"
    ):
        mean_of_batch_means(np.zeros((2, 2)), 2)
    with pytest.raises(ValueError, match="mean_of_batch_means: batch_size must be a positive integer, got 0"):
        mean_of_batch_means(np.zeros(3), 0)
    with pytest.raises(ValueError, match="mean_of_batch_means: per_sample must be non-empty, got 0 values"):
        mean_of_batch_means(np.zeros(0), 2)


# --------------------------------------------------------------------------------------------------
# predicted_class and n_correct


def numpy_predicted_class(outputs, loss_type):
    if loss_type == "cross_entropy":
        return np.argmax(outputs, axis=1)
    return (outputs[:, 0] > (0.0 if loss_type == "bce_with_logits" else 0.5)).astype(int)


@pytest.mark.parametrize("loss_type", CLASSIFICATION)
@pytest.mark.parametrize("n, k", [(1, 1), (9, 1), (9, 3)])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_predicted_class(loss_type, n, k, jit):
    if loss_type == "cross_entropy" and k == 1:
        k = 4
    outputs, _ = make_case(loss_type, n, k, np.float32, seed=n + k)
    fn = jax.jit(predicted_class, static_argnames="loss_type") if jit else predicted_class
    got = fn(jnp.asarray(outputs), loss_type=loss_type)
    assert got.shape == (n,) and got.dtype == jnp.int32
    np.testing.assert_array_equal(got, numpy_predicted_class(outputs, loss_type))


def test_predicted_class_thresholds_are_strict():
    at = jnp.array([[0.0], [0.5], [0.50001], [1e-6]])
    np.testing.assert_array_equal(predicted_class(at, "bce_with_logits"), [0, 1, 1, 1])
    np.testing.assert_array_equal(predicted_class(at, "binary_cross_entropy"), [0, 0, 1, 0])


def test_predicted_class_errors():
    with pytest.raises(
        ValueError, match="predicted_class: loss_type must be a classification loss, got 'mse'"
    ):
        predicted_class(jnp.zeros((3, 1)), "mse")
    with pytest.raises(ValueError, match=r"predicted_class: loss_type must be one of 'mse'.*got 'hinge'"):
        predicted_class(jnp.zeros((3, 1)), "hinge")
    with pytest.raises(ValueError, match=r"predicted_class: outputs must be an array with 2 dimensions"):
        predicted_class(jnp.zeros(3), "bce_with_logits")


def sklearn_n_correct(pred, y, loss_type, mask):
    """Subset accuracy (every column right for multi-column binary targets), as a count."""
    if loss_type == "cross_entropy":
        truth = y if y.ndim == 1 else np.argmax(y, axis=1)
        guess = np.argmax(pred, axis=1)
    else:
        truth = (y > 0.5).astype(int)
        guess = (pred > (0.0 if loss_type == "bce_with_logits" else 0.5)).astype(int)
    weight = None if mask is None else mask.astype(np.float64)  # a bool weight would make the count bool
    return int(accuracy_score(truth, guess, normalize=False, sample_weight=weight))


@pytest.mark.parametrize(
    "loss_type, n, k, one_hot",
    [c for c in LOSS_CASES if c[0] != "mse"] + [("bce_with_logits", 40, 2, False)],
)
@pytest.mark.parametrize("masked", [False, True])
def test_n_correct_matches_sklearn_subset_accuracy(loss_type, n, k, one_hot, masked):
    pred, y = make_case(loss_type, n, k, np.float32, seed=3, one_hot=one_hot)
    mask = np.random.default_rng(4).random(n) < 0.6 if masked else None
    expected = sklearn_n_correct(pred, y, loss_type, mask)
    eager = n_correct(
        jnp.asarray(pred), jnp.asarray(y), loss_type, None if mask is None else jnp.asarray(mask)
    )
    jitted = jax.jit(partial(n_correct, loss_type=loss_type))(
        jnp.asarray(pred), jnp.asarray(y), mask=None if mask is None else jnp.asarray(mask)
    )
    assert eager.shape == () and jnp.issubdtype(eager.dtype, jnp.integer)
    assert int(eager) == int(jitted) == expected


def test_n_correct_of_a_regression_is_zero_and_unknown_losses_are_refused():
    assert int(n_correct(jnp.ones((4, 1)), jnp.ones((4, 1)), "mse")) == 0
    with pytest.raises(ValueError, match=r"n_correct: loss_type must be one of 'mse'.*got 'binary'"):
        n_correct(jnp.ones((4, 1)), jnp.ones((4, 1)), "binary")


# --------------------------------------------------------------------------------------------------
# host-side metrics (oracle: scikit-learn)


@pytest.mark.parametrize("n, n_classes", [(1, 2), (50, 2), (200, 5)])
def test_accuracy_matches_sklearn(n, n_classes):
    rng = np.random.default_rng(n)
    t = rng.integers(0, n_classes, n)
    p = np.where(rng.random(n) < 0.7, t, rng.integers(0, n_classes, n))
    assert accuracy(t, p) == accuracy_score(t, p)
    assert accuracy(t.reshape(-1, 1).astype(np.float32), jnp.asarray(p)) == accuracy_score(t, p)


def test_accuracy_errors():
    with pytest.raises(
        ValueError, match=r"accuracy: y_true and y_pred must be of the same length, got 3 and 2"
    ):
        accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="accuracy: y_true must be non-empty"):
        accuracy([], [])
    with pytest.raises(ValueError, match="accuracy: y_pred must be integer class indices"):
        accuracy([0, 1], [0.5, 1.0])


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_confusion_matrix_matches_sklearn(n_classes):
    rng = np.random.default_rng(n_classes)
    t = rng.integers(0, n_classes, 200)
    p = np.where(rng.random(200) < 0.7, t, rng.integers(0, n_classes, 200))
    labels = list(range(n_classes))
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), sk_confusion(t, p, labels=labels))
    wider = metrics.confusion_matrix(t, p, n_classes + 2)
    np.testing.assert_array_equal(wider, sk_confusion(t, p, labels=list(range(n_classes + 2))))
    # (n, 1) columns and float labels, as training code may hold them
    column = metrics.confusion_matrix(t.reshape(-1, 1).astype(np.float32), p.reshape(-1, 1))
    np.testing.assert_array_equal(column, wider[:n_classes, :n_classes])


def test_confusion_matrix_of_predicted_classes():
    pred, y = make_case("cross_entropy", 30, 3, np.float32, seed=7)
    got = metrics.confusion_matrix(y, predicted_class(jnp.asarray(pred), "cross_entropy"), 3)
    np.testing.assert_array_equal(got, sk_confusion(y, np.argmax(pred, axis=1), labels=[0, 1, 2]))


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match=r"y_true and y_pred must be of the same length, got 3 and 2"):
        metrics.confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="y_pred must be non-negative class indices"):
        metrics.confusion_matrix([0, 1], [0, -1])
    with pytest.raises(ValueError, match="labels must be < n_classes=2, got label 2"):
        metrics.confusion_matrix([0, 2], [0, 1], n_classes=2)
    with pytest.raises(ValueError, match="n_classes must be given when y_true and y_pred are empty"):
        metrics.confusion_matrix([], [])
    with pytest.raises(ValueError, match=r"y_true must be class indices of shape \(n,\) or \(n, 1\)"):
        metrics.confusion_matrix(np.zeros((3, 2)), np.zeros((3, 2)))
    np.testing.assert_array_equal(metrics.confusion_matrix([], [], 2), np.zeros((2, 2)))


@pytest.mark.parametrize("shape", [(50,), (50, 1), (1,)])
def test_regression_metrics_match_sklearn(shape, dtype):
    rng = np.random.default_rng(0)
    t = rng.normal(size=shape).astype(dtype)
    p = (t + 0.3 * rng.normal(size=shape)).astype(dtype)
    got = metrics.regression_metrics(jnp.asarray(t), p)
    t64, p64 = t.astype(np.float64), p.astype(np.float64)
    if t.size > 1:  # sklearn's r2 of one sample is undefined (NaN and a warning)
        assert_close(got["r2"], r2_score(t64, p64), np.float64)
    assert_close(got["rmse"], math.sqrt(mean_squared_error(t64, p64)), np.float64)
    assert_close(got["mae"], mean_absolute_error(t64, p64), np.float64)


@pytest.mark.parametrize("pred", [[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]], ids=["perfect", "imperfect"])
def test_regression_metrics_constant_target_like_sklearn(pred):
    assert metrics.regression_metrics([2.0, 2.0, 2.0], pred)["r2"] == r2_score([2.0, 2.0, 2.0], pred)


def test_regression_metrics_errors():
    with pytest.raises(ValueError, match=r"y_true and y_pred must be of the same length, got 3 and 2"):
        metrics.regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"y_pred must be one target per sample.*got shape \(3, 2\)"):
        metrics.regression_metrics([1.0, 2.0, 3.0], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="y_true must be non-empty"):
        metrics.regression_metrics([], [])


# --------------------------------------------------------------------------------------------------
# classification_report against scikit-learn


@pytest.mark.parametrize(
    "n_classes, seed, n",
    [(2, 0, 50), (3, 1, 40), (5, 2, 12)],  # 5 classes in 12 rows: some absent, some never predicted
)
def test_classification_report_matches_sklearn(n_classes, seed, n):
    from sklearn.metrics import classification_report as sk_report
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, n_classes, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, n))
    labels = list(range(n_classes))
    r = metrics.classification_report(y_true, y_pred, n_classes)
    p, rec, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    assert_close(np.array(r["precision"]), p, np.float64)
    assert_close(np.array(r["recall"]), rec, np.float64)
    assert_close(np.array(r["f1"]), f, np.float64)
    assert r["support"] == s.tolist()
    assert r["accuracy"] == accuracy_score(y_true, y_pred)
    assert r["confusion_matrix"] == sk_confusion(y_true, y_pred, labels=labels).tolist()
    sk = sk_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    for avg in ("macro avg", "weighted avg"):
        got = [r[avg][k] for k in ("precision", "recall", "f1")]
        want = [sk[avg][k] for k in ("precision", "recall", "f1-score")]
        assert_close(np.array(got), np.array(want), np.float64)
        assert r[avg]["support"] == sk[avg]["support"] == n


def test_classification_report_rejects_bad_input():
    with pytest.raises(ValueError, match="classification_report: y_true must be non-empty"):
        metrics.classification_report([], [], 2)
    with pytest.raises(ValueError, match="n_classes"):
        metrics.classification_report([0, 1], [0, 1], 0)
    with pytest.raises(ValueError, match=r"< n_classes=2"):
        metrics.classification_report([0, 2], [0, 1], 2)
