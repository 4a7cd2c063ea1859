"""The loop's record: one epoch's metrics as a history row, and the run so far (``Loop``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .._types import Params
from ..state import TrainState

STOP_REASONS = ("completed", "early_stopping", "diverged", "callback")

DIVERGENCE_FACTOR = 1e4
"""An epoch has diverged when its training loss exceeds this many times the reference loss (see
:func:`divergence`); ``train_model(divergence_factor=...)`` changes it (None: only NaN/inf)."""

DIVERGENCE_FLOOR = 1e-8
"""The smallest reference loss, so that a reference of 0 (a perfect fit at the start) is usable."""


def divergence(
    m: dict[str, Any], history: dict[str, list[float]], baseline: float, factor: float | None
) -> str | None:
    """Why the epoch with metrics ``m`` diverged (a phrase for the warning), or None if it did not.

    The rule: an epoch has diverged when any of its losses is NaN or infinite, or when its mean
    training loss exceeds ``factor`` times the reference loss

        reference = max(first, baseline, DIVERGENCE_FLOOR)

    where ``first`` is the first recorded epoch's training loss (for the first epoch: its first
    batch's loss before any step, the untrained model's) and ``baseline`` the loss of an
    uninformed prediction (:func:`jnnbasics.metrics.baseline_loss`: ``mean(y**2)`` for MSE,
    ``log C`` for cross-entropy, ``log 2`` for BCE). With the default factor 1e4 a regression whose
    first epoch's loss is 1.5 diverges at a training loss of 1.5e4; ``lr=1e5`` reaches 1e20 in its
    first epoch. The validation loss is not looked at: overfitting is not divergence. The rule uses
    only the history and the data, so a resumed run stops where the uninterrupted run stops.

    Args:
        m: the epoch's metrics (host values): ``finite``, ``train_loss``, ``start_loss``.
        history: the epochs recorded before this one.
        baseline: the uninformed prediction's loss on the training data.
        factor: ``DIVERGENCE_FACTOR`` or the run's ``divergence_factor``; None checks NaN/inf only.

    Returns:
        None, or e.g. ``"the loss became NaN or infinite"``.
    """
    if not bool(m["finite"]):
        return "the loss became NaN or infinite"
    if factor is None:
        return None
    recorded = history.get("train_loss") or []
    if recorded:
        first, what = float(recorded[0]), "the first epoch's loss"
    else:
        first, what = float(m["start_loss"]), "the loss at the start of training"
    reference = max(first, baseline, DIVERGENCE_FLOOR)
    loss = float(m["train_loss"])
    if loss > factor * reference:
        return (
            f"the training loss grew to {loss:.3g}, more than {factor:g} times the reference {reference:.3g} "
            f"(the larger of {what}, {first:.3g}, and an uninformed prediction's, {baseline:.3g})"
        )
    return None


def epoch_logs(
    m: dict[str, Any], *, lr: float, n_train: int, n_val: int, penalize: bool, classifies: bool
) -> dict[str, float]:
    """One epoch's history row from ``run_epoch``'s metrics (host values of one model).

    Args:
        m: ``run_epoch``'s metrics (``train_loss``, ``train_objective``, ``train_correct`` and, with
            validation data, ``val_loss`` and ``val_correct``).
        lr: the epoch's learning rate; n_train, n_val: rows in each set (n_val 0: no validation).
        penalize: record ``train_objective``; classifies: record the accuracies.

    Returns:
        ``train_loss``, ``lr``, then ``train_objective``, ``train_accuracy``, ``val_loss``,
        ``val_accuracy`` where they apply, as Python floats.
    """
    logs = {"train_loss": float(m["train_loss"]), "lr": float(lr)}
    if penalize:
        logs["train_objective"] = float(m["train_objective"])
    if classifies:
        logs["train_accuracy"] = float(m["train_correct"]) / n_train
    if n_val:
        logs["val_loss"] = float(m["val_loss"])
        if classifies:
            logs["val_accuracy"] = float(m["val_correct"]) / n_val
    return logs


def append_logs(history: dict[str, list[float]], logs: dict[str, float]) -> None:
    """Append one row to ``history`` (a dict of per-epoch lists), in place."""
    for k, v in logs.items():
        history.setdefault(k, []).append(v)


@dataclass
class Loop:
    """The training loop's state between epochs, shared with its callbacks.

    Attributes:
        state: the ``TrainState`` after ``epoch`` epochs.
        history: per-epoch lists (extended in place).
        epochs: the number of epochs asked for, in total.
        epoch: the number of epochs done.
        best_loss, best_epoch, best_params: the lowest validation loss so far, its 1-based epoch and
            the parameters at the end of that epoch (None without validation data).
        stop_reason: one of ``STOP_REASONS``.
        diverged_epoch: the 1-based epoch that diverged (see :func:`divergence`), or None.
    """

    state: TrainState
    history: dict[str, list[float]]
    epochs: int
    epoch: int = 0
    best_loss: float = math.inf
    best_epoch: int | None = None
    best_params: Params | None = None
    stop_reason: str = "completed"
    diverged_epoch: int | None = None
    stopped: bool = field(default=False)

    def track_best(self, val_loss: float) -> None:
        """Keep the current parameters if ``val_loss`` (this epoch's) is the lowest so far."""
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch = val_loss, self.epoch
            self.best_params = self.state.params  # epochs return new buffers: no copy needed

    def best_from_history(self) -> None:
        """Recover ``best_loss``/``best_epoch`` from the history (a resumed run); params stay as set."""
        vl = self.history.get("val_loss") or []
        if vl:
            self.best_epoch = min(range(len(vl)), key=vl.__getitem__) + 1
            self.best_loss = float(vl[self.best_epoch - 1])

    def stop(self, reason: str) -> None:
        """End the loop after this epoch, for ``reason`` (one of ``STOP_REASONS``)."""
        self.stop_reason, self.stopped = reason, True
