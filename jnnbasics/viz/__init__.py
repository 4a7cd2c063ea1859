"""Figures for training runs: loss history, decision boundaries, confusion matrices, regression fits.

Every plot takes plain arrays or callables (nothing from the training code) and returns a
``matplotlib.figure.Figure``. With ``ax=`` it draws into your axes (and returns their figure);
without, it makes a new figure through ``matplotlib.pyplot``, so ``plt.show()`` shows it and a
notebook displays it under the cell, like any matplotlib plot. pyplot is imported only then, and the
backend is whatever matplotlib picks (Agg when there is no display): nothing here needs a display.
matplotlib is imported inside the functions, so importing this package (or ``jnnbasics``) does not
import it. :func:`save_figure` writes a figure atomically (and closes the figures made here).

The modules: ``figures`` (axes, colours, saving), ``history``, ``boundary`` (with ``grid``: the
model over the plane), ``results`` (confusion matrix, predictions), ``activation_plots``.
:func:`confusion_matrix` and :func:`regression_metrics` live in :mod:`jnnbasics.metrics` and are
re-exported here, next to the plots that show them.
"""

from __future__ import annotations

from ..metrics import confusion_matrix, regression_metrics
from .activation_plots import plot_activations
from .boundary import plot_decision_boundary
from .figures import save_figure
from .history import plot_training_history
from .results import plot_confusion_matrix, plot_predictions

__all__ = [
    "confusion_matrix",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_predictions",
    "plot_training_history",
    "regression_metrics",
    "save_figure",
]
