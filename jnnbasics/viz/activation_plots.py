"""Activation functions and their derivatives, one panel per activation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import fail
from .figures import axes_list, new_figure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["plot_activations"]


def _check_range(func: str, x_range: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in x_range)
    except (TypeError, ValueError):
        fail(func, "x_range", "a pair of numbers (low, high)", repr(x_range))
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        fail(func, "x_range", "finite numbers with low < high", repr(x_range))
    return low, high


def plot_activations(
    names: Sequence[str] = ("sigmoid", "relu", "tanh", "leaky_relu", "gelu"),
    *,
    x_range: tuple[float, float] = (-5.0, 5.0),
    ax: Any = None,
) -> Figure:
    """Each activation function and its derivative, one panel per activation.

    Values come from ``jnnbasics.activations.get_activation(name)`` on 401 evenly spaced points;
    derivatives from ``jax.vmap(jax.grad(f))`` (so ReLU's derivative at 0 is 0, as in PyTorch).

    Args:
        names: activation names understood by ``get_activation`` (a single name is accepted too).
        x_range: ``(low, high)`` interval of the x axis, ``low < high``.
        ax: the axes to draw into, one per name: an ``Axes`` for a single name, or a sequence (or
            array, as ``plt.subplots`` returns) of ``len(names)`` axes; ``None`` makes a new pyplot
            figure with up to three panels per row.

    Returns:
        The figure holding the panels, each with the lines ``f(x)`` and ``f'(x)``.

    Raises:
        TypeError: if ``ax`` holds something that is not an ``Axes``.
        ValueError: if ``names`` is empty, a name is unknown, ``x_range`` is not an increasing pair
            of finite numbers, or ``ax`` does not hold one axes per name.

    Example:
        >>> fig = plot_activations(["relu", "gelu"], x_range=(-3, 3))
    """
    import jax
    import jax.numpy as jnp

    from ..activations import get_activation

    func = "plot_activations"
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        fail(func, "names", "a non-empty sequence of activation names", "an empty sequence")
    low, high = _check_range(func, x_range)
    fns = [get_activation(name) for name in names]  # unknown names raise here, listing valid ones
    axes = axes_list(func, ax, len(names))
    if axes is None:
        n_cols = min(3, len(names))
        n_rows = math.ceil(len(names) / n_cols)
        fig = new_figure((4.2 * n_cols, 3.4 * n_rows))
        grid = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
        for extra in grid[len(names) :]:
            extra.set_visible(False)
        axes = list(grid[: len(names)])
    xs = jnp.linspace(low, high, 401)
    for panel, name, f in zip(axes, names, fns, strict=True):
        values = jax.jit(f)(xs)
        slopes = jax.jit(jax.vmap(jax.grad(f)))(xs)
        panel.plot(np.asarray(xs), np.asarray(values), label=f"{name}(x)")
        panel.plot(np.asarray(xs), np.asarray(slopes), "--", label=f"{name}'(x)")
        panel.axhline(0.0, color="gray", linewidth=0.6)
        panel.axvline(0.0, color="gray", linewidth=0.6)
        panel.set_title(name)
        panel.set_xlabel("x")
        panel.legend(loc="upper left")
        panel.grid(True, alpha=0.3)
    return axes[0].figure
