"""The one vocabulary of problem types ("tasks") and the loss that goes with each.

A *task* says what kind of answer a model gives: ``"binary"`` (one logit per row, class 1 where it is
> 0), ``"multiclass"`` (one logit per class) or ``"regression"`` (real values). Every other module that
needs these names (model selection, training metrics, the command line) takes them from here.
"""

from __future__ import annotations

from ._checks import check_choice
from .losses import LOSS_TYPES

TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
"""The problem types, in the order they are listed to users."""

LOSS_OF_TASK: dict[str, str] = {
    "binary": "bce_with_logits",
    "multiclass": "cross_entropy",
    "regression": "mse",
}
"""The default loss of each task (binary models output raw logits, so BCE takes logits)."""

_TASK_OF_LOSS: dict[str, str] = {
    "cross_entropy": "multiclass",
    "bce_with_logits": "binary",
    "binary_cross_entropy": "binary",
    "mse": "regression",
}


def task_of_loss(loss_type: str) -> str:
    """The task a loss trains for.

    Args:
        loss_type: one of ``LOSS_TYPES``: ``"cross_entropy"`` (multiclass), ``"bce_with_logits"`` or
            ``"binary_cross_entropy"`` (binary), ``"mse"`` (regression).

    Returns:
        One of :data:`TASKS`.

    Raises:
        ValueError: if ``loss_type`` is not one of ``LOSS_TYPES``.

    Example:
        >>> task_of_loss("bce_with_logits")
        'binary'
    """
    check_choice("task_of_loss", "loss_type", loss_type, LOSS_TYPES)
    return _TASK_OF_LOSS[loss_type]
