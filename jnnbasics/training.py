"""Training: the jitted train step, evaluation, and ``train_model`` (one compiled call per epoch).

The tutorial's loop — for each batch: forward, loss, backward, Adam step; then a validation pass;
record the mean batch losses — is reproduced number for number, but each epoch (all its batches,
the final partial batch included, and the validation pass) runs as one compiled XLA program: the
full batches through ``jax.lax.scan``, the partial batch as one more step of a fixed size, so no
epoch recompiles. Hyperparameters that only change numbers (learning rate, penalty strengths,
weight decay, dropout rate in ``train_many``) are traced arguments, so changing them does not
recompile either, and ``jax.vmap`` can train many models at once (see ``jnnbasics.parallel``).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._checks import check_choice, check_nonnegative_float, check_positive_int, fail
from ._types import Params, PRNGKey
from .data import epoch_permutation
from .losses import LOSS_TYPES, compute_loss
from .models import Model
from .optim import make_optimizer
from .penalties import add_regularization
from .schedules import create_lr_scheduler
from .state import TrainState, create_train_state

SCHEDULES = ("constant", "step", "cosine")
Callback = Callable[[int, dict, TrainState], Any]


# --------------------------------------------------------------------------------------------
# One step
# --------------------------------------------------------------------------------------------
def _sgd_step(
    state: TrainState, x, y, mask=None, *, forward, optimizer, loss_type, lambda_l1, lambda_l2, penalize
):
    """One optimizer step. Returns ``(new_state, (data_loss, objective, predictions))``.

    ``mask`` (shape (batch,), or None for all rows) marks the real rows of a padded batch: the loss
    is the mean over those rows only, so padding changes neither the loss nor the gradient.
    """
    if state.key is None:
        new_key, sub = None, None
    else:
        new_key, sub = jax.random.split(state.key)

    def objective(params):
        pred = forward(params, x, sub)
        if mask is None:
            loss = compute_loss(pred, y, loss_type)
        else:
            per = _per_sample_loss(pred, y, loss_type)
            loss = jnp.sum(jnp.where(mask, per, 0)) / jnp.sum(mask)
        obj = add_regularization(params, loss, lambda_l1, lambda_l2) if penalize else loss
        return obj, (loss, pred)

    (obj, (loss, pred)), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    new_state = state.replace(params=params, opt_state=opt_state, step=state.step + 1, key=new_key)
    return new_state, (loss, obj, pred)


def make_train_step(
    apply_fn: Callable[..., jax.Array],
    optimizer: optax.GradientTransformation,
    *,
    loss_type: str = "mse",
    lambda_l1: float = 0.0,
    lambda_l2: float = 0.0,
) -> Callable[[TrainState, jax.Array, jax.Array], tuple[TrainState, jax.Array]]:
    """Build the jitted ``train_step(state, x, y) -> (new_state, loss)``.

    The step runs the forward pass (dropout keyed from ``state.key``, which is split every step),
    the loss from :func:`compute_loss`, the tutorial's ``add_regularization`` penalties (when a
    lambda is non-zero), ``jax.value_and_grad`` and the optax update. It donates the old state's
    buffers: do not use ``state`` after passing it in.

    Args:
        apply_fn: ``apply_fn(params, x, *, key=None, train=False)``, e.g. ``model.apply``. It is
            called with ``key=`` and ``train=True`` when the state carries a key, else as
            ``apply_fn(params, x)``.
        optimizer: the optax transformation whose state is ``state.opt_state``.
        loss_type: one of ``LOSS_TYPES``.
        lambda_l1: weight of the L1 penalty (sum of absolute values of every parameter).
        lambda_l2: weight of the tutorial's L2 penalty (sum of unsquared per-array norms).

    Returns:
        ``train_step(state, x, y) -> (new_state, loss)`` with ``x`` of shape (batch, features),
        ``y`` of the shape the loss expects; ``loss`` is the data loss (what the tutorial's
        ``loss.item()`` reports), without the penalties that were differentiated.

    Example:
        >>> step = make_train_step(model.apply, make_optimizer(1e-3), loss_type="bce_with_logits")
        >>> state, loss = step(state, xb, yb)
    """
    check_choice("make_train_step", "loss_type", loss_type, LOSS_TYPES)
    lambda_l1 = check_nonnegative_float("make_train_step", "lambda_l1", lambda_l1)
    lambda_l2 = check_nonnegative_float("make_train_step", "lambda_l2", lambda_l2)

    def forward(params, x, key):
        if key is None:
            return apply_fn(params, x)
        return apply_fn(params, x, key=key, train=True)

    def train_step(state, x, y):
        new_state, (loss, _, _) = _sgd_step(
            state,
            x,
            y,
            forward=forward,
            optimizer=optimizer,
            loss_type=loss_type,
            lambda_l1=lambda_l1,
            lambda_l2=lambda_l2,
            penalize=bool(lambda_l1 or lambda_l2),
        )
        return new_state, loss

    return jax.jit(train_step, donate_argnums=0)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
def eval_step(apply_fn: Callable[..., jax.Array], params: Params, x: jax.Array) -> jax.Array:
    """Predictions in eval mode (no dropout): ``apply_fn(params, x, train=False)``.

    Args:
        apply_fn: the model's apply function.
        params: parameters pytree.
        x: inputs of shape (batch, features).

    Returns:
        The model's outputs, shape (batch, outputs).
    """
    return _eval_apply(apply_fn, params, x)


@partial(jax.jit, static_argnums=0)
def _eval_apply(apply_fn, params, x):
    return apply_fn(params, x, train=False)


def _batched_predict(apply_fn, params, x, batch_size):
    n = x.shape[0]
    if batch_size is None or batch_size >= n:
        return eval_step(apply_fn, params, x)
    return jnp.concatenate(
        [eval_step(apply_fn, params, x[i : i + batch_size]) for i in range(0, n, batch_size)]
    )


def evaluate_model(
    apply_fn: Callable[..., jax.Array], params: Params, x: Any, y: Any, *, batch_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's ``evaluate_model``: predictions and targets as NumPy arrays, in eval mode.

    Args:
        apply_fn: the model's apply function.
        params: parameters pytree.
        x: inputs of shape (n, features).
        y: targets of shape (n,) or (n, outputs); returned unchanged (as NumPy).
        batch_size: evaluate in chunks of this many rows (None: all at once), to bound memory.

    Returns:
        ``(predictions, targets)``: predictions of shape (n, outputs), targets as given.
    """
    if batch_size is not None:
        check_positive_int("evaluate_model", "batch_size", batch_size)
    x = jnp.asarray(x)
    if np.shape(y)[0] != x.shape[0]:
        fail("evaluate_model", "y", f"of length {x.shape[0]} (the length of x)", np.shape(y)[0])
    return np.asarray(_batched_predict(apply_fn, params, x, batch_size)), np.asarray(y)


def evaluate_loss(
    apply_fn: Callable[..., jax.Array],
    params: Params,
    x: Any,
    y: Any,
    *,
    loss_type: str = "mse",
    batch_size: int | None = None,
) -> float:
    """Mean of the per-batch losses, as the tutorial's validation phase computes it.

    Args:
        apply_fn: the model's apply function (called in eval mode).
        params: parameters pytree.
        x: inputs of shape (n, features).
        y: targets of the shape ``loss_type`` expects for ``n`` samples.
        loss_type: one of ``LOSS_TYPES``.
        batch_size: the validation loader's batch size (None: one batch of all ``n`` rows).

    Returns:
        The mean over batches of each batch's mean loss, as a Python float.
    """
    check_choice("evaluate_loss", "loss_type", loss_type, LOSS_TYPES)
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    n = x.shape[0]
    bs = n if batch_size is None else check_positive_int("evaluate_loss", "batch_size", batch_size)
    pred = _batched_predict(apply_fn, params, x, batch_size)
    per_sample = _per_sample_loss(pred, y, loss_type)
    return float(_mean_of_batch_means(per_sample, bs))


def _per_sample_loss(pred, y, loss_type):
    """Per-sample mean loss, shape (n,): each batch's mean loss is the mean of its samples'."""
    per = compute_loss(pred, y, loss_type, reduction="none")
    return per.reshape(per.shape[0], -1).mean(axis=1)


def _mean_of_batch_means(per_sample, batch_size):
    n = per_sample.shape[0]
    nf, r = divmod(n, batch_size)
    means = []
    if nf:
        means.append(per_sample[: nf * batch_size].reshape(nf, batch_size).mean(axis=1))
    if r:
        means.append(per_sample[nf * batch_size :].mean()[None])
    return jnp.concatenate(means).mean()


def _n_correct(pred, y, task, mask=None):
    """Number of correctly classified rows (among ``mask``'s rows when given)."""
    if task == "multiclass":
        labels = y if y.ndim == 1 else jnp.argmax(y, axis=-1)
        hit = jnp.argmax(pred, axis=-1) == labels
    elif task == "binary_logits":
        hit = ((pred > 0) == (y > 0.5)).reshape(pred.shape[0], -1).all(axis=-1)
    elif task == "binary_probs":
        hit = ((pred > 0.5) == (y > 0.5)).reshape(pred.shape[0], -1).all(axis=-1)
    else:
        return jnp.zeros((), jnp.int32)
    if mask is not None:
        hit = hit & mask
    return jnp.sum(hit)


_TASK_OF_LOSS = {
    "cross_entropy": "multiclass",
    "bce_with_logits": "binary_logits",
    "binary_cross_entropy": "binary_probs",
    "mse": None,
}


# --------------------------------------------------------------------------------------------
# One epoch, compiled
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelForward:
    """``forward(params, x, key, train, hp)`` for a :class:`Model` (dropout baked into apply)."""

    apply: Callable[..., jax.Array]

    def __call__(self, params, x, key, train, hp):
        if train and key is not None:
            return self.apply(params, x, key=key, train=True)
        return self.apply(params, x, train=False)


class EpochConfig(NamedTuple):
    """Static (hashable) description of an epoch; anything here changing means a recompile."""

    forward: Callable  # forward(params, x, key, train, hp)
    loss_type: str
    batch_size: int
    shuffle: bool
    penalize: bool
    schedule: str | Callable  # "constant" | "step" | "cosine" | an optax schedule
    schedule_options: tuple  # sorted (name, value) pairs for create_lr_scheduler
    steps_per_epoch: int
    b1: float
    b2: float
    eps: float
    task: str | None
    mesh: Any = None


def build_optimizer(cfg: EpochConfig, hp: dict) -> optax.GradientTransformation:
    """The optimizer of a run, from its static config and (possibly traced) hyperparameters."""
    if callable(cfg.schedule):
        sched = cfg.schedule
    else:
        sched = create_lr_scheduler(
            hp["learning_rate"],
            cfg.schedule,
            steps_per_epoch=cfg.steps_per_epoch,
            **dict(cfg.schedule_options),
        )
    return make_optimizer(
        hp["learning_rate"],
        schedule=sched,
        weight_decay=hp["weight_decay"],
        b1=cfg.b1,
        b2=cfg.b2,
        eps=cfg.eps,
    )


def _constrain_batch(cfg, xb):
    if cfg.mesh is None:
        return xb
    from jax.sharding import NamedSharding, PartitionSpec

    return jax.lax.with_sharding_constraint(xb, NamedSharding(cfg.mesh, PartitionSpec("data")))


def run_epoch(state: TrainState, x, y, xv, yv, perm, hp, *, cfg: EpochConfig):
    """One epoch of training plus validation, as a pure function (jit/vmap it).

    Args:
        state: training state at the start of the epoch.
        x: training inputs of shape (n, features); y: targets for them.
        xv: validation inputs of shape (m, features) or None; yv: their targets or None.
        perm: int32 array of shape (n,), the order of this epoch (``data.epoch_permutation``).
        hp: dict of scalar hyperparameters (``learning_rate``, ``weight_decay``, ``lambda_l1``,
            ``lambda_l2``, ``dropout_rate``), possibly traced.
        cfg: static configuration.

    Returns:
        ``(state, metrics)``: the state after the epoch and a dict of scalars: ``train_loss``
        (mean of batch losses), ``train_objective``, ``train_correct``, ``val_loss``,
        ``val_correct``, and ``finite`` (False if any loss was NaN or infinite: then keep the input
        state, the last finite one).
    """
    optimizer = build_optimizer(cfg, hp)
    n = x.shape[0]
    bs = cfg.batch_size
    nb = -(-n // bs)
    pad = nb * bs - n
    # The final partial batch is padded to a full batch with masked rows, so every step has one
    # shape and the epoch is one scan (compiled once); the mask keeps the padding out of the loss.
    # The scan runs over index batches: each step gathers its own rows (no copy of the data set).
    order = perm if cfg.shuffle else jnp.arange(n, dtype=jnp.int32)
    if pad:
        order = jnp.concatenate([order, order[jnp.arange(pad) % n]])  # pad may exceed n
    idx = order.reshape(nb, bs)
    mask = (jnp.arange(nb * bs) < n).reshape(nb, bs)

    def forward(params, xb, key):
        return cfg.forward(params, xb, key, True, hp)

    step = partial(
        _sgd_step,
        forward=forward,
        optimizer=optimizer,
        loss_type=cfg.loss_type,
        lambda_l1=hp["lambda_l1"],
        lambda_l2=hp["lambda_l2"],
        penalize=cfg.penalize,
    )

    def body(st, batch):
        ib, mb = batch
        xb, yb = x[ib], y[ib]
        st, (loss, obj, pred) = step(st, _constrain_batch(cfg, xb), yb, mb if pad else None)
        return st, (loss, obj, _n_correct(pred, yb, cfg.task, mb))

    new_state, (losses, objs, correct) = jax.lax.scan(body, state, (idx, mask))
    metrics = {
        "train_loss": losses.mean(),
        "train_objective": objs.mean(),
        "train_correct": correct.sum(),
    }
    finite = jnp.all(jnp.isfinite(losses)) & jnp.isfinite(metrics["train_objective"])
    if xv is not None:
        pred_v = cfg.forward(new_state.params, xv, None, False, hp)
        metrics["val_loss"] = _mean_of_batch_means(_per_sample_loss(pred_v, yv, cfg.loss_type), bs)
        metrics["val_correct"] = _n_correct(pred_v, yv, cfg.task)
        finite = finite & jnp.isfinite(metrics["val_loss"])
    metrics["finite"] = finite
    return new_state, metrics


# Not donated: the caller keeps the epoch's input state, the last finite one if this epoch diverges.
_run_epoch_jit = jax.jit(run_epoch, static_argnames=("cfg",))


# --------------------------------------------------------------------------------------------
# Host-side validation and conversion at the edge
# --------------------------------------------------------------------------------------------
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


def _param_dtype(params: Params):
    leaves = jax.tree_util.tree_leaves(params)
    return leaves[0].dtype if leaves else jnp.float32


# --------------------------------------------------------------------------------------------
# train_model
# --------------------------------------------------------------------------------------------
class TrainResult(NamedTuple):
    """What :func:`train_model` returns.

    Attributes:
        params: final parameters (the best ones when early stopping restored them).
        state: the final ``TrainState`` (for resuming; its params are those at the last epoch run).
        history: per-epoch lists: ``train_loss``, ``val_loss`` (when validation data was given),
            ``lr``, ``train_objective`` (when a penalty is on), ``train_accuracy`` and
            ``val_accuracy`` (classification), ``epoch_time`` (seconds).
        stop_reason: ``"completed"``, ``"early_stopping"``, ``"diverged"`` or ``"callback"``.
        best_epoch: 1-based epoch of the lowest validation loss (None without validation data).
        diverged_epoch: 1-based epoch whose loss was NaN/inf (None if training never diverged).
    """

    params: Params
    state: TrainState
    history: dict[str, list[float]]
    stop_reason: str = "completed"
    best_epoch: int | None = None
    diverged_epoch: int | None = None


@partial(jax.jit, static_argnames=("cfg",))
def _fresh_state(params, dropout_key, hp, *, cfg):
    """Initial TrainState in one compiled call (eager optax init compiles one op per leaf shape)."""
    return create_train_state(params, build_optimizer(cfg, hp), key=dropout_key)


def needs_dropout_key(model: Model) -> bool:
    """Whether training ``model`` needs a dropout key: False only for an MLP known to have no
    dropout (splitting a key every step costs ~10% of a tiny model's step on a CPU)."""
    from .models import MLPApply

    return not (isinstance(model.apply, MLPApply) and model.apply.dropout_rate == 0)


def split_run_key(key: PRNGKey) -> tuple[PRNGKey, PRNGKey, PRNGKey]:
    """Split a run's key into ``(init_key, dropout_key, shuffle_key)`` — the one fixed recipe."""
    k = jax.random.split(key, 3)
    return k[0], k[1], k[2]


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


def _hyperparams(learning_rate, weight_decay, lambda_l1, lambda_l2, dropout_rate, dtype) -> dict:
    return {
        "learning_rate": jnp.asarray(learning_rate, dtype),
        "weight_decay": jnp.asarray(weight_decay, dtype),
        "lambda_l1": jnp.asarray(lambda_l1, dtype),
        "lambda_l2": jnp.asarray(lambda_l2, dtype),
        "dropout_rate": jnp.asarray(dropout_rate, dtype),
    }


def lr_for_epoch(cfg: EpochConfig, learning_rate: float, epoch: int) -> float:
    """Learning rate used during 0-based ``epoch`` (constant within an epoch)."""
    if cfg.schedule == "constant":
        return float(learning_rate)
    sched = (
        cfg.schedule
        if callable(cfg.schedule)
        else create_lr_scheduler(
            learning_rate, cfg.schedule, steps_per_epoch=cfg.steps_per_epoch, **dict(cfg.schedule_options)
        )
    )
    return float(sched(epoch * cfg.steps_per_epoch))


def train_model(
    model: Model,
    train_data: tuple[Any, Any],
    val_data: tuple[Any, Any] | None = None,
    *,
    key: PRNGKey,
    epochs: int = 100,
    learning_rate: float = 1e-3,
    batch_size: int = 32,
    loss_type: str | None = None,
    schedule: str | Callable | None = None,
    schedule_options: dict | None = None,
    lambda_l1: float = 0.0,
    lambda_l2: float = 0.0,
    weight_decay: float = 0.0,
    shuffle: bool = True,
    params: Params | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    state: TrainState | None = None,
    start_epoch: int = 0,
    history: dict[str, list[float]] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    mesh: Any = None,
) -> TrainResult:
    """Train ``model`` with Adam, the tutorial's loop, one compiled call per epoch.

    Each epoch: the training set in batches of ``batch_size`` (shuffled with a key derived from
    ``key`` and the epoch number, or in order with ``shuffle=False``; the last partial batch kept,
    like ``DataLoader(drop_last=False)``), one Adam step per batch, then the validation loss as the
    mean of per-batch losses over the validation set in batches of ``batch_size`` in its order —
    exactly the numbers the tutorial's PyTorch ``train_model`` records.

    Args:
        model: a :class:`Model` (``init``, ``apply``); ``model.loss_type`` is the default loss.
        train_data: ``(x, y)`` with ``x`` of shape (n, features) and ``y`` of shape (n,) or
            (n, outputs). For a one-output model ``y`` of shape (n,) is reshaped to (n, 1), and
            integer 0/1 labels become floats for the BCE losses; class labels for cross-entropy are
            integers in ``[0, outputs)`` (or probabilities of shape (n, outputs)).
        val_data: optional ``(x_val, y_val)`` of the same form.
        key: PRNG key; split once into init / dropout / shuffle keys (:func:`split_run_key`).
        epochs: number of epochs to run (in total, counting ``start_epoch``).
        learning_rate: Adam's base learning rate.
        batch_size: training (and validation) batch size.
        loss_type: one of ``LOSS_TYPES``; None uses ``model.loss_type`` or ``"mse"``.
        schedule: ``"step"`` (StepLR, step_size=30, gamma=0.1), ``"cosine"`` (CosineAnnealingLR,
            t_max=100), ``"constant"``/None, or an optax schedule of the optimizer step count.
            Torch's schedulers are stepped once per epoch; so are these.
        schedule_options: keyword arguments for the schedule, e.g. ``{"step_size": 10}``.
        lambda_l1: L1 penalty weight (tutorial's ``add_regularization``).
        lambda_l2: weight of the tutorial's unsquared L2 penalty.
        weight_decay: ``torch.optim.Adam``'s weight decay (L2 added to the gradient).
        shuffle: shuffle the training set each epoch.
        params: initial parameters; None initialises them with ``model.init(init_key)``.
        patience: stop when the validation loss has not improved for this many epochs (needs
            ``val_data``); None disables early stopping.
        restore_best: with ``patience``, return the parameters of the best epoch.
        callbacks: callables ``cb(epoch, logs, state)`` run after each epoch (1-based ``epoch``,
            ``logs`` the epoch's history entries); one returning True stops training.
        progress: show a progress bar on stderr (see :class:`jnnbasics.progress.ProgressBar`).
        state: a saved ``TrainState`` to resume from (with ``start_epoch`` and ``history``).
        start_epoch: number of epochs already run in ``state``.
        history: the history so far, extended in place of a copy.
        checkpoint_dir: a folder for ``checkpoint.ckpt``: saved atomically every
            ``checkpoint_every`` epochs and when training stops (on Ctrl-C the last saved one stays). If it already holds a checkpoint
            of this run, training resumes from it (its state, epoch count, history and best
            parameters), so a resumed run gives the same history as an uninterrupted one. A
            checkpoint of another run (other shapes or settings) is an error, and is left intact.
        checkpoint_every: save every this many epochs (the final epoch is always saved).
        mesh: a ``jax.sharding.Mesh`` with a ``"data"`` axis for data parallelism: each batch is
            sharded over it and parameters/optimizer state are replicated. ``batch_size`` must be
            divisible by the axis size (ValueError otherwise); the final partial batch is padded to
            a full batch with masked rows, so its size does not matter.

    Returns:
        A :class:`TrainResult`. If a loss becomes NaN or infinite, training stops, a warning names
        the epoch, ``stop_reason == "diverged"``, and the parameters of the last finite epoch are
        returned — nothing learned before is lost.

    Raises:
        ValueError / TypeError: bad data or arguments, before any compilation.

    Example:
        >>> x, y = make_moons(jax.random.key(0), 400, noise=0.1)
        >>> model, loss = select_architecture(2, 1, "binary")
        >>> result = train_model(model, (x[:320], y[:320]), (x[320:], y[320:]), key=jax.random.key(1), epochs=50)
        >>> result.history["val_loss"][-1]
    """
    func = "train_model"
    setup = prepare_run(
        func,
        model,
        train_data,
        val_data,
        key=key,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        loss_type=loss_type,
        schedule=schedule,
        schedule_options=schedule_options,
        lambda_l1=lambda_l1,
        lambda_l2=lambda_l2,
        weight_decay=weight_decay,
        shuffle=shuffle,
        params=params,
        forward=ModelForward(model.apply),
        penalize=bool(lambda_l1 or lambda_l2),
        mesh=mesh,
    )
    if patience is not None:
        check_positive_int(func, "patience", patience)
        if val_data is None:
            fail(func, "patience", "used together with val_data", "no val_data")
    if start_epoch < 0 or start_epoch > epochs:
        fail(func, "start_epoch", f"in [0, epochs={epochs}]", start_epoch)
    cfg = setup.cfg
    hp = _hyperparams(learning_rate, weight_decay, lambda_l1, lambda_l2, model.dropout_rate, setup.dtype)

    if state is None:
        p = params if params is not None else model.init(setup.init_key)
        state = _fresh_state(p, setup.dropout_key if needs_dropout_key(model) else None, hp, cfg=cfg)
    history = history if history is not None else {}
    ckpt, saved_best = None, None
    if checkpoint_dir is not None:
        check_positive_int(func, "checkpoint_every", checkpoint_every)
        ckpt = _RunCheckpoint(Path(checkpoint_dir), _run_fingerprint(cfg, model, hp, setup, shuffle))
        resumed = ckpt.load(state)
        if resumed is not None:
            state, start_epoch, history, saved_best = resumed
    if mesh is not None:
        from jax.sharding import NamedSharding, PartitionSpec

        replicated = NamedSharding(mesh, PartitionSpec())
        state = jax.device_put(state, replicated)
        hp = jax.device_put(hp, replicated)
        saved_best = jax.device_put(saved_best, replicated) if saved_best is not None else None
    history.setdefault("train_loss", [])
    bar = None
    if progress:
        from .progress import ProgressBar

        bar = ProgressBar(epochs)
        callbacks = [*callbacks, bar]

    best_loss, best_params, best_epoch, since_best = math.inf, saved_best, None, 0
    if history.get("val_loss"):
        vl = history["val_loss"]
        best_epoch = int(np.argmin(vl)) + 1
        best_loss = float(vl[best_epoch - 1])
        since_best = len(vl) - best_epoch
    stop_reason, diverged_epoch = "completed", None
    n_train, n_val = setup.x.shape[0], (setup.xv.shape[0] if setup.xv is not None else 0)
    for epoch in range(start_epoch, epochs):
        t0 = time.perf_counter()
        perm = epoch_permutation(setup.shuffle_key, n_train, shuffle=shuffle, epoch=epoch)
        new_state, m = _run_epoch_jit(state, setup.x, setup.y, setup.xv, setup.yv, perm, hp, cfg=cfg)
        m = jax.device_get(m)
        if not bool(m["finite"]):  # keep `state`: the end of the last finite epoch
            diverged_epoch = epoch + 1
            stop_reason = "diverged"
            warnings.warn(
                f"train_model: the loss became NaN or infinite in epoch {diverged_epoch}; training stopped "
                f"and the parameters from the end of epoch {epoch} (the last finite ones) are kept. "
                "Lower the learning rate or check the data.",
                RuntimeWarning,
                stacklevel=2,
            )
            break
        state = new_state
        logs = {"train_loss": float(m["train_loss"]), "lr": lr_for_epoch(cfg, learning_rate, epoch)}
        if cfg.penalize:
            logs["train_objective"] = float(m["train_objective"])
        if cfg.task is not None:
            logs["train_accuracy"] = float(m["train_correct"]) / n_train
        if setup.xv is not None:
            logs["val_loss"] = float(m["val_loss"])
            if cfg.task is not None:
                logs["val_accuracy"] = float(m["val_correct"]) / n_val
        logs["epoch_time"] = time.perf_counter() - t0
        for k, v in logs.items():
            history.setdefault(k, []).append(v)

        if setup.xv is not None:
            if logs["val_loss"] < best_loss:
                best_loss, best_epoch, since_best = logs["val_loss"], epoch + 1, 0
                if patience is not None and restore_best:
                    best_params = state.params  # epochs return new buffers: no copy needed
            else:
                since_best += 1
        if ckpt is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
            ckpt.save(state, epoch + 1, history, best_params, best_epoch)
        stop = any(bool(cb(epoch + 1, logs, state)) for cb in callbacks)
        if stop:
            stop_reason = "callback"
            break
        if patience is not None and since_best >= patience:
            stop_reason = "early_stopping"
            break
    if bar is not None and stop_reason != "completed":
        bar.close()
    if ckpt is not None and stop_reason != "completed" and history["train_loss"]:
        ckpt.save(state, len(history["train_loss"]), history, best_params, best_epoch)
    final_params = (
        best_params if (best_params is not None and stop_reason == "early_stopping") else state.params
    )
    return TrainResult(final_params, state, history, stop_reason, best_epoch, diverged_epoch)


def _run_fingerprint(cfg: EpochConfig, model: Model, hp: dict, setup: RunSetup, shuffle: bool) -> dict:
    """The settings a checkpoint must share with the run that resumes it."""
    return {
        "layer_sizes": list(model.layer_sizes),
        "loss_type": cfg.loss_type,
        "batch_size": cfg.batch_size,
        "schedule": cfg.schedule if isinstance(cfg.schedule, str) else "custom",
        "schedule_options": [list(kv) for kv in cfg.schedule_options],
        "shuffle": shuffle,
        "n_train": int(setup.x.shape[0]),
        **{k: float(v) for k, v in hp.items()},
    }


class _RunCheckpoint:
    """``train_model``'s checkpoint file: state, best parameters, epoch, history and settings."""

    FILE = "checkpoint.ckpt"

    def __init__(self, folder: Path, fingerprint: dict):
        self.path = folder / self.FILE
        self.fingerprint = fingerprint

    def load(self, fresh: TrainState):
        from .checkpoint import load_checkpoint

        if not self.path.exists():
            return None
        tree, meta = load_checkpoint(self.path, {"state": fresh, "best": fresh.params})
        saved = meta.get("run", {})
        diff = sorted(
            k for k in set(saved) | set(self.fingerprint) if saved.get(k) != self.fingerprint.get(k)
        )
        if diff:
            fail(
                "train_model",
                "checkpoint_dir",
                f"a folder whose checkpoint was made with this run's settings (differs in {', '.join(diff)})",
                str(self.path),
                hint="use another checkpoint_dir, or move the old checkpoint away",
            )
        best = tree["best"] if meta.get("has_best") else None
        return tree["state"], int(meta["epoch"]), meta["history"], best

    def save(self, state: TrainState, epoch: int, history: dict, best_params, best_epoch) -> None:
        from .checkpoint import save_checkpoint

        meta = {
            "epoch": epoch,
            "history": history,
            "run": self.fingerprint,
            "has_best": best_params is not None,
        }
        meta["best_epoch"] = best_epoch
        tree = {"state": state, "best": best_params if best_params is not None else state.params}
        save_checkpoint(self.path, tree, metadata=meta)


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
    if not isinstance(model, Model):
        fail(func, "model", "a jnnbasics Model (init, apply)", type(model).__name__, exc=TypeError)
    if key is None:
        fail(func, "key", "a PRNG key (jax.random.key(seed))", None, exc=TypeError)
    check_positive_int(func, "epochs", epochs)
    check_positive_int(func, "batch_size", batch_size)
    if np.ndim(learning_rate) == 0:
        lr = float(learning_rate)
        if not math.isfinite(lr) or lr <= 0:
            fail(func, "learning_rate", "a positive number", learning_rate)
    for name, v in (("lambda_l1", lambda_l1), ("lambda_l2", lambda_l2), ("weight_decay", weight_decay)):
        if np.ndim(v) == 0:
            check_nonnegative_float(func, name, v)
    loss_type = loss_type if loss_type is not None else (model.loss_type or "mse")
    check_choice(func, "loss_type", loss_type, LOSS_TYPES)
    schedule, sched_opts = _schedule_options(func, schedule, schedule_options)
    init_key, dropout_key, shuffle_key = split_run_key(key)
    if params is None:
        params = jax.eval_shape(model.init, init_key)
    dtype = _param_dtype(params)
    x_raw = (
        np.asarray(train_data[0]) if isinstance(train_data, (tuple, list)) and len(train_data) == 2 else None
    )
    n_features = x_raw.shape[-1] if x_raw is not None and x_raw.ndim == 2 else 1
    if model.layer_sizes:
        out = int(model.layer_sizes[-1])
    elif x_raw is not None and x_raw.ndim == 2:
        out = output_dim(model.apply, params, n_features, dtype)
    else:
        out = 1
    x, y = prepare_xy(func, "train_data", train_data, out_dim=out, loss_type=loss_type, dtype=dtype)
    xv = yv = None
    if val_data is not None:
        xv, yv = prepare_xy(func, "val_data", val_data, out_dim=out, loss_type=loss_type, dtype=dtype)
        if xv.shape[1] != x.shape[1]:
            fail(func, "val_data", f"inputs with {x.shape[1]} features like train_data", xv.shape[1])
    if mesh is not None:
        if "data" not in mesh.axis_names:
            fail(func, "mesh", 'a Mesh with a "data" axis', f"axes {mesh.axis_names}")
        ndev = mesh.shape["data"]
        if batch_size % ndev:
            fail(func, "batch_size", f"divisible by the {ndev} devices of the mesh's data axis", batch_size)
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
        task=_TASK_OF_LOSS[loss_type],
        mesh=mesh,
    )
    return RunSetup(cfg, x, y, xv, yv, init_key, dropout_key, shuffle_key, dtype, loss_type)
