"""Training state: the one pytree that a train step reads and returns."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from ._checks import as_array, check_key, fail
from ._types import Params, PRNGKey


@struct.dataclass
class TrainState:
    """Everything a training step needs, as one pytree.

    Attributes:
        params: model parameters (a list of ``{"w": (in, out), "b": (out,)}`` dicts, or any pytree).
        opt_state: the optax optimizer state for ``params``.
        step: number of optimizer steps taken so far, an int32 scalar array.
        key: PRNG key for dropout, split once per step; ``None`` when the model is deterministic.
    """

    params: Params
    opt_state: optax.OptState
    step: jax.Array
    key: PRNGKey | None = None


def create_train_state(
    params: Params, optimizer: optax.GradientTransformation, key: Any = None
) -> TrainState:
    """Build a :class:`TrainState` at step 0.

    Args:
        params: initial parameters pytree.
        optimizer: an ``optax.GradientTransformation`` (e.g. from ``make_optimizer``).
        key: optional PRNG key used for dropout during training.

    Returns:
        A ``TrainState`` with ``opt_state = optimizer.init(params)`` and ``step = 0``. The state
        holds a copy of ``params``: a train step donates the state's buffers, and the caller's
        ``params`` must stay usable.

    Raises:
        TypeError: ``optimizer`` is not an optax transformation, ``key`` is not a PRNG key, or a
            leaf of ``params`` is not a numeric array.

    Example:
        >>> state = create_train_state(params, make_optimizer(1e-3), key=jax.random.key(0))
    """
    func = "create_train_state"
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        fail(
            func,
            "optimizer",
            "an optax GradientTransformation (e.g. make_optimizer(1e-3))",
            repr(optimizer)[:60],
            exc=TypeError,
        )
    if key is not None:
        check_key(func, key)
    pairs = jax.tree_util.tree_flatten_with_path(params)[0]
    for path, leaf in pairs:
        as_array(func, "params" + jax.tree_util.keystr(path), leaf)
    if not pairs:
        fail(func, "params", "a pytree of arrays with at least one leaf", repr(params)[:60])
    params = jax.tree_util.tree_map(jnp.array, params)  # a copy: train steps donate the state
    return TrainState(params=params, opt_state=optimizer.init(params), step=jnp.zeros((), jnp.int32), key=key)
