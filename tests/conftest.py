"""Suite-wide settings: highest matmul precision for PyTorch parity; float64 never leaks; a compilation cache."""

from __future__ import annotations

import os
import signal
import sys

import jax
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

# A background job of a non-interactive shell (`cmd &` in a script, nohup) starts with SIGINT
# ignored, and the programs it starts inherit that, so the tests' Ctrl-C to a training process
# would be lost; with a Python handler here, children start with the default, as from a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# `python -m jnnbasics` in a subprocess would fill the user's compilation cache (~/.cache/jnnbasics).
os.environ["JNNBASICS_NO_COMPILATION_CACHE"] = "1"

# Parity tests compare against PyTorch: GPUs would otherwise multiply float32 in TF32.
jax.config.update("jax_default_matmul_precision", "highest")

# Compiling is most of the suite's time: this process keeps its compiled programs in JAX's
# persistent cache under .pytest_cache/ (git-ignored), so a second run of the same tests (the
# edit-test loop) skips most compilation. JNNBASICS_TEST_CACHE=0 turns it off.
if os.environ.get("JNNBASICS_TEST_CACHE", "1") != "0":
    _cache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".pytest_cache", "jax")
    jax.config.update("jax_compilation_cache_dir", _cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


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


def pytest_collection_modifyitems(config, items):
    """The float64 case of a test run with the ``dtype`` fixture is ``slow``: the fast subset
    (``-m "not slow"``) checks float32 only; the whole suite checks both."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("dtype") is np.float64:
            item.add_marker(pytest.mark.slow)
