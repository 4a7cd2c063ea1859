"""A trained run in Python: :class:`Run` (predict, predict_proba, evaluate), :func:`load_run`, :func:`save_run`.

The files are those of :mod:`jnnbasics.runs` (the run folder's format); this module turns them into
a model, its parameters, the scalers and the class names, and back. ``jnnbasics evaluate`` and
``predict`` go through the same :class:`Run`, so Python and the command line give the same
numbers.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .data import ScalerState
from .runs import (
    BEST,
    CONFIG,
    PARAMS_CHOICES,
    RUN_FORMAT,
    RUN_VERSION,
    SCALER,
    RunFolderError,
    checkpoint_epoch,
    load_params,
    params_file,
    read_config,
    read_history,
    read_json,
    run_lock,
    save_params,
    scalers_from_json,
    write_history,
    write_json,
    write_scaler_and_labels,
)


class Run:
    """A trained run: model, parameters, scaler and labels — predictions in the data's own units.

    Made by :func:`load_run` (from a folder) or by the command line after training. Inputs to
    :meth:`predict`, :meth:`predict_proba` and :meth:`evaluate` are in the original feature units
    (the run applies its scaler), exactly what ``jnnbasics predict`` / ``evaluate`` read from a CSV.

    Attributes:
        path: the run folder (None for a run not saved).
        config: the run's ``config.json`` content.
        model: the :class:`jnnbasics.Model` (an MLP rebuilt from the config).
        params: the chosen parameters (``which``: "best" or "last").
        best_params, last_params: both sets (``best_params`` is None without validation data).
        best_epoch, last_epoch: the 1-based epochs they are from.
        history: per-epoch lists; x_scaler / y_scaler: the fitted scalers (y_scaler: regression).
    """

    def __init__(
        self,
        config,
        model,
        *,
        best_params,
        last_params,
        best_epoch,
        last_epoch,
        x_scaler,
        y_scaler=None,
        history=None,
        which="best",
        path=None,
    ):
        if which not in PARAMS_CHOICES:
            raise ValueError(f"Run: which must be one of 'best', 'last', got {which!r}")
        self.config, self.model, self.path, self.history = config, model, path, history or {}
        self.best_params, self.last_params = best_params, last_params
        self.best_epoch, self.last_epoch = best_epoch, last_epoch
        self.x_scaler, self.y_scaler = x_scaler, y_scaler
        self.which = which if best_params is not None else "last"

    @classmethod
    def from_result(
        cls, result: Any, model: Any, config: dict[str, Any], *, x_scaler, y_scaler=None, path=None
    ) -> Run:
        """The :class:`Run` of a ``TrainResult`` (best and last parameters, history) with its config."""
        last_epoch = len(result.history.get("train_loss", []))
        return cls(
            config,
            model,
            best_params=result.best_params,
            last_params=result.state.params,
            best_epoch=result.best_epoch,
            last_epoch=last_epoch,
            x_scaler=x_scaler,
            y_scaler=y_scaler,
            history=result.history,
            path=path,
        )

    @property
    def params(self) -> Any:
        """The parameters :meth:`predict` uses: the best epoch's, or the last's (``which``)."""
        return self.best_params if self.which == "best" else self.last_params

    @property
    def epoch(self) -> int | None:
        """The 1-based epoch of :attr:`params`."""
        return self.best_epoch if self.which == "best" else self.last_epoch

    task = property(lambda self: self.config["task"], doc='"binary", "multiclass" or "regression".')
    features = property(lambda self: list(self.config["features"]), doc="The feature names, in order.")
    loss_type = property(lambda self: self.config["loss_type"], doc="The loss the run was trained with.")

    @property
    def class_names(self) -> list[str] | None:
        """Class names of the output classes (``"0", "1", ...`` when none were given); None: regression."""
        if self.task == "regression":
            return None
        names = self.config.get("class_names")
        return list(names) if names else [str(i) for i in range(max(2, int(self.config["layer_sizes"][-1])))]

    def outputs(self, x: Any) -> np.ndarray:
        """Model outputs in eval mode for inputs ``x`` of shape (n, features) in original units."""
        from ._checks import fail
        from .data import transform
        from .inference import eval_step

        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            fail(
                "Run",
                "x",
                f"an array of shape (n, {len(self.features)}) ({', '.join(self.features)})",
                x.shape,
            )
        return np.asarray(eval_step(self.model.apply, self.params, transform(self.x_scaler, x)))

    def predict(self, x: Any) -> np.ndarray:
        """Class names (str array of shape (n,)) or regression values (float64, the target's units)."""
        out = self.outputs(x)
        if self.task == "regression":
            return self._unscale_y(out[:, 0])
        from .metrics import predicted_class

        return np.asarray(self.class_names)[np.asarray(predicted_class(out, self.loss_type))]

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities of shape (n, classes), float64 (binary: ``[p(class 0), p(class 1)]``)."""
        if self.task == "regression":
            raise ValueError("Run.predict_proba: a regression run has no class probabilities; use predict")
        out = self.outputs(x)
        if self.task == "binary":
            p1 = np.asarray(jax.nn.sigmoid(out[:, 0]), np.float64)
            return np.stack([1.0 - p1, p1], axis=1)
        return np.asarray(jax.nn.softmax(out, axis=1), np.float64)

    def evaluate(self, x: Any, y: Any) -> dict[str, Any]:
        """Metrics on ``(x, y)`` in original units: ``n``, ``loss`` and ``accuracy`` or ``r2``/``rmse``/``mae``.

        The loss is averaged like the history's ``val_loss`` (the mean over batches of the run's
        ``batch_size`` rows of each batch's mean loss), in eval mode; for regression it is the
        squared error of the standardised target, while r2/rmse/mae are in the target's units.

        Args:
            x: inputs of shape (n, features).
            y: targets of shape (n,): class names (numbers compare by value when the class names
                are numbers, e.g. 0/1 labels), or regression values.
        """
        out = self.outputs(x)
        return outputs_metrics(self, out, self.targets(y))

    def targets(self, y: Any) -> np.ndarray:
        """Class indices (int32) for class names/raw labels, or float64 values (regression)."""
        if self.task == "regression":
            return np.asarray(y, np.float64).reshape(-1)
        from .csvdata import encode_labels

        raw = [
            v if isinstance(v, str) else str(v.item() if hasattr(v, "item") else v)
            for v in np.asarray(y).ravel()
        ]
        return encode_labels(raw, self.class_names)

    def _unscale_y(self, v: np.ndarray) -> np.ndarray:
        if self.y_scaler is None:
            return np.asarray(v, np.float64)
        m, s = float(np.asarray(self.y_scaler.mean)[0]), float(np.asarray(self.y_scaler.scale)[0])
        return np.asarray(v, np.float64) * s + m


def loss_targets(task: str, y: Any, y_scaler: ScalerState | None) -> np.ndarray:
    """Targets as the loss takes them: int32 class indices (multiclass), else float32 (n, 1) —
    regression values standardised with ``y_scaler``.

    Args:
        task: the run's task; y: class indices or regression values, shape (n,).
        y_scaler: the target scaler of a regression run (None: values as they are).
    """
    if task == "multiclass":
        return np.asarray(y, np.int32)
    y = np.asarray(y, np.float64).reshape(-1, 1)
    if task == "regression" and y_scaler is not None:
        m, s = float(np.asarray(y_scaler.mean)[0]), float(np.asarray(y_scaler.scale)[0])
        y = (y - m) / s
    return y.astype(np.float32)


def outputs_metrics(run: Run, out: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Metrics of model outputs ``out`` (n, outputs) against targets ``y`` from :meth:`Run.targets`."""
    from .metrics import mean_of_batch_means, per_sample_loss, predicted_class, regression_metrics

    target = loss_targets(run.task, y, run.y_scaler)
    per_row = np.asarray(per_sample_loss(out, target, run.loss_type), np.float64)
    m: dict[str, Any] = {"n": int(len(y))}
    m["loss"] = float(mean_of_batch_means(per_row, int(run.config.get("batch_size", 32))))
    if run.task == "regression":
        m.update(regression_metrics(np.asarray(y, np.float64), run._unscale_y(out[:, 0])))
    else:
        m["accuracy"] = float(np.mean(np.asarray(predicted_class(out, run.loss_type)) == y))
    return m


def model_of(config: dict[str, Any]):
    """The MLP a run config describes (equal configs give equal models: compiled code is shared)."""
    from .models import mlp

    sizes = tuple(int(s) for s in config["layer_sizes"])
    return mlp(
        sizes,
        activation=config["activation"],
        dropout_rate=float(config.get("dropout", 0.0)),
        loss_type=config["loss_type"],
    )


def load_run(path: str | os.PathLike, *, params: str = "best") -> Run:
    """Load a run folder written by ``jnnbasics train`` or :func:`save_run`.

    Args:
        path: the run folder.
        params: ``"best"`` (the best validation epoch's parameters; the last's when the run had no
            validation data) or ``"last"`` (the last epoch's).

    Returns:
        A :class:`Run`.

    Raises:
        RunFolderError (a ValueError): not a run folder, a missing or corrupt file, or a run with no
            trained parameters yet (a checkpoint only: finish it with ``--resume``).

    Example:
        >>> run = load_run("runs/spirals")
        >>> run.predict([[0.1, -0.3]]), run.evaluate(x_test, y_test)
    """
    if params not in PARAMS_CHOICES:
        raise ValueError(f"load_run: params must be one of 'best', 'last', got {params!r}")
    folder = Path(path)
    cfg = read_config(folder)
    model = model_of(cfg)
    target = jax.eval_shape(model.init, jax.random.key(0))
    last_file = params_file(folder, "last")
    if last_file is None:
        done = checkpoint_epoch(folder)
        raise RunFolderError(
            f"run {folder} has no trained model yet (its checkpoint holds epoch {done}/{cfg.get('epochs')}); "
            f"finish it with 'jnnbasics train --resume --out {folder}'"
        )
    last, last_epoch = load_params(last_file, target)
    best_file = params_file(folder, "best")
    best, best_epoch = load_params(best_file, target) if best_file != last_file else (None, None)
    if cfg.get("version", 1) < 2 and best is None:  # version 1: model.ckpt only
        best, best_epoch = last, last_epoch
    x_scaler, y_scaler = scalers_from_json(
        read_json(folder / SCALER, "the feature scaler"), len(cfg["features"]), str(folder / SCALER)
    )
    history = read_history(folder)
    return Run(
        cfg,
        model,
        best_params=best,
        last_params=last,
        best_epoch=best_epoch,
        last_epoch=last_epoch,
        x_scaler=x_scaler,
        y_scaler=y_scaler,
        history=history,
        which=params,
        path=folder,
    )


def run_config(model, *, loss_type: str | None, features, class_names, batch_size: int) -> dict[str, Any]:
    """The model and data part of ``config.json`` for ``model`` (an MLP with ``layer_sizes``)."""
    from ._checks import fail
    from .tasks import task_of_loss

    if not model.layer_sizes:
        fail(
            "save_run",
            "model",
            "an MLP (mlp, simple_nn, dropout_mlp: a model with layer_sizes)",
            "a custom Model",
        )
    loss_type = loss_type or model.loss_type
    if loss_type is None:
        fail("save_run", "loss_type", "given (the model has no default loss_type)", None)
    sizes = [int(s) for s in model.layer_sizes]
    features = list(features) if features is not None else [f"x{i + 1}" for i in range(sizes[0])]
    if len(features) != sizes[0]:
        fail("save_run", "features", f"{sizes[0]} names (the model's inputs)", len(features))
    task = task_of_loss(loss_type)
    if class_names is not None:
        n_classes = 2 if task == "binary" else sizes[-1]
        if len(class_names) != n_classes:
            fail("save_run", "class_names", f"{n_classes} names (the model's classes)", len(class_names))
    return {
        "format": RUN_FORMAT,
        "version": RUN_VERSION,
        "task": task,
        "loss_type": loss_type,
        "layer_sizes": sizes,
        "activation": model.activation,
        "dropout": float(model.dropout_rate),
        "features": features,
        "class_names": None if class_names is None else [str(c) for c in class_names],
        "n_outputs": sizes[-1],
        "batch_size": int(batch_size),
    }


def write_trained(folder: Path, result: Any) -> None:
    """``best.ckpt``, ``last.ckpt`` and the history of a ``TrainResult``."""
    last_epoch = len(result.history.get("train_loss", []))
    save_params(folder, "last", result.state.params, epoch=last_epoch, stop_reason=result.stop_reason)
    if getattr(result, "best_params", None) is not None:
        save_params(folder, "best", result.best_params, epoch=result.best_epoch)
    else:
        with contextlib.suppress(FileNotFoundError):
            (folder / BEST).unlink()
    write_history(folder, result.history)


def save_run(
    path: str | os.PathLike,
    result: Any,
    model: Any,
    *,
    loss_type: str | None = None,
    x_scaler: ScalerState | None = None,
    y_scaler: ScalerState | None = None,
    class_names: list[str] | None = None,
    features: list[str] | None = None,
    batch_size: int = 32,
    config: dict[str, Any] | None = None,
) -> Path:
    """Write a run folder from Python that :func:`load_run` and the command line read.

    Args:
        path: the folder (created; our files in it are replaced).
        result: the :class:`jnnbasics.TrainResult` of ``train_model``.
        model: the MLP it trained (``mlp``/``simple_nn``/``dropout_mlp``).
        loss_type: the loss it was trained with (default: ``model.loss_type``).
        x_scaler: the feature scaler the training inputs went through (``fit_scaler``); None:
            the inputs were used as they are.
        y_scaler: for regression, the target scaler (shape (1,)) the targets went through.
        class_names: names of the classes (default ``"0", "1", ...``).
        features: names of the inputs (default ``x1, x2, ...``).
        batch_size: the batch size the loss is averaged over in ``evaluate`` (as in training).
        config: more entries for ``config.json`` (e.g. how the run was made; ``target_column``, the
            CSV column ``jnnbasics evaluate --csv`` reads the targets from, default ``"target"``).

    Returns:
        The folder, as a ``Path``.

    Example:
        >>> result = train_model(model, (transform(s, x), y), key=key)
        >>> save_run("runs/mine", result, model, x_scaler=s, class_names=["no", "yes"])
        >>> load_run("runs/mine").predict(x_new)
    """
    import jax.numpy as jnp

    cfg = run_config(
        model, loss_type=loss_type, features=features, class_names=class_names, batch_size=batch_size
    )
    cfg = {"target_column": "target", **(config or {}), **cfg}
    if x_scaler is None:
        n = len(cfg["features"])
        x_scaler = ScalerState(jnp.zeros((n,), jnp.float32), jnp.ones((n,), jnp.float32))
    folder = Path(path)
    with run_lock(folder):
        write_json(folder / CONFIG, cfg)
        write_scaler_and_labels(folder, cfg, x_scaler, y_scaler)
        write_trained(folder, result)
    return folder
