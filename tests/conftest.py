"""Suite-wide settings: highest matmul precision for PyTorch parity; float64 never leaks."""

from __future__ import annotations

import os
import sys

import jax
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

# `python -m jnnbasics` in a subprocess would fill the user's compilation cache (~/.cache/jnnbasics).
os.environ["JNNBASICS_NO_COMPILATION_CACHE"] = "1"

# Parity tests compare against PyTorch: GPUs would otherwise multiply float32 in TF32.
jax.config.update("jax_default_matmul_precision", "highest")


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    """Run a test in float32 and in float64 (x64 enabled only for the float64 case)."""
    from helpers import precision_for

    with precision_for(request.param):
        yield request.param


@pytest.fixture(autouse=True)
def _no_x64_leak():
    """Fail loudly if a test leaves jax_enable_x64 switched on."""
    before = jax.config.jax_enable_x64
    yield
    after = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", before)
    assert after == before, "a test changed jax_enable_x64 without restoring it"
