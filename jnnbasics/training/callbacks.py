"""Callbacks of the training loop, the way Keras users know them.

A callback is an object with any of ``on_train_begin(loop)``, ``on_epoch_end(loop, logs)`` and
``on_train_end(loop)`` (see :class:`Callback`); ``loop`` is the :class:`~.history.Loop` record.
``on_train_end`` runs however the loop ends — completed, stopped, diverged, interrupted by Ctrl-C
or by an error — so a callback can always leave things tidy. A plain function
``cb(epoch, logs, state)`` (``train_model(callbacks=[...])``'s original form) is wrapped by
:func:`as_callback`; returning True stops training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .history import Loop


class Callback:
    """Base class: override what you need; every method does nothing by default."""

    def on_train_begin(self, loop: Loop) -> None:
        """Before the first epoch (after the loop's state, history and best are set)."""

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> bool | None:
        """After each epoch (``loop.epoch`` epochs done; ``logs`` its history row). True stops."""

    def on_train_end(self, loop: Loop) -> None:
        """After the last epoch, or when the loop is left by an exception (Ctrl-C included)."""


class FunctionCallback(Callback):
    """``fn(epoch, logs, state)`` after each epoch (1-based epoch); a True result stops training."""

    def __init__(self, fn: Callable[[int, dict, Any], Any]):
        self.fn = fn

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> bool | None:
        if self.fn(loop.epoch, logs, loop.state):
            loop.stop("callback")
            return True
        return None


def as_callback(obj: Any) -> Callback:
    """``obj`` as a :class:`Callback`: objects with callback methods as they are, functions wrapped."""
    if any(hasattr(obj, m) for m in ("on_train_begin", "on_epoch_end", "on_train_end")):
        return obj
    if callable(obj):
        return FunctionCallback(obj)
    raise TypeError(f"train_model: callbacks must be callables or Callback objects, got {type(obj).__name__}")


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved for ``patience`` epochs (Keras's EarlyStopping).

    The check also runs before the first epoch, so a resumed run that had already met it does not
    train one epoch more than the uninterrupted run did.
    """

    def __init__(self, patience: int):
        self.patience = patience

    def _met(self, loop: Loop) -> bool:
        return loop.best_epoch is not None and loop.epoch - loop.best_epoch >= self.patience

    def on_train_begin(self, loop: Loop) -> None:
        if self._met(loop):
            loop.stop("early_stopping")

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> bool | None:
        if self._met(loop):
            loop.stop("early_stopping")
            return True
        return None


class ProgressCallback(Callback):
    """Draw :class:`jnnbasics.progress.ProgressBar` on stderr; end its line when the loop ends."""

    def __init__(self, total: int):
        from ..progress import ProgressBar

        self.bar = ProgressBar(total)

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> None:
        self.bar(loop.epoch, logs, loop.state)

    def on_train_end(self, loop: Loop) -> None:
        if loop.epoch < loop.epochs:
            self.bar.close()
