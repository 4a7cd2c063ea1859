"""Losses: values and gradients against torch.nn losses, all reductions and label forms; errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from torch_reference import compute_loss as torch_compute_loss

import jnnbasics as jb

REDUCTIONS = ["mean", "sum", "none"]


def _t(x, grad=False):
    return torch.tensor(np.asarray(x), requires_grad=grad)


def _rng(seed=0):
    return np.random.default_rng(seed)


@functools.cache
def _all_reductions(fn, argnums):
    """One jitted function per loss: value and VJP for every reduction at once (one compile).

    Floating options (``label_smoothing``) are traced arguments, so they do not recompile.
    """

    def one(p, t, cot, kw, reduction):
        def f(*a):
            return jnp.sum(fn(*a, reduction=reduction, **kw) * cot)

        return fn(p, t, reduction=reduction, **kw), jax.grad(f, argnums=argnums)(p, t)

    @jax.jit
    def run(p, t, cot_none, kw):
        one_ = np.ones((), p.dtype)
        return {r: one(p, t, cot_none if r == "none" else one_, kw, r) for r in REDUCTIONS}

    return run


def _ours(fn, pred, target, cot_none, argnums=0, **kw):
    return _all_reductions(fn, argnums)(pred, target, cot_none, kw)


def _theirs(fn, pred, target, cot=None, grad_target=False, **kw):
    p, t = _t(pred, True), _t(target, grad_target)
    out = fn(p, t, **kw)
    (out * _t(cot)).sum().backward() if cot is not None else out.backward()
    return out.detach(), (t.grad if grad_target else p.grad)


def _compare_all_reductions(ours_fn, torch_fn, pred, target, cot_none, dtype, grad_target=False, **kw):
    ours = _ours(ours_fn, pred, target, cot_none, argnums=(0, 1) if grad_target else 0, **kw)
    for reduction in REDUCTIONS:
        value, grad = ours[reduction]
        cot = cot_none if reduction == "none" else None
        tv, tg = _theirs(torch_fn, pred, target, cot, reduction=reduction, **kw)
        assert value.dtype == dtype
        assert_close(value, tv, dtype, err_msg=reduction)
        assert_close(grad[0] if grad_target else grad, tg, dtype, err_msg=reduction)
        if grad_target:
            _, tgt = _theirs(torch_fn, pred, target, cot, grad_target=True, reduction=reduction, **kw)
            assert_close(grad[1], tgt, dtype, err_msg=f"target gradient, {reduction}")


@pytest.mark.parametrize("shape", [(8, 1), (6, 3)])
def test_mse_matches_torch(shape, dtype):
    r = _rng(1)
    pred, target = r.standard_normal(shape).astype(dtype), r.standard_normal(shape).astype(dtype)
    _compare_all_reductions(jb.mse, F.mse_loss, pred, target, r.standard_normal(shape).astype(dtype), dtype)


@pytest.mark.parametrize("form", ["indices", "probabilities"])
def test_cross_entropy_matches_torch(form, dtype):
    r = _rng(2)
    logits = (2 * r.standard_normal((7, 4))).astype(dtype)
    if form == "indices":
        labels = r.integers(0, 4, 7)
    else:
        labels = r.dirichlet(np.ones(4), 7).astype(dtype)
    cot = r.standard_normal(7).astype(dtype)
    for smoothing in (0.0, 0.1, 0.35):
        _compare_all_reductions(
            jb.cross_entropy,
            F.cross_entropy,
            logits,
            labels,
            cot,
            dtype,
            grad_target=form == "probabilities",  # gradient with respect to soft labels too
            label_smoothing=smoothing,
        )


def test_binary_cross_entropy_matches_torch(dtype):
    r = _rng(3)
    probs = r.uniform(0.01, 0.99, (9, 1)).astype(dtype)
    targets = r.uniform(0, 1, (9, 1)).astype(dtype)
    cot = r.standard_normal((9, 1)).astype(dtype)
    _compare_all_reductions(
        jb.binary_cross_entropy, F.binary_cross_entropy, probs, targets, cot, dtype, grad_target=True
    )


def test_binary_cross_entropy_at_exact_zero_and_one(dtype):
    # every combination of p in {0, 1} with hard and soft targets, plus tiny probabilities;
    # torch's gradient is (p - t) / max(p (1 - p), 1e-12), e.g. -1e12 at p=0, t=1
    probs = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1e-30, 0.5], dtype)
    targets = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.3, 1.0, 1.0], dtype)
    cot = np.linspace(0.5, 2.0, 8).astype(dtype)
    ours = _ours(jb.binary_cross_entropy, probs, targets, cot)
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree_util.tree_leaves(ours))
    _compare_all_reductions(jb.binary_cross_entropy, F.binary_cross_entropy, probs, targets, cot, dtype)


def test_bce_with_logits_matches_torch(dtype):
    r = _rng(4)
    logits = (3 * r.standard_normal((10, 2))).astype(dtype)
    logits[0] = [1e4, -1e4]  # stable at extreme logits
    targets = r.uniform(0, 1, (10, 2)).astype(dtype)
    targets[1] = [0.0, 1.0]
    cot = r.standard_normal((10, 2)).astype(dtype)
    ours = _ours(jb.binary_cross_entropy_with_logits, logits, targets, cot)
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree_util.tree_leaves(ours))
    _compare_all_reductions(
        jb.binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits,
        logits,
        targets,
        cot,
        dtype,
        grad_target=True,
    )


def test_cross_entropy_unbatched_and_extreme_logits(dtype):
    logits = np.array([1e4, -1e4, 0.0], dtype)
    for labels in (np.array(1), np.array([0.2, 0.3, 0.5], dtype)):
        value, grad = _ours(jb.cross_entropy, logits, labels, np.ones((), dtype), label_smoothing=0.1)["mean"]
        tv, tg = _theirs(F.cross_entropy, logits, labels, label_smoothing=0.1)
        assert np.isfinite(value) and np.all(np.isfinite(np.asarray(grad)))
        assert_close(value, tv, dtype)
        assert_close(grad, tg, dtype)


def test_integer_targets_are_converted_exactly(dtype):
    probs = np.array([[0.2], [0.9]], dtype)
    ours = jax.jit(jb.binary_cross_entropy)(probs, np.array([[0], [1]]))
    assert ours.dtype == dtype
    assert_close(ours, F.binary_cross_entropy(_t(probs), _t(np.array([[0.0], [1.0]], dtype))), dtype)


@pytest.mark.parametrize("loss_type", jb.LOSS_TYPES)
def test_compute_loss_dispatches_like_the_tutorial(loss_type, dtype):
    r = _rng(5)
    if loss_type == "cross_entropy":
        pred, target = r.standard_normal((6, 3)).astype(dtype), r.integers(0, 3, 6)
    elif loss_type == "binary_cross_entropy":
        pred, target = r.uniform(0.05, 0.95, (6, 1)).astype(dtype), r.integers(0, 2, (6, 1)).astype(dtype)
    else:
        pred, target = r.standard_normal((6, 1)).astype(dtype), r.integers(0, 2, (6, 1)).astype(dtype)
    ours, per_sample = jax.jit(
        lambda p, t: (jb.compute_loss(p, t, loss_type), jb.compute_loss(p, t, loss_type, reduction="none"))
    )(pred, target)
    assert_close(ours, torch_compute_loss(_t(pred), _t(target), loss_type), dtype)
    assert per_sample.shape[0] == 6


def test_default_loss_type_is_mse():
    assert_close(jb.compute_loss(np.zeros((2, 1)), np.ones((2, 1))), np.float32(1.0))


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn,name",
    [
        (jb.mse, "mse"),
        (jb.binary_cross_entropy, "binary_cross_entropy"),
        (jb.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits"),
    ],
)
def test_no_silent_broadcasting(fn, name):
    pred, target = np.full((5,), 0.5), np.full((5, 1), 0.5)
    with pytest.raises(
        ValueError,
        match=rf"{name}: \w+ and targets? must have the same shape, got \w+ \(5,\) and targets? \(5, 1\)",
    ):
        fn(pred, target)
    with pytest.raises(ValueError, match="must have the same shape"):  # also under jit
        jax.jit(fn)(target, pred)
    with pytest.raises(ValueError, match="must have the same shape"):
        jb.compute_loss(
            pred,
            target,
            {"mse": "mse", "binary_cross_entropy": "binary_cross_entropy"}.get(name, "bce_with_logits"),
        )


def test_cross_entropy_bad_labels():
    logits = np.zeros((4, 3))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: labels must be integer class indices of shape \(4,\) .* got shape \(5,\)",
    ):
        jb.cross_entropy(logits, np.zeros(5, np.int32))
    with pytest.raises(ValueError, match=r"labels must be integer class indices of shape \(4,\)"):
        jax.jit(jb.cross_entropy)(logits, np.zeros(5, np.int32))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: labels must be probabilities over 3 classes, shape \(4, 3\), got shape \(4, 2\) \(2 classes\)",
    ):
        jb.cross_entropy(logits, np.full((4, 2), 0.5))
    with pytest.raises(
        ValueError,
        match=r"labels must be probabilities of shape \(4, 3\) \(batch size \(4,\) like logits\), got shape \(5, 3\)",
    ):
        jb.cross_entropy(logits, np.full((5, 3), 1 / 3))
    with pytest.raises(
        TypeError,
        match=r"cross_entropy: labels must be integer class indices when of shape \(batch,\), got dtype float32; cast",
    ):
        jb.cross_entropy(logits, np.zeros(4))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: labels must be class labels in \[0, 3\) for logits of 3 classes, got 3 at row 3 "
        r"\(target 3 is out of bounds",
    ):
        jb.cross_entropy(logits, jnp.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5"):
        jb.cross_entropy(logits, np.zeros(4, np.int32), label_smoothing=1.5)
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: logits must be of shape \(batch, classes\) or \(classes,\), got shape \(2, 2, 3\)",
    ):
        jb.cross_entropy(np.zeros((2, 2, 3)), np.zeros((2, 2), np.int32))


def test_other_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"compute_loss: loss_type must be one of 'mse', 'cross_entropy', 'binary_cross_entropy', 'bce_with_logits', got 'hinge'",
    ):
        jb.compute_loss(np.zeros(2), np.zeros(2), "hinge")
    with pytest.raises(ValueError, match=r"mse: reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        jb.mse(np.zeros(2), np.zeros(2), reduction="avg")
    with pytest.raises(TypeError, match=r"mse: pred must be a floating-point array, got dtype int32"):
        jb.mse(np.zeros(2, np.int32), np.zeros(2))
    with pytest.raises(TypeError, match=r"cross_entropy: logits must be a floating-point array"):
        jb.cross_entropy(np.zeros((2, 3), np.int32), np.zeros(2, np.int32))
