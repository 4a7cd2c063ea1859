"""The small-network fast path of an epoch: a closed-form backward, one flat buffer, CPU options.

For a tiny MLP on the CPU an optimizer step is bound by the number of small XLA kernels it runs,
not by arithmetic. Three changes together cut that count from 42 to 27 fused kernels and make a
[2, 64, 32, 1] MLP's compiled epoch 1.2–1.3× faster on a 2-core CPU (``benchmarks/RESULTS.md``);
each alone gave 1.0–1.2×:

* **the dense stack's backward written out** (:func:`dense_value_and_grad`): ``dW = hᵀ dz``,
  ``db = Σ dz``, ``dh = dz Wᵀ`` by hand, while the loss's gradient and each hidden map's (activation,
  dropout: :func:`jnnbasics.models.hidden_maps`) come from ``jax.vjp`` of the very functions the
  forward pass uses, so every activation, loss and dropout rate is covered;
* **Adam over one flat buffer** (:func:`flatten_state` / :func:`unflatten_state`): the parameters and
  the Adam moments are raveled at the start of the epoch and unraveled at its end, so the optax
  update is one fused kernel instead of one per parameter array. It is the same optax optimizer on
  a one-leaf tree: elementwise, so the same numbers;
* **two XLA:CPU options for that compiled epoch only** (:data:`CPU_COMPILER_OPTIONS`): no Eigen
  thread pool and no YNN dot fusion, which cost more than they give on tiny matrices.

None of it is global: the same options slow bigger matrices, and the flat buffer makes an MLP with
a 784×128 layer 8× slower (its weight slices are copied every step). :func:`use_fast_path` chooses
per run, from the model's size, the platform and the model's kind; everything else (checkpoints,
history, the state a run returns) sees the usual parameter tree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.flatten_util import ravel_pytree

from ..models import hidden_maps
from ..state import TrainState

FAST_PATH_MAX_PARAMS = 8192
"""The largest model (parameter count) that takes the fast path. Measured on a 2-core CPU, paired
against autodiff: 1.2–1.5× at 2.3k parameters ([2, 64, 32, 1]), 1.16× at 5k ([8, 64, 64, 3]),
0.72× at 19k ([16, 128, 128, 4]) and 0.43× at 67k ([2, 256, 256, 1])."""

CPU_COMPILER_OPTIONS: dict[str, Any] = {
    "xla_cpu_multi_thread_eigen": False,
    "xla_cpu_experimental_ynn_fusion_type": "",
}
"""XLA:CPU options given to the fast path's compiled epoch only (``jax.jit(compiler_options=)``);
:func:`known_compiler_options` keeps those that this jaxlib's XLA has."""


@functools.cache
def known_compiler_options() -> dict[str, Any]:
    """The entries of :data:`CPU_COMPILER_OPTIONS` that this jaxlib accepts (checked once per process).

    XLA's experimental options come and go between releases, and a compilation with an option it
    does not know fails. Each option is tried on a one-line function; the fast path compiles with
    those that pass (all of them with the jaxlib this project is tested on) and without the others.
    """
    known = {}
    for name, value in CPU_COMPILER_OPTIONS.items():
        try:
            jax.jit(lambda v: v + 1).lower(np.float32(0)).compile(compiler_options={name: value})
        except (RuntimeError, ValueError):  # XLA: "No such compile option" / "not a valid enum value"
            continue
        known[name] = value
    return known


class DenseStack(NamedTuple):
    """What the closed-form backward needs to know of an MLP forward pass."""

    activation: str
    dropout_rate: Any  # a float, or a traced scalar (train_many's per-model rate)


def use_fast_path(forward: Any, params: Any, mesh: Any, hp: dict | None = None) -> bool:
    """Whether a run takes the fast path: a small MLP, on the CPU, without a data mesh.

    Args:
        forward: the epoch's forward (``EpochConfig.forward``); it must describe a dense stack
            (a ``dense_stack(hp)`` method that returns a :class:`DenseStack`).
        params: the run's parameters, or their shapes (``jax.ShapeDtypeStruct`` leaves).
        mesh: the run's data mesh, or None.
        hp: the hyperparameters ``forward.dense_stack`` is asked with (None: an empty dict).
    """
    stack = getattr(forward, "dense_stack", None)
    if mesh is not None or stack is None or stack(hp or {}) is None:
        return False
    if jax.default_backend() != "cpu":
        return False
    size = sum(int(np.prod(np.shape(a))) for a in jax.tree_util.tree_leaves(params))
    return size <= FAST_PATH_MAX_PARAMS


def dense_value_and_grad(
    params: list[dict[str, jax.Array]],
    x: jax.Array,
    key: jax.Array | None,
    loss_fn: Callable[[jax.Array], jax.Array],
    stack: DenseStack,
) -> tuple[jax.Array, jax.Array, list[dict[str, jax.Array]]]:
    """The loss, the predictions and the parameter gradient of an MLP, its backward by hand.

    Args:
        params: ``[{"w": (in, out), "b": (out,)}, ...]``.
        x: inputs of shape (batch, in).
        key: the step's dropout key, or None (no dropout), as ``mlp_apply`` takes it in training.
        loss_fn: ``pred (batch, out) -> scalar loss``.
        stack: the activation and dropout rate.

    Returns:
        ``(loss, pred, grads)``, ``grads`` shaped like ``params``: what
        ``jax.value_and_grad(lambda p: loss_fn(mlp_apply(p, x, ..., train=True)))`` gives.
    """
    n_hidden = len(params) - 1
    maps = hidden_maps(n_hidden, activation=stack.activation, dropout_rate=stack.dropout_rate, key=key)
    inputs, backs = [x], []
    h = x
    for i, layer in enumerate(params):
        h = h @ layer["w"] + layer["b"]
        if i < n_hidden:
            h, back = jax.vjp(maps[i], h)
            inputs.append(h)
            backs.append(back)
    loss, dz = jax.value_and_grad(loss_fn)(h)
    grads: list[dict[str, jax.Array]] = [{}] * len(params)
    for i in range(n_hidden, -1, -1):
        grads[i] = {"w": inputs[i].T @ dz, "b": dz.sum(axis=0)}
        if i:
            (dz,) = backs[i - 1](dz @ params[i]["w"].T)
    return loss, h, grads


def _is_params_like(treedef: Any) -> Callable[[Any], bool]:
    return lambda t: jax.tree_util.tree_structure(t) == treedef


def flatten_state(state: TrainState) -> tuple[TrainState, Callable[[jax.Array], Any]]:
    """The state with its parameters and every parameter-shaped optimizer moment raveled.

    Returns:
        ``(flat_state, unravel)``: ``flat_state.params`` has shape (n_params,), and so has each of
        its Adam moments; ``unravel(vector)`` gives back the parameter tree.
    """
    flat, unravel = ravel_pytree(state.params)
    like = _is_params_like(jax.tree_util.tree_structure(state.params))
    opt_state = jax.tree_util.tree_map(
        lambda t: ravel_pytree(t)[0] if like(t) else t, state.opt_state, is_leaf=like
    )
    return state.replace(params=flat, opt_state=opt_state), unravel


def unflatten_state(flat_state: TrainState, like_state: TrainState, unravel: Callable) -> TrainState:
    """:func:`flatten_state` undone, with ``like_state`` (the state before flattening) as the template."""
    like = _is_params_like(jax.tree_util.tree_structure(like_state.params))
    opt_state = jax.tree_util.tree_map(
        lambda t, f: unravel(f) if like(t) else f, like_state.opt_state, flat_state.opt_state, is_leaf=like
    )
    return flat_state.replace(params=unravel(flat_state.params), opt_state=opt_state)
