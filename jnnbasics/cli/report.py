"""What ``train`` and ``evaluate`` report: metrics of a run's splits, the summary, the metric lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..run import Run, outputs_metrics
from .rundata import RunData

_LOSS_AVERAGE = (
    "averaged like the history's val_loss: the mean over batches of --batch-size rows of each batch's mean"
)
METRICS_NOTE = {
    "binary": f"loss: binary cross-entropy from logits, eval mode (no dropout), {_LOSS_AVERAGE}",
    "multiclass": f"loss: cross-entropy, eval mode (no dropout), {_LOSS_AVERAGE}",
    "regression": f"loss: squared error of the standardised target, eval mode, {_LOSS_AVERAGE}; r2, rmse "
    "and mae are over all rows, in the target's own units",
}


def split_metrics(run: Run, data: RunData) -> dict[str, Any]:
    """``{"train": ..., "val": ...}``: the run's metrics on its training and validation rows (one pass)."""
    n_tr = len(data.y_train)
    out = run.outputs(np.concatenate([data.x_train, data.x_val]))
    return {
        "train": outputs_metrics(run, out[:n_tr], data.y_train),
        "val": outputs_metrics(run, out[n_tr:], data.y_val),
    }


def data_name(cfg: dict[str, Any]) -> str:
    """The run's data as a short name (built-in data set or CSV file name)."""
    return cfg.get("dataset") or Path(cfg.get("csv") or "data").name


def fmt_metrics(m: dict[str, Any]) -> str:
    """``loss 0.1  accuracy 0.95`` (the metrics present)."""
    keys = ("loss", "accuracy", "r2", "rmse", "mae")
    return "  ".join(f"{k} {m[k]:.4g}" for k in keys if m.get(k) is not None)


def _stop_text(metrics: dict[str, Any]) -> str:
    return {
        "completed": "",
        "early_stopping": f", early stop (best epoch {metrics['best_epoch']})",
        "diverged": ", stopped: the loss diverged",
        "callback": ", stopped by a callback",
    }.get(metrics["stop_reason"], "")


def print_plan(cfg: dict[str, Any], *, resumed_at: int = 0) -> None:
    """What ``jnnbasics train`` is about to do, printed before training: data, features, model, settings."""
    feats = cfg["features"]
    shown = ", ".join(feats) if len(feats) <= 12 else ", ".join(feats[:12]) + ", ..."
    cats = cfg.get("categories") or {}
    lines = [
        f"data: {data_name(cfg)} ({cfg['task']}, {cfg['n_train']} train / {cfg['n_val']} validation rows)"
        + (f", target {cfg['target']}" if cfg.get("csv") else ""),
        f"features: {shown} ({len(feats)}" + (f"; one-hot encoded: {', '.join(cats)}" if cats else "") + ")",
    ]
    lines.append(
        f"model: {'-'.join(map(str, cfg['layer_sizes']))} {cfg['activation']}, dropout {cfg['dropout']:g}; "
        f"training: {cfg['epochs']} epochs, lr {cfg['lr']:g}, batch size {cfg['batch_size']}, "
        f"schedule {cfg['schedule']}" + (f", resuming from epoch {resumed_at}" if resumed_at else "")
    )
    print("\n".join(lines), flush=True)


def print_summary(out: Path, cfg: dict[str, Any], metrics: dict[str, Any], pictures: list[str]) -> None:
    """The lines ``jnnbasics train`` ends with (the data and model were printed before training)."""
    reported = f"{metrics['params']} epoch {metrics['reported_epoch']}"
    lines = [
        f"run folder: {out}",
        f"epochs: {metrics['epochs_run']}/{cfg['epochs']}{_stop_text(metrics)}; metrics of the {reported}, "
        "eval mode (no dropout), after training — not the progress bar's running train-mode mean",
        f"train: {fmt_metrics(metrics['train'])}",
        f"val:   {fmt_metrics(metrics['val'])}",
    ]
    if pictures:
        lines.append("pictures: " + ", ".join(pictures))
    print("\n".join(lines))
