"""Activations: values and gradients against PyTorch, stability at extreme inputs, names."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from helpers import assert_close

import jnnbasics as jb

TORCH = {
    "sigmoid": (jb.sigmoid, torch.sigmoid),
    "relu": (jb.relu, torch.relu),
    "tanh": (jb.tanh, torch.tanh),
    "softmax": (jb.softmax, lambda t: torch.softmax(t, dim=-1)),
    "softmax_axis0": (lambda x: jb.softmax(x, axis=0), lambda t: torch.softmax(t, dim=0)),
    "log_softmax": (jb.log_softmax, lambda t: torch.log_softmax(t, dim=-1)),
    "log_softmax_axis0": (lambda x: jb.log_softmax(x, axis=0), lambda t: torch.log_softmax(t, dim=0)),
    "leaky_relu": (jb.leaky_relu, torch.nn.functional.leaky_relu),
    "leaky_relu_0.2": (lambda x: jb.leaky_relu(x, 0.2), lambda t: torch.nn.functional.leaky_relu(t, 0.2)),
    "gelu": (jb.gelu, torch.nn.functional.gelu),
    "gelu_tanh": (
        lambda x: jb.gelu(x, approximate=True),
        lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
    ),
    "identity": (jb.identity, lambda t: t),
}


def _torch_value_and_vjp(fn, x, cot):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt)
    out.backward(torch.tensor(cot))
    return out.detach().numpy(), xt.grad.numpy()


def _value_and_vjp(fn, x, cot):
    """``fn(x)`` and the vector-Jacobian product with ``cot``, in one jitted call."""
    value, vjp = jax.jit(lambda v, c: (fn(v), jax.vjp(fn, v)[1](c)[0]))(x, cot)
    return value, vjp


@pytest.mark.parametrize("name", sorted(TORCH))
def test_activation_value_and_gradient_match_torch(name, dtype):
    ours, theirs = TORCH[name]
    rng = np.random.default_rng(0)
    x = (3 * rng.standard_normal((6, 5))).astype(dtype)
    cot = rng.standard_normal((6, 5)).astype(dtype)
    expected, expected_grad = _torch_value_and_vjp(theirs, x, cot)

    value, grad = _value_and_vjp(ours, x, cot)
    assert value.dtype == dtype
    assert_close(value, expected, dtype)
    assert_close(grad, expected_grad, dtype)


@pytest.mark.parametrize("name", ["sigmoid", "relu", "tanh", "softmax", "gelu", "leaky_relu"])
def test_activation_vmaps_like_batched_call(name):
    ours = TORCH[name][0]
    x = jnp.asarray(np.random.default_rng(1).standard_normal((4, 3)), jnp.float32)
    assert_close(jax.vmap(ours)(x), ours(x))


@pytest.mark.parametrize("name", ["sigmoid", "softmax", "log_softmax", "tanh"])
def test_extreme_inputs_finite_and_correct(name, dtype):
    ours, theirs = TORCH[name]
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [5e3, 5e3, -5e3]], dtype)
    cot = np.array([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0], [2.0, 1.0, 1.0]], dtype)
    expected, expected_grad = _torch_value_and_vjp(theirs, x, cot)
    value, grad = _value_and_vjp(ours, x, cot)
    assert np.all(np.isfinite(np.asarray(value))) and np.all(np.isfinite(np.asarray(grad)))
    assert_close(value, expected, dtype)
    assert_close(grad, expected_grad, dtype)


def test_softmax_axis0_reproduces_the_tutorial_numpy_formula(dtype):
    x = np.random.default_rng(2).standard_normal((4, 3)).astype(dtype)
    # The tutorial's ActivationFunctions.softmax, verbatim.
    exp_x = np.exp(x - np.max(x))
    tutorial = exp_x / exp_x.sum(axis=0)
    assert_close(jb.softmax(jnp.asarray(x), axis=0), tutorial, dtype)
    # and the default (last axis) is per sample: rows sum to one
    assert_close(jnp.sum(jb.softmax(jnp.asarray(x)), axis=-1), np.ones(4, dtype), dtype)


def test_tutorial_numpy_formulas(dtype):
    x = np.linspace(-5, 5, 11).astype(dtype)
    assert_close(jb.sigmoid(jnp.asarray(x)), 1 / (1 + np.exp(-x)), dtype)
    assert_close(jb.relu(jnp.asarray(x)), np.maximum(0, x), dtype)
    assert_close(jb.tanh(jnp.asarray(x)), np.tanh(x), dtype)


@pytest.mark.parametrize("name", jb.ACTIVATIONS)
def test_get_activation_returns_the_named_function(name):
    ours = {
        "relu": jb.relu,
        "sigmoid": jb.sigmoid,
        "tanh": jb.tanh,
        "gelu": jb.gelu,
        "leaky_relu": jb.leaky_relu,
        "identity": jb.identity,
    }[name]
    assert jb.get_activation(name) is ours


def test_activation_names():
    assert set(jb.ACTIVATIONS) == {"relu", "sigmoid", "tanh", "gelu", "leaky_relu", "identity"}


@pytest.mark.parametrize("bad", ["swish", "ReLU", "", None, 3])
def test_get_activation_unknown_name_lists_valid_ones(bad):
    with pytest.raises(
        ValueError, match=r"get_activation: name must be one of 'relu', 'sigmoid'.*'identity'"
    ):
        jb.get_activation(bad)
