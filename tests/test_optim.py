"""make_optimizer against torch.optim.Adam (with weight decay and torch schedulers stepped per epoch)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from helpers import assert_close, assert_trees_close

from jnnbasics import cosine_annealing, make_optimizer, step_lr

N_STEPS = 200
STEPS_PER_EPOCH = 7
LR = 1e-2

SCHEDULES = {
    "none": (None, None),
    "step": (
        lambda: step_lr(LR, 5, 0.5, steps_per_epoch=STEPS_PER_EPOCH),
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5),
    ),
    "cosine": (
        lambda: cosine_annealing(LR, 10, 1e-4, steps_per_epoch=STEPS_PER_EPOCH),
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=1e-4),
    ),
}


def initial_params(dtype):
    rng = np.random.default_rng(0)
    return {"w": rng.normal(size=(5, 3)).astype(dtype), "b": rng.normal(size=(3,)).astype(dtype)}


def torch_dtype(dtype):
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def torch_adam_run(p0, grad_fn, dtype, *, weight_decay, schedule_name, b1=0.9, b2=0.999, eps=1e-8):
    """torch.optim.Adam for N_STEPS; the scheduler (if any) steps once every STEPS_PER_EPOCH steps."""
    tp = {k: torch.nn.Parameter(torch.tensor(v, dtype=torch_dtype(dtype))) for k, v in p0.items()}
    opt = torch.optim.Adam(list(tp.values()), lr=LR, betas=(b1, b2), eps=eps, weight_decay=weight_decay)
    make_sched = SCHEDULES[schedule_name][1]
    sched = make_sched(opt) if make_sched else None
    for i in range(N_STEPS):
        opt.zero_grad()
        grad_fn(tp, i)
        opt.step()
        if sched is not None and (i + 1) % STEPS_PER_EPOCH == 0:
            sched.step()
    return {k: v.detach().numpy() for k, v in tp.items()}


def jax_run(optimizer, p0, grad_fn):
    """N_STEPS optimizer updates inside one jitted scan, as the training loop runs them."""

    @jax.jit
    def run(params):
        def body(carry, i):
            params, state = carry
            grads = grad_fn(params, i)
            updates, state = optimizer.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(body, (params, optimizer.init(params)), jnp.arange(N_STEPS))
        return params

    return run(jax.tree_util.tree_map(jnp.asarray, p0))


@pytest.mark.parametrize("schedule_name", list(SCHEDULES))
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_adam_matches_torch_on_fixed_gradients(dtype, weight_decay, schedule_name):
    p0 = initial_params(dtype)
    rng = np.random.default_rng(1)
    grads = {k: rng.normal(size=(N_STEPS, *v.shape)).astype(dtype) for k, v in p0.items()}

    def torch_grads(tp, i):
        for k in tp:
            tp[k].grad = torch.tensor(grads[k][i], dtype=torch_dtype(dtype))

    expected = torch_adam_run(p0, torch_grads, dtype, weight_decay=weight_decay, schedule_name=schedule_name)
    make_sched = SCHEDULES[schedule_name][0]
    opt = make_optimizer(LR, schedule=make_sched() if make_sched else None, weight_decay=weight_decay)
    jgrads = jax.tree_util.tree_map(jnp.asarray, grads)
    actual = jax_run(opt, p0, lambda p, i: {k: g[i] for k, g in jgrads.items()})
    assert actual["w"].dtype == dtype
    assert_trees_close(actual, expected, dtype, kind="trajectory")


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_torch_on_least_squares(dtype, weight_decay):
    """Gradients that depend on the parameters: the trajectories feed back into themselves."""
    p0 = initial_params(dtype)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(32, 5)).astype(dtype)
    y = rng.normal(size=(32, 3)).astype(dtype)

    def torch_grads(tp, i):
        pred = torch.tensor(x) @ tp["w"] + tp["b"]
        ((pred - torch.tensor(y)) ** 2).mean().backward()

    expected = torch_adam_run(
        p0, torch_grads, dtype, weight_decay=weight_decay, schedule_name="none", b1=0.8, b2=0.99, eps=1e-6
    )
    loss = lambda p: jnp.mean((x @ p["w"] + p["b"] - y) ** 2)
    opt = make_optimizer(LR, weight_decay=weight_decay, b1=0.8, b2=0.99, eps=1e-6)
    actual = jax_run(opt, p0, lambda p, i: jax.grad(loss)(p))
    assert_trees_close(actual, expected, dtype, kind="trajectory")


def test_vmap_over_learning_rates_equals_separate_optimizers():
    p0 = initial_params(np.float32)
    rng = np.random.default_rng(3)
    grads = jax.tree_util.tree_map(
        jnp.asarray, {k: rng.normal(size=(N_STEPS, *v.shape)) for k, v in p0.items()}
    )
    grad_fn = lambda p, i: {k: g[i].astype(jnp.float32) for k, g in grads.items()}
    lrs = jnp.array([1e-3, 3e-2], dtype=jnp.float32)
    mapped = jax.vmap(lambda lr: jax_run(make_optimizer(lr, weight_decay=0.01), p0, grad_fn))(lrs)
    for i, lr in enumerate([1e-3, 3e-2]):
        separate = jax_run(make_optimizer(lr, weight_decay=0.01), p0, grad_fn)
        assert_trees_close(jax.tree_util.tree_map(lambda a, i=i: a[i], mapped), separate, kind="trajectory")


def test_opt_state_layout_is_the_same_for_every_option():
    params = jax.tree_util.tree_map(jnp.asarray, initial_params(np.float32))
    structures = {
        jax.tree_util.tree_structure(opt.init(params))
        for opt in (
            make_optimizer(1e-3),
            make_optimizer(1e-3, weight_decay=0.1),
            make_optimizer(schedule=step_lr(1e-3)),
            make_optimizer(cosine_annealing(1e-3)),
        )
    }
    assert len(structures) == 1


def test_schedule_takes_precedence_over_learning_rate():
    params = {"w": jnp.ones(3)}
    grads = {"w": jnp.array([1.0, -2.0, 3.0])}
    a = make_optimizer(0.5, schedule=lambda count: 1e-3)
    b = make_optimizer(1e-3)
    ua, _ = a.update(grads, a.init(params), params)
    ub, _ = b.update(grads, b.init(params), params)
    # first Adam step is -lr * sign(g) (up to eps): a closed form, independent of both
    assert_close(ua["w"], -1e-3 * np.sign([1.0, -2.0, 3.0]))
    assert_close(ub["w"], -1e-3 * np.sign([1.0, -2.0, 3.0]))


@pytest.mark.parametrize(
    "kwargs,match,exc",
    [
        ({"learning_rate": -1e-3}, "make_optimizer: learning_rate must be a finite number >= 0", ValueError),
        ({"learning_rate": "fast"}, "make_optimizer: learning_rate must be a non-negative number", TypeError),
        ({"weight_decay": -0.1}, "make_optimizer: weight_decay must be a finite number >= 0", ValueError),
        ({"b1": 1.0}, "make_optimizer: b1 must be in \\[0, 1\\)", ValueError),
        ({"b2": -0.1}, "make_optimizer: b2 must be in \\[0, 1\\)", ValueError),
        ({"b1": None}, "make_optimizer: b1 must be a number in \\[0, 1\\)", TypeError),
        ({"eps": -1e-8}, "make_optimizer: eps must be a finite number >= 0", ValueError),
        ({"schedule": "step"}, "make_optimizer: schedule must be an optax schedule", TypeError),
    ],
)
def test_bad_arguments(kwargs, match, exc):
    with pytest.raises(exc, match=match):
        make_optimizer(**kwargs)
