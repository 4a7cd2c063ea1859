"""Loss functions with ``torch.nn`` semantics: MSE, cross-entropy, BCE and BCE-with-logits.

Every loss takes predictions first and targets second, reduces with ``reduction="mean"`` by
default (``"sum"`` and ``"none"`` as in PyTorch), and checks shapes on the *static* shapes, so the
checks also run (once, at trace time) under ``jax.jit``. There is no silent broadcasting: ``(n,)``
against ``(n, 1)`` is an error, not an ``(n, n)`` matrix.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import as_array, check_choice, check_class_labels, check_number, check_same_shape, fail

Array = jax.Array

LOSS_TYPES: tuple[str, ...] = ("mse", "cross_entropy", "binary_cross_entropy", "bce_with_logits")
"""Names accepted by :func:`compute_loss`."""

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")

# torch's clamp of p * (1 - p) in BCELoss's backward: a C++ `float` 1e-12, also in float64.
_BCE_EPS = float(np.float32(1e-12))


def _reduce(func: str, loss: Array, reduction: str) -> Array:
    check_choice(func, "reduction", reduction, REDUCTIONS)
    if reduction == "mean":
        return jnp.mean(loss)
    if reduction == "sum":
        return jnp.sum(loss)
    return loss


def _as_float_array(func: str, arg: str, x) -> Array:
    x = as_array(func, arg, x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        fail(func, arg, "a floating-point array", f"dtype {x.dtype}", exc=TypeError)
    return x


def _target_like(func: str, arg: str, target, pred: Array) -> Array:
    """Targets as an array of ``pred``'s dtype (bool/int 0-1 labels are converted exactly)."""
    target = as_array(func, arg, target)
    if jnp.issubdtype(target.dtype, jnp.complexfloating):
        fail(func, arg, "a real array", f"dtype {target.dtype}", exc=TypeError)
    return target.astype(pred.dtype)


def mse(pred: Array, target: Array, *, reduction: str = "mean") -> Array:
    """Mean squared error, ``torch.nn.MSELoss``.

    Args:
        pred: predictions of any shape, e.g. ``(batch, outputs)``; floating dtype.
        target: targets of exactly the same shape as ``pred`` (cast to ``pred``'s dtype).
        reduction: ``"mean"`` (over all elements), ``"sum"`` or ``"none"`` (elementwise).

    Returns:
        Scalar, or an array of ``pred``'s shape for ``reduction="none"``.

    Raises:
        ValueError: if the shapes differ (e.g. ``(n,)`` vs ``(n, 1)``) or ``reduction`` is unknown.
        TypeError: if ``pred`` is not floating point.

    Example:
        >>> mse(jnp.array([[1.0], [2.0]]), jnp.array([[1.0], [4.0]]))
        Array(2., dtype=float32)
    """
    pred = _as_float_array("mse", "pred", pred)
    check_same_shape("mse", "pred", pred, "target", target)
    target = _target_like("mse", "target", target, pred)
    return _reduce("mse", jnp.square(pred - target), reduction)


def cross_entropy(
    logits: Array, labels: Array, *, label_smoothing: float = 0.0, reduction: str = "mean"
) -> Array:
    """Softmax cross-entropy from raw logits, ``torch.nn.CrossEntropyLoss`` (no class weights).

    ``labels`` come in the two forms PyTorch accepts, told apart by dtype:

    * integer class indices of shape ``(batch,)`` (or ``()`` for unbatched ``(classes,)`` logits):
      ``loss_i = (1 - eps) * -log p[i, y_i] + eps / C * sum_c -log p[i, c]``;
    * class probabilities (floating) of shape ``(batch, classes)``: the target is smoothed to
      ``t * (1 - eps) + eps / C`` and ``loss_i = -sum_c t[i, c] * log p[i, c]``.

    ``reduction="mean"`` divides by the batch size in both forms, as PyTorch does.

    Args:
        logits: unnormalised scores of shape ``(batch, classes)`` or ``(classes,)``.
        labels: ``(batch,)`` integer indices in ``[0, classes)`` or ``(batch, classes)`` floating
            probabilities (rows summing to 1).
        label_smoothing: ``eps`` in ``[0, 1]``.
        reduction: ``"mean"`` (over the batch), ``"sum"`` or ``"none"`` (per sample, ``(batch,)``).

    Returns:
        Scalar, or per-sample losses of shape ``(batch,)`` for ``reduction="none"``.

    Raises:
        ValueError: batch sizes differ, probability labels have the wrong number of classes,
            integer labels are out of range (checked when concrete), ``label_smoothing`` is outside
            ``[0, 1]`` or ``reduction`` is unknown.
        TypeError: ``logits`` not floating, or floating labels of index shape ``(batch,)``.

    Example:
        >>> cross_entropy(jnp.zeros((2, 4)), jnp.array([0, 3]))  # log(4)
        Array(1.3862944, dtype=float32)
    """
    func = "cross_entropy"
    logits = _as_float_array(func, "logits", logits)
    labels = as_array(func, "labels", labels)
    if logits.ndim not in (1, 2):
        fail(func, "logits", "of shape (batch, classes) or (classes,)", f"shape {logits.shape}")
    if not isinstance(check_number(func, "label_smoothing", label_smoothing), jax.core.Tracer):
        if not 0.0 <= float(label_smoothing) <= 1.0:
            fail(func, "label_smoothing", "in [0, 1]", repr(label_smoothing))
    check_choice(func, "reduction", reduction, REDUCTIONS)
    logp = jax.nn.log_softmax(logits, axis=-1)
    if jnp.issubdtype(labels.dtype, jnp.integer):
        loss = _index_label_loss(logp, labels, label_smoothing)
    elif jnp.issubdtype(labels.dtype, jnp.floating):
        loss = _probability_label_loss(logp, labels, label_smoothing)
    else:
        fail(
            func,
            "labels",
            "integer indices or floating probabilities",
            f"dtype {labels.dtype}",
            exc=TypeError,
        )
    return _reduce(func, loss, reduction)


def _index_label_loss(logp: Array, labels: Array, label_smoothing) -> Array:
    """Per-row cross-entropy of integer class ``labels`` (batch,) against log-probabilities ``logp``."""
    func, n_classes, batch_shape = "cross_entropy", logp.shape[-1], logp.shape[:-1]
    if labels.shape != batch_shape:
        fail(
            func,
            "labels",
            f"integer class indices of shape {batch_shape} (one per row of logits {logp.shape})",
            f"shape {labels.shape}",
        )
    if not isinstance(labels, jax.core.Tracer) and labels.size:
        check_class_labels(
            func, "labels", np.asarray(labels), n_classes, context=f"for logits of {n_classes} classes"
        )
    nll = -jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]
    smooth = -jnp.mean(logp, axis=-1)  # = (1/C) * sum_c -log p_c
    loss = (1.0 - label_smoothing) * nll + label_smoothing * smooth
    return loss


def _probability_label_loss(logp: Array, labels: Array, label_smoothing) -> Array:
    """Per-row cross-entropy of class probabilities ``labels`` (batch, classes) against ``logp``."""
    func, n_classes, batch_shape = "cross_entropy", logp.shape[-1], logp.shape[:-1]
    if labels.shape != logp.shape:
        if labels.shape == batch_shape:
            fail(
                func,
                "labels",
                "integer class indices when of shape (batch,)",
                f"dtype {labels.dtype}",
                hint="cast with labels.astype(jnp.int32), or pass (batch, classes) probabilities",
                exc=TypeError,
            )
        if labels.shape[:-1] != batch_shape:
            fail(
                func,
                "labels",
                f"probabilities of shape {logp.shape} (batch size {batch_shape} like logits)",
                f"shape {labels.shape}",
            )
        fail(
            func,
            "labels",
            f"probabilities over {n_classes} classes, shape {logp.shape}",
            f"shape {labels.shape} ({labels.shape[-1]} classes)",
        )
    target = labels.astype(logp.dtype) * (1.0 - label_smoothing) + label_smoothing / n_classes
    loss = -jnp.sum(target * logp, axis=-1)
    return loss


@jax.custom_jvp
def _bce_elementwise(p: Array, t: Array) -> Array:
    log_p = jnp.maximum(jnp.log(p), -100.0)
    log_1mp = jnp.maximum(jnp.log1p(-p), -100.0)
    return -(t * log_p + (1.0 - t) * log_1mp)


@_bce_elementwise.defjvp
def _bce_elementwise_jvp(primals, tangents):
    p, t = primals
    dp, dt = tangents
    out = _bce_elementwise(p, t)
    # d/dp as in torch's BCELoss backward: (p - t) / max(p (1 - p), 1e-12), finite at p in {0, 1}.
    d_p = (p - t) / jnp.maximum(p * (1.0 - p), _BCE_EPS)
    # d/dt of the (clamped) forward: clamp(log(1 - p)) - clamp(log p).
    d_t = jnp.maximum(jnp.log1p(-p), -100.0) - jnp.maximum(jnp.log(p), -100.0)
    return out, d_p * dp + d_t * dt


def binary_cross_entropy(probs: Array, targets: Array, *, reduction: str = "mean") -> Array:
    """Binary cross-entropy on probabilities, ``torch.nn.BCELoss``.

    ``loss = -(t * max(log p, -100) + (1 - t) * max(log(1 - p), -100))``: the clamp of each log
    term at -100 makes probabilities of exactly 0 or 1 give finite losses. The gradient with
    respect to ``probs`` is PyTorch's ``(p - t) / max(p (1 - p), 1e-12)`` (finite everywhere, and
    not zeroed by the clamp); the gradient with respect to ``targets`` is that of the clamped
    forward (PyTorch's is ``±inf`` at ``p`` in {0, 1}). Values of ``probs`` outside ``[0, 1]``
    give NaN (not checked, so that it works under ``jit``). Prefer
    :func:`binary_cross_entropy_with_logits` when the model outputs logits.

    Args:
        probs: probabilities in ``[0, 1]`` of any shape, e.g. ``(batch, 1)``; floating dtype.
        targets: targets in ``[0, 1]`` of exactly the same shape (bool/int are converted).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        Scalar, or an array of ``probs``' shape for ``reduction="none"``.

    Raises:
        ValueError: if the shapes differ or ``reduction`` is unknown.
        TypeError: if ``probs`` is not floating point.

    Example:
        >>> binary_cross_entropy(jnp.array([0.0, 1.0]), jnp.array([1.0, 0.0]))
        Array(100., dtype=float32)
    """
    func = "binary_cross_entropy"
    probs = _as_float_array(func, "probs", probs)
    check_same_shape(func, "probs", probs, "targets", targets)
    targets = _target_like(func, "targets", targets, probs)
    return _reduce(func, _bce_elementwise(probs, targets), reduction)


@jax.custom_jvp
def _bce_logits_elementwise(x: Array, t: Array) -> Array:
    # softplus(x) - t * x written so that nothing cancels for either sign of x:
    # x >= 0: (1 - t) * x + log1p(exp(-x)) (torch's form there);  x < 0: -t * x + log1p(exp(x)).
    linear = jnp.where(x >= 0, (1.0 - t) * x, -t * x)
    return linear + jnp.log1p(jnp.exp(-jnp.abs(x)))


@_bce_logits_elementwise.defjvp
def _bce_logits_elementwise_jvp(primals, tangents):
    x, t = primals
    dx, dt = tangents
    # torch's backward: d/dx = sigmoid(x) - t, d/dt = -x.
    return _bce_logits_elementwise(x, t), (jax.nn.sigmoid(x) - t) * dx - x * dt


def binary_cross_entropy_with_logits(logits: Array, targets: Array, *, reduction: str = "mean") -> Array:
    """Binary cross-entropy on logits, ``torch.nn.BCEWithLogitsLoss`` (stable for any finite input).

    ``loss = -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``, computed without overflow or
    cancellation for either sign of ``x``: ``(1 - t) * x + log1p(exp(-x))`` for ``x >= 0`` (torch's
    form there: ``x = 1e4, t = 0.9999`` gives torch's 1.0001659 in float32, where
    ``softplus(x) - t * x`` gives 1.0) and ``-t * x + log1p(exp(x))`` for ``x < 0``. Torch computes
    ``(1 - t) * x - log_sigmoid(x)`` for both signs, which at large negative ``x`` with a small
    ``t`` loses about ``eps / t`` relative precision in float32 (``x = -1000, t = 1e-4``: 0.1000366
    instead of 0.1); this form gives the correctly rounded value there. Gradients are torch's:
    ``sigmoid(x) - t`` for the logits and ``-x`` for the targets.

    Args:
        logits: raw scores of any shape, e.g. ``(batch, 1)``; floating dtype.
        targets: targets in ``[0, 1]`` of exactly the same shape (bool/int are converted).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        Scalar, or an array of ``logits``' shape for ``reduction="none"``.

    Raises:
        ValueError: if the shapes differ or ``reduction`` is unknown.
        TypeError: if ``logits`` is not floating point.

    Example:
        >>> binary_cross_entropy_with_logits(jnp.array([0.0]), jnp.array([1.0]))  # log 2
        Array(0.6931472, dtype=float32)
    """
    func = "binary_cross_entropy_with_logits"
    logits = _as_float_array(func, "logits", logits)
    check_same_shape(func, "logits", logits, "targets", targets)
    targets = _target_like(func, "targets", targets, logits)
    return _reduce(func, _bce_logits_elementwise(logits, targets), reduction)


_LOSSES = {
    "mse": mse,
    "cross_entropy": cross_entropy,
    "binary_cross_entropy": binary_cross_entropy,
    "bce_with_logits": binary_cross_entropy_with_logits,
}


def compute_loss(pred: Array, target: Array, loss_type: str = "mse", *, reduction: str = "mean") -> Array:
    """The tutorial's ``compute_loss``: dispatch to a loss by name.

    Args:
        pred: model outputs; probabilities for ``"binary_cross_entropy"``, logits for
            ``"cross_entropy"`` (``(batch, classes)``) and ``"bce_with_logits"``.
        target: targets in the form the chosen loss expects (see each loss).
        loss_type: one of :data:`LOSS_TYPES`: ``"mse"``, ``"cross_entropy"``,
            ``"binary_cross_entropy"``, ``"bce_with_logits"``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The loss (scalar unless ``reduction="none"``).

    Raises:
        ValueError: if ``loss_type`` is unknown (the message lists the valid ones), or the chosen
            loss rejects the inputs.

    Example:
        >>> compute_loss(jnp.zeros((2, 1)), jnp.ones((2, 1)), "mse")
        Array(1., dtype=float32)
    """
    check_choice("compute_loss", "loss_type", loss_type, LOSS_TYPES)
    return _LOSSES[loss_type](pred, target, reduction=reduction)
