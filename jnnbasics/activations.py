"""Activation functions: thin, documented wrappers over ``jax.nn`` primitives.

Every function is pure, jit-able, vmap-able and differentiable, and is numerically stable for any
finite input (``sigmoid``/``softmax`` of values like ``±1e4`` give finite values and gradients).
Inputs are checked before tracing: ``x`` must hold numbers (arrays, lists or scalars; a
``TypeError`` names ``x`` otherwise), ``axis`` must be an axis of ``x``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ._checks import as_array, check_axis, check_choice, check_number

Array = jax.Array

ACTIVATIONS: tuple[str, ...] = ("relu", "sigmoid", "tanh", "gelu", "leaky_relu", "identity")
"""Names accepted by :func:`get_activation` (and by ``mlp(..., activation=...)``)."""


def sigmoid(x: Array) -> Array:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise and overflow-free.

    Args:
        x: array of any shape.

    Returns:
        Array of the same shape and dtype with values in ``[0, 1]``.

    Example:
        >>> sigmoid(jnp.array([0.0]))
        Array([0.5], dtype=float32)
    """
    return jax.nn.sigmoid(as_array("sigmoid", "x", x))


def relu(x: Array) -> Array:
    """Rectified linear unit ``max(0, x)``, elementwise (gradient 0 at ``x == 0``, as in PyTorch).

    Args:
        x: array of any shape.

    Returns:
        Array of the same shape and dtype.

    Example:
        >>> relu(jnp.array([-1.0, 2.0]))
        Array([0., 2.], dtype=float32)
    """
    return jax.nn.relu(as_array("relu", "x", x))


def tanh(x: Array) -> Array:
    """Hyperbolic tangent, elementwise.

    Args:
        x: array of any shape.

    Returns:
        Array of the same shape and dtype with values in ``[-1, 1]``.

    Example:
        >>> tanh(jnp.array([0.0]))
        Array([0.], dtype=float32)
    """
    return jnp.tanh(as_array("tanh", "x", x))


def softmax(x: Array, axis: int = -1) -> Array:
    """Softmax along ``axis`` (max-subtracted, so stable for any finite input).

    The tutorial's NumPy ``softmax`` normalises over ``axis=0`` (across the rows of a batch, and
    subtracts the global max); ours defaults to the last axis, i.e. one distribution per sample as
    ``torch.softmax(x, dim=-1)``. Pass ``axis=0`` to reproduce the tutorial.

    Args:
        x: array of any shape, e.g. logits of shape ``(batch, classes)``.
        axis: the axis that sums to one.

    Returns:
        Array of the same shape and dtype; entries along ``axis`` are non-negative and sum to 1.

    Example:
        >>> softmax(jnp.array([[1.0, 1.0]]))
        Array([[0.5, 0.5]], dtype=float32)
    """
    x = as_array("softmax", "x", x)
    return jax.nn.softmax(x, axis=check_axis("softmax", "axis", axis, jnp.ndim(x)))


def log_softmax(x: Array, axis: int = -1) -> Array:
    """Logarithm of :func:`softmax` along ``axis``, computed stably (``x - logsumexp(x)``).

    Args:
        x: array of any shape, e.g. logits of shape ``(batch, classes)``.
        axis: the normalised axis (default: last, per sample; the tutorial's softmax uses 0).

    Returns:
        Array of the same shape and dtype, all entries ``<= 0``.

    Example:
        >>> log_softmax(jnp.array([0.0, 0.0]))
        Array([-0.6931472, -0.6931472], dtype=float32)
    """
    x = as_array("log_softmax", "x", x)
    return jax.nn.log_softmax(x, axis=check_axis("log_softmax", "axis", axis, jnp.ndim(x)))


def leaky_relu(x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU: ``x`` for ``x > 0``, ``negative_slope * x`` otherwise (``torch.nn.LeakyReLU``).

    The gradient at exactly 0 is ``negative_slope``, as PyTorch's (its backward tests ``x > 0``;
    ``jax.nn.leaky_relu`` tests ``x >= 0`` and gives 1), just as :func:`relu`'s is 0 there.

    Args:
        x: array of any shape.
        negative_slope: slope for negative inputs (PyTorch's default 0.01).

    Returns:
        Array of the same shape and dtype.

    Example:
        >>> leaky_relu(jnp.array([-1.0, 1.0]), 0.1)
        Array([-0.1,  1. ], dtype=float32)
    """
    x = as_array("leaky_relu", "x", x)
    negative_slope = check_number("leaky_relu", "negative_slope", negative_slope)
    return jnp.where(x > 0, x, negative_slope * x)


def gelu(x: Array, approximate: bool = False) -> Array:
    """Gaussian error linear unit.

    ``approximate=False`` is the exact ``x * Phi(x)`` (``torch.nn.GELU()``); ``approximate=True`` is
    the tanh approximation (``torch.nn.GELU(approximate="tanh")``). Note that ``jax.nn.gelu``
    defaults to the approximation; this wrapper defaults to the exact form, like PyTorch.

    Args:
        x: array of any shape.
        approximate: use the tanh approximation.

    Returns:
        Array of the same shape and dtype.

    Example:
        >>> gelu(jnp.array([0.0]))
        Array([0.], dtype=float32)
    """
    return jax.nn.gelu(as_array("gelu", "x", x), approximate=bool(approximate))


def identity(x: Array) -> Array:
    """Return ``x`` unchanged (the "no activation" choice).

    Args:
        x: array of any shape.

    Returns:
        ``x`` itself.

    Example:
        >>> identity(jnp.array([-1.0]))
        Array([-1.], dtype=float32)
    """
    return x


_BY_NAME: dict[str, Callable[[Array], Array]] = {
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "gelu": gelu,
    "leaky_relu": leaky_relu,
    "identity": identity,
}


def get_activation(name: str) -> Callable[[Array], Array]:
    """Return the elementwise activation function called ``name``.

    Args:
        name: one of :data:`ACTIVATIONS` (``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"gelu"``,
            ``"leaky_relu"``, ``"identity"``). ``"gelu"`` is the exact GELU and ``"leaky_relu"``
            uses slope 0.01, both PyTorch's defaults.

    Returns:
        A function ``f(x) -> array`` of the same shape as ``x``.

    Raises:
        ValueError: if ``name`` is not one of :data:`ACTIVATIONS` (the message lists them).

    Example:
        >>> get_activation("relu")(jnp.array([-1.0, 1.0]))
        Array([0., 1.], dtype=float32)
    """
    check_choice("get_activation", "name", name, ACTIVATIONS)
    return _BY_NAME[name]
