"""Figures for training runs: loss history, decision boundaries, confusion matrices, regression fits.

Every plot takes plain arrays or callables (nothing from the training code) and returns a
``matplotlib.figure.Figure``. The module uses matplotlib's object-oriented API only: figures are built
from ``matplotlib.figure.Figure`` directly, never through ``pyplot``, so they need no display, leave
no global figure state behind and are freed like any other object. matplotlib is imported inside the
functions, so importing this module (or ``jnnbasics``) does not import it.

Each ``plot_*`` function draws into ``ax`` when one is given and returns ``ax.figure``; with
``ax=None`` it creates a new figure. :func:`save_figure` writes a figure atomically.
:func:`confusion_matrix` and :func:`regression_metrics` live in :mod:`jnnbasics.metrics` and are
re-exported here, next to the plots that show them.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._atomic import write_bytes_atomic
from ._checks import (
    check_choice,
    check_class_indices,
    check_nonnegative_float,
    check_positive_int,
    check_regression_pair,
    fail,
)
from .metrics import confusion_matrix, regression_metrics

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "confusion_matrix",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_predictions",
    "plot_training_history",
    "regression_metrics",
    "save_figure",
]

_OUTPUT_KINDS = ("auto", "logits", "probabilities")
_REGION_ALPHA = 0.35


# --------------------------------------------------------------------------------------------------
# figure / axes plumbing


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``(figure, axes)``: the given axes' figure, or a fresh headless figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _class_colormap(n_classes: int):
    """A discrete colormap and norm that map class ``i`` to colour ``i`` (tab10, tab20, then viridis)."""
    import matplotlib
    from matplotlib.colors import BoundaryNorm, ListedColormap

    if n_classes <= 10:
        colors = matplotlib.colormaps["tab10"].colors[:n_classes]
    elif n_classes <= 20:
        colors = matplotlib.colormaps["tab20"].colors[:n_classes]
    else:
        colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 1.0, n_classes))
    cmap = ListedColormap(colors, name=f"classes{n_classes}")
    norm = BoundaryNorm(np.arange(n_classes + 1) - 0.5, n_classes)
    return cmap, norm


# --------------------------------------------------------------------------------------------------
# training history


def _series(history: Mapping[str, Any], key: str) -> np.ndarray | None:
    """``history[key]`` as a 1-D float array, or ``None`` when missing or empty."""
    if key not in history or history[key] is None:
        return None
    a = np.asarray(history[key], dtype=np.float64).reshape(-1)
    return a if a.size else None


def plot_training_history(
    history: Mapping[str, Any],
    *,
    ax: Axes | None = None,
    log_scale: bool = False,
    title: str = "Training History",
) -> Figure:
    """Training and validation loss per epoch (the tutorial's ``plot_training_history``).

    The x axis counts epochs from 1. ``"val_loss"`` may be missing, empty or all NaN (then only the
    training line is drawn). When ``history`` has ``"train_objective"`` (the loss plus the L1/L2
    penalty that was actually minimised) it is drawn dashed as a third line.

    Args:
        history: a mapping with ``"train_loss"`` (one float per epoch, length ``n_epochs``) and
            optionally ``"val_loss"`` and ``"train_objective"`` of the same length.
        ax: axes to draw into; ``None`` creates a new figure.
        log_scale: draw the loss axis on a log scale.
        title: axes title.

    Returns:
        The figure holding the plot.

    Raises:
        TypeError: if ``history`` is not a mapping.
        ValueError: if ``"train_loss"`` is missing or empty, or another series has a different length.

    Example:
        >>> fig = plot_training_history({"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
        >>> save_figure(fig, "run/history.png")  # doctest: +SKIP
    """
    func = "plot_training_history"
    if not isinstance(history, Mapping):
        fail(
            func,
            "history",
            "a mapping such as {'train_loss': [...], 'val_loss': [...]}",
            type(history).__name__,
            exc=TypeError,
        )
    train = _series(history, "train_loss")
    if train is None:
        fail(
            func,
            "history['train_loss']",
            "a non-empty sequence of per-epoch losses",
            "nothing" if "train_loss" not in history else "an empty sequence",
            hint="train for at least one epoch before plotting",
        )
    series = [
        ("train_loss", "Training Loss", "-"),
        ("val_loss", "Validation Loss", "-"),
        ("train_objective", "Training Objective (loss + penalty)", "--"),
    ]
    fig, ax = _new_axes(ax, (8.0, 5.0))
    epochs = np.arange(1, train.size + 1)
    train_color = None
    for key, label, style in series:
        values = _series(history, key)
        if values is None or (key != "train_loss" and np.all(np.isnan(values))):
            continue  # missing, empty, or all-NaN (no validation data): nothing to draw
        if values.size != train.size:
            fail(
                func,
                f"history[{key!r}]",
                f"one value per epoch ({train.size}, like 'train_loss')",
                f"{values.size} values",
            )
        # the penalised objective is a training quantity: same colour as the training loss, dashed
        color = train_color if key == "train_objective" else None
        (line,) = ax.plot(epochs, values, style, label=label, color=color)
        if key == "train_loss":
            train_color = line.get_color()
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss")
    ax.set_title(title)
    if log_scale:
        ax.set_yscale("log")
    if train.size <= 20:
        ax.set_xticks(epochs)
    ax.legend()
    ax.grid(True, alpha=0.3)
    return fig


# --------------------------------------------------------------------------------------------------
# decision boundary


def _evaluate_in_batches(
    apply_fn: Callable[[Any, Any], Any], params: Any, points: np.ndarray, batch_size: int
) -> np.ndarray:
    """Outputs of ``apply_fn(params, points)`` computed ``batch_size`` rows at a time.

    The apply is jitted once; the last batch is padded (by repeating its last row) to the full batch
    so that every call has the same shape and nothing recompiles. Returns a numpy array with one row
    per point.
    """
    import jax

    func = "plot_decision_boundary"
    fn = jax.jit(apply_fn)
    n = points.shape[0]
    size = min(batch_size, n)
    chunks = []
    for start in range(0, n, size):
        chunk = points[start : start + size]
        real = chunk.shape[0]
        if real < size:
            chunk = np.pad(chunk, ((0, size - real), (0, 0)), mode="edge")
        out = np.asarray(fn(params, chunk))
        if out.ndim == 0 or out.shape[0] != size or out.ndim > 2:
            fail(
                func,
                "apply_fn(params, x)",
                f"an array of shape ({size},), ({size}, 1) or ({size}, k) for x of shape ({size}, 2)",
                f"shape {out.shape}",
            )
        chunks.append(out[:real])
    return np.concatenate(chunks, axis=0)


def _classes_from_outputs(out: np.ndarray, output: str) -> tuple[np.ndarray, int]:
    """Predicted class per row and the number of classes the model distinguishes.

    One column (or a 1-D output) is a binary score: a logit thresholded at 0 (``"auto"``,
    ``"logits"``) or a probability thresholded at 0.5 (``"probabilities"``). Several columns are
    per-class scores: the class is the argmax, which is the same for logits and probabilities.
    """
    func = "plot_decision_boundary"
    if output == "probabilities":
        finite = out[np.isfinite(out)]
        if finite.size and (finite.min() < -1e-6 or finite.max() > 1.0 + 1e-6):
            fail(
                func,
                "apply_fn's outputs",
                "in [0, 1] for output='probabilities'",
                f"values in [{finite.min():.4g}, {finite.max():.4g}]",
                hint="pass output='logits' for a model without a final sigmoid/softmax",
            )
    if not np.all(np.isfinite(out)):
        warnings.warn(
            "plot_decision_boundary: apply_fn returned NaN or infinite values on the grid; "
            "the regions drawn there are not meaningful (did training diverge?).",
            RuntimeWarning,
            stacklevel=3,
        )
    if out.ndim == 1 or out.shape[1] == 1:
        scores = out.reshape(-1)
        if output == "auto" and scores.size and np.all((scores >= 0.0) & (scores <= 1.0)):
            warnings.warn(
                "plot_decision_boundary: the single output column is read as a logit (class 1 where "
                "it is > 0), but every value on the grid lies in [0, 1]; if the model ends in a "
                "sigmoid, pass output='probabilities' (threshold 0.5).",
                UserWarning,
                stacklevel=3,
            )
        threshold = 0.5 if output == "probabilities" else 0.0
        return (scores > threshold).astype(np.int64), 2
    return np.argmax(out, axis=1).astype(np.int64), int(out.shape[1])


def plot_decision_boundary(
    apply_fn: Callable[[Any, Any], Any],
    params: Any,
    x: Any,
    y: Any,
    *,
    ax: Axes | None = None,
    resolution: int = 200,
    output: str = "auto",
    batch_size: int = 8192,
    padding: float = 1.0,
) -> Figure:
    """Regions of the predicted class over the plane of two features, with the data on top.

    A ``resolution x resolution`` grid spans each feature from ``min - padding`` to
    ``max + padding``. ``apply_fn(params, grid_batch)`` is evaluated under ``jax.jit`` on float32
    batches of at most ``batch_size`` rows (the last batch padded to full size, so it compiles once),
    and every grid point gets a class:

    - one output column, shape ``(m,)`` or ``(m, 1)``: a binary score. With ``output="auto"`` or
      ``"logits"`` it is a logit and the class is ``out > 0``; with ``output="probabilities"`` (a
      model ending in a sigmoid) the class is ``out > 0.5``. ``"auto"`` never guesses from the
      values, since a logit model can output numbers in [0, 1] too; it warns when all values lie in
      [0, 1], the sign that ``output="probabilities"`` was meant.
    - ``k > 1`` columns, shape ``(m, k)``: per-class scores; the class is the argmax, which is the
      same for logits and probabilities.

    Regions are drawn as a pale image with one colour per class; points are coloured by their true
    class with the same colours and a black edge.

    Args:
        apply_fn: ``apply_fn(params, x) -> outputs`` with ``x`` of shape ``(batch, 2)`` float32 and
            outputs of shape ``(batch,)``, ``(batch, 1)`` or ``(batch, k)``; must be jit-able.
        params: the parameter pytree passed to ``apply_fn``.
        x: data points, shape ``(n, 2)``.
        y: true classes, shape ``(n,)`` or ``(n, 1)`` (integer-valued), or one-hot ``(n, k)``.
        ax: axes to draw into; ``None`` creates a new figure.
        resolution: grid points per axis (at least 2).
        output: ``"auto"``, ``"logits"`` or ``"probabilities"`` (see above).
        batch_size: most grid rows passed to ``apply_fn`` in one call.
        padding: margin added around the data in both features, in data units.

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: if ``x`` is not ``(n, 2)`` or not finite, ``y`` does not hold one class per row of
            ``x``, an option is invalid, ``apply_fn`` returns a badly shaped array, or
            ``output="probabilities"`` and the outputs leave [0, 1].

    Example:
        >>> model = mlp([2, 16, 1])  # doctest: +SKIP
        >>> fig = plot_decision_boundary(model.apply, params, x, y)  # doctest: +SKIP
    """
    func = "plot_decision_boundary"
    if not callable(apply_fn):
        fail(func, "apply_fn", "a callable apply_fn(params, x)", type(apply_fn).__name__, exc=TypeError)
    check_choice(func, "output", output, _OUTPUT_KINDS)
    batch_size = check_positive_int(func, "batch_size", batch_size)
    resolution = check_positive_int(func, "resolution", resolution)
    if resolution < 2:
        fail(func, "resolution", "at least 2 grid points per axis", resolution)
    padding = check_nonnegative_float(func, "padding", padding)

    xs = np.asarray(x, dtype=np.float64)
    if xs.ndim != 2 or xs.shape[1] != 2 or xs.shape[0] == 0:
        fail(
            func,
            "x",
            "an array of shape (n, 2) with n >= 1 (two features: the plot is a plane)",
            f"shape {xs.shape}",
            hint="project or select two features first",
        )
    if not np.all(np.isfinite(xs)):
        fail(func, "x", "finite", "NaN or infinite values")
    ys = np.asarray(y)
    if ys.ndim == 2 and ys.shape[1] > 1:  # one-hot
        ys = np.argmax(ys, axis=1)
    if np.ndim(ys) == 0 or np.shape(ys)[0] != xs.shape[0]:
        fail(func, "y", f"one class per row of x ({xs.shape[0]} rows)", f"shape {np.shape(ys)}")
    labels = check_class_indices(func, "y", ys)

    lo, hi = xs.min(axis=0) - padding, xs.max(axis=0) + padding
    flat = hi <= lo  # a constant feature with padding=0: give the axis some width
    lo, hi = np.where(flat, lo - 0.5, lo), np.where(flat, hi + 0.5, hi)
    gx, gy = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    xx, yy = np.meshgrid(gx, gy)  # row i is gy[i], column j is gx[j]
    points = np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32)

    out = _evaluate_in_batches(apply_fn, params, points, batch_size)
    classes, n_model = _classes_from_outputs(out, output)
    n_classes = max(n_model, int(labels.max()) + 1)
    cmap, norm = _class_colormap(n_classes)

    fig, ax = _new_axes(ax, (7.0, 6.0))
    dx, dy = gx[1] - gx[0], gy[1] - gy[0]
    ax.imshow(
        classes.reshape(resolution, resolution),
        origin="lower",
        extent=(lo[0] - dx / 2, hi[0] + dx / 2, lo[1] - dy / 2, hi[1] + dy / 2),
        cmap=cmap,
        norm=norm,
        alpha=_REGION_ALPHA,
        interpolation="nearest",
        aspect="auto",
    )
    ax.scatter(xs[:, 0], xs[:, 1], c=labels, cmap=cmap, norm=norm, edgecolors="black", linewidths=0.6, s=22)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("Feature 1")
    ax.set_ylabel("Feature 2")
    ax.set_title("Decision Boundary")
    return fig


# --------------------------------------------------------------------------------------------------
# classification and regression results


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    normalize: bool = False,
) -> Figure:
    """Confusion matrix as a heat map, each cell annotated with its count.

    Rows are true classes, columns predicted classes (see :func:`confusion_matrix`). With
    ``normalize=True`` each row is divided by its total (the recall of each class; an empty row stays
    0) and cells show the fraction with the count below it.

    Args:
        y_true: true class indices, shape ``(n,)`` or ``(n, 1)``.
        y_pred: predicted class indices, same shape.
        class_names: one name per class (sets the number of classes); default ``"0", "1", ...``.
        ax: axes to draw into; ``None`` creates a new figure.
        normalize: colour and annotate by row-normalised fractions.

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: as :func:`confusion_matrix`, or if a label has no name in ``class_names``.

    Example:
        >>> fig = plot_confusion_matrix([0, 1, 1], [0, 1, 0], class_names=["cat", "dog"])
    """
    func = "plot_confusion_matrix"
    n_classes = None
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if not class_names:
            fail(func, "class_names", "a non-empty sequence of names", "[]")
        n_classes = len(class_names)
        t, p = check_class_indices(func, "y_true", y_true), check_class_indices(func, "y_pred", y_pred)
        largest = max(int(t.max()) if t.size else -1, int(p.max()) if p.size else -1)
        if largest >= n_classes:
            fail(func, "class_names", f"one name per class (label {largest} has none)", f"{n_classes} names")
    counts = confusion_matrix(y_true, y_pred, n_classes)
    n_classes = counts.shape[0]
    if class_names is None:
        class_names = [str(i) for i in range(n_classes)]

    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    shown = fractions if normalize else counts

    size = max(4.0, 1.5 + 0.8 * n_classes)
    fig, ax = _new_axes(ax, (size + 1.2, size))
    vmax = 1.0 if normalize else max(int(counts.max()), 1)
    image = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="Fraction of true class" if normalize else "Count")
    for i in range(n_classes):
        for j in range(n_classes):
            text = f"{fractions[i, j]:.2f}\n({counts[i, j]})" if normalize else f"{counts[i, j]}"
            dark = shown[i, j] > 0.5 * vmax
            ax.text(j, i, text, ha="center", va="center", color="white" if dark else "black")
    ticks = np.arange(n_classes)
    ax.set_xticks(ticks, labels=class_names)
    ax.set_yticks(ticks, labels=class_names)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    ax.set_title("Confusion Matrix" + (" (normalised by row)" if normalize else ""))
    return fig


def plot_predictions(y_true: Any, y_pred: Any, *, ax: Axes | None = None) -> Figure:
    """Predicted against true values for a regression, with the ``y = x`` diagonal.

    Points on the diagonal are perfect predictions. The title reports R² and RMSE from
    :func:`regression_metrics`.

    Args:
        y_true: targets, shape ``(n,)`` or ``(n, 1)``.
        y_pred: predictions, shape ``(n,)`` or ``(n, 1)``.
        ax: axes to draw into; ``None`` creates a new figure.

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: as :func:`regression_metrics`.

    Example:
        >>> fig = plot_predictions([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])
    """
    t, p = check_regression_pair("plot_predictions", y_true, y_pred)
    metrics = regression_metrics(t, p)
    fig, ax = _new_axes(ax, (6.0, 6.0))
    finite = np.concatenate([t, p])
    finite = finite[np.isfinite(finite)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    margin = 0.05 * (hi - lo) if hi > lo else 0.5
    lo, hi = lo - margin, hi + margin
    ax.plot([lo, hi], [lo, hi], "--", color="gray", label="Perfect prediction (y = x)")
    ax.scatter(t, p, s=18, alpha=0.7, edgecolors="black", linewidths=0.4, label="Samples")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("True value")
    ax.set_ylabel("Predicted value")
    ax.set_title(f"Predicted vs True (R² = {metrics['r2']:.4f}, RMSE = {metrics['rmse']:.4g})")
    ax.legend(loc="upper left")
    ax.grid(True, alpha=0.3)
    return fig


# --------------------------------------------------------------------------------------------------
# activations


def plot_activations(
    names: Sequence[str] = ("sigmoid", "relu", "tanh", "leaky_relu", "gelu"),
    *,
    x_range: tuple[float, float] = (-5.0, 5.0),
) -> Figure:
    """Each activation function and its derivative, one panel per activation.

    Values come from ``jnnbasics.activations.get_activation(name)`` on 401 evenly spaced points;
    derivatives from ``jax.vmap(jax.grad(f))`` (so ReLU's derivative at 0 is 0, as in PyTorch).

    Args:
        names: activation names understood by ``get_activation`` (a single name is accepted too).
        x_range: ``(low, high)`` interval of the x axis, ``low < high``.

    Returns:
        A figure with one axes per name, each holding the lines ``f(x)`` and ``f'(x)``.

    Raises:
        ValueError: if ``names`` is empty, a name is unknown, or ``x_range`` is not an increasing pair
            of finite numbers.

    Example:
        >>> fig = plot_activations(["relu", "gelu"], x_range=(-3, 3))
    """
    import jax
    import jax.numpy as jnp
    from matplotlib.figure import Figure

    from .activations import get_activation

    func = "plot_activations"
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        fail(func, "names", "a non-empty sequence of activation names", "an empty sequence")
    try:
        low, high = (float(v) for v in x_range)
    except (TypeError, ValueError):
        fail(func, "x_range", "a pair of numbers (low, high)", repr(x_range))
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        fail(func, "x_range", "finite numbers with low < high", repr(x_range))
    fns = [get_activation(name) for name in names]  # unknown names raise here, listing valid ones

    xs = jnp.linspace(low, high, 401)
    n_cols = min(3, len(names))
    n_rows = math.ceil(len(names) / n_cols)
    fig = Figure(figsize=(4.2 * n_cols, 3.4 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, name, f in zip(axes[: len(names)], names, fns, strict=True):
        values = jax.jit(f)(xs)
        slopes = jax.jit(jax.vmap(jax.grad(f)))(xs)
        ax.plot(np.asarray(xs), np.asarray(values), label=f"{name}(x)")
        ax.plot(np.asarray(xs), np.asarray(slopes), "--", label=f"{name}'(x)")
        ax.axhline(0.0, color="gray", linewidth=0.6)
        ax.axvline(0.0, color="gray", linewidth=0.6)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.legend(loc="upper left")
        ax.grid(True, alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    return fig


# --------------------------------------------------------------------------------------------------
# saving


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` atomically, creating missing parent folders.

    The image is rendered in memory, then written to a temporary file in the same folder that replaces
    ``path`` in one step (``os.replace``, see ``jnnbasics._atomic``), so a reader never sees a
    half-written file; the file gets mode ``0o644`` under the umask. The format follows the suffix:
    ``.png`` (the usual), or any other that matplotlib writes (``.svg``, ``.pdf``, ...).

    Args:
        fig: the figure to save.
        path: destination file, e.g. ``"run/history.png"``.
        dpi: resolution in dots per inch (a ``figsize`` of 8x5 inches at 100 dpi is 800x500 pixels).

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
    path = Path(path)
    fmt = path.suffix[1:].lower()
    supported = FigureCanvasAgg.get_supported_filetypes()
    if fmt not in supported:
        fail(
            func,
            "path",
            "a file name ending in .png (or "
            + ", ".join(f".{s}" for s in sorted(supported) if s != "png")
            + ")",
            repr(str(path)),
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    return write_bytes_atomic(path, buffer.getvalue())
