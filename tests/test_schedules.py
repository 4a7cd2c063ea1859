"""Schedules against torch's StepLR / CosineAnnealingLR stepped once per epoch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from helpers import assert_close

from jnnbasics import constant, cosine_annealing, create_lr_scheduler, lr_at_epoch, step_lr

EPOCHS = 250


def torch_epoch_lrs(scheduler_cls, base_lr, epochs=EPOCHS, **kwargs):
    """The lr torch's optimizer uses in each epoch when the scheduler steps once per epoch."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = scheduler_cls(opt, **kwargs)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.asarray(lrs, dtype=np.float64)


def per_step(epoch_lrs, steps_per_epoch):
    return np.repeat(epoch_lrs, steps_per_epoch)


def ours_at_every_step(schedule, n_steps):
    """Evaluate the schedule one traced scalar count at a time under jit, as optax calls it."""
    f = jax.jit(jax.vmap(lambda c: schedule(c)))
    return np.asarray(f(jnp.arange(n_steps, dtype=jnp.int32)))


@pytest.mark.parametrize("steps_per_epoch", [1, 7])
@pytest.mark.parametrize(
    "base_lr,step_size,gamma",
    [(0.1, 30, 0.1), (1e-3, 10, 0.5), (0.05, 1, 0.9), (0.02, 7, 1.1)],
)
def test_step_lr_matches_torch(dtype, steps_per_epoch, base_lr, step_size, gamma):
    expected = per_step(
        torch_epoch_lrs(torch.optim.lr_scheduler.StepLR, base_lr, step_size=step_size, gamma=gamma),
        steps_per_epoch,
    )
    sched = step_lr(base_lr, step_size, gamma, steps_per_epoch=steps_per_epoch)
    actual = ours_at_every_step(sched, EPOCHS * steps_per_epoch)
    assert actual.dtype == dtype
    assert_close(actual, expected, dtype, kind="schedule")


@pytest.mark.parametrize("steps_per_epoch", [1, 7])
@pytest.mark.parametrize(
    "base_lr,t_max,eta_min",
    [(0.1, 100, 0.0), (1e-3, 50, 1e-5), (0.01, 7, 0.0), (0.5, 1, 0.01), (1e-3, 300, 0.0), (1e-3, 30, 0.01)],
)
def test_cosine_annealing_matches_torch_beyond_t_max(dtype, steps_per_epoch, base_lr, t_max, eta_min):
    expected = per_step(
        torch_epoch_lrs(torch.optim.lr_scheduler.CosineAnnealingLR, base_lr, T_max=t_max, eta_min=eta_min),
        steps_per_epoch,
    )
    sched = cosine_annealing(base_lr, t_max, eta_min, steps_per_epoch=steps_per_epoch)
    actual = ours_at_every_step(sched, EPOCHS * steps_per_epoch)
    assert actual.dtype == dtype
    assert_close(actual, expected, dtype, kind="schedule")


def test_cosine_goes_back_up_after_t_max():
    # closed form: eta_min + (base - eta_min) * (1 + cos(pi * e / T)) / 2 is periodic with period 2T
    sched = cosine_annealing(0.1, t_max=10)
    assert float(sched(10)) == 0.0
    assert_close(sched(15), 0.05, kind="schedule")
    assert_close(sched(20), 0.1, kind="schedule")


@pytest.mark.parametrize(
    "mode,kwargs,cls,torch_kwargs",
    [
        ("step", {}, torch.optim.lr_scheduler.StepLR, {"step_size": 30, "gamma": 0.1}),
        ("cosine", {}, torch.optim.lr_scheduler.CosineAnnealingLR, {"T_max": 100}),
        (
            "step",
            {"step_size": 5, "gamma": 0.5},
            torch.optim.lr_scheduler.StepLR,
            {"step_size": 5, "gamma": 0.5},
        ),
        (
            "cosine",
            {"t_max": 20, "eta_min": 1e-4},
            torch.optim.lr_scheduler.CosineAnnealingLR,
            {"T_max": 20, "eta_min": 1e-4},
        ),
    ],
)
def test_create_lr_scheduler_matches_tutorial_defaults(mode, kwargs, cls, torch_kwargs):
    expected = per_step(torch_epoch_lrs(cls, 1e-2, **torch_kwargs), 3)
    sched = create_lr_scheduler(1e-2, mode, steps_per_epoch=3, **kwargs)
    assert_close(ours_at_every_step(sched, EPOCHS * 3), expected, kind="schedule")


def test_constant_and_create_constant(dtype):
    for sched in (constant(3e-3), create_lr_scheduler(3e-3, "constant", steps_per_epoch=4)):
        out = ours_at_every_step(sched, 20)
        assert out.dtype == dtype
        assert_close(out, np.full(20, 3e-3), dtype, kind="schedule")


def test_schedules_accept_traced_base_lr_under_vmap():
    lrs = jnp.array([0.1, 0.01])
    for make in (constant, lambda b: step_lr(b, 2, 0.5), lambda b: cosine_annealing(b, 10)):
        got = jax.jit(jax.vmap(lambda b, make=make: make(b)(25)))(lrs)
        want = np.array([make(0.1)(25), make(0.01)(25)])
        assert_close(got, want, kind="schedule")


def test_lr_at_epoch():
    sched = step_lr(0.1, 30, 0.1, steps_per_epoch=5)
    assert isinstance(lr_at_epoch(sched, 29, 5), float)
    assert_close(lr_at_epoch(sched, 29, 5), 0.1, kind="schedule")
    assert_close(lr_at_epoch(sched, 30, 5), 0.01, kind="schedule")
    with pytest.raises(ValueError, match="lr_at_epoch: epoch must be a non-negative integer"):
        lr_at_epoch(sched, -1, 5)


@pytest.mark.parametrize(
    "call,match,exc",
    [
        (lambda: step_lr(-0.1), "step_lr: base_lr must be a finite number >= 0", ValueError),
        (lambda: step_lr(0.1, 0), "step_lr: step_size must be a positive integer", ValueError),
        (lambda: step_lr(0.1, 2.5), "step_lr: step_size must be a positive integer", ValueError),
        (lambda: step_lr(0.1, 30, -0.5), "step_lr: gamma must be a finite number >= 0", ValueError),
        (
            lambda: step_lr(0.1, steps_per_epoch=0),
            "step_lr: steps_per_epoch must be a positive integer",
            ValueError,
        ),
        (lambda: cosine_annealing(0.1, 0), "cosine_annealing: t_max must be a positive integer", ValueError),
        (
            lambda: cosine_annealing(0.1, 10, float("nan")),
            "cosine_annealing: eta_min must be a finite",
            ValueError,
        ),
        (lambda: cosine_annealing("a"), "cosine_annealing: base_lr must be a non-negative number", TypeError),
        (lambda: constant(float("inf")), "constant: base_lr must be a finite number >= 0", ValueError),
        (
            lambda: create_lr_scheduler(0.1, "exp"),
            "create_lr_scheduler: mode must be one of 'constant', 'step', 'cosine', got 'exp'",
            ValueError,
        ),
        (
            lambda: create_lr_scheduler(0.1, "step", t_max=3),
            "options of mode 'step' \\(step_size, gamma\\), got t_max",
            TypeError,
        ),
        (
            lambda: create_lr_scheduler(0.1, "constant", gamma=3),
            "mode 'constant' \\(none\\), got gamma",
            TypeError,
        ),
        (
            lambda: create_lr_scheduler(0.1, "constant", steps_per_epoch=-2),
            "create_lr_scheduler: steps_per_epoch must be a positive integer",
            ValueError,
        ),
    ],
)
def test_bad_arguments(call, match, exc):
    with pytest.raises(exc, match=match):
        call()


def test_every_schedule_name_builds_a_schedule_starting_at_base_lr():
    from jnnbasics.schedules import SCHEDULES

    assert SCHEDULES == ("constant", "step", "cosine")
    for name in SCHEDULES:
        assert_close(create_lr_scheduler(0.1, name, steps_per_epoch=4)(0), 0.1, kind="schedule")
