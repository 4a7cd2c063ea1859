"""Learning-rate schedules that reproduce PyTorch's epoch schedulers as optax schedules.

PyTorch's ``StepLR`` and ``CosineAnnealingLR`` are stepped once per *epoch*; an optax schedule is a
function of the *optimizer step* count. Each schedule here takes ``steps_per_epoch`` and holds the
learning rate constant within an epoch: ``epoch = count // steps_per_epoch``, and the value is the
``optimizer.param_groups[0]["lr"]`` that torch uses during that epoch (after ``epoch`` calls to
``scheduler.step()``). Every schedule accepts a traced integer ``count`` (or an array of counts) and
computes in JAX's default float dtype (float32, or float64 with ``jax_enable_x64``).

Why not optax's own schedules: ``optax.cosine_decay_schedule`` stops at its end, while torch's
cosine keeps following the cosine back up after ``T_max`` epochs (period ``2 * T_max``); and
``optax.exponential_decay(staircase=True)`` raises a float32 ``gamma`` to the power ``k``, which
drifts from torch's float64 values by ``k`` float32 roundings (6.6e-6 relative for ``gamma=0.9``,
``k=249``). The versions below agree with torch to float rounding (see tests/test_schedules.py).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_choice, check_nonnegative_float, check_positive_int, fail
from ._types import Schedule

# step_lr looks gamma**k up in two tables of correctly rounded values (k mod B, (k // B) mod B) and
# only raises gamma**(B*B) to a power beyond that, so float32 results stay within a few roundings.
_TABLE = 64


def _float_dtype() -> Any:
    """JAX's default float dtype right now (float64 only when x64 is enabled)."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def _epoch(count: Any, steps_per_epoch: int) -> jax.Array:
    return jnp.asarray(count) // steps_per_epoch


def _safe_pow(base: float, exponent: int) -> float:
    try:
        return float(base) ** exponent
    except OverflowError:
        return math.inf


def constant(base_lr: Any) -> Schedule:
    """A schedule that always returns ``base_lr`` (no scheduler in PyTorch terms).

    Args:
        base_lr: the learning rate, a number >= 0 (or a traced scalar, e.g. under ``jax.vmap``).

    Returns:
        An optax schedule ``f(count) -> lr``; ``lr`` is a scalar in the default float dtype, or
        has ``count``'s shape when ``count`` is an array.

    Raises:
        ValueError: if ``base_lr`` is negative or not finite.

    Example:
        >>> constant(1e-3)(10)
        Array(0.001, dtype=float32)
    """
    base_lr = check_nonnegative_float("constant", "base_lr", base_lr)

    def schedule(count: Any) -> jax.Array:
        return jnp.full(jnp.shape(count), base_lr, dtype=_float_dtype())

    return schedule


def step_lr(base_lr: Any, step_size: int = 30, gamma: float = 0.1, *, steps_per_epoch: int = 1) -> Schedule:
    """``torch.optim.lr_scheduler.StepLR`` stepped once per epoch, as an optax schedule.

    The learning rate in epoch ``e = count // steps_per_epoch`` is
    ``base_lr * gamma ** (e // step_size)``.

    Args:
        base_lr: the initial learning rate (torch's optimizer ``lr``), >= 0; may be traced.
        step_size: decay every ``step_size`` epochs (positive integer).
        gamma: multiplicative decay factor, a finite number >= 0.
        steps_per_epoch: optimizer steps per epoch (batches per epoch), positive integer.

    Returns:
        An optax schedule ``f(count) -> lr`` that works with traced integer counts under ``jit``
        and with arrays of counts (elementwise).

    Raises:
        ValueError: for a negative ``base_lr``/``gamma`` or a non-positive ``step_size`` /
            ``steps_per_epoch``.

    Example:
        >>> sched = step_lr(0.1, step_size=30, gamma=0.1, steps_per_epoch=10)
        >>> float(sched(299)), float(sched(300))  # epoch 29 and epoch 30
        (0.1..., 0.01...)
    """
    base_lr = check_nonnegative_float("step_lr", "base_lr", base_lr)
    step_size = check_positive_int("step_lr", "step_size", step_size)
    gamma = check_nonnegative_float("step_lr", "gamma", gamma)
    steps_per_epoch = check_positive_int("step_lr", "steps_per_epoch", steps_per_epoch)
    powers = np.array(
        [_safe_pow(gamma, j) for j in range(_TABLE)]
        + [_safe_pow(gamma, _TABLE * j) for j in range(_TABLE)]
        + [_safe_pow(gamma, _TABLE * _TABLE)]
    )
    with np.errstate(over="ignore"):  # gamma > 1: large powers become inf, as in float arithmetic
        tables = {np.dtype(dt): powers.astype(dt) for dt in (np.float32, np.float64)}

    def schedule(count: Any) -> jax.Array:
        k = _epoch(count, steps_per_epoch) // step_size
        table = jnp.asarray(tables[np.dtype(_float_dtype())])
        factor = table[k % _TABLE] * table[_TABLE + (k // _TABLE) % _TABLE]
        q = k // (_TABLE * _TABLE)
        top = table[2 * _TABLE]
        factor = jnp.where(q > 0, factor * jnp.power(top, q.astype(table.dtype)), factor)
        return base_lr * factor

    return schedule


def cosine_annealing(
    base_lr: Any, t_max: int = 100, eta_min: float = 0.0, *, steps_per_epoch: int = 1
) -> Schedule:
    """``torch.optim.lr_scheduler.CosineAnnealingLR`` stepped once per epoch, as an optax schedule.

    The learning rate in epoch ``e = count // steps_per_epoch`` is
    ``eta_min + (base_lr - eta_min) * (1 + cos(pi * e / t_max)) / 2`` for every ``e`` — including
    after ``t_max`` epochs, where torch's recursive update keeps following the cosine back up to
    ``base_lr`` at ``2 * t_max`` (period ``2 * t_max``); it does not stay at ``eta_min``. Torch's
    recursive form and this closed form agree to about 1e-12 relative in float64.

    For float32 accuracy near the minimum the phase is reduced exactly in integers and the value is
    computed as ``base_lr * cos(theta)**2 + eta_min * sin(theta)**2`` with ``theta = pi*e/(2*t_max)``
    folded into ``[0, pi/4]``, which avoids the cancellation in ``1 + cos(x)`` near ``x = pi``.

    Args:
        base_lr: the initial learning rate (torch's optimizer ``lr``), >= 0; may be traced.
        t_max: half period in epochs (torch's ``T_max``), positive integer.
        eta_min: minimum learning rate, a finite number >= 0.
        steps_per_epoch: optimizer steps per epoch (batches per epoch), positive integer.

    Returns:
        An optax schedule ``f(count) -> lr`` that works with traced integer counts under ``jit``
        and with arrays of counts (elementwise).

    Raises:
        ValueError: for negative ``base_lr``/``eta_min`` or non-positive ``t_max``/``steps_per_epoch``.

    Example:
        >>> sched = cosine_annealing(0.1, t_max=100)
        >>> float(sched(0)), float(sched(100)), float(sched(200))
        (0.1..., 0.0, 0.1...)
    """
    base_lr = check_nonnegative_float("cosine_annealing", "base_lr", base_lr)
    t_max = check_positive_int("cosine_annealing", "t_max", t_max)
    eta_min = check_nonnegative_float("cosine_annealing", "eta_min", eta_min)
    steps_per_epoch = check_positive_int("cosine_annealing", "steps_per_epoch", steps_per_epoch)

    def schedule(count: Any) -> jax.Array:
        dt = _float_dtype()
        r = _epoch(count, steps_per_epoch) % (2 * t_max)  # exact phase in [0, 2 t_max)
        m = jnp.where(r <= t_max, r, 2 * t_max - r)  # cos(pi r / T) == cos(pi m / T), m in [0, T]
        upper = 2 * m > t_max  # theta = pi m / (2T) > pi/4: use phi = pi/2 - theta instead
        folded = jnp.where(upper, t_max - m, m).astype(dt)
        angle = jnp.pi * folded / (2 * t_max)
        c, s = jnp.cos(angle) ** 2, jnp.sin(angle) ** 2
        cos2 = jnp.where(upper, s, c)  # cos(theta)^2 == (1 + cos(pi e / T)) / 2
        sin2 = jnp.where(upper, c, s)
        return base_lr * cos2 + eta_min * sin2

    return schedule


SCHEDULES: tuple[str, ...] = ("constant", "step", "cosine")
"""The schedule names (``create_lr_scheduler``'s modes); the one copy, used by training and the CLI."""

_MODE_KWARGS = {"step": ("step_size", "gamma"), "cosine": ("t_max", "eta_min"), "constant": ()}


def create_lr_scheduler(
    base_lr: Any, mode: str = "step", *, steps_per_epoch: int = 1, **kwargs: Any
) -> Schedule:
    """The tutorial's ``create_lr_scheduler`` as an optax schedule.

    ``mode="step"`` is ``step_lr`` (defaults ``step_size=30, gamma=0.1``, as in the tutorial),
    ``mode="cosine"`` is ``cosine_annealing`` (default ``t_max=100``), ``mode="constant"`` keeps
    ``base_lr``. Unlike the tutorial, an unknown mode raises instead of returning ``None``.

    Args:
        base_lr: the initial learning rate, >= 0.
        mode: ``"step"``, ``"cosine"`` or ``"constant"``.
        steps_per_epoch: optimizer steps per epoch, positive integer.
        **kwargs: options of the chosen schedule (``step_size``, ``gamma`` for ``"step"``;
            ``t_max``, ``eta_min`` for ``"cosine"``; none for ``"constant"``).

    Returns:
        An optax schedule ``f(count) -> lr``.

    Raises:
        ValueError: for an unknown ``mode`` or bad option values.
        TypeError: for an option the chosen mode does not take.

    Example:
        >>> sched = create_lr_scheduler(1e-3, "cosine", steps_per_epoch=8, t_max=50)
    """
    check_choice("create_lr_scheduler", "mode", mode, SCHEDULES)
    unknown = sorted(set(kwargs) - set(_MODE_KWARGS[mode]))
    if unknown:
        accepted = ", ".join(_MODE_KWARGS[mode]) or "none"
        fail(
            "create_lr_scheduler",
            "the options",
            f"among the options of mode {mode!r} ({accepted})",
            ", ".join(unknown),
            exc=TypeError,
        )
    if mode == "step":
        return step_lr(base_lr, steps_per_epoch=steps_per_epoch, **kwargs)
    if mode == "cosine":
        return cosine_annealing(base_lr, steps_per_epoch=steps_per_epoch, **kwargs)
    check_positive_int("create_lr_scheduler", "steps_per_epoch", steps_per_epoch)
    return constant(base_lr)


def lr_at_epoch(schedule: Schedule, epoch: int, steps_per_epoch: int = 1) -> float:
    """The learning rate ``schedule`` gives during ``epoch`` (its first optimizer step), as a float.

    Args:
        schedule: an optax schedule (e.g. from :func:`step_lr`).
        epoch: 0-based epoch index.
        steps_per_epoch: optimizer steps per epoch.

    Returns:
        ``float(schedule(epoch * steps_per_epoch))``.

    Example:
        >>> lr_at_epoch(step_lr(0.1, 30), 30)
        0.01...
    """
    if not callable(schedule):
        fail(
            "lr_at_epoch",
            "schedule",
            "an optax schedule (a callable of the step count)",
            repr(schedule),
            exc=TypeError,
        )
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        fail("lr_at_epoch", "epoch", "a non-negative integer", repr(epoch))
    steps_per_epoch = check_positive_int("lr_at_epoch", "steps_per_epoch", steps_per_epoch)
    return float(schedule(int(epoch) * steps_per_epoch))
