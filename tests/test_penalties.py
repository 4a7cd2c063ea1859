"""Penalties: L1 / unsquared L2 / squared L2 against the tutorial's torch loops, values and grads."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn as nn
from helpers import assert_close, assert_trees_close
from torch_reference import add_regularization as torch_add_regularization

import jnnbasics as jb


def _net(dtype, zero_bias=True):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3), nn.ReLU(), nn.Linear(3, 2))
    net = net.to(torch.float64 if dtype == np.float64 else torch.float32)
    if zero_bias:  # an all-zero array: the L2 norm's kink, where torch's gradient is 0
        with torch.no_grad():
            net[2].bias.zero_()
            net[2].weight[0].zero_()  # and zero entries: the L1 kink
    return net


def _torch_grads(net):
    return [{"w": m.weight.grad.numpy().T, "b": m.bias.grad.numpy()} for m in net if isinstance(m, nn.Linear)]


# The tutorial's loops (add_regularization), one penalty at a time
TORCH_PENALTY = {
    "l1": lambda params: sum(torch.norm(p, 1) for p in params),
    "l2": lambda params: sum(torch.norm(p, 2) for p in params),
    "l2_squared": lambda params: sum((p**2).sum() for p in params),
}
OURS = {"l1": jb.l1_penalty, "l2": jb.l2_penalty, "l2_squared": jb.l2_squared_penalty}


@pytest.mark.parametrize("name", sorted(OURS))
def test_penalty_value_and_gradient_match_torch(name, dtype):
    params = jb.params_from_torch(_net(dtype))
    ours = jax.jit(
        lambda p: {
            inc: jax.value_and_grad(lambda q, inc=inc: OURS[name](q, include_bias=inc))(p)
            for inc in (True, False)
        }
    )(params)
    for include_bias in (True, False):
        net = _net(dtype)
        expected = TORCH_PENALTY[name](
            [p for n, p in net.named_parameters() if include_bias or not n.endswith("bias")]
        )
        expected.backward()
        torch_grads = [
            {
                "w": m.weight.grad.numpy().T,
                "b": np.zeros(m.bias.shape, dtype) if m.bias.grad is None else m.bias.grad.numpy(),
            }
            for m in net
            if isinstance(m, nn.Linear)
        ]
        value, grads = ours[include_bias]
        assert value.dtype == dtype
        assert_close(value, expected.detach(), dtype)
        assert all(np.all(np.isfinite(np.asarray(g))) for g in jax.tree_util.tree_leaves(grads))
        assert_trees_close(grads, torch_grads, dtype)


def test_l2_gradient_at_all_zero_arrays_is_zero_like_torch(dtype):
    params = [{"w": np.zeros((3, 2), dtype), "b": np.zeros(2, dtype)}]
    t = torch.zeros(2, 3, dtype=torch.float64 if dtype == np.float64 else torch.float32, requires_grad=True)
    torch.norm(t, 2).backward()
    value, grads = jax.jit(jax.value_and_grad(jb.l2_penalty))(params)
    assert float(value) == 0.0
    assert_close(grads[0]["w"], t.grad.numpy().T, dtype)
    assert np.array_equal(grads[0]["b"], np.zeros(2))


def test_add_regularization_matches_the_tutorial(dtype):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 5)).astype(dtype), rng.standard_normal((6, 2)).astype(dtype)
    params = jb.params_from_torch(_net(dtype))

    def objective(p, lambda_l1, lambda_l2):
        return jb.add_regularization(p, jb.mse(jb.mlp_apply(p, x), y), lambda_l1, lambda_l2)

    traced = jax.jit(jax.value_and_grad(objective))  # lambdas traced: one compile for all
    concrete = jax.jit(jax.value_and_grad(objective), static_argnums=(1, 2))  # concrete 0 skips a term
    for lambdas in [(0.01, 0.01), (0.0, 0.05), (0.2, 0.0), (0.0, 0.0)]:
        net = _net(dtype)
        loss_t = torch_add_regularization(net, nn.MSELoss()(net(torch.tensor(x)), torch.tensor(y)), *lambdas)
        loss_t.backward()
        results = [traced(params, *lambdas)] + (
            [concrete(params, *lambdas)] if lambdas == (0.0, 0.05) else []
        )
        for value, grads in results:
            assert_close(value, loss_t.detach(), dtype)
            assert_trees_close(grads, _torch_grads(net), dtype, kind="grad")


def test_add_regularization_with_traced_lambdas_under_vmap_and_jit():
    params = jb.init_mlp(jax.random.key(0), [4, 6, 2], init="torch_default")
    lambdas = jnp.array([[0.0, 0.0], [0.01, 0.0], [0.0, 0.02], [0.03, 0.04]])
    batched = jax.jit(jax.vmap(lambda lam: jb.add_regularization(params, 1.5, lam[0], lam[1])))(lambdas)
    l1, l2 = float(jb.l1_penalty(params)), float(jb.l2_penalty(params))
    # closed form with the penalties computed once
    assert_close(batched, np.array([1.5 + a * l1 + b * l2 for a, b in np.asarray(lambdas)], np.float32))


def test_penalties_on_other_pytrees_and_bias_detection():
    tree = {
        "encoder": {"kernel": jnp.array([[1.0, -2.0]]), "bias": jnp.array([3.0])},
        "0.weight": jnp.array([4.0]),  # 1-D but not named as a bias: a weight
        "0.bias": jnp.array([-5.0]),
        "layers": [{"w": jnp.array([[6.0]]), "b": jnp.array([7.0])}],
        "scale": jnp.array(8.0),
    }
    values = jax.jit(
        lambda t: (
            jb.l1_penalty(t),
            jb.l1_penalty(t, include_bias=False),
            jb.l2_squared_penalty(t, include_bias=False),
            jb.l2_penalty(t, include_bias=False),
            jb.l2_penalty([]),
        )
    )(tree)
    expected = [36.0, 1 + 2 + 4 + 6 + 8, 1 + 4 + 16 + 36 + 64, np.sqrt(5) + 4 + 6 + 8, 0.0]
    for v, e in zip(values, expected):
        assert_close(v, np.float32(e))


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_add_regularization_refuses_bad_lambdas(bad):
    params = [{"w": np.ones((1, 1)), "b": np.zeros(1)}]
    with pytest.raises(ValueError, match=r"add_regularization: lambda_l1 must be a finite number >= 0"):
        jb.add_regularization(params, 0.0, bad, 0.0)
    with pytest.raises(ValueError, match=r"add_regularization: lambda_l2 must be a finite number >= 0"):
        jb.add_regularization(params, 0.0, 0.0, bad)
    with pytest.raises(
        TypeError, match=r"add_regularization: lambda_l1 must be a non-negative number, got 'a'"
    ):
        jb.add_regularization(params, 0.0, "a", 0.0)
