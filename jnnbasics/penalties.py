"""Parameter penalties: L1, the tutorial's unsquared L2, squared L2, and ``add_regularization``.

Penalties work on any parameter pytree. With ``include_bias=False`` a leaf counts as a bias, and is
skipped, when the last key of its path is ``"b"`` (our MLP layers), ``"bias"`` or a string ending
in ``".bias"`` (a torch-style state dict); every other leaf — whatever its rank, including 1-D
leaves of other pytrees — counts as a weight. All functions are jit- and vmap-safe and have finite
gradients everywhere, including at all-zero arrays.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._checks import as_array, check_nonnegative_float, fail
from ._types import PyTree

Array = jax.Array


def _is_bias(path) -> bool:
    if not path:
        return False
    last = path[-1]
    name = getattr(last, "key", getattr(last, "name", None))
    return isinstance(name, str) and (name in ("b", "bias") or name.endswith(".bias"))


def _leaves(func: str, params: PyTree, include_bias: bool) -> list[Array]:
    pairs = jax.tree_util.tree_flatten_with_path(params)[0]
    return [
        as_array(func, "params" + jax.tree_util.keystr(path), leaf)
        for path, leaf in pairs
        if include_bias or not _is_bias(path)
    ]


def _total(terms: list[Array]) -> Array:
    if not terms:
        return jnp.zeros(())
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _abs_sum(x: Array) -> Array:
    # x * sign(x) == |x| with gradient sign(x): 0 at x == 0, as torch.norm(p, 1) (jnp.abs gives 1).
    return jnp.sum(x * jnp.sign(x))


def _safe_norm(x: Array) -> Array:
    # Double-where: the sqrt never sees 0, so the gradient at an all-zero array is 0, not NaN.
    sq = jnp.sum(jnp.square(x))
    positive = sq > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, sq, 1.0)), 0.0)


def l1_penalty(params: PyTree, *, include_bias: bool = True) -> Array:
    """Sum of absolute values of every parameter: ``sum_p ||p||_1`` (the tutorial's L1).

    The gradient is ``sign(p)``, i.e. 0 at entries equal to 0, as ``torch.norm(p, 1)``'s is.

    Args:
        params: parameter pytree, e.g. a list of ``{"w": (in, out), "b": (out,)}`` layers.
        include_bias: if False, skip bias leaves (see the module docstring for what is a bias).

    Returns:
        Scalar penalty (0 for an empty tree).

    Example:
        >>> l1_penalty([{"w": jnp.array([[1.0, -2.0]]), "b": jnp.array([3.0, 0.0])}])
        Array(6., dtype=float32)
    """
    return _total([_abs_sum(x) for x in _leaves("l1_penalty", params, include_bias)])


def l2_penalty(params: PyTree, *, include_bias: bool = True) -> Array:
    """The tutorial's L2: the sum over parameter arrays of each array's *unsquared* Frobenius norm.

    ``sum_p sqrt(sum(p ** 2))``, i.e. ``sum(torch.norm(p, 2) for p in model.parameters())``. This
    is not the usual weight decay (see :func:`l2_squared_penalty`). The norm has no derivative at an
    all-zero array (e.g. a zero-initialised bias); we use the subgradient 0 there, computed with a
    double ``jnp.where`` so neither the value nor the gradient is NaN. PyTorch does the same:
    ``torch.norm`` of a zero tensor back-propagates a zero gradient, so gradients agree everywhere.

    Args:
        params: parameter pytree, e.g. a list of ``{"w": (in, out), "b": (out,)}`` layers.
        include_bias: if False, skip bias leaves.

    Returns:
        Scalar penalty.

    Example:
        >>> l2_penalty([{"w": jnp.array([[3.0, 4.0]]), "b": jnp.zeros(2)}])
        Array(5., dtype=float32)
    """
    return _total([_safe_norm(x) for x in _leaves("l2_penalty", params, include_bias)])


def l2_squared_penalty(params: PyTree, *, include_bias: bool = True) -> Array:
    """Sum of squares of every parameter, ``sum_p ||p||_2^2`` (the usual weight-decay term).

    Args:
        params: parameter pytree.
        include_bias: if False, skip bias leaves.

    Returns:
        Scalar penalty; its gradient is ``2 p``.

    Example:
        >>> l2_squared_penalty([{"w": jnp.array([[3.0, 4.0]]), "b": jnp.zeros(2)}])
        Array(25., dtype=float32)
    """
    return _total([jnp.sum(jnp.square(x)) for x in _leaves("l2_squared_penalty", params, include_bias)])


def add_regularization(
    params: PyTree, loss: Array, lambda_l1: float | Array = 0.01, lambda_l2: float | Array = 0.01
) -> Array:
    """The tutorial's ``add_regularization``: ``loss + lambda_l1 * L1 + lambda_l2 * L2``.

    ``L1`` is :func:`l1_penalty` and ``L2`` the tutorial's *unsquared* :func:`l2_penalty`, both
    over every parameter including biases. The lambdas may be traced scalars (under ``jit`` or
    ``vmap``); a concrete 0 skips its term.

    Args:
        params: parameter pytree.
        loss: scalar data loss.
        lambda_l1: L1 weight, >= 0.
        lambda_l2: L2 weight, >= 0.

    Returns:
        The regularised scalar loss.

    Raises:
        ValueError: if a concrete lambda is negative or not finite, or ``loss`` is not a scalar.
        TypeError: if a lambda is not a number, or ``loss`` or a parameter is not numeric.

    Example:
        >>> params = [{"w": jnp.array([[3.0, 4.0]]), "b": jnp.zeros(2)}]
        >>> add_regularization(params, jnp.array(1.0), 0.1, 0.01)
        Array(1.75, dtype=float32)
    """
    lambda_l1 = check_nonnegative_float("add_regularization", "lambda_l1", lambda_l1)
    lambda_l2 = check_nonnegative_float("add_regularization", "lambda_l2", lambda_l2)
    loss = as_array("add_regularization", "loss", loss)
    if jnp.ndim(loss) != 0:
        fail("add_regularization", "loss", "a scalar (the mean loss)", f"shape {jnp.shape(loss)}")
    total = loss
    if isinstance(lambda_l1, jax.core.Tracer) or lambda_l1 != 0.0:
        total = total + lambda_l1 * l1_penalty(params)
    if isinstance(lambda_l2, jax.core.Tracer) or lambda_l2 != 0.0:
        total = total + lambda_l2 * l2_penalty(params)
    return total
