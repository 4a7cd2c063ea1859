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
    Figures are made apart from pyplot (``ax=`` of a plain ``Figure``): the command stays headless
    whatever the display, and a notebook calling ``cli.main`` keeps its own backend.
    """
    from .. import viz

    cfg = run.config
    done = len(run.history.get("train_loss", []))
    stopped = done if done < run.config["epochs"] else None  # an early stop (or a divergence)
    ax = _axes((8, 5))
    viz.plot_training_history(
        run.history,
        ax=ax,
        best_epoch=run.best_epoch or False,
        stop_epoch=stopped,
        title=f"Training history ({data_name(cfg)})",
    )
    viz.save_figure(ax.figure, out / "history.png")
    names = ["history.png"]
    if data.task == "regression":
        ax = _axes((6, 6))
        viz.plot_predictions(data.y_val, run.predict(data.x_val), ax=ax)
        viz.save_figure(ax.figure, out / "predictions.png")
        return [*names, "predictions.png"]
    if len(data.features) == 2:
        names.append(_boundary(out, run, data, viz))
    from ..metrics import predicted_class

    pred = np.asarray(predicted_class(run.outputs(data.x_val), run.loss_type))
    ax = _axes((6, 5))
    viz.plot_confusion_matrix(data.y_val, pred, class_names=data.class_names, ax=ax)
    ax.set_title(f"Confusion matrix (validation, {len(pred)} rows)")
    viz.save_figure(ax.figure, out / "confusion_matrix.png")
    return [*names, "confusion_matrix.png"]


def _boundary(out: Path, run: Run, data: RunData, viz) -> str:
    ax = _axes((8.5, 6))
    viz.plot_decision_boundary(
        raw_input_apply(run.model),
        (run.params, run.x_scaler),
        data.x_train,
        data.y_train,
        x_val=data.x_val,
        y_val=data.y_val,
        class_names=data.class_names,
        output="logits",
        ax=ax,
    )
    ax.set_xlabel(data.features[0])
    ax.set_ylabel(data.features[1])
    ax.set_title(f"Decision boundary ({data_name(run.config)}, {run.which} epoch {run.epoch})")
    viz.save_figure(ax.figure, out / "decision_boundary.png")
    return "decision_boundary.png"


def _axes(figsize: tuple[float, float]):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").add_subplot()


@functools.lru_cache(maxsize=32)
def raw_input_apply(model) -> Callable[[Any, Any], Any]:
    """``apply((params, scaler_state), x_raw)``: the model on unscaled inputs (one function per model)."""
    from ..data import transform

    def apply(p, x):
        params, state = p
        return model.apply(params, transform(state, x))

    return apply
