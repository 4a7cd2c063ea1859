"""The optimizer: optax Adam assembled to take the same steps as ``torch.optim.Adam``."""

from __future__ import annotations

from typing import Any

import optax

from ._checks import check_nonnegative_float, fail
from ._types import Schedule
from .schedules import constant


def _check_beta(name: str, value: Any) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        fail("make_optimizer", name, "a number in [0, 1)", repr(value), exc=TypeError)
    if not 0.0 <= f < 1.0:
        fail("make_optimizer", name, "in [0, 1)", repr(value))
    return f


def make_optimizer(
    learning_rate: Any = 1e-3,
    *,
    schedule: Schedule | None = None,
    weight_decay: Any = 0.0,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    """Adam with PyTorch's semantics: ``torch.optim.Adam(lr, betas=(b1, b2), eps, weight_decay)``.

    The update is the chain ``add_decayed_weights(weight_decay) -> scale_by_adam(b1, b2, eps) ->
    scale_by_learning_rate(schedule)``. As in ``torch.optim.Adam`` (not ``AdamW``),
    ``weight_decay`` is an L2 term ``weight_decay * param`` added to the gradient *before* the Adam
    moments, so it is normalised by Adam like the gradient. Both compute
    ``param -= lr * m_hat / (sqrt(v_hat) + eps)`` with bias-corrected moments ``m_hat = m/(1-b1^t)``,
    ``v_hat = v/(1-b2^t)`` and ``eps`` outside the square root (torch writes
    ``sqrt(v)/sqrt(1-b2^t) + eps``, the same value up to rounding).

    The optimizer state always has the same structure (a 3-tuple:
    decay state, Adam state with its count and moments, schedule state with its count) whether a
    constant rate or a schedule is used and whatever ``weight_decay`` is, so checkpoints and
    ``jax.vmap`` over hyperparameters see one layout. The schedule is evaluated at the number of
    updates taken so far (0 for the first update), as optax does.

    Args:
        learning_rate: the constant learning rate (>= 0), a traced scalar (so that ``jax.vmap``
            can map over learning rates: build the optimizer inside the mapped function), or an
            optax schedule. Ignored when ``schedule`` is given.
        schedule: an optax schedule ``count -> lr`` (e.g. :func:`jnnbasics.step_lr`); takes
            precedence over ``learning_rate``.
        weight_decay: L2 coefficient added to the gradient (torch's ``weight_decay``), >= 0; may be
            traced.
        b1: decay of the first moment (torch's ``betas[0]``), in [0, 1).
        b2: decay of the second moment (torch's ``betas[1]``), in [0, 1).
        eps: added to ``sqrt(v_hat)`` in the denominator, >= 0.

    Returns:
        An ``optax.GradientTransformation``; ``update(grads, opt_state, params)`` needs ``params``
        (for the weight decay).

    Raises:
        ValueError: for a negative ``learning_rate``/``weight_decay``/``eps`` or betas outside
            [0, 1), with the same limits as ``torch.optim.Adam``.
        TypeError: for non-numeric arguments or a ``schedule`` that is not callable.

    Example:
        >>> opt = make_optimizer(1e-3, weight_decay=1e-4)
        >>> opt_state = opt.init(params)
        >>> updates, opt_state = opt.update(grads, opt_state, params)
        >>> params = optax.apply_updates(params, updates)
    """
    if schedule is not None:
        if not callable(schedule):
            fail(
                "make_optimizer",
                "schedule",
                "an optax schedule (a callable) or None",
                repr(schedule),
                exc=TypeError,
            )
        lr_fn = schedule
    elif callable(learning_rate):
        lr_fn = learning_rate
    else:
        lr_fn = constant(check_nonnegative_float("make_optimizer", "learning_rate", learning_rate))
    weight_decay = check_nonnegative_float("make_optimizer", "weight_decay", weight_decay)
    b1 = _check_beta("b1", b1)
    b2 = _check_beta("b2", b2)
    eps = check_nonnegative_float("make_optimizer", "eps", eps)
    return optax.chain(
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_adam(b1=b1, b2=b2, eps=eps),
        optax.scale_by_learning_rate(lr_fn),
    )
