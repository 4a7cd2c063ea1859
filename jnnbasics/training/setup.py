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

from .._checks import check_choice, check_nonnegative_float, check_positive_int, fail
from .._keys import split_run_key
from .._types import Params, PRNGKey
from ..losses import LOSS_TYPES
from ..models import Model
from ..schedules import SCHEDULES
from .epoch import EpochConfig


def _describe_nonfinite(a: np.ndarray) -> str:
    bad = ~np.isfinite(a)
    first = np.argwhere(bad)[0]
    where = f"row {first[0]}" + (f", column {first[1]}" if len(first) > 1 else "")
    return f"{int(bad.sum())} NaN/infinite value(s), the first at {where}"


def prepare_xy(
    func: str, name: str, data: Any, *, out_dim: int, loss_type: str, dtype: Any
) -> tuple[jax.Array, jax.Array]:
    """Validate an ``(x, y)`` pair on the host and convert it for ``loss_type``.

    Conversions (documented, at the edge, never inside a loss): ``y`` of shape (n,) for a model with
    one output becomes (n, 1); integer 0/1 labels become floats for the BCE losses; integer-valued
    float labels become int32 for cross-entropy.

    Raises:
        ValueError: different lengths, empty data, NaN/inf values, labels out of range.
        TypeError: not a pair, non-numeric arrays.
    """
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        fail(func, name, "an (x, y) pair of arrays", type(data).__name__, exc=TypeError)
    x, y = np.asarray(data[0]), np.asarray(data[1])
    for arg, a in ((f"{name}[0] (x)", x), (f"{name}[1] (y)", y)):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            fail(func, arg, "a numeric array", f"dtype {a.dtype}", exc=TypeError)
    if x.ndim != 2:
        fail(func, f"{name}[0] (x)", "a 2-D array of shape (n, features)", f"shape {x.shape}")
    if x.shape[0] == 0:
        fail(func, name, "non-empty", "0 samples")
    if y.shape[:1] != x.shape[:1]:
        fail(func, name, "x and y with the same number of samples", f"x {x.shape[0]} and y {y.shape[0]}")
    for arg, a in ((f"{name}[0] (x)", x), (f"{name}[1] (y)", y)):
        if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
            fail(func, arg, "finite", _describe_nonfinite(a))
    n = x.shape[0]
    if loss_type == "cross_entropy":
        if y.ndim == 1:
            if np.issubdtype(y.dtype, np.floating):
                if not np.all(np.equal(np.mod(y, 1), 0)):
                    bad = np.flatnonzero(np.mod(y, 1))[0]
                    fail(func, f"{name}[1] (y)", "integer class labels", f"{y[bad]!r} at row {bad}")
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= out_dim:
                bad = int(np.flatnonzero((y < 0) | (y >= out_dim))[0])
                fail(
                    func,
                    f"{name}[1] (y)",
                    f"class labels in [0, {out_dim}) for a model with {out_dim} outputs",
                    f"{y[bad]!r} at row {bad}",
                )
            yj = jnp.asarray(y.astype(np.int32))
        elif y.ndim == 2 and y.shape[1] == out_dim:
            yj = jnp.asarray(y, dtype=dtype)
        else:
            fail(
                func,
                f"{name}[1] (y)",
                f"labels of shape ({n},) or probabilities of shape ({n}, {out_dim})",
                f"shape {y.shape}",
            )
    else:
        if y.ndim == 1 and out_dim == 1:
            y = y.reshape(n, 1)
        if y.shape != (n, out_dim):
            fail(func, f"{name}[1] (y)", f"targets of shape ({n}, {out_dim}) or ({n},)", f"shape {y.shape}")
        if loss_type in ("binary_cross_entropy", "bce_with_logits") and (y.min() < 0 or y.max() > 1):
            bad = int(np.flatnonzero((y.ravel() < 0) | (y.ravel() > 1))[0])
            fail(func, f"{name}[1] (y)", "BCE targets in [0, 1]", f"{y.ravel()[bad]!r} at position {bad}")
        yj = jnp.asarray(y, dtype=dtype)
    return jnp.asarray(x, dtype=dtype), yj


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
    return schedule, tuple(sorted((schedule_options or {}).items()))


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
) -> RunSetup:
    """Check every argument on the host (before compiling) and build the run's static config."""
    _check_arguments(func, model, key, epochs, batch_size, learning_rate, lambda_l1, lambda_l2, weight_decay)
    loss_type = loss_type if loss_type is not None else (model.loss_type or "mse")
    check_choice(func, "loss_type", loss_type, LOSS_TYPES)
    schedule, sched_opts = _schedule_options(func, schedule, schedule_options)
    init_key, dropout_key, shuffle_key = split_run_key(key)
    if params is None:
        params = jax.eval_shape(model.init, init_key)
    dtype = param_dtype(params)
    out = _output_size(model, params, train_data, dtype)
    x, y = prepare_xy(func, "train_data", train_data, out_dim=out, loss_type=loss_type, dtype=dtype)
    xv = yv = None
    if val_data is not None:
        xv, yv = prepare_xy(func, "val_data", val_data, out_dim=out, loss_type=loss_type, dtype=dtype)
        if xv.shape[1] != x.shape[1]:
            fail(func, "val_data", f"inputs with {x.shape[1]} features like train_data", xv.shape[1])
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
    )
    return RunSetup(cfg, x, y, xv, yv, init_key, dropout_key, shuffle_key, dtype, loss_type)


def check_key(func: str, key: Any) -> None:
    """A run's ``key`` must be a PRNG key: a typed key (``jax.random.key(seed)``) or a raw uint32 (2,)."""
    typed = isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    raw = not typed and np.shape(key) == (2,) and np.asarray(key).dtype == np.uint32
    if not ((typed and np.shape(key) == ()) or raw):
        got = "None" if key is None else f"{type(key).__name__} {np.shape(key)}"
        fail(func, "key", "a PRNG key (jax.random.key(seed))", got, exc=TypeError)


def _check_arguments(func, model, key, epochs, batch_size, learning_rate, *penalties) -> None:
    if not isinstance(model, Model):
        fail(func, "model", "a jnnbasics Model (init, apply)", type(model).__name__, exc=TypeError)
    check_key(func, key)
    check_positive_int(func, "epochs", epochs)
    check_positive_int(func, "batch_size", batch_size)
    if np.ndim(learning_rate) == 0:
        lr = float(learning_rate)
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
