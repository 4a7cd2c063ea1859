"""The one place where test tolerances live, and the helpers that compare against oracles.

Every numeric comparison in the suite goes through :func:`assert_trees_close` (or
:func:`assert_close` for single arrays) with one of the tolerance kinds below; do not pass ad-hoc
rtol/atol anywhere else, and never loosen these to make a test pass: find the cause.
"""

from __future__ import annotations

import contextlib
from typing import Any

import jax
import numpy as np

# (rtol, atol) per (kind, dtype). Values from the project's DESIGN.md / issues.
TOLERANCES: dict[tuple[str, str], tuple[float, float]] = {
    # a single forward value (activation, loss, layer output)
    ("value", "float32"): (1e-5, 1e-6),
    ("value", "float64"): (1e-10, 1e-10),
    # gradients that flow through several layers
    ("grad", "float32"): (1e-4, 1e-6),
    ("grad", "float64"): (1e-10, 1e-10),
    # hundreds of optimizer steps: float32 rounding accumulates (Adam divides by sqrt(v)+eps)
    ("trajectory", "float32"): (1e-4, 1e-5),
    ("trajectory", "float64"): (1e-9, 1e-9),
    # learning-rate schedules (issue 3: rtol 1e-6)
    ("schedule", "float32"): (1e-6, 0.0),
    ("schedule", "float64"): (1e-6, 0.0),
}


def tolerance(dtype: Any, kind: str = "value") -> tuple[float, float]:
    """Return ``(rtol, atol)`` for ``dtype`` (float32/float64) and comparison ``kind``."""
    name = np.dtype(dtype).name
    if name not in ("float32", "float64"):
        name = "float32"
    return TOLERANCES[(kind, name)]


def to_numpy(x: Any) -> np.ndarray:
    """Convert a jax array, numpy array, python number or torch tensor to numpy."""
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def assert_close(actual: Any, expected: Any, dtype: Any = np.float32, kind: str = "value", err_msg: str = ""):
    """Assert two arrays agree within the project tolerance for ``dtype`` and ``kind``."""
    rtol, atol = tolerance(dtype, kind)
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"shape mismatch {a.shape} vs {e.shape} {err_msg}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=err_msg)


def assert_trees_close(actual: Any, expected: Any, dtype: Any = np.float32, kind: str = "value"):
    """Assert two pytrees have the same structure and leaf-wise agree within tolerance."""
    la, ta = jax.tree_util.tree_flatten(actual)
    le, te = jax.tree_util.tree_flatten(expected)
    assert ta == te, f"tree structures differ:\n{ta}\n{te}"
    for i, (a, e) in enumerate(zip(la, le)):
        assert_close(a, e, dtype, kind, err_msg=f"leaf {i} of {ta}")


@contextlib.contextmanager
def x64():
    """Enable float64 in JAX for the duration of the block, then restore the previous setting."""
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", prev)


@contextlib.contextmanager
def precision_for(dtype: Any):
    """Float64 on for float64 comparisons; a no-op context for float32."""
    if np.dtype(dtype) == np.float64:
        with x64():
            yield
    else:
        yield
