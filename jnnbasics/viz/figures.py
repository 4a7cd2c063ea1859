"""Where a plot draws, and how a figure reaches a file.

A ``plot_*`` function draws into the axes it is given (``ax=``) and otherwise makes its figure with
``matplotlib.pyplot``, so that ``plt.show()`` and notebooks display it the way they display any other
figure. pyplot is imported only then: drawing into your own axes, or saving, never loads it, and the
backend is whatever matplotlib picks (Agg when there is no display). :func:`save_figure` writes a
figure atomically and closes the figures that a plot made through pyplot, so a long run that saves
hundreds of pictures does not keep them all.
"""

from __future__ import annotations

import io
import os
import sys
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._atomic import write_bytes_atomic
from .._checks import check_positive_int, fail

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["axes_list", "check_axes", "class_colors", "made_by_viz", "new_axes", "new_figure", "save_figure"]

# The figures made here through pyplot (not the user's own): save_figure closes these by default.
_MADE: weakref.WeakSet = weakref.WeakSet()


def check_axes(func: str, ax: Any) -> Axes:
    """Return ``ax`` if it is a matplotlib ``Axes``; raise a ``TypeError`` naming ``func`` otherwise."""
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        fail(func, "ax", "a matplotlib Axes (e.g. from plt.subplots())", type(ax).__name__, exc=TypeError)
    return ax


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A new pyplot figure with constrained layout, remembered as made here (see :func:`made_by_viz`)."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize, layout="constrained")
    _MADE.add(fig)
    return fig


def new_axes(func: str, ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``(figure, axes)``: the given axes and its figure, or a new pyplot figure with one axes."""
    if ax is not None:
        ax = check_axes(func, ax)
        return ax.figure, ax
    fig = new_figure(figsize)
    return fig, fig.add_subplot()


def made_by_viz(fig: Figure) -> bool:
    """True when ``fig`` was made by a ``jnnbasics.viz`` plot through pyplot (not passed in as ``ax``)."""
    return fig in _MADE


def class_colors(n_classes: int) -> np.ndarray:
    """RGB colours, shape ``(n_classes, 3)``: tab10's colour ``i`` for class ``i`` (tab20, then viridis)."""
    import matplotlib

    if n_classes <= 10:
        colors = matplotlib.colormaps["tab10"].colors[:n_classes]
    elif n_classes <= 20:
        colors = matplotlib.colormaps["tab20"].colors[:n_classes]
    else:
        colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 1.0, n_classes))
    return np.asarray(colors, dtype=np.float64)[:, :3]


def axes_list(func: str, ax: Any, n: int) -> list[Axes] | None:
    """``ax`` as a list of ``n`` axes (one ``Axes`` when ``n == 1``, or a sequence / array of them)."""
    if ax is None:
        return None
    from matplotlib.axes import Axes

    many = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(many) != n:
        fail(func, "ax", f"{n} axes (one per panel)", f"{len(many)}")
    return [check_axes(func, a) for a in many]


def _close(fig: Figure, close: bool | None) -> None:
    """Close ``fig`` in pyplot (never importing it) when ``close`` says so; see :func:`save_figure`."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None or close is False or (close is None and not made_by_viz(fig)):
        return
    plt.close(fig)  # a figure pyplot does not manage is left as it is


def save_figure(
    fig: Figure, path: str | os.PathLike[str], *, dpi: int = 100, close: bool | None = None
) -> Path:
    """Write ``fig`` to ``path`` atomically, creating missing parent folders.

    The image is rendered in memory, then written to a temporary file in the same folder that replaces
    ``path`` in one step (``os.replace``, see ``jnnbasics._atomic``), so a reader never sees a
    half-written file; the file gets mode ``0o644`` under the umask. The format follows the suffix:
    ``.png`` (the usual), or any other that matplotlib writes (``.svg``, ``.pdf``, ...).

    After a successful write the figure is closed in pyplot (``plt.close(fig)``) when a ``jnnbasics.viz``
    plot made it, so that a loop saving many pictures does not keep them all open; it can still be
    saved again or shown with ``display(fig)``, but ``plt.show()`` no longer shows it. Pass
    ``close=False`` to keep it for ``plt.show()`` (or a notebook cell's inline picture), ``close=True``
    to close any pyplot figure, your own included. Nothing is closed when the write fails.

    Args:
        fig: the figure to save.
        path: destination file, e.g. ``"run/history.png"``.
        dpi: resolution in dots per inch (a ``figsize`` of 8x5 inches at 100 dpi is 800x500 pixels).
        close: ``None`` closes figures made by a plot here; ``True`` any pyplot figure; ``False`` none.

    Returns:
        The path written, as a ``Path``.

    Raises:
        TypeError: if ``fig`` is not a matplotlib figure.
        ValueError: if the suffix is missing or not a format matplotlib writes, or ``dpi`` is not a
            positive integer.

    Example:
        >>> save_figure(plot_training_history(history), "runs/demo/history.png")  # doctest: +SKIP
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    func = "save_figure"
    if not isinstance(fig, Figure):
        fail(func, "fig", "a matplotlib Figure", type(fig).__name__, exc=TypeError)
    dpi = check_positive_int(func, "dpi", dpi)
    if close not in (None, True, False):
        fail(func, "close", "None, True or False", repr(close), exc=TypeError)
    path = Path(path)
    fmt = path.suffix[1:].lower()
    supported = FigureCanvasAgg.get_supported_filetypes()
    if fmt not in supported:
        others = ", ".join(f".{s}" for s in sorted(supported) if s != "png")
        fail(func, "path", f"a file name ending in .png (or {others})", repr(str(path)))
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    written = write_bytes_atomic(path, buffer.getvalue())
    _close(fig, close)
    return written
