"""Decision boundaries: the regions of each predicted class over two features, with the data on top."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._checks import check_choice, check_class_indices, check_nonnegative_float, check_positive_int, fail
from .figures import class_colors, new_axes
from .grid import OUTPUT_KINDS, class_margins, evaluate_in_batches, plot_extent, subsample

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["REGION_ALPHA", "plot_decision_boundary"]

REGION_ALPHA = 0.35
"""A region's colour is its class colour mixed with this much of it over white (pale, opaque)."""

_FUNC = "plot_decision_boundary"
_MARKERS = {"training": "o", "validation": "^"}


class _Points(NamedTuple):
    """One set of points to draw: all its rows (for the extent) and the ones shown."""

    name: str  # "training" or "validation"
    x: np.ndarray  # (n, 2) float64, every row
    labels: np.ndarray  # (n,) int64 class indices
    shown: np.ndarray  # indices of the rows drawn


def _check_points(arg_x: str, arg_y: str, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``x`` as an ``(n, 2)`` finite float64 array and ``y`` as n class indices (one-hot accepted)."""
    xs = np.asarray(x, dtype=np.float64)
    if xs.ndim != 2 or xs.shape[1] != 2 or xs.shape[0] == 0:
        fail(
            _FUNC,
            arg_x,
            "an array of shape (n, 2) with n >= 1 (two features: the plot is a plane)",
            f"shape {xs.shape}",
            hint="project or select two features first",
        )
    if not np.all(np.isfinite(xs)):
        fail(_FUNC, arg_x, "finite", "NaN or infinite values")
    ys = np.asarray(y)
    if ys.ndim == 2 and ys.shape[1] > 1:  # one-hot
        ys = np.argmax(ys, axis=1)
    if np.ndim(ys) == 0 or np.shape(ys)[0] != xs.shape[0]:
        fail(_FUNC, arg_y, f"one class per row of {arg_x} ({xs.shape[0]} rows)", f"shape {np.shape(ys)}")
    return xs, check_class_indices(_FUNC, arg_y, ys)


def _point_sets(x, y, x_val, y_val, max_points, seed) -> list[_Points]:
    """The training set and, when given, the validation set, each subsampled to ``max_points``."""
    if (x_val is None) != (y_val is None):
        given, missing = ("x_val", "y_val") if y_val is None else ("y_val", "x_val")
        fail(_FUNC, missing, f"given together with {given}", "None")
    if max_points is not None:
        max_points = check_positive_int(_FUNC, "max_points", max_points)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        fail(_FUNC, "seed", "a non-negative integer", repr(seed))
    sets = [("training", "x", "y", x, y, seed)]
    if x_val is not None:
        sets.append(("validation", "x_val", "y_val", x_val, y_val, seed + 1))
    found = []
    for name, ax_name, ay_name, xs, ys, s in sets:
        xs, labels = _check_points(ax_name, ay_name, xs, ys)
        found.append(_Points(name, xs, labels, subsample(len(xs), max_points, s)))
    return found


def _class_names(class_names: Sequence[str] | None, n_classes: int) -> list[str]:
    """Legend names: ``class_names`` (at least ``n_classes`` of them) or ``class 0``, ``class 1``, ..."""
    if class_names is None:
        return [f"class {i}" for i in range(n_classes)]
    if isinstance(class_names, str):
        fail(_FUNC, "class_names", "a sequence of names, one per class", repr(class_names), exc=TypeError)
    names = [str(c) for c in class_names]
    if len(names) < n_classes:
        fail(
            _FUNC,
            "class_names",
            f"one name per class ({n_classes}: the model's and the data's)",
            f"{len(names)}",
        )
    return names


def _draw_regions(ax: Axes, gx: np.ndarray, gy: np.ndarray, margins: np.ndarray, colors: np.ndarray):
    """Each class's region (margin > 0) filled in its pale colour, the boundaries as thin dark lines."""
    res_y, res_x = gy.size, gx.size
    pale = REGION_ALPHA * colors + (1.0 - REGION_ALPHA)
    for c in range(margins.shape[1]):
        m = margins[:, c].reshape(res_y, res_x)
        top = np.nanmax(m) if np.any(np.isfinite(m)) else -1.0
        if top > 0:
            ax.contourf(gx, gy, m, levels=[0.0, top + 1.0], colors=[pale[c]], antialiased=True)
    lines = margins[:, 1:] if margins.shape[1] == 2 else margins  # binary: one boundary, drawn once
    for c in range(lines.shape[1]):
        m = lines[:, c].reshape(res_y, res_x)
        if np.nanmin(m) < 0 < np.nanmax(m):
            ax.contour(gx, gy, m, levels=[0.0], colors=["0.25"], linewidths=0.9)


def _draw_points(ax: Axes, sets: list[_Points], n_classes: int, colors: np.ndarray) -> list:
    """Scatter each set with its own marker, coloured by true class; returns legend handles for the sets."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D

    cmap = ListedColormap(colors, name=f"classes{n_classes}")
    norm = BoundaryNorm(np.arange(n_classes + 1) - 0.5, n_classes)
    handles = []
    for p in sets:
        pts, labels = p.x[p.shown], p.labels[p.shown]
        size = 22.0 if len(pts) <= 1000 else 9.0
        size *= 1.6 if p.name == "validation" else 1.0
        ax.scatter(
            pts[:, 0], pts[:, 1], c=labels, cmap=cmap, norm=norm, marker=_MARKERS[p.name], s=size,
            edgecolors="black", linewidths=0.5 if len(pts) <= 1000 else 0.25, label=p.name, zorder=3,
        )  # fmt: skip
        count = f"{len(pts):,}" if len(pts) == len(p.x) else f"{len(pts):,} of {len(p.x):,} shown"
        handles.append(
            Line2D([], [], ls="", marker=_MARKERS[p.name], markerfacecolor="0.7", markeredgecolor="black",
                   markersize=7, label=f"{p.name}: {count}")
        )  # fmt: skip
    return handles


def _legend(ax: Axes, names: list[str], colors: np.ndarray, set_handles: list) -> None:
    """Class swatches (region and point colour) then the point sets, outside the axes at the right."""
    from matplotlib.lines import Line2D

    swatches = [
        Line2D([], [], ls="", marker="s", markersize=10, markerfacecolor=colors[c], markeredgecolor="0.2",
               label=name)
        for c, name in enumerate(names)
    ]  # fmt: skip
    ax.legend(
        handles=swatches + set_handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
        fontsize="small", title="class / points",
    )  # fmt: skip


def plot_decision_boundary(
    apply_fn: Callable[[Any, Any], Any],
    params: Any,
    x: Any,
    y: Any,
    *,
    x_val: Any = None,
    y_val: Any = None,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    resolution: int = 200,
    output: str = "auto",
    batch_size: int = 8192,
    margin: float = 0.1,
    max_points: int | None = 2000,
    seed: int = 0,
) -> Figure:
    """Regions of the predicted class over the plane of two features, with the data on top.

    A ``resolution x resolution`` grid spans each feature's range (over ``x`` and ``x_val``) widened by
    ``margin`` times the range on each side. ``apply_fn(params, grid_batch)`` is evaluated under
    ``jax.jit`` on float32 batches of at most ``batch_size`` rows (the last batch padded to full size,
    so it compiles once), and every grid point gets a score per class:

    - one output column, shape ``(m,)`` or ``(m, 1)``: a binary score. With ``output="auto"`` or
      ``"logits"`` it is a logit and the class is ``out > 0``; with ``output="probabilities"`` (a
      model ending in a sigmoid) the class is ``out > 0.5``. ``"auto"`` never guesses from the
      values, since a logit model can output numbers in [0, 1] too; it warns when all values lie in
      [0, 1], the sign that ``output="probabilities"`` was meant.
    - ``k > 1`` columns, shape ``(m, k)``: per-class scores; the class is the argmax, which is the
      same for logits and probabilities.

    Each class's region is filled (a contour of its margin over the best other class, so its edges are
    interpolated between grid points, not staircased) in a pale version of its colour — tab10's colour
    ``i`` for class ``i`` — and the boundaries are drawn as thin dark lines. The points are coloured by
    their true class with a black edge: training points as circles, validation points (``x_val``,
    ``y_val``) as triangles. Of a set larger than ``max_points`` a random subset of ``max_points`` rows
    (seeded by ``seed``) is drawn, and the legend says how many are shown of how many. The legend,
    at the right of the axes, names the classes (``class_names``) and the point sets.

    Args:
        apply_fn: ``apply_fn(params, x) -> outputs`` with ``x`` of shape ``(batch, 2)`` float32 and
            outputs of shape ``(batch,)``, ``(batch, 1)`` or ``(batch, k)``; must be jit-able.
        params: the parameter pytree passed to ``apply_fn``.
        x: training points, shape ``(n, 2)``.
        y: their true classes, shape ``(n,)`` or ``(n, 1)`` (integer-valued), or one-hot ``(n, k)``.
        x_val: validation points, shape ``(m, 2)``, drawn as triangles; give ``y_val`` with it.
        y_val: their true classes, like ``y``.
        class_names: one name per class for the legend (default ``"class 0"``, ``"class 1"``, ...).
        ax: axes to draw into; ``None`` makes a new pyplot figure (shown by ``plt.show()``).
        resolution: grid points per axis (at least 2).
        output: ``"auto"``, ``"logits"`` or ``"probabilities"`` (see above).
        batch_size: most grid rows passed to ``apply_fn`` in one call.
        margin: space around the data on each side, as a fraction of each feature's range (>= 0).
        max_points: most points drawn of each set; ``None`` draws all.
        seed: seed of the subsampling (the same seed shows the same points).

    Returns:
        The figure holding the plot.

    Raises:
        TypeError: if ``apply_fn`` is not callable, ``class_names`` is a string or ``ax`` not an Axes.
        ValueError: if ``x`` / ``x_val`` is not ``(n, 2)`` or not finite, ``y`` / ``y_val`` does not hold
            one class per row, only one of ``x_val`` / ``y_val`` is given, ``class_names`` is too
            short, an option is invalid, ``apply_fn`` returns a badly shaped array, or
            ``output="probabilities"`` and the outputs leave [0, 1].

    Example:
        >>> model = mlp([2, 16, 1])  # doctest: +SKIP
        >>> fig = plot_decision_boundary(model.apply, params, x_tr, y_tr, x_val=x_val, y_val=y_val,
        ...                              class_names=["upper", "lower"])  # doctest: +SKIP
    """
    if not callable(apply_fn):
        fail(_FUNC, "apply_fn", "a callable apply_fn(params, x)", type(apply_fn).__name__, exc=TypeError)
    check_choice(_FUNC, "output", output, OUTPUT_KINDS)
    batch_size = check_positive_int(_FUNC, "batch_size", batch_size)
    resolution = check_positive_int(_FUNC, "resolution", resolution)
    if resolution < 2:
        fail(_FUNC, "resolution", "at least 2 grid points per axis", resolution)
    margin = check_nonnegative_float(_FUNC, "margin", margin)
    sets = _point_sets(x, y, x_val, y_val, max_points, seed)

    lo, hi = plot_extent(np.concatenate([p.x for p in sets]), margin)
    gx, gy = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    xx, yy = np.meshgrid(gx, gy)  # row i is gy[i], column j is gx[j]
    points = np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32)
    margins = class_margins(evaluate_in_batches(apply_fn, params, points, batch_size), output)
    n_classes = max(margins.shape[1], *(int(p.labels.max()) + 1 for p in sets))
    names = _class_names(class_names, n_classes)
    n_classes = len(names)  # every named class gets its colour and legend entry
    colors = class_colors(n_classes)

    fig, ax = new_axes(_FUNC, ax, (8.5, 6.0))
    _draw_regions(ax, gx, gy, margins, colors)
    _legend(ax, names, colors, _draw_points(ax, sets, n_classes, colors))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("Feature 1")
    ax.set_ylabel("Feature 2")
    ax.set_title("Decision Boundary")
    return fig
