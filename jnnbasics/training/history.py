"""The loop's record: one epoch's metrics as a history row, and the run so far (``Loop``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .._types import Params
from ..state import TrainState

STOP_REASONS = ("completed", "early_stopping", "diverged", "callback")


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
        diverged_epoch: the 1-based epoch whose loss was NaN/inf, or None.
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
