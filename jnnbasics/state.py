"""Training state: the one pytree that a train step reads and returns."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

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

    Example:
        >>> state = create_train_state(params, make_optimizer(1e-3), key=jax.random.key(0))
    """
    params = jax.tree_util.tree_map(jnp.array, params)  # a copy: train steps donate the state
    return TrainState(params=params, opt_state=optimizer.init(params), step=jnp.zeros((), jnp.int32), key=key)
