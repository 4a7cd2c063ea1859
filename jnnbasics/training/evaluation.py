"""Evaluation in eval mode (no dropout): predictions, and the loss averaged as the tutorial does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_choice, check_positive_int, fail
from .._types import Params
from ..inference import batched_predict
from ..losses import LOSS_TYPES
from ..metrics import mean_of_batch_means, per_sample_loss
from .setup import check_x, check_xy, output_dim, param_dtype


def check_apply(func: str, apply_fn: Any) -> None:
    """Raise ``TypeError`` unless ``apply_fn`` is callable (a model's apply function)."""
    if not callable(apply_fn):
        fail(
            func,
            "apply_fn",
            "a model's apply function (e.g. model.apply)",
            repr(apply_fn)[:60],
            exc=TypeError,
        )


def evaluate_model(
    apply_fn: Callable[..., jax.Array], params: Params, x: Any, y: Any, *, batch_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's ``evaluate_model``: predictions and targets as NumPy arrays, in eval mode.

    Args:
        apply_fn: the model's apply function.
        params: parameters pytree.
        x: inputs of shape (n, features).
        y: targets of shape (n,) or (n, outputs); returned unchanged (as NumPy).
        batch_size: evaluate in chunks of this many rows (None: all at once), to bound memory.

    Returns:
        ``(predictions, targets)``: predictions of shape (n, outputs), targets as given.

    Raises:
        ValueError: ``x`` not of shape (n, features) with n >= 1, or not finite; ``y`` without n rows;
            a bad ``batch_size``.
        TypeError: ``x`` not numeric.
    """
    func = "evaluate_model"
    check_apply(func, apply_fn)
    if batch_size is not None:
        check_positive_int(func, "batch_size", batch_size)
    x = check_x(func, "x", x)
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != x.shape[0]:
        fail(func, "y", f"an array of {x.shape[0]} rows (one per row of x)", f"shape {y.shape}")
    xj = jnp.asarray(x, dtype=param_dtype(params))
    return np.asarray(batched_predict(apply_fn, params, xj, batch_size)), y


def evaluate_loss(
    apply_fn: Callable[..., jax.Array],
    params: Params,
    x: Any,
    y: Any,
    *,
    loss_type: str = "mse",
    batch_size: int | None = None,
) -> float:
    """Mean of the per-batch losses, as the tutorial's validation phase computes it.

    Args:
        apply_fn: the model's apply function (called in eval mode).
        params: parameters pytree.
        x: inputs of shape (n, features).
        y: targets of the shape ``loss_type`` expects for ``n`` samples.
        loss_type: one of ``LOSS_TYPES``.
        batch_size: the validation loader's batch size (None: one batch of all ``n`` rows).

    Returns:
        The mean over batches of each batch's mean loss, as a Python float.

    Raises:
        ValueError: ``x`` not of shape (n, features) with n >= 1; NaN/inf in ``x`` or ``y``; ``y``
            without n rows or not of the form ``loss_type`` expects (``(n,)`` is accepted for a
            one-output model); class labels outside ``[0, outputs)`` or BCE targets outside
            [0, 1]; a bad ``loss_type`` or ``batch_size``.
        TypeError: non-numeric ``x`` or ``y``.
    """
    func = "evaluate_loss"
    check_apply(func, apply_fn)
    check_choice(func, "loss_type", loss_type, LOSS_TYPES)
    bs = None if batch_size is None else check_positive_int(func, "batch_size", batch_size)
    xh = check_x(func, "x", x)
    dtype = param_dtype(params)
    out = output_dim(apply_fn, params, xh.shape[1], dtype)
    xj, yj = check_xy(func, xh, y, names=("x", "y"), out_dim=out, loss_type=loss_type, dtype=dtype)
    pred = batched_predict(apply_fn, params, xj, bs)
    return float(mean_of_batch_means(per_sample_loss(pred, yj, loss_type), bs or xj.shape[0]))
