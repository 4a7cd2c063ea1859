"""One optimizer step: ``sgd_step`` (the pure function every loop uses) and ``make_train_step``."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jax.experimental import checkify
from jax.flatten_util import ravel_pytree

from .._checks import check_choice, check_nonnegative_float, fail
from ..losses import LOSS_TYPES, compute_loss
from ..metrics import per_sample_loss
from ..penalties import add_regularization
from ..state import TrainState
from .fastpath import DenseStack, dense_value_and_grad


def sgd_step(
    state: TrainState,
    x,
    y,
    mask=None,
    *,
    forward,
    optimizer,
    loss_type,
    lambda_l1,
    lambda_l2,
    penalize,
    dense: DenseStack | None = None,
    unravel: Callable | None = None,
):
    """One optimizer step. Returns ``(new_state, (data_loss, objective, predictions))``.

    Args:
        state: the training state; its key (if any) is split once for this step's dropout.
        x: inputs of shape (batch, features); y: targets of the shape ``loss_type`` expects.
        mask: bool (batch,) marking the real rows of a padded batch, or None for all rows: the loss
            is the mean over the real rows only, so padding changes neither loss nor gradient.
        forward: ``forward(params, x, key)``; optimizer: an optax transformation.
        loss_type, lambda_l1, lambda_l2, penalize: the loss and the tutorial's penalties.
        dense: for an MLP, its :class:`DenseStack`: the gradient then comes from the closed-form
            backward (``fastpath.dense_value_and_grad``) instead of ``jax.value_and_grad`` of
            ``forward``; the penalties' gradient is autodiff's either way.
        unravel: when ``state`` is flat (``fastpath.flatten_state``), the function that turns its
            parameter vector back into the parameter tree; None for a state of trees.
    """
    if state.key is None:
        new_key, sub = None, None
    else:
        new_key, sub = jax.random.split(state.key)
    params = state.params if unravel is None else unravel(state.params)

    def data_loss(pred):
        if mask is None:
            return compute_loss(pred, y, loss_type)
        per = per_sample_loss(pred, y, loss_type)
        return jnp.sum(jnp.where(mask, per, 0)) / jnp.sum(mask)

    def penalized(params, loss):
        return add_regularization(params, loss, lambda_l1, lambda_l2) if penalize else loss

    if dense is None:

        def objective(params):
            pred = forward(params, x, sub)
            loss = data_loss(pred)
            return penalized(params, loss), (loss, pred)

        (obj, (loss, pred)), grads = jax.value_and_grad(objective, has_aux=True)(params)
    else:
        loss, pred, grads = dense_value_and_grad(params, x, sub, data_loss, dense)
        obj = loss
        if penalize:
            obj, penalty_grads = jax.value_and_grad(penalized)(params, loss)
            grads = jax.tree_util.tree_map(jnp.add, grads, penalty_grads)
    if unravel is not None:
        grads = ravel_pytree(grads)[0]
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    new_params = optax.apply_updates(state.params, updates)
    new_state = state.replace(params=new_params, opt_state=opt_state, step=state.step + 1, key=new_key)
    return new_state, (loss, obj, pred)


def make_train_step(
    apply_fn: Callable[..., jax.Array],
    optimizer: optax.GradientTransformation,
    *,
    loss_type: str = "mse",
    lambda_l1: float = 0.0,
    lambda_l2: float = 0.0,
    checked: bool = False,
) -> Callable[[TrainState, jax.Array, jax.Array], tuple[TrainState, jax.Array]]:
    """Build the jitted ``train_step(state, x, y) -> (new_state, loss)``.

    The step runs the forward pass (dropout keyed from ``state.key``, which is split every step),
    the loss from :func:`compute_loss`, the tutorial's ``add_regularization`` penalties (when a
    lambda is non-zero), ``jax.value_and_grad`` and the optax update. It donates the old state's
    buffers: do not use ``state`` after passing it in.

    Inside ``jit`` a value cannot raise: by default a class label outside ``[0, classes)`` gives a
    NaN loss (PyTorch raises ``Target 3 is out of bounds``), and so does a NaN in ``x``.
    ``train_model`` and ``evaluate_loss`` check the data on the host before compiling; for this raw
    step, ``checked=True`` checks every batch inside the compiled step (``jax.experimental.checkify``)
    and raises ``ValueError`` (checkify's ``JaxRuntimeError``) naming the first bad label, a
    non-finite input, a BCE target outside [0, 1] or a non-finite loss. The checked step does not
    donate ``state``, so after an error the state passed in is still usable; it costs a few
    reductions per batch.

    Args:
        apply_fn: ``apply_fn(params, x, *, key=None, train=False)``, e.g. ``model.apply``. It is
            called with ``key=`` and ``train=True`` when the state carries a key, else as
            ``apply_fn(params, x)``.
        optimizer: the optax transformation whose state is ``state.opt_state``.
        loss_type: one of ``LOSS_TYPES``.
        lambda_l1: weight of the L1 penalty (sum of absolute values of every parameter).
        lambda_l2: weight of the tutorial's L2 penalty (sum of unsquared per-array norms).
        checked: check each batch's data and loss inside the step and raise on a bad one.

    Returns:
        ``train_step(state, x, y) -> (new_state, loss)`` with ``x`` of shape (batch, features),
        ``y`` of the shape the loss expects; ``loss`` is the data loss (what the tutorial's
        ``loss.item()`` reports), without the penalties that were differentiated.

    Example:
        >>> step = make_train_step(model.apply, make_optimizer(1e-3), loss_type="bce_with_logits")
        >>> state, loss = step(state, xb, yb)
    """
    if not callable(apply_fn):
        fail(
            "make_train_step",
            "apply_fn",
            "a model's apply function (e.g. model.apply)",
            repr(apply_fn)[:60],
            exc=TypeError,
        )
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        fail(
            "make_train_step",
            "optimizer",
            "an optax GradientTransformation (e.g. make_optimizer(1e-3))",
            repr(optimizer)[:60],
            exc=TypeError,
        )
    check_choice("make_train_step", "loss_type", loss_type, LOSS_TYPES)
    lambda_l1 = check_nonnegative_float("make_train_step", "lambda_l1", lambda_l1)
    lambda_l2 = check_nonnegative_float("make_train_step", "lambda_l2", lambda_l2)

    def forward(params, x, key):
        if key is None:
            return apply_fn(params, x)
        return apply_fn(params, x, key=key, train=True)

    def train_step(state, x, y):
        new_state, (loss, _, _) = sgd_step(
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

    if not checked:
        return jax.jit(train_step, donate_argnums=0)
    return _checked_step(train_step, apply_fn, loss_type)


def _checked_step(train_step, apply_fn, loss_type: str):
    """``train_step`` compiled with checkify checks of the batch and the loss; raises on a failed one."""

    def checked(state, x, y):
        _check_batch(apply_fn, loss_type, state.params, x, y)
        new_state, loss = train_step(state, x, y)
        checkify.check(
            jnp.isfinite(loss),
            "make_train_step: the loss must be finite, got {loss}; lower the learning rate or check the data",
            loss=loss,
        )
        return new_state, loss

    compiled = jax.jit(checkify.checkify(checked))

    def checked_train_step(state, x, y):
        err, out = compiled(state, x, y)
        err.throw()
        return out

    return checked_train_step


def _check_batch(apply_fn, loss_type: str, params, x, y) -> None:
    """checkify checks (traced) of one batch: finite x; labels in range; BCE targets in [0, 1]."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    if jnp.issubdtype(x.dtype, jnp.floating):
        ok = jnp.isfinite(x).reshape(x.shape[0] if x.ndim else 1, -1).all(axis=1)  # per row
        checkify.check(
            jnp.all(ok),
            "make_train_step: x must be finite, got NaN/infinite values, the first in row {row}",
            row=jnp.argmin(ok),
        )
    if loss_type == "cross_entropy" and jnp.issubdtype(y.dtype, jnp.integer):
        n = jax.eval_shape(lambda p, v: apply_fn(p, v), params, x).shape[-1]
        ok = (y >= 0) & (y < n)
        row = jnp.argmin(ok)
        checkify.check(
            jnp.all(ok),
            f"make_train_step: y must be class labels in [0, {n}) for a model with {n} outputs, "
            "got {label} at row {row} (target {label} is out of bounds)",
            label=y[row],
            row=row,
        )
    if loss_type in ("binary_cross_entropy", "bce_with_logits"):
        flat = y.reshape(-1)
        ok = (flat >= 0) & (flat <= 1)
        checkify.check(
            jnp.all(ok),
            "make_train_step: y must be BCE targets in [0, 1], got {value} at position {pos}",
            value=flat[jnp.argmin(ok)],
            pos=jnp.argmin(ok),
        )
