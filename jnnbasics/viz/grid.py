"""A model's classes over a grid of the plane: evaluation in batches, per-class margins, the extent.

The margin of class ``c`` at a point is its score minus the best score of the other classes: positive
exactly where the model predicts ``c``, zero on the boundary. Contour-filling each margin above 0
gives regions whose edges are interpolated between grid points (linear models get exact straight
edges), instead of the staircase of one colour per grid cell.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import fail

__all__ = ["OUTPUT_KINDS", "class_margins", "evaluate_in_batches", "plot_extent", "subsample"]

OUTPUT_KINDS = ("auto", "logits", "probabilities")
_FUNC = "plot_decision_boundary"


def evaluate_in_batches(
    apply_fn: Callable[[Any, Any], Any], params: Any, points: np.ndarray, batch_size: int
) -> np.ndarray:
    """Outputs of ``apply_fn(params, points)`` computed ``batch_size`` rows at a time.

    The apply is jitted once; the last batch is padded (by repeating its last row) to the full batch
    so that every call has the same shape and nothing recompiles.

    Args:
        apply_fn: ``apply_fn(params, x)`` with ``x`` of shape ``(batch, 2)``.
        params: its parameters.
        points: float32 array of shape ``(m, 2)``.
        batch_size: most rows per call.

    Returns:
        A numpy array with one row per point: shape ``(m,)``, ``(m, 1)`` or ``(m, k)``.
    """
    import jax

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
                _FUNC,
                "apply_fn(params, x)",
                f"an array of shape ({size},), ({size}, 1) or ({size}, k) for x of shape ({size}, 2)",
                f"shape {out.shape}",
            )
        chunks.append(out[:real])
    return np.concatenate(chunks, axis=0)


def _check_outputs(out: np.ndarray, output: str) -> None:
    """Refuse probabilities outside [0, 1]; warn about NaN/inf and about sigmoid outputs read as logits."""
    if output == "probabilities":
        finite = out[np.isfinite(out)]
        if finite.size and (finite.min() < -1e-6 or finite.max() > 1.0 + 1e-6):
            fail(
                _FUNC,
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
            stacklevel=4,
        )
    single = out.ndim == 1 or out.shape[1] == 1
    if single and output == "auto" and out.size and np.all((out >= 0.0) & (out <= 1.0)):
        warnings.warn(
            "plot_decision_boundary: the single output column is read as a logit (class 1 where "
            "it is > 0), but every value on the grid lies in [0, 1]; if the model ends in a "
            "sigmoid, pass output='probabilities' (threshold 0.5).",
            UserWarning,
            stacklevel=4,
        )


def class_margins(out: np.ndarray, output: str) -> np.ndarray:
    """Per-class margins of the model's outputs: positive exactly where that class is predicted.

    One column (or a 1-D output) is a binary score ``s``: a logit thresholded at 0 (``"auto"``,
    ``"logits"``) or a probability thresholded at 0.5 (``"probabilities"``); the margins are
    ``(t - s, s - t)``. ``k > 1`` columns are per-class scores, the class is the argmax (the same for
    logits and probabilities), and class ``c``'s margin is ``out[:, c]`` minus the largest other score.

    Args:
        out: outputs of shape ``(m,)``, ``(m, 1)`` or ``(m, k)``.
        output: ``"auto"``, ``"logits"`` or ``"probabilities"``.

    Returns:
        float64 array of shape ``(m, 2)`` for a binary score, ``(m, k)`` otherwise.
    """
    out = np.asarray(out, dtype=np.float64)
    _check_outputs(out, output)
    if out.ndim == 1 or out.shape[1] == 1:
        s = out.reshape(-1) - (0.5 if output == "probabilities" else 0.0)
        return np.column_stack([-s, s])
    ordered = np.sort(out, axis=1)
    first, second = ordered[:, -1:], ordered[:, -2:-1]
    best_other = np.where(out >= first, second, first)
    return out - best_other


def plot_extent(xs: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` per feature: the data's range widened by ``margin`` times it on each side.

    A feature with no spread gets ``±0.5`` around its value, so the axis keeps some width.
    """
    lo, hi = xs.min(axis=0), xs.max(axis=0)
    span = hi - lo
    flat = span <= 0
    lo, hi = lo - margin * span, hi + margin * span
    return np.where(flat, lo - 0.5, lo), np.where(flat, hi + 0.5, hi)


def subsample(n: int, max_points: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``max_points`` of ``n`` rows, drawn without replacement by a seeded RNG, sorted."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_points, replace=False))
