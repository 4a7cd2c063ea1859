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
    """
    if batch_size is not None:
        check_positive_int("evaluate_model", "batch_size", batch_size)
    x = jnp.asarray(x)
    if np.shape(y)[0] != x.shape[0]:
        fail("evaluate_model", "y", f"of length {x.shape[0]} (the length of x)", np.shape(y)[0])
    return np.asarray(batched_predict(apply_fn, params, x, batch_size)), np.asarray(y)


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
    """
    check_choice("evaluate_loss", "loss_type", loss_type, LOSS_TYPES)
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    n = x.shape[0]
    bs = n if batch_size is None else check_positive_int("evaluate_loss", "batch_size", batch_size)
    pred = batched_predict(apply_fn, params, x, batch_size)
    return float(mean_of_batch_means(per_sample_loss(pred, y, loss_type), bs))
