"""One epoch as one compiled program: every batch (the partial one masked) and the validation pass.

``run_epoch`` is a pure function of the state, the data, the epoch's order and the (traced)
hyperparameters; its static :class:`EpochConfig` is what a recompile depends on. ``train_model``
jits it; ``train_many`` vmaps it over models.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..metrics import mean_of_batch_means, n_correct, per_sample_loss
from ..models import MLPApply, mlp_apply
from ..optim import make_optimizer
from ..schedules import create_lr_scheduler
from ..state import TrainState, create_train_state
from .fastpath import DenseStack, flatten_state, known_compiler_options, unflatten_state
from .step import sgd_step

HYPERPARAMS = ("learning_rate", "weight_decay", "lambda_l1", "lambda_l2", "dropout_rate")
"""The numeric hyperparameters that are traced (changing them does not recompile)."""


@dataclass(frozen=True)
class ModelForward:
    """``forward(params, x, key, train, hp)`` for a :class:`Model` (dropout baked into apply)."""

    apply: Callable[..., jax.Array]

    def __call__(self, params, x, key, train, hp):
        if train and key is not None:
            return self.apply(params, x, key=key, train=True)
        return self.apply(params, x, train=False)

    def dense_stack(self, hp) -> DenseStack | None:
        """The MLP this forward is (activation, dropout rate), or None for another kind of model."""
        if isinstance(self.apply, MLPApply):
            return DenseStack(self.apply.activation, self.apply.dropout_rate)
        return None


@dataclass(frozen=True)
class MLPForward:
    """``forward(params, x, key, train, hp)`` of an MLP whose dropout rate is ``hp["dropout_rate"]``."""

    activation: str

    def __call__(self, params, x, key, train, hp):
        if train and key is not None:
            return mlp_apply(
                params, x, activation=self.activation, dropout_rate=hp["dropout_rate"], key=key, train=True
            )
        return mlp_apply(params, x, activation=self.activation)

    def dense_stack(self, hp) -> DenseStack:
        """The MLP this forward is: its activation and ``hp["dropout_rate"]``."""
        return DenseStack(self.activation, hp.get("dropout_rate", 0.0))


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
    mesh: Any = None
    fast: bool = False  # the small-MLP fast path (fastpath.py): flat state, closed-form backward

    @property
    def classifies(self) -> bool:
        """Whether the loss is a classification loss (accuracy is recorded)."""
        return self.loss_type != "mse"


def traced_hyperparams(values: dict[str, Any], dtype: Any) -> dict[str, jax.Array]:
    """The traced hyperparameter dict (every name of :data:`HYPERPARAMS`) as arrays of ``dtype``."""
    return {name: jnp.asarray(values[name], dtype) for name in HYPERPARAMS}


def schedule_fn(cfg: EpochConfig, learning_rate: Any) -> optax.Schedule:
    """The learning-rate schedule of a run (of the optimizer step count)."""
    if callable(cfg.schedule):
        return cfg.schedule
    return create_lr_scheduler(
        learning_rate, cfg.schedule, steps_per_epoch=cfg.steps_per_epoch, **dict(cfg.schedule_options)
    )


def build_optimizer(cfg: EpochConfig, hp: dict) -> optax.GradientTransformation:
    """The optimizer of a run, from its static config and (possibly traced) hyperparameters."""
    return make_optimizer(
        hp["learning_rate"],
        schedule=schedule_fn(cfg, hp["learning_rate"]),
        weight_decay=hp["weight_decay"],
        b1=cfg.b1,
        b2=cfg.b2,
        eps=cfg.eps,
    )


def lr_for_epoch(cfg: EpochConfig, learning_rate: float, epoch: int) -> float:
    """Learning rate used during 0-based ``epoch`` (constant within an epoch)."""
    if cfg.schedule == "constant":
        return float(learning_rate)
    return float(schedule_fn(cfg, learning_rate)(epoch * cfg.steps_per_epoch))


@partial(jax.jit, static_argnames=("cfg",))
def fresh_state(params, dropout_key, hp, *, cfg):
    """Initial TrainState in one compiled call (eager optax init compiles one op per leaf shape)."""
    return create_train_state(params, build_optimizer(cfg, hp), key=dropout_key)


def _constrain_batch(cfg, xb):
    if cfg.mesh is None:
        return xb
    from jax.sharding import NamedSharding, PartitionSpec

    return jax.lax.with_sharding_constraint(xb, NamedSharding(cfg.mesh, PartitionSpec("data")))


def _batch_indices(perm, n: int, cfg: EpochConfig):
    """``(idx, mask)`` of shape (batches, batch_size): the epoch's rows, the last batch padded.

    The final partial batch is padded to a full batch with masked rows, so every step has one shape
    and the epoch is one scan (compiled once); the mask keeps the padding out of the loss.
    """
    bs = cfg.batch_size
    nb = -(-n // bs)
    pad = nb * bs - n
    order = perm if cfg.shuffle else jnp.arange(n, dtype=jnp.int32)
    if pad:
        order = jnp.concatenate([order, order[jnp.arange(pad) % n]])  # pad may exceed n
    return order.reshape(nb, bs), (jnp.arange(nb * bs) < n).reshape(nb, bs), bool(pad)


def run_epoch(state: TrainState, x, y, xv, yv, perm, hp, *, cfg: EpochConfig):
    """One epoch of training plus validation, as a pure function (jit/vmap it).

    Args:
        state: training state at the start of the epoch.
        x: training inputs of shape (n, features); y: targets for them.
        xv: validation inputs of shape (m, features) or None; yv: their targets or None.
        perm: int32 array of shape (n,), the order of this epoch (``data.epoch_permutation``).
        hp: dict of scalar hyperparameters (:data:`HYPERPARAMS`), possibly traced.
        cfg: static configuration.

    Returns:
        ``(state, metrics)``: the state after the epoch and a dict of scalars: ``train_loss``
        (mean of batch losses), ``start_loss`` (the first batch's loss before the epoch's first
        step), ``train_objective``, ``train_correct``, ``val_loss``,
        ``val_correct``, and ``finite`` (False if any loss was NaN or infinite: then keep the input
        state, the last finite one).
    """
    idx, mask, padded = _batch_indices(perm, x.shape[0], cfg)
    tree_state, unravel = state, None
    if cfg.fast:
        state, unravel = flatten_state(state)
    step = partial(
        sgd_step,
        forward=lambda params, xb, key: cfg.forward(params, xb, key, True, hp),
        optimizer=build_optimizer(cfg, hp),
        loss_type=cfg.loss_type,
        lambda_l1=hp["lambda_l1"],
        lambda_l2=hp["lambda_l2"],
        penalize=cfg.penalize,
        dense=cfg.forward.dense_stack(hp) if cfg.fast else None,
        unravel=unravel,
    )

    def body(st, batch):
        ib, mb = batch  # the scan runs over index batches: each step gathers its own rows
        xb, yb = x[ib], y[ib]
        st, (loss, obj, pred) = step(st, _constrain_batch(cfg, xb), yb, mb if padded else None)
        return st, (loss, obj, n_correct(pred, yb, cfg.loss_type, mb))

    new_state, (losses, objs, correct) = jax.lax.scan(body, state, (idx, mask))
    if cfg.fast:
        new_state = unflatten_state(new_state, tree_state, unravel)
    metrics = {"train_loss": losses.mean(), "train_objective": objs.mean(), "train_correct": correct.sum()}
    metrics["start_loss"] = losses[0]  # the first batch's loss before the epoch's first step
    finite = jnp.all(jnp.isfinite(losses)) & jnp.isfinite(metrics["train_objective"])
    if xv is not None:
        pred_v = cfg.forward(new_state.params, xv, None, False, hp)
        per_v = per_sample_loss(pred_v, yv, cfg.loss_type)
        metrics["val_loss"] = mean_of_batch_means(per_v, cfg.batch_size)
        metrics["val_correct"] = n_correct(pred_v, yv, cfg.loss_type)
        finite = finite & jnp.isfinite(metrics["val_loss"])
    metrics["finite"] = finite
    return new_state, metrics


FLOAT_METRICS = ("train_loss", "train_objective", "start_loss", "val_loss")
COUNT_METRICS = ("train_correct", "val_correct", "finite")
"""The metrics of :func:`run_epoch`, in the order :func:`run_epoch_jit` packs them (val_* with validation)."""


def _metric_names(with_val: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    keep = (lambda n: True) if with_val else (lambda n: not n.startswith("val_"))
    return tuple(filter(keep, FLOAT_METRICS)), tuple(filter(keep, COUNT_METRICS))


def _run_epoch_packed(state, x, y, xv, yv, perm, hp, *, cfg):
    """:func:`run_epoch` with its metrics in two arrays: a compiled call pays ~6 µs per output array."""
    new_state, m = run_epoch(state, x, y, xv, yv, perm, hp, cfg=cfg)
    floats, counts = _metric_names(xv is not None)
    return new_state, jnp.stack([m[n] for n in floats]), jnp.stack([m[n].astype(jnp.int32) for n in counts])


# Not donated: the caller keeps the epoch's input state, the last finite one if this epoch diverges.
_run_epoch_jit = jax.jit(_run_epoch_packed, static_argnames=("cfg",))


@functools.cache
def _run_epoch_fast_jit():
    return jax.jit(_run_epoch_packed, static_argnames=("cfg",), compiler_options=known_compiler_options())


@dataclass(frozen=True)
class PendingMetrics:
    """An epoch's metrics still on the device; :meth:`fetch` waits for the epoch and brings them over."""

    floats: jax.Array
    counts: jax.Array
    with_val: bool

    def fetch(self) -> dict[str, Any]:
        """The metrics of :func:`run_epoch` as NumPy scalars (``finite`` a NumPy bool)."""
        floats, counts = jax.device_get((self.floats, self.counts))
        float_names, count_names = _metric_names(self.with_val)
        out: dict[str, Any] = dict(zip(float_names, floats))
        out.update(zip(count_names, counts))
        out["finite"] = np.bool_(out["finite"])
        return out


def run_epoch_jit(state: TrainState, x, y, xv, yv, perm, hp, *, cfg: EpochConfig):
    """:func:`run_epoch` compiled (once per ``cfg`` and shapes), with the fast path's options if it takes it.

    Returns:
        ``(new_state, pending)``: the state after the epoch (computed asynchronously) and its
        :class:`PendingMetrics`; ``pending.fetch()`` gives the metrics dict of :func:`run_epoch`.
    """
    compiled = _run_epoch_fast_jit() if cfg.fast else _run_epoch_jit
    new_state, floats, counts = compiled(state, x, y, xv, yv, perm, hp, cfg=cfg)
    return new_state, PendingMetrics(floats, counts, xv is not None)
