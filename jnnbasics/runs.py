"""The run folder: one documented format; its files are read and written only through this module.

A run folder (written by ``jnnbasics train``, by :func:`jnnbasics.run.save_run`, and — its training checkpoint —
by ``train_model(checkpoint_dir=...)``) holds::

    config.json        what the run is: format/version, task, loss, model (layer sizes, activation,
                       dropout), features, class names, batch size, and how it was made
    checkpoint.ckpt    the training checkpoint: TrainState, best parameters, epoch, history and the
                       run's fingerprint (what resuming checks); see jnnbasics.training.checkpointing
    best.ckpt          parameters of the best validation epoch (metadata: epoch)
    last.ckpt          parameters of the last epoch run (metadata: epoch)
    history.json/.csv  per-epoch series (train_loss, val_loss, lr, accuracies, epoch_time)
    metrics.json       train/validation metrics of the reported parameters (command line)
    scaler.json        feature means and scales (and, for regression, the target's)
    labels.json        task, target column and class names
    *.png              pictures (command line)
    .lock              present while a process writes the run (see jnnbasics._lockfile)

Format version 1 (before best/last were kept apart) had ``model.ckpt``: it loads as both the last
and, when there is no ``best.ckpt``, the best parameters. Every JSON and checkpoint file is written
atomically (temporary file, fsync, rename), so a crash never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ._atomic import stale_temp_files, write_text_atomic
from ._lockfile import exclusive_lock
from .checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from .data import ScalerState

RUN_FORMAT = "jnnbasics-run"
RUN_VERSION = 2
CONFIG = "config.json"
CHECKPOINT = "checkpoint.ckpt"
BEST = "best.ckpt"
LAST = "last.ckpt"
LEGACY_MODEL = "model.ckpt"  # format version 1
LOCK = ".lock"
HISTORY_JSON, HISTORY_CSV = "history.json", "history.csv"
METRICS, SCALER, LABELS = "metrics.json", "scaler.json", "labels.json"
PICTURES = ("history.png", "decision_boundary.png", "confusion_matrix.png", "predictions.png")
RUN_FILES = (CONFIG, CHECKPOINT, BEST, LAST, LEGACY_MODEL, HISTORY_JSON, HISTORY_CSV, METRICS, SCALER, LABELS)
RUN_FILES += PICTURES
PARAMS_CHOICES = ("best", "last")
CONFIG_KEYS = ("task", "loss_type", "layer_sizes", "activation", "features")


class RunFolderError(ValueError):
    """A folder is not a (complete, readable) run folder; the message says what is wrong."""


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the run folder's lock (one writer per run); re-entrant within a process.

    The holder first removes the temporary files a killed writer left (``jnnbasics._atomic``).

    Raises:
        jnnbasics.LockedError: another live process is writing the run.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder / LOCK, f"run folder {folder}") as path:
        for tmp in stale_temp_files(folder, RUN_FILES):  # left by a writer killed mid-write
            with contextlib.suppress(OSError):
                tmp.unlink()
        yield path


def jsonable(obj: Any) -> Any:
    """``obj`` with NumPy values as Python numbers and NaN/inf as None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically (NaN/inf written as null)."""
    write_text_atomic(Path(path), json.dumps(jsonable(obj), indent=2) + "\n")


def read_json(path: str | os.PathLike, what: str) -> Any:
    """Load a JSON file of a run folder; :class:`RunFolderError` naming ``what`` if missing or invalid."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{path} is missing ({what})") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunFolderError(f"cannot read {path} ({what}): {e}") from None


def write_history(folder: str | os.PathLike, history: dict[str, list[float]]) -> None:
    """``history.json`` and ``history.csv`` (one row per epoch: ``epoch`` and every series)."""
    folder = Path(folder)
    write_json(folder / HISTORY_JSON, history)
    keys = [k for k in history if isinstance(history[k], list)]
    n = max((len(history[k]) for k in keys), default=0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", *keys])
    for i in range(n):
        w.writerow([i + 1, *(repr(float(history[k][i])) if i < len(history[k]) else "" for k in keys)])
    write_text_atomic(folder / HISTORY_CSV, buf.getvalue())


def read_history(folder: str | os.PathLike) -> dict[str, list[float]]:
    """``history.json`` of a run folder (``{}`` if there is none).

    Raises:
        RunFolderError: the file cannot be read, or is not a map of per-epoch lists of numbers.
    """
    path = Path(folder) / HISTORY_JSON
    if not path.is_file():
        return {}
    h = read_json(path, "the run's history")
    if not (isinstance(h, dict) and all(isinstance(v, list) and all(map(_is_number, v)) for v in h.values())):
        raise RunFolderError(f"{path} is not a run history (a map from names to per-epoch lists of numbers)")
    return h


def _is_number(x: Any) -> bool:
    return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))  # None: a NaN saved


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    """The validated ``config.json`` of a run folder.

    Raises:
        RunFolderError: no such folder, not a run folder, written by a newer jnnbasics, incomplete.
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"{folder} is a file, not a run folder")
    if not path.is_dir():
        raise RunFolderError(f"run folder {folder} does not exist")
    if not (path / CONFIG).is_file():
        raise RunFolderError(
            f"{folder} is not a jnnbasics run folder (no {CONFIG}); make one with 'jnnbasics train --out DIR' "
            "or jnnbasics.save_run"
        )
    cfg = read_json(path / CONFIG, "the run's configuration")
    if not isinstance(cfg, dict) or cfg.get("format") != RUN_FORMAT:
        raise RunFolderError(
            f"{folder} is not a jnnbasics run folder ({CONFIG} was not written by jnnbasics)"
        )
    if cfg.get("version", 0) > RUN_VERSION:
        raise RunFolderError(f"{folder} was written by a newer jnnbasics (run format {cfg.get('version')})")
    missing = [k for k in CONFIG_KEYS if k not in cfg]
    if missing:
        raise RunFolderError(
            f"{path / CONFIG} lacks {', '.join(missing)}; it is not a complete run configuration"
        )
    return cfg


def save_params(folder: str | os.PathLike, which: str, params: Any, *, epoch: int, **meta: Any) -> None:
    """Write ``best.ckpt`` or ``last.ckpt`` (``which``) with the epoch the parameters are from."""
    name = BEST if which == "best" else LAST
    save_checkpoint(
        Path(folder) / name, params, metadata=jsonable({"format": RUN_FORMAT, "epoch": epoch, **meta})
    )


def params_file(folder: str | os.PathLike, which: str) -> Path | None:
    """The file holding the ``which`` (best/last) parameters, or None; version-1 folders included."""
    folder = Path(folder)
    names = (BEST, LAST, LEGACY_MODEL) if which == "best" else (LAST, LEGACY_MODEL)
    return next((folder / n for n in names if (folder / n).is_file()), None)


def load_params(path: Path, target: Any) -> tuple[Any, int | None]:
    """Parameters from a ``*.ckpt`` file in the structure of ``target``, and their epoch."""
    params, meta = load_checkpoint(path, target)
    epoch = meta.get("epoch")
    return jax.tree_util.tree_map(jax.numpy.asarray, params), (int(epoch) if epoch is not None else None)


def params_epoch(path: Path) -> int | None:
    """The epoch a ``best.ckpt``/``last.ckpt`` file's parameters are from (None if not recorded)."""
    epoch = read_checkpoint_metadata(path).get("epoch")
    return int(epoch) if epoch is not None else None


def checkpoint_epoch(folder: str | os.PathLike) -> int:
    """Epochs held by the run's training checkpoint (0 when there is none)."""
    path = Path(folder) / CHECKPOINT
    return int(read_checkpoint_metadata(path).get("epoch", 0)) if path.is_file() else 0


# ----------------------------------------------------------------------------------------------
# scaler.json and labels.json
# ----------------------------------------------------------------------------------------------
def scaler_json(x_scaler: ScalerState, y_scaler: ScalerState | None, features: list[str]) -> dict[str, Any]:
    """The ``scaler.json`` content: feature means/scales and the regression target's, if any."""
    return {
        "features": list(features),
        "mean": np.asarray(x_scaler.mean, np.float64).tolist(),
        "scale": np.asarray(x_scaler.scale, np.float64).tolist(),
        "target_mean": None if y_scaler is None else float(np.asarray(y_scaler.mean).ravel()[0]),
        "target_scale": None if y_scaler is None else float(np.asarray(y_scaler.scale).ravel()[0]),
    }


def scalers_from_json(d: Any, n_features: int, where: str) -> tuple[ScalerState, ScalerState | None]:
    """``(x_scaler, y_scaler)`` from ``scaler.json`` content; :class:`RunFolderError` if invalid."""
    import jax.numpy as jnp

    try:
        mean, scale = np.asarray(d["mean"], np.float64), np.asarray(d["scale"], np.float64)
        tm, ts = d.get("target_mean"), d.get("target_scale")
        y = (
            None
            if tm is None
            else ScalerState(jnp.asarray([tm], jnp.float32), jnp.asarray([ts], jnp.float32))
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise RunFolderError(f"{where} is not a valid scaler: {e}") from None
    if mean.shape != (n_features,) or scale.shape != (n_features,):
        raise RunFolderError(f"{where} does not match the run's {n_features} features")
    return ScalerState(jnp.asarray(mean, jnp.float32), jnp.asarray(scale, jnp.float32)), y


def write_scaler_and_labels(
    folder: Path, cfg: dict[str, Any], x_scaler: ScalerState, y_scaler: ScalerState | None
) -> None:
    """``scaler.json`` and ``labels.json`` of a run whose config is ``cfg``."""
    write_json(folder / SCALER, scaler_json(x_scaler, y_scaler, cfg["features"]))
    labels = {
        "task": cfg["task"],
        "target_column": cfg.get("target_column"),
        "class_names": cfg.get("class_names"),
    }
    write_json(folder / LABELS, labels)
