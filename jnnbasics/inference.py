"""The eval-mode forward pass, compiled once per apply function: ``eval_step`` and ``batched_predict``.

Every place that turns inputs into outputs without training — ``evaluate_*``, a loaded run's
``predict``, the command line, the plots — goes through here, so an apply function is compiled
once per input shape however it is reached.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp

from ._types import Params


def eval_step(apply_fn: Callable[..., jax.Array], params: Params, x: jax.Array) -> jax.Array:
    """Predictions in eval mode (no dropout): ``apply_fn(params, x, train=False)``, jitted.

    Args:
        apply_fn: the model's apply function (hashable: ``jit`` caches on it).
        params: parameters pytree.
        x: inputs of shape (batch, features).

    Returns:
        The model's outputs, shape (batch, outputs).
    """
    return _eval_apply(apply_fn, params, x)


@partial(jax.jit, static_argnums=0)
def _eval_apply(apply_fn, params, x):
    return apply_fn(params, x, train=False)


def batched_predict(
    apply_fn: Callable[..., jax.Array], params: Params, x: jax.Array, batch_size: int | None
) -> jax.Array:
    """:func:`eval_step` over ``x`` of shape (n, features) in chunks of ``batch_size`` rows.

    Args:
        apply_fn, params: as for :func:`eval_step`.
        x: inputs of shape (n, features).
        batch_size: rows per call (None: all at once), to bound memory.

    Returns:
        Outputs of shape (n, outputs).
    """
    n = x.shape[0]
    if batch_size is None or batch_size >= n:
        return eval_step(apply_fn, params, x)
    return jnp.concatenate(
        [eval_step(apply_fn, params, x[i : i + batch_size]) for i in range(0, n, batch_size)]
    )
