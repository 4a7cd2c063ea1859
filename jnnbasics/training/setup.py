"""A run's set-up: every argument checked on the host, the data converted, the static config built.

Everything here runs before anything is compiled, so a bad argument is a clear ``ValueError`` or
``TypeError`` naming it, never an XLA error. ``train_model`` and ``train_many`` share it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    check_choice,
    check_class_labels,
    check_finite,
    check_key,
    check_nonnegative_float,
    check_positive_int,
    check_tree_like,
    describe,
    fail,
)
from .._keys import split_run_key
from .._types import Params, PRNGKey
from ..losses import LOSS_TYPES
from ..metrics import baseline_loss
from ..models import Model
from ..schedules import SCHEDULES, create_lr_scheduler
from ..state import TrainState
from .epoch import EpochConfig
from .fastpath import use_fast_path

__all__ = [
    "RunSetup",
    "check_key",
    "check_model",
    "check_x",
    "check_xy",
    "output_dim",
    "param_dtype",
    "prepare_run",
    "prepare_xy",
]


def prepare_xy(
    func: str, name: str, data: Any, *, out_dim: int, loss_type: str, dtype: Any
) -> tuple[jax.Array, jax.Array]:
    """Validate an ``(x, y)`` pair on the host and convert it for ``loss_type`` (see :func:`check_xy`).

    Raises:
        TypeError: not a pair, or non-numeric arrays.
        ValueError: as :func:`check_xy`, the arguments named ``name[0] (x)`` and ``name[1] (y)``.
    """
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        fail(func, name, "an (x, y) pair of arrays", type(data).__name__, exc=TypeError)
    return check_xy(
        func,
        data[0],
        data[1],
        names=(f"{name}[0] (x)", f"{name}[1] (y)"),
        out_dim=out_dim,
        loss_type=loss_type,
        dtype=dtype,
    )


def check_x(func: str, x_name: str, x: Any) -> np.ndarray:
    """``x`` as a host array after checking it is numeric, of shape (n, features), n >= 1, and finite."""
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        fail(func, x_name, "a numeric array", f"dtype {x.dtype}", exc=TypeError)
    if x.ndim != 2:
        fail(func, x_name, "a 2-D array of shape (n, features)", f"shape {x.shape}")
    if x.shape[0] == 0:
        fail(func, x_name, "non-empty", "0 samples")
    check_finite(func, x_name, x)
    return x


def check_xy(
    func: str, x: Any, y: Any, *, names: tuple[str, str], out_dim: int, loss_type: str, dtype: Any
) -> tuple[jax.Array, jax.Array]:
    """Validate inputs ``x`` and targets ``y`` on the host where they enter; convert them for ``loss_type``.

    The one check of data for training and evaluation (``train_model``, ``train_many``,
    ``evaluate_loss``). Conversions (documented, at the edge, never inside a loss): ``y`` of shape
    (n,) for a model with one output becomes (n, 1); integer 0/1 labels become floats for the BCE
    losses; integer-valued float labels become int32 for cross-entropy.

    Args:
        func: the public function's name, for messages.
        x: inputs of shape (n, features); y: targets for them.
        names: how messages call ``x`` and ``y``.
        out_dim: the model's number of outputs; loss_type: one of ``LOSS_TYPES``.
        dtype: the floating dtype of the returned ``x`` (and of float targets).

    Raises:
        ValueError: not 2-D, empty, different lengths, NaN/inf values, labels out of range, targets
            of the wrong shape, BCE targets outside [0, 1].
        TypeError: non-numeric arrays.
    """
    x_name, y_name = names
    x, y = check_x(func, x_name, x), np.asarray(y)
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        fail(func, y_name, "a numeric array", f"dtype {y.dtype}", exc=TypeError)
    if y.shape[:1] != x.shape[:1]:
        fail(
            func,
            f"{x_name} and {y_name}",
            "arrays with the same number of samples",
            f"x {x.shape[0]} and y {y.shape[0] if y.ndim else 'a scalar'}",
        )
    check_finite(func, y_name, y)
    return jnp.asarray(x, dtype=dtype), _targets(func, y_name, y, out_dim, loss_type, dtype)


def _targets(func: str, y_name: str, y: np.ndarray, out_dim: int, loss_type: str, dtype: Any) -> jax.Array:
    """``y`` (n rows, checked finite) converted for ``loss_type`` after checking its shape and range."""
    n = y.shape[0]
    if loss_type == "cross_entropy":
        if y.ndim == 2 and y.shape[1] == out_dim:
            return jnp.asarray(y, dtype=dtype)
        if y.ndim != 1:
            fail(
                func,
                y_name,
                f"labels of shape ({n},) or probabilities of shape ({n}, {out_dim})",
                f"shape {y.shape}",
            )
        if np.issubdtype(y.dtype, np.floating) and not np.all(np.equal(np.mod(y, 1), 0)):
            bad = np.flatnonzero(np.mod(y, 1))[0]
            fail(func, y_name, "integer class labels", f"{y[bad]!r} at row {bad}")
        check_class_labels(func, y_name, y, out_dim)
        return jnp.asarray(y.astype(np.int32))
    if y.ndim == 1 and out_dim == 1:
        y = y.reshape(n, 1)
    if y.shape != (n, out_dim):
        fail(func, y_name, f"targets of shape ({n}, {out_dim}) or ({n},)", f"shape {y.shape}")
    if loss_type in ("binary_cross_entropy", "bce_with_logits") and (y.min() < 0 or y.max() > 1):
        bad = int(np.flatnonzero((y.ravel() < 0) | (y.ravel() > 1))[0])
        fail(func, y_name, "BCE targets in [0, 1]", f"{y.ravel()[bad]!r} at position {bad}")
    return jnp.asarray(y, dtype=dtype)


def output_dim(apply_fn: Callable[..., jax.Array], params: Params, n_features: int, dtype: Any) -> int:
    """Number of model outputs, from an abstract evaluation (no FLOPs)."""
    out = jax.eval_shape(
        lambda p, x: apply_fn(p, x, train=False), params, jax.ShapeDtypeStruct((1, n_features), dtype)
    )
    return int(out.shape[-1]) if out.ndim > 1 else 1


def param_dtype(params: Params):
    leaves = jax.tree_util.tree_leaves(params)
    return leaves[0].dtype if leaves else jnp.float32


def _schedule_options(func: str, schedule: Any, schedule_options: dict | None) -> tuple[Any, tuple]:
    if schedule is None:
        schedule = "constant"
    if isinstance(schedule, str):
        check_choice(func, "schedule", schedule, SCHEDULES)
    elif not callable(schedule):
        fail(
            func,
            "schedule",
            '"step", "cosine", "constant", None or an optax schedule',
            repr(schedule),
            exc=TypeError,
        )
    if schedule_options is not None and not isinstance(schedule_options, dict):
        fail(
            func,
            "schedule_options",
            "a dict of the schedule's options or None",
            describe(schedule_options),
            exc=TypeError,
        )
    options = dict(schedule_options or {})
    if isinstance(schedule, str):
        try:  # the schedule's own checks, now, naming this argument (not later, inside the compiled epoch)
            create_lr_scheduler(1.0, schedule, **options)
        except (TypeError, ValueError) as err:
            fail(
                func,
                "schedule_options",
                f"options of schedule {schedule!r}",
                repr(options),
                hint=str(err),
                exc=type(err),
            )
    return schedule, tuple(sorted(options.items()))


class RunSetup(NamedTuple):
    """Validated data, keys and static config of a run (shared by train_model and train_many)."""

    cfg: EpochConfig
    x: jax.Array
    y: jax.Array
    xv: jax.Array | None
    yv: jax.Array | None
    init_key: PRNGKey
    dropout_key: PRNGKey
    shuffle_key: PRNGKey
    dtype: Any
    loss_type: str
    baseline: float = 0.0  # the loss of an uninformed prediction on the training data (metrics.baseline_loss)


def prepare_run(
    func: str,
    model: Model,
    train_data,
    val_data,
    *,
    key,
    epochs,
    learning_rate,
    batch_size,
    loss_type,
    schedule,
    schedule_options,
    lambda_l1,
    lambda_l2,
    weight_decay,
    shuffle,
    params,
    forward,
    penalize,
    mesh=None,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    state: TrainState | None = None,
) -> RunSetup:
    """Check every argument on the host (before compiling) and build the run's static config.

    Given ``params`` (or a ``state`` to resume) must be a tree like ``model.init``'s: the same
    structure and leaf shapes, every leaf of one floating dtype (the run's dtype; it may differ
    from the model's default, e.g. float64). Class labels must lie in ``[0, outputs)``.
    """
    _check_arguments(func, model, key, epochs, batch_size, learning_rate, lambda_l1, lambda_l2, weight_decay)
    loss_type = loss_type if loss_type is not None else (model.loss_type or "mse")
    check_choice(func, "loss_type", loss_type, LOSS_TYPES)
    schedule, sched_opts = _schedule_options(func, schedule, schedule_options)
    init_key, dropout_key, shuffle_key = split_run_key(key)
    params = _check_initial(func, model, init_key, params, state)
    dtype = param_dtype(params)
    out = _output_size(model, params, train_data, dtype)
    x, y = prepare_xy(func, "train_data", train_data, out_dim=out, loss_type=loss_type, dtype=dtype)
    _check_features(func, model, x)
    xv = yv = None
    if val_data is not None:
        xv, yv = prepare_xy(func, "val_data", val_data, out_dim=out, loss_type=loss_type, dtype=dtype)
        if xv.shape[1] != x.shape[1]:
            fail(
                func,
                "val_data[0] (x)",
                f"inputs with {x.shape[1]} features like train_data",
                f"shape {tuple(xv.shape)}",
            )
    if mesh is not None:
        _check_data_mesh(func, mesh, batch_size)
    cfg = EpochConfig(
        forward=forward,
        loss_type=loss_type,
        batch_size=int(batch_size),
        shuffle=bool(shuffle),
        penalize=penalize,
        schedule=schedule,
        schedule_options=sched_opts,
        steps_per_epoch=math.ceil(x.shape[0] / batch_size),
        b1=b1,
        b2=b2,
        eps=eps,
        mesh=mesh,
        fast=use_fast_path(forward, params, mesh),
    )
    baseline = baseline_loss(y if loss_type == "mse" else None, loss_type, out)
    return RunSetup(cfg, x, y, xv, yv, init_key, dropout_key, shuffle_key, dtype, loss_type, baseline)


def _check_initial(func: str, model: Model, init_key: PRNGKey, params: Any, state: Any) -> Params:
    """The run's initial parameters (abstract when the model will make them), checked against the model."""
    reference = jax.eval_shape(model.init, init_key)
    if state is not None:
        if not isinstance(state, TrainState):
            fail(
                func,
                "state",
                "a TrainState (e.g. a TrainResult's .state)",
                type(state).__name__,
                exc=TypeError,
            )
        check_tree_like(func, "state.params", state.params, reference, same_dtype=False)
    if params is None:
        return state.params if state is not None else reference
    check_tree_like(func, "params", params, reference, same_dtype=False)
    return params


def _check_features(func: str, model: Model, x: jax.Array) -> None:
    if model.layer_sizes and x.shape[1] != model.layer_sizes[0]:
        fail(
            func,
            "train_data[0] (x)",
            f"inputs with {model.layer_sizes[0]} features (the model's layer_sizes[0])",
            f"shape {tuple(x.shape)}",
            hint="rebuild the model for these inputs, or pass the inputs it was made for",
        )


def check_model(func: str, model: Any) -> None:
    """Raise ``TypeError`` unless ``model`` is a :class:`~jnnbasics.models.Model`."""
    if not isinstance(model, Model):
        fail(func, "model", "a jnnbasics Model (e.g. mlp([2, 16, 1]))", describe(model), exc=TypeError)


def _check_arguments(func, model, key, epochs, batch_size, learning_rate, *penalties) -> None:
    check_model(func, model)
    check_key(func, key)
    check_positive_int(func, "epochs", epochs)
    check_positive_int(func, "batch_size", batch_size)
    if np.ndim(learning_rate) == 0:
        try:
            lr = float(learning_rate)
        except (TypeError, ValueError):
            fail(func, "learning_rate", "a positive number", repr(learning_rate), exc=TypeError)
        if not math.isfinite(lr) or lr <= 0:
            fail(func, "learning_rate", "a positive number", learning_rate)
    for name, v in zip(("lambda_l1", "lambda_l2", "weight_decay"), penalties):
        if np.ndim(v) == 0:
            check_nonnegative_float(func, name, v)


def _output_size(model: Model, params: Params, train_data: Any, dtype: Any) -> int:
    """The model's number of outputs: from ``layer_sizes``, else by abstract evaluation."""
    if model.layer_sizes:
        return int(model.layer_sizes[-1])
    pair = isinstance(train_data, (tuple, list)) and len(train_data) == 2
    x_shape = np.shape(train_data[0]) if pair else ()
    if len(x_shape) == 2:
        return output_dim(model.apply, params, x_shape[-1], dtype)
    return 1


def _check_data_mesh(func: str, mesh: Any, batch_size: int) -> None:
    if "data" not in mesh.axis_names:
        fail(func, "mesh", 'a Mesh with a "data" axis', f"axes {mesh.axis_names}")
    ndev = mesh.shape["data"]
    if batch_size % ndev:
        fail(func, "batch_size", f"divisible by the {ndev} devices of the mesh's data axis", batch_size)
