"""The Python API's fault catalogue (issue 9): bad input, divergence and numerical edge cases.

``CASES`` is one table of :class:`faults.Fault` records — each a bad call of a public function, the
exception it must raise and a fragment of the message (which names the argument) — run by one test;
``docs/errors.md`` is generated from it and from ``tests/test_faults_cli.py``'s table. The numeric
items (PyTorch's gradient of ``leaky_relu`` at 0, BCE-with-logits at large logits with soft
targets, divergence while finite) and the "nothing lost" checks are separate tests below.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close

import jnnbasics as jnb

# --------------------------------------------------------------------------------------------------
# numerical fidelity against PyTorch


def _torch_value_and_grad(fn, *arrays):
    """``fn(*tensors)`` elementwise and the gradient of its sum with respect to every input."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu_gradient_at_zero_is_torchs(slope, dtype):
    # torch's backward is grad * (x > 0 ? 1 : negative_slope): the slope at exactly 0
    x = np.array([-2.0, -1e-30, 0.0, -0.0, 1e-30, 3.0], dtype)
    value, (grad,) = _torch_value_and_grad(lambda t: F.leaky_relu(t, slope), x)
    ours = jax.jit(jax.vmap(jax.value_and_grad(lambda v: jnb.leaky_relu(v, slope))))(x)
    assert ours[0].dtype == dtype
    assert_close(ours[0], value, dtype)
    assert_close(ours[1], grad, dtype, "grad")
    assert float(ours[1][2]) == pytest.approx(slope)  # the point of the fix, said plainly


def _bce_logits_sweep(dtype):
    """Logits from -1e4 to 1e4 (both signs, every decade) against hard and soft targets."""
    mags = np.concatenate([[0.0], np.logspace(-3, 4, 15)])
    logits = np.concatenate([mags, -mags[1:]])
    targets = np.array([0.0, 1e-4, 0.001, 0.1, 0.3, 0.5, 0.9, 0.999, 0.9999, 1.0])
    x, t = np.meshgrid(logits, targets, indexing="ij")
    return x.ravel().astype(dtype), t.ravel().astype(dtype)


def _torch_bce_logits(x, t):
    return _torch_value_and_grad(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"), x, t
    )


def test_bce_with_logits_large_logits_soft_targets_float32():
    # the numbers: softplus(x) - t*x cancels to 1.0 and 10.0; torch's float32 is exact here
    x = np.array([1e4, 1e4, -1e4, -1e4, 1e4, -1e4], np.float32)
    t = np.array([0.9999, 0.999, 0.0001, 0.001, 0.5, 0.5], np.float32)
    expected, (gx, gt) = _torch_bce_logits(x, t)
    assert expected[0] == pytest.approx(1.0001659, rel=1e-6) and expected[1] == pytest.approx(
        9.999871, rel=1e-6
    )
    loss = jax.jit(lambda a, b: jnb.binary_cross_entropy_with_logits(a, b, reduction="none"))(x, t)
    grads = jax.grad(lambda a, b: jnb.binary_cross_entropy_with_logits(a, b, reduction="sum"), (0, 1))(x, t)
    assert_close(loss, expected, np.float32)
    assert_close(grads[0], gx, np.float32, "grad")
    assert_close(grads[1], gt, np.float32, "grad")


def test_bce_with_logits_sweep_values_and_gradients_match_torch(dtype):
    # Values against torch in float64 on the same inputs (the exact value, then rounded): torch's
    # own float32 form (1 - t) * x - log_sigmoid(x) cancels at large negative x with small t
    # (x = -316, t = 1e-4: 4e-4 relative error), ours does not. Gradients against torch in dtype.
    x, t = _bce_logits_sweep(dtype)
    exact, _ = _torch_bce_logits(x.astype(np.float64), t.astype(np.float64))
    _, (gx, gt) = _torch_bce_logits(x, t)

    def total(a, b):
        return jnp.sum(jnb.binary_cross_entropy_with_logits(a, b, reduction="none"))

    value = jax.jit(lambda a, b: jnb.binary_cross_entropy_with_logits(a, b, reduction="none"))(x, t)
    grads = jax.jit(jax.grad(total, argnums=(0, 1)))(x, t)
    assert value.dtype == dtype and np.all(np.isfinite(np.asarray(value)))
    assert_close(value, exact.astype(dtype), dtype)
    assert_close(grads[0], gx, dtype, "grad")
    assert_close(grads[1], gt, dtype, "grad")
