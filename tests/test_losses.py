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
def _value_and_vjp(fn, static, argnums):
    """One jitted (value, vjp) function per loss, static options and argnum (cached)."""

    def f(p, t, cot, tr):
        return jnp.sum(fn(p, t, **dict(static), **tr) * cot)

    @jax.jit
    def both(p, t, cot, tr):
        return fn(p, t, **dict(static), **tr), jax.grad(f, argnums=argnums)(p, t, cot, tr)

    return both


def _ours(fn, pred, target, cot=None, argnums=0, **kw):
    """Value and VJP (cotangent ``cot``; 1 for reduced losses) of ``fn``, under jit.

    Floating keyword options (``label_smoothing``) are passed traced, so one compilation serves
    every value of them.
    """
    static = tuple(sorted((k, v) for k, v in kw.items() if isinstance(v, str)))
    traced = {k: v for k, v in kw.items() if not isinstance(v, str)}
    cot = np.ones((), np.asarray(pred).dtype) if cot is None else cot
    return _value_and_vjp(fn, static, argnums)(pred, target, cot, traced)


def _theirs(fn, pred, target, cot=None, grad_target=False, **kw):
    p, t = _t(pred, True), _t(target, grad_target)
    out = fn(p, t, **kw)
    (out * _t(cot)).sum().backward() if cot is not None else out.backward()
    return out.detach(), (t.grad if grad_target else p.grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(8, 1), (6, 3)])
def test_mse_matches_torch(shape, reduction, dtype):
    r = _rng(1)
    pred, target = r.standard_normal(shape).astype(dtype), r.standard_normal(shape).astype(dtype)
    cot = r.standard_normal(shape).astype(dtype) if reduction == "none" else None
    v, g = _ours(jb.mse, pred, target, cot, reduction=reduction)
    tv, tg = _theirs(F.mse_loss, pred, target, cot, reduction=reduction)
    assert v.dtype == dtype
    assert_close(v, tv, dtype)
    assert_close(g, tg, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("form", ["indices", "probabilities"])
def test_cross_entropy_matches_torch(form, reduction, dtype):
    r = _rng(2)
    logits = (2 * r.standard_normal((7, 4))).astype(dtype)
    if form == "indices":
        labels = r.integers(0, 4, 7)
    else:
        labels = r.dirichlet(np.ones(4), 7).astype(dtype)
    cot = r.standard_normal(7).astype(dtype) if reduction == "none" else None
    for smoothing in (0.0, 0.1, 0.35):
        kw = {"label_smoothing": smoothing, "reduction": reduction}
        v, g = _ours(jb.cross_entropy, logits, labels, cot, **kw)
        tv, tg = _theirs(F.cross_entropy, logits, labels, cot, **kw)
        assert_close(v, tv, dtype)
        assert_close(g, tg, dtype)
        if form == "probabilities":  # gradient with respect to the soft labels too
            _, gl = _ours(jb.cross_entropy, logits, labels, cot, argnums=1, **kw)
            _, tgl = _theirs(F.cross_entropy, logits, labels, cot, grad_target=True, **kw)
            assert_close(gl, tgl, dtype)


def test_cross_entropy_unbatched_and_extreme_logits(dtype):
    logits = np.array([1e4, -1e4, 0.0], dtype)
    for labels in (np.array(1), np.array([0.2, 0.3, 0.5], dtype)):
        v, g = _ours(jb.cross_entropy, logits, labels, label_smoothing=0.1)
        tv, tg = _theirs(F.cross_entropy, logits, labels, label_smoothing=0.1)
        assert np.isfinite(v) and np.all(np.isfinite(np.asarray(g)))
        assert_close(v, tv, dtype)
        assert_close(g, tg, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(reduction, dtype):
    r = _rng(3)
    probs = r.uniform(0.01, 0.99, (9, 1)).astype(dtype)
    targets = r.uniform(0, 1, (9, 1)).astype(dtype)
    cot = r.standard_normal((9, 1)).astype(dtype) if reduction == "none" else None
    v, g = _ours(jb.binary_cross_entropy, probs, targets, cot, reduction=reduction)
    tv, tg = _theirs(F.binary_cross_entropy, probs, targets, cot, reduction=reduction)
    assert_close(v, tv, dtype)
    assert_close(g, tg, dtype)
    _, gt = _ours(jb.binary_cross_entropy, probs, targets, cot, argnums=1, reduction=reduction)
    _, tgt = _theirs(F.binary_cross_entropy, probs, targets, cot, grad_target=True, reduction=reduction)
    assert_close(gt, tgt, dtype)


def test_binary_cross_entropy_at_exact_zero_and_one(dtype):
    # every combination of p in {0, 1} with hard and soft targets, plus tiny probabilities
    probs = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1e-30, 0.5], dtype)
    targets = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.3, 1.0, 1.0], dtype)
    v, g = _ours(jb.binary_cross_entropy, probs, targets, reduction="sum")
    tv, tg = _theirs(F.binary_cross_entropy, probs, targets, reduction="sum")
    none = jb.binary_cross_entropy(jnp.asarray(probs), jnp.asarray(targets), reduction="none")
    assert np.all(np.isfinite(np.asarray(none))) and np.all(np.isfinite(np.asarray(g)))
    assert_close(none, F.binary_cross_entropy(_t(probs), _t(targets), reduction="none"), dtype)
    assert_close(v, tv, dtype)
    assert_close(g, tg, dtype)  # torch's (p - t) / max(p (1 - p), 1e-12), e.g. -1e12 at p=0, t=1


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(reduction, dtype):
    r = _rng(4)
    logits = (3 * r.standard_normal((10, 2))).astype(dtype)
    logits[0] = [1e4, -1e4]  # stable at extreme logits
    targets = r.uniform(0, 1, (10, 2)).astype(dtype)
    targets[1] = [0.0, 1.0]
    cot = r.standard_normal((10, 2)).astype(dtype) if reduction == "none" else None
    v, g = _ours(jb.binary_cross_entropy_with_logits, logits, targets, cot, reduction=reduction)
    tv, tg = _theirs(F.binary_cross_entropy_with_logits, logits, targets, cot, reduction=reduction)
    assert np.all(np.isfinite(np.asarray(v))) and np.all(np.isfinite(np.asarray(g)))
    assert_close(v, tv, dtype)
    assert_close(g, tg, dtype)


def test_integer_targets_are_converted_exactly(dtype):
    probs = np.array([[0.2], [0.9]], dtype)
    ours = jb.binary_cross_entropy(jnp.asarray(probs), jnp.array([[0], [1]]))
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
    ours = jax.jit(lambda p, t: jb.compute_loss(p, t, loss_type))(pred, target)
    assert_close(ours, torch_compute_loss(_t(pred), _t(target), loss_type), dtype)
    assert jb.compute_loss(pred, target, loss_type, reduction="none").shape[0] == 6


def test_default_loss_type_is_mse():
    assert_close(jb.compute_loss(jnp.zeros((2, 1)), jnp.ones((2, 1))), np.float32(1.0))


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
    pred, target = jnp.full((5,), 0.5), jnp.full((5, 1), 0.5)
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
    logits = jnp.zeros((4, 3))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: labels must be integer class indices of shape \(4,\) .* got shape \(5,\)",
    ):
        jb.cross_entropy(logits, jnp.zeros(5, jnp.int32))
    with pytest.raises(ValueError, match=r"labels must be integer class indices of shape \(4,\)"):
        jax.jit(jb.cross_entropy)(logits, jnp.zeros(5, jnp.int32))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: labels must be probabilities over 3 classes, shape \(4, 3\), got shape \(4, 2\) \(2 classes\)",
    ):
        jb.cross_entropy(logits, jnp.full((4, 2), 0.5))
    with pytest.raises(
        ValueError,
        match=r"labels must be probabilities of shape \(4, 3\) \(batch size \(4,\) like logits\), got shape \(5, 3\)",
    ):
        jb.cross_entropy(logits, jnp.full((5, 3), 1 / 3))
    with pytest.raises(
        TypeError,
        match=r"cross_entropy: labels must be integer class indices when of shape \(batch,\), got dtype float32; cast",
    ):
        jb.cross_entropy(logits, jnp.zeros(4))
    with pytest.raises(
        ValueError, match=r"cross_entropy: labels must be class indices in \[0, 3\), got values in \[0, 3\]"
    ):
        jb.cross_entropy(logits, jnp.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5"):
        jb.cross_entropy(logits, jnp.zeros(4, jnp.int32), label_smoothing=1.5)
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: logits must be of shape \(batch, classes\) or \(classes,\), got shape \(2, 2, 3\)",
    ):
        jb.cross_entropy(jnp.zeros((2, 2, 3)), jnp.zeros((2, 2), jnp.int32))


def test_other_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"compute_loss: loss_type must be one of 'mse', 'cross_entropy', 'binary_cross_entropy', 'bce_with_logits', got 'hinge'",
    ):
        jb.compute_loss(jnp.zeros(2), jnp.zeros(2), "hinge")
    with pytest.raises(ValueError, match=r"mse: reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        jb.mse(jnp.zeros(2), jnp.zeros(2), reduction="avg")
    with pytest.raises(TypeError, match=r"mse: pred must be a floating-point array, got dtype int32"):
        jb.mse(jnp.zeros(2, jnp.int32), jnp.zeros(2))
    with pytest.raises(TypeError, match=r"cross_entropy: logits must be a floating-point array"):
        jb.cross_entropy(jnp.zeros((2, 3), jnp.int32), jnp.zeros(2, jnp.int32))
