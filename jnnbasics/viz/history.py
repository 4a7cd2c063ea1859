"""The training history: loss per epoch, accuracy on a second axis, the best epoch and the stop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import fail
from .figures import new_axes

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["LOG_DECADES", "plot_training_history"]

LOG_DECADES = 2.0
"""``log_scale=None`` draws the loss axis on a log scale when its values span more decades than this."""

_FUNC = "plot_training_history"
_LOSSES = (
    ("train_loss", "Training Loss", "-"),
    ("val_loss", "Validation Loss", "-"),
    ("train_objective", "Training Objective (loss + penalty)", "--"),
)
_ACCURACIES = (("train_accuracy", "Training Accuracy"), ("val_accuracy", "Validation Accuracy"))


def _series(history: Mapping[str, Any], key: str, n: int | None) -> np.ndarray | None:
    """``history[key]`` as a 1-D float array; ``None`` when missing, empty or all NaN (except train_loss)."""
    if key not in history or history[key] is None:
        return None
    a = np.asarray(history[key], dtype=np.float64).reshape(-1)
    if a.size == 0 or (key != "train_loss" and np.all(np.isnan(a))):
        return None
    if n is not None and a.size != n:
        fail(_FUNC, f"history[{key!r}]", f"one value per epoch ({n}, like 'train_loss')", f"{a.size} values")
    return a


def _check_history(history: Any) -> np.ndarray:
    if not isinstance(history, Mapping):
        fail(
            _FUNC,
            "history",
            "a mapping such as {'train_loss': [...], 'val_loss': [...]}",
            type(history).__name__,
            exc=TypeError,
        )
    train = _series(history, "train_loss", None)
    if train is None:
        fail(
            _FUNC,
            "history['train_loss']",
            "a non-empty sequence of per-epoch losses",
            "nothing" if "train_loss" not in history else "an empty sequence",
            hint="train for at least one epoch before plotting",
        )
    return train


def _check_epoch(arg: str, value: Any, n: int) -> int | None:
    """``value`` as a 1-based epoch in ``[1, n]``; ``None`` and ``False`` mean no mark."""
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= n:
        fail(_FUNC, arg, f"an epoch between 1 and {n} (1-based), None or False", repr(value))
    return int(value)


def wants_log_scale(values: list[np.ndarray], *, decades: float = LOG_DECADES) -> bool:
    """True when the finite positive ``values`` span more than ``decades`` powers of ten (and none is <= 0)."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    if finite.size < 2 or finite.min() <= 0.0:
        return False
    return bool(np.log10(finite.max() / finite.min()) > decades)


def _best_epoch(history: Mapping[str, Any], n: int, best_epoch: Any) -> int | None:
    """The epoch to mark as best: ``best_epoch``, or (``None``) the lowest finite ``val_loss``."""
    if best_epoch is not None:
        return _check_epoch("best_epoch", best_epoch, n)
    val = _series(history, "val_loss", n)
    if val is None or not np.any(np.isfinite(val)):
        return None
    return int(np.nanargmin(np.where(np.isfinite(val), val, np.nan))) + 1


def _draw_accuracy(ax: Axes, history: Mapping[str, Any], epochs: np.ndarray, colors: dict) -> list:
    """Accuracy lines on a twin axes at the right (0..1); returns their handles (none: no twin)."""
    series = [(k, label, _series(history, k, epochs.size)) for k, label in _ACCURACIES]
    series = [s for s in series if s[2] is not None]
    if not series:
        return []
    acc_ax = ax.twinx()
    handles = []
    for key, label, values in series:
        color = colors.get(key.replace("accuracy", "loss"))
        (line,) = acc_ax.plot(epochs, values, ":", color=color, label=label, linewidth=1.6)
        handles.append(line)
    acc_ax.set_ylabel("Accuracy")
    acc_ax.set_ylim(0.0, 1.02)
    ax.set_zorder(acc_ax.get_zorder() + 1)  # the loss axes (and its legend) in front of the twin
    ax.patch.set_visible(False)
    return handles


def _draw_marks(ax: Axes, history: Mapping[str, Any], epochs: np.ndarray, best: int | None, stop: int | None):
    """The best epoch (a star on the validation loss, a thin line) and the stop (a dashed line)."""
    handles = []
    if best is not None:
        val = _series(history, "val_loss", epochs.size)
        curve = val if val is not None else _series(history, "train_loss", epochs.size)
        ax.axvline(best, color="tab:green", linewidth=1.0, alpha=0.7)
        (star,) = ax.plot(
            [best], [curve[best - 1]], "*", color="tab:green", markersize=14, markeredgecolor="black",
            label=f"Best epoch {best} (loss {curve[best - 1]:.4g})", zorder=5,
        )  # fmt: skip
        handles.append(star)
    if stop is not None:
        handles.append(ax.axvline(stop, color="tab:red", linestyle="--", label=f"Early stop (epoch {stop})"))
    return handles


def plot_training_history(
    history: Mapping[str, Any],
    *,
    ax: Axes | None = None,
    log_scale: bool | None = None,
    best_epoch: int | bool | None = None,
    stop_epoch: int | bool | None = None,
    accuracy: bool = True,
    title: str = "Training History",
) -> Figure:
    """Loss per epoch (the tutorial's ``plot_training_history``), with accuracy and the best epoch.

    The x axis counts epochs from 1. Drawn when present in ``history``:

    - ``"train_loss"`` (required), ``"val_loss"`` and, dashed, ``"train_objective"`` (the loss plus the
      L1/L2 penalty that was actually minimised), on the left axis;
    - ``"train_accuracy"`` and ``"val_accuracy"`` dotted, on a second axis at the right (0 to 1), in
      the colours of the matching losses (``accuracy=False`` leaves them out);
    - the best epoch: a star on the validation loss and a thin green vertical line, at the epoch of the
      lowest ``"val_loss"`` unless ``best_epoch`` names another (``False``: no mark);
    - an early stop: a dashed vertical line at ``stop_epoch`` (e.g. ``len(history["train_loss"])`` when
      ``TrainResult.stop_reason == "early_stopping"``).

    A series that is missing, empty or all NaN (no validation data) is skipped. The loss axis is
    logarithmic when ``log_scale=True``, linear when ``False``, and with ``None`` logarithmic exactly
    when the drawn losses are all positive and span more than :data:`LOG_DECADES` decades (otherwise
    everything after the first epochs is a flat line).

    Args:
        history: a mapping with ``"train_loss"`` (one float per epoch, length ``n_epochs``) and
            optionally the other series above, each of the same length (other keys are ignored).
        ax: axes to draw into; ``None`` makes a new pyplot figure (shown by ``plt.show()``).
        log_scale: ``True``, ``False`` or ``None`` (automatic, see above).
        best_epoch: the 1-based epoch to mark as best; ``None``: the lowest validation loss; ``False``:
            no mark.
        stop_epoch: the 1-based epoch at which training stopped early; ``None`` or ``False``: no mark.
        accuracy: draw the accuracies when the history has them.
        title: axes title.

    Returns:
        The figure holding the plot (``fig.axes[0]`` the loss axes; the accuracy axes after it).

    Raises:
        TypeError: if ``history`` is not a mapping or ``ax`` is not an ``Axes``.
        ValueError: if ``"train_loss"`` is missing or empty, another series has a different length,
            or ``best_epoch`` / ``stop_epoch`` is not an epoch of the history.

    Example:
        >>> fig = plot_training_history({"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
        >>> save_figure(fig, "run/history.png")  # doctest: +SKIP
    """
    from matplotlib.ticker import MaxNLocator

    train = _check_history(history)
    if log_scale not in (None, True, False):
        fail(_FUNC, "log_scale", "True, False or None (automatic)", repr(log_scale), exc=TypeError)
    n = train.size
    best, stop = _best_epoch(history, n, best_epoch), _check_epoch("stop_epoch", stop_epoch, n)
    losses = [(k, label, style, _series(history, k, n)) for k, label, style in _LOSSES]
    losses = [item for item in losses if item[3] is not None]
    fig, ax = new_axes(_FUNC, ax, (8.0, 5.0))
    epochs = np.arange(1, n + 1)
    colors, handles = {}, []
    for key, label, style, values in losses:
        # the penalised objective is a training quantity: same colour as the training loss, dashed
        color = colors["train_loss"] if key == "train_objective" else None
        (line,) = ax.plot(epochs, values, style, label=label, color=color)
        colors.setdefault(key, line.get_color())
        handles.append(line)
    if accuracy:
        handles += _draw_accuracy(ax, history, epochs, colors)
    handles += _draw_marks(ax, history, epochs, best, stop)
    if log_scale or (log_scale is None and wants_log_scale([v for *_, v in losses])):
        ax.set_yscale("log")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss" + (" (log scale)" if ax.get_yscale() == "log" else ""))
    ax.set_title(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    # below the axes: inside, "best" cannot see the accuracy axes' lines and would cover them
    ax.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=min(3, len(handles)),
        fontsize="small", frameon=False,
    )  # fmt: skip
    ax.grid(True, alpha=0.3)
    return fig
