"""The pictures of a run folder: history, decision boundary, confusion matrix or predictions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..run import Run
from .report import data_name
from .rundata import RunData


def draw_run_pictures(out: Path, run: Run, data: RunData) -> list[str]:
    """history.png; decision_boundary.png (2 features), confusion_matrix.png or predictions.png.

    The model pictures show the run's reported parameters (``run.params``); returns the file names.
    """
    from .. import viz

    cfg = run.config
    fig = viz.plot_training_history(run.history, title=f"Training history ({data_name(cfg)})")
    viz.save_figure(fig, out / "history.png")
    names = ["history.png"]
    if data.task == "regression":
        fig = viz.plot_predictions(data.y_val, run.predict(data.x_val))
        viz.save_figure(fig, out / "predictions.png")
        return [*names, "predictions.png"]
    if len(data.features) == 2:
        fig = viz.plot_decision_boundary(
            raw_input_apply(run.model), (run.params, run.x_scaler), data.x, data.y, output="logits"
        )
        ax = fig.axes[0]
        ax.set_xlabel(data.features[0])
        ax.set_ylabel(data.features[1])
        ax.set_title(
            f"Decision boundary ({data_name(cfg)}, all {len(data.y)} points, {run.which} epoch {run.epoch})"
        )
        viz.save_figure(fig, out / "decision_boundary.png")
        names.append("decision_boundary.png")
    from ..metrics import predicted_class

    pred = np.asarray(predicted_class(run.outputs(data.x_val), run.loss_type))
    fig = viz.plot_confusion_matrix(data.y_val, pred, class_names=data.class_names)
    fig.axes[0].set_title(f"Confusion matrix (validation, {len(pred)} rows)")
    viz.save_figure(fig, out / "confusion_matrix.png")
    return [*names, "confusion_matrix.png"]


@functools.lru_cache(maxsize=32)
def raw_input_apply(model) -> Callable[[Any, Any], Any]:
    """``apply((params, scaler_state), x_raw)``: the model on unscaled inputs (one function per model)."""
    from ..data import transform

    def apply(p, x):
        params, state = p
        return model.apply(params, transform(state, x))

    return apply
