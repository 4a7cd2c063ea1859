"""Metrics: how good a model's outputs are, in one place for training, evaluation and plots.

Two kinds live here:

* **jit-safe** (``jax.numpy``, static shapes; used inside the compiled epoch):
  :func:`per_sample_loss`, :func:`mean_of_batch_means`, :func:`predicted_class`, :func:`n_correct`.
  Their string and integer options (``loss_type``, ``batch_size``) are static: checked in plain
  Python before tracing.
* **host-side** (NumPy, float64; for reports and figures): :func:`accuracy`,
  :func:`confusion_matrix`, :func:`classification_report`, :func:`regression_metrics`, with the conventions of ``sklearn.metrics``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    check_choice,
    check_class_indices,
    check_ndim,
    check_positive_int,
    check_regression_pair,
    fail,
)
from .losses import LOSS_TYPES, compute_loss
from .tasks import task_of_loss

Array = jax.Array

__all__ = [
    "accuracy",
    "baseline_loss",
    "classification_report",
    "confusion_matrix",
    "mean_of_batch_means",
    "n_correct",
    "per_sample_loss",
    "predicted_class",
    "regression_metrics",
]


# --------------------------------------------------------------------------------------------------
# jit-safe


def per_sample_loss(pred: Array, y: Array, loss_type: str) -> Array:
    """Each row's mean loss: ``compute_loss(..., reduction="none")`` averaged over all but the rows.

    A batch's mean loss is the mean of its rows' values, whatever the number of output columns.

    Args:
        pred: model outputs of shape ``(n, k)`` (logits, or probabilities for
            ``"binary_cross_entropy"``).
        y: targets in the form ``loss_type`` expects for ``n`` rows (``(n,)`` class indices or
            ``(n, k)`` one-hot/probabilities for ``"cross_entropy"``; ``(n, k)`` otherwise).
        loss_type: one of ``LOSS_TYPES``.

    Returns:
        Array of shape ``(n,)``.

    Raises:
        ValueError: unknown ``loss_type``, or the loss rejects the shapes.

    Example:
        >>> per_sample_loss(jnp.zeros((3, 2)), jnp.ones((3, 2)), "mse")
        Array([1., 1., 1.], dtype=float32)
    """
    per = compute_loss(pred, y, loss_type, reduction="none")
    return per.reshape(per.shape[0], -1).mean(axis=1)


def mean_of_batch_means(per_sample: Any, batch_size: int) -> Any:
    """The mean over consecutive batches of ``batch_size`` rows of each batch's mean.

    This is what averaging a loader's per-batch losses gives (PyTorch's usual validation loop): the
    final partial batch, when ``n`` is not a multiple of ``batch_size``, is a batch of its own and
    weighs as much as a full one. Shapes are static, so it runs under ``jax.jit`` (``batch_size``
    static); NumPy input is computed in NumPy (float64 stays float64).

    Args:
        per_sample: per-row values of shape ``(n,)``, ``n >= 1`` (e.g. from :func:`per_sample_loss`).
        batch_size: rows per batch, a positive integer.

    Returns:
        A scalar (a NumPy scalar for NumPy input, a JAX array otherwise).

    Raises:
        ValueError: ``per_sample`` is not 1-D or is empty; ``batch_size`` is not a positive integer.

    Example:
        >>> float(mean_of_batch_means(jnp.array([1.0, 2.0, 3.0]), 2))  # mean of 1.5 and 3
        2.25
    """
    func = "mean_of_batch_means"
    check_ndim(func, "per_sample", per_sample, (1,))
    batch_size = check_positive_int(func, "batch_size", batch_size)
    n = per_sample.shape[0]
    if n == 0:
        fail(func, "per_sample", "non-empty", "0 values")
    xp = np if isinstance(per_sample, (np.ndarray, np.generic)) else jnp
    nf, r = divmod(n, batch_size)
    means = []
    if nf:
        means.append(per_sample[: nf * batch_size].reshape(nf, batch_size).mean(axis=1))
    if r:
        means.append(per_sample[nf * batch_size :].mean()[None])
    return xp.concatenate(means).mean()


def predicted_class(outputs: Array, loss_type: str) -> Array:
    """The class a classifier's outputs predict for each row.

    ``"cross_entropy"``: the argmax over the last axis (logits or probabilities alike);
    ``"bce_with_logits"``: 1 where ``outputs[:, 0] > 0`` (a logit); ``"binary_cross_entropy"``: 1 where
    ``outputs[:, 0] > 0.5`` (a probability).

    Args:
        outputs: model outputs of shape ``(n, k)`` (``k = 1`` for the binary losses).
        loss_type: the loss the model was trained with, a classification one of ``LOSS_TYPES``.

    Returns:
        int32 array of shape ``(n,)``.

    Raises:
        ValueError: ``loss_type`` is ``"mse"`` (a regression has no classes) or unknown; ``outputs``
            is not 2-D.

    Example:
        >>> predicted_class(jnp.array([[-1.0], [2.0]]), "bce_with_logits")
        Array([0, 1], dtype=int32)
    """
    func = "predicted_class"
    check_choice(func, "loss_type", loss_type, LOSS_TYPES)
    if task_of_loss(loss_type) == "regression":
        fail(func, "loss_type", "a classification loss", repr(loss_type), hint="a regression has no classes")
    check_ndim(func, "outputs", outputs, (2,))
    if loss_type == "cross_entropy":
        return jnp.argmax(outputs, axis=-1).astype(jnp.int32)
    threshold = 0.0 if loss_type == "bce_with_logits" else 0.5
    return (outputs[:, 0] > threshold).astype(jnp.int32)


def n_correct(pred: Array, y: Array, loss_type: str, mask: Array | None = None) -> Array:
    """How many rows a classifier gets right (among ``mask``'s rows when given).

    ``"cross_entropy"``: the argmax of ``pred`` equals the label (``y`` as class indices ``(n,)`` or
    one-hot/probabilities ``(n, k)``, whose argmax is the label). The binary losses: every column
    right, the prediction being ``pred > 0`` (``"bce_with_logits"``) or ``pred > 0.5``
    (``"binary_cross_entropy"``) and the truth ``y > 0.5``. ``"mse"``: 0 (a regression has no
    classes).

    Args:
        pred: model outputs of shape ``(n, k)``.
        y: targets for ``n`` rows, as ``loss_type`` expects them.
        loss_type: one of ``LOSS_TYPES``.
        mask: optional bool array of shape ``(n,)``; only rows where it is True count.

    Returns:
        An integer scalar array.

    Raises:
        ValueError: unknown ``loss_type``.

    Example:
        >>> int(n_correct(jnp.array([[2.0, 0.0], [0.0, 1.0]]), jnp.array([0, 0]), "cross_entropy"))
        1
    """
    check_choice("n_correct", "loss_type", loss_type, LOSS_TYPES)
    if loss_type == "cross_entropy":
        labels = y if y.ndim == 1 else jnp.argmax(y, axis=-1)
        hit = jnp.argmax(pred, axis=-1) == labels
    elif loss_type in ("bce_with_logits", "binary_cross_entropy"):
        threshold = 0.0 if loss_type == "bce_with_logits" else 0.5
        hit = ((pred > threshold) == (y > 0.5)).reshape(pred.shape[0], -1).all(axis=-1)
    else:
        return jnp.zeros((), jnp.int32)
    if mask is not None:
        hit = hit & mask
    return jnp.sum(hit)


# --------------------------------------------------------------------------------------------------
# host-side (NumPy, float64)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """The fraction of rows whose predicted class is the true class (``sklearn``'s ``accuracy_score``).

    Args:
        y_true: true class indices, shape ``(n,)`` or ``(n, 1)``, integers ``>= 0``, ``n >= 1``.
        y_pred: predicted class indices, same shape (e.g. from :func:`predicted_class`).

    Returns:
        A float in ``[0, 1]``.

    Raises:
        ValueError: if the labels are not non-negative integers of matching, non-zero length.

    Example:
        >>> accuracy([0, 1, 1, 2], [0, 1, 0, 2])
        0.75
    """
    func = "accuracy"
    t = check_class_indices(func, "y_true", y_true)
    p = check_class_indices(func, "y_pred", y_pred)
    if t.shape != p.shape:
        fail(func, "y_true and y_pred", "of the same length", f"{t.shape[0]} and {p.shape[0]}")
    if t.size == 0:
        fail(func, "y_true", "non-empty", "0 samples")
    return float(np.mean(t == p))


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """Count how often each true class was predicted as each class.

    Same convention as ``sklearn.metrics.confusion_matrix``: rows are true classes, columns are
    predicted classes.

    Args:
        y_true: true class indices, shape ``(n,)`` or ``(n, 1)``, integers ``>= 0``.
        y_pred: predicted class indices, same shape as ``y_true``.
        n_classes: size of the matrix; by default ``max(y_true.max(), y_pred.max()) + 1``.

    Returns:
        An int64 array of shape ``(n_classes, n_classes)``; entry ``[i, j]`` counts samples of true
        class ``i`` predicted as ``j``.

    Raises:
        ValueError: if the labels are not non-negative integers of matching length, if a label is
            ``>= n_classes``, or if both are empty and ``n_classes`` is not given.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0])
        array([[1, 0],
               [1, 1]])
    """
    func = "confusion_matrix"
    t = check_class_indices(func, "y_true", y_true)
    p = check_class_indices(func, "y_pred", y_pred)
    if t.shape != p.shape:
        fail(func, "y_true and y_pred", "of the same length", f"{t.shape[0]} and {p.shape[0]}")
    largest = int(max(t.max(), p.max())) if t.size else -1
    if n_classes is None:
        if not t.size:
            fail(func, "n_classes", "given when y_true and y_pred are empty", None)
        n_classes = largest + 1
    n_classes = check_positive_int(func, "n_classes", n_classes)
    if largest >= n_classes:
        fail(func, "labels", f"< n_classes={n_classes}", f"label {largest}")
    counts = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def classification_report(y_true: Any, y_pred: Any, n_classes: int) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support, their averages, and the confusion matrix.

    The numbers of ``sklearn.metrics.precision_recall_fscore_support`` (``zero_division=0``: a class
    never predicted has precision 0, a class absent from ``y_true`` recall 0) and of
    ``classification_report``'s ``macro avg`` (unweighted mean over classes) and ``weighted avg``
    (weighted by support).

    Args:
        y_true: true class indices, shape ``(n,)`` or ``(n, 1)``, integers in ``[0, n_classes)``, ``n >= 1``.
        y_pred: predicted class indices, same shape.
        n_classes: the number of classes (``>= 1``); classes with no rows get zeros.

    Returns:
        ``{"precision": [...], "recall": [...], "f1": [...], "support": [...]}`` (one float or int
        per class), ``"accuracy"``, ``"macro avg"`` and ``"weighted avg"`` (each
        ``{"precision", "recall", "f1", "support"}``) and ``"confusion_matrix"`` (a list of
        ``n_classes`` rows, true class by predicted class).

    Raises:
        ValueError: as :func:`confusion_matrix`, or when ``y_true`` is empty.

    Example:
        >>> classification_report([0, 1, 1], [0, 1, 0], 2)["recall"]
        [1.0, 0.5]
    """
    if np.asarray(y_true).size == 0:
        fail("classification_report", "y_true", "non-empty", "0 samples")
    cm = confusion_matrix(y_true, y_pred, check_positive_int("classification_report", "n_classes", n_classes))
    hits = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    total = int(support.sum())

    def average(weights: np.ndarray) -> dict[str, Any]:
        w = weights / weights.sum()
        return {
            "precision": float(w @ precision),
            "recall": float(w @ recall),
            "f1": float(w @ f1),
            "support": total,
        }

    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
        "accuracy": float(hits.sum() / total),
        "macro avg": average(np.ones_like(hits)),
        "weighted avg": average(support.astype(np.float64)),
        "confusion_matrix": cm.tolist(),
    }


def baseline_loss(y: Any, loss_type: str, n_outputs: int) -> float:
    """The loss of an uninformed prediction: the scale against which a training loss is judged.

    ``"mse"``: predicting zeros, ``mean(y ** 2)``; ``"cross_entropy"``: uniform probabilities over
    ``n_outputs`` classes, ``log(n_outputs)`` (for index and probability labels alike); the binary
    losses: probability 1/2, ``log 2``. An untrained network's loss is of this order; a training
    loss many orders of magnitude above it means training diverged (see
    :func:`jnnbasics.training.history.divergence`).

    Args:
        y: training targets for ``loss_type`` (only read for ``"mse"``).
        loss_type: one of ``LOSS_TYPES``.
        n_outputs: the model's number of outputs (classes for ``"cross_entropy"``), >= 1.

    Returns:
        A float >= 0.

    Example:
        >>> baseline_loss(np.array([[1.0], [3.0]]), "mse", 1)
        5.0
    """
    check_choice("baseline_loss", "loss_type", loss_type, LOSS_TYPES)
    n_outputs = check_positive_int("baseline_loss", "n_outputs", n_outputs)
    if loss_type == "mse":
        y = np.asarray(y, dtype=np.float64)
        return float(np.mean(np.square(y))) if y.size else 0.0
    if loss_type == "cross_entropy":
        return math.log(n_outputs)
    return math.log(2.0)


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """R², RMSE and MAE of a single-target regression, computed in float64.

    ``r2`` follows ``sklearn.metrics.r2_score``: ``1 - SS_res / SS_tot``; when ``y_true`` is constant
    (``SS_tot == 0``) it is ``1.0`` for a perfect prediction and ``0.0`` otherwise.

    Args:
        y_true: targets, shape ``(n,)`` or ``(n, 1)``.
        y_pred: predictions, shape ``(n,)`` or ``(n, 1)``.

    Returns:
        ``{"r2": float, "rmse": float, "mae": float}``.

    Raises:
        ValueError: if either has more than one target column, their lengths differ, or they are empty.

    Example:
        >>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])["mae"]
        0.3333333333333333
    """
    t, p = check_regression_pair("regression_metrics", y_true, y_pred)
    residual = t - p
    ss_res = float(np.sum(residual**2))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot == 0.0:
        r2 = 1.0 if ss_res == 0.0 else 0.0
    else:
        r2 = 1.0 - ss_res / ss_tot
    return {
        "r2": r2,
        "rmse": math.sqrt(ss_res / t.size),
        "mae": float(np.mean(np.abs(residual))),
    }
