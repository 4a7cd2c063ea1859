"""Classification and regression results: the confusion matrix and predicted against true values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_class_indices, check_regression_pair, fail
from ..metrics import confusion_matrix, regression_metrics
from .figures import new_axes

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_confusion_matrix", "plot_predictions"]


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    normalize: bool = False,
) -> Figure:
    """Confusion matrix as a heat map, each cell annotated with its count.

    Rows are true classes, columns predicted classes (see :func:`confusion_matrix`). With
    ``normalize=True`` each row is divided by its total (the recall of each class; an empty row stays
    0) and cells show the fraction with the count below it.

    Args:
        y_true: true class indices, shape ``(n,)`` or ``(n, 1)``.
        y_pred: predicted class indices, same shape.
        class_names: one name per class (sets the number of classes); default ``"0", "1", ...``.
        ax: axes to draw into; ``None`` makes a new pyplot figure (shown by ``plt.show()``).
        normalize: colour and annotate by row-normalised fractions.

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: as :func:`confusion_matrix`, or if a label has no name in ``class_names``.
        TypeError: if ``ax`` is not a matplotlib ``Axes``.

    Example:
        >>> fig = plot_confusion_matrix([0, 1, 1], [0, 1, 0], class_names=["cat", "dog"])
    """
    func = "plot_confusion_matrix"
    n_classes = None
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if not class_names:
            fail(func, "class_names", "a non-empty sequence of names", "[]")
        n_classes = len(class_names)
        t, p = check_class_indices(func, "y_true", y_true), check_class_indices(func, "y_pred", y_pred)
        largest = max(int(t.max()) if t.size else -1, int(p.max()) if p.size else -1)
        if largest >= n_classes:
            fail(func, "class_names", f"one name per class (label {largest} has none)", f"{n_classes} names")
    counts = confusion_matrix(y_true, y_pred, n_classes)
    n_classes = counts.shape[0]
    if class_names is None:
        class_names = [str(i) for i in range(n_classes)]

    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    shown = fractions if normalize else counts

    size = max(4.0, 1.5 + 0.8 * n_classes)
    fig, ax = new_axes(func, ax, (size + 1.2, size))
    vmax = 1.0 if normalize else max(int(counts.max()), 1)
    image = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="Fraction of true class" if normalize else "Count")
    for i in range(n_classes):
        for j in range(n_classes):
            text = f"{fractions[i, j]:.2f}\n({counts[i, j]})" if normalize else f"{counts[i, j]}"
            dark = shown[i, j] > 0.5 * vmax
            ax.text(j, i, text, ha="center", va="center", color="white" if dark else "black")
    ticks = np.arange(n_classes)
    ax.set_xticks(ticks, labels=class_names)
    ax.set_yticks(ticks, labels=class_names)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    ax.set_title("Confusion Matrix" + (" (normalised by row)" if normalize else ""))
    return fig


def plot_predictions(y_true: Any, y_pred: Any, *, ax: Axes | None = None) -> Figure:
    """Predicted against true values for a regression, with the ``y = x`` diagonal.

    Points on the diagonal are perfect predictions. The title reports R² and RMSE from
    :func:`regression_metrics`.

    Args:
        y_true: targets, shape ``(n,)`` or ``(n, 1)``.
        y_pred: predictions, shape ``(n,)`` or ``(n, 1)``.
        ax: axes to draw into; ``None`` makes a new pyplot figure (shown by ``plt.show()``).

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: as :func:`regression_metrics`.
        TypeError: if ``ax`` is not a matplotlib ``Axes``.

    Example:
        >>> fig = plot_predictions([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])
    """
    t, p = check_regression_pair("plot_predictions", y_true, y_pred)
    metrics = regression_metrics(t, p)
    fig, ax = new_axes("plot_predictions", ax, (6.0, 6.0))
    finite = np.concatenate([t, p])
    finite = finite[np.isfinite(finite)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    margin = 0.05 * (hi - lo) if hi > lo else 0.5
    lo, hi = lo - margin, hi + margin
    ax.plot([lo, hi], [lo, hi], "--", color="gray", label="Perfect prediction (y = x)")
    ax.scatter(t, p, s=18, alpha=0.7, edgecolors="black", linewidths=0.4, label="Samples")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("True value")
    ax.set_ylabel("Predicted value")
    ax.set_title(f"Predicted vs True (R² = {metrics['r2']:.4f}, RMSE = {metrics['rmse']:.4g})")
    ax.legend(loc="upper left")
    ax.grid(True, alpha=0.3)
    return fig
