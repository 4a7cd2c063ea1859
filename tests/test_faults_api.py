"""The Python API's fault catalogue (issue 9): bad input, divergence and numerical edge cases.

``CASES`` is one table of :class:`faults.Fault` records — each a bad call of a public function, the
exception it must raise and a fragment of the message (which names the argument) — run by one test;
``docs/errors.md`` is generated from it and from ``tests/test_faults_cli.py``'s table. The numeric
items (PyTorch's gradient of ``leaky_relu`` at 0, BCE-with-logits at large logits with soft
targets, divergence while finite) and the "nothing lost" checks are separate tests below.
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from faults import Fault, check_unique_ids
from helpers import assert_close, assert_trees_close, x64

import jnnbasics as jnb
from jnnbasics import metrics
from jnnbasics.checkpoint import load_checkpoint, read_checkpoint_metadata
from jnnbasics.training.history import DIVERGENCE_FACTOR, divergence

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


def _bce_values(x, t):
    """Elementwise BCE-with-logits called eagerly and under jit: XLA may fuse ``a - t * x`` into one
    FMA under jit (which hides a cancellation), so both are checked."""
    fn = functools.partial(jnb.binary_cross_entropy_with_logits, reduction="none")
    return {"eager": fn(x, t), "jit": jax.jit(fn)(x, t)}


def test_bce_with_logits_large_logits_soft_targets_float32():
    # the numbers: softplus(x) - t*x cancels to 1.0 and 10.0; torch's float32 is exact here
    x = np.array([1e4, 1e4, -1e4, -1e4, 1e4, -1e4], np.float32)
    t = np.array([0.9999, 0.999, 0.0001, 0.001, 0.5, 0.5], np.float32)
    expected, (gx, gt) = _torch_bce_logits(x, t)
    assert expected[0] == pytest.approx(1.0001659, rel=1e-6) and expected[1] == pytest.approx(
        9.999871, rel=1e-6
    )
    grads = jax.grad(lambda a, b: jnb.binary_cross_entropy_with_logits(a, b, reduction="sum"), (0, 1))(x, t)
    for how, loss in _bce_values(x, t).items():
        assert_close(loss, expected, np.float32, err_msg=how)
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

    grads = jax.jit(jax.grad(total, argnums=(0, 1)))(x, t)
    for how, value in _bce_values(x, t).items():
        assert value.dtype == dtype and np.all(np.isfinite(np.asarray(value)))
        assert_close(value, exact.astype(dtype), dtype, err_msg=how)
    assert_close(grads[0], gx, dtype, "grad")
    assert_close(grads[1], gt, dtype, "grad")


# --------------------------------------------------------------------------------------------------
# the catalogue: one bad call per record, the exception it raises and a fragment of its message

K = jax.random.key(0)
X = np.random.default_rng(0).normal(size=(12, 2)).astype(np.float32)
Y_BIN = (X[:, 0] > 0).astype(np.int64)
Y_CLS = np.arange(12) % 3
LOGITS = np.zeros((4, 3), np.float32)


@functools.cache
def _model(sizes=(2, 8, 1), loss="bce_with_logits"):
    return jnb.mlp(list(sizes), loss_type=loss)


@functools.cache
def _params(sizes=(2, 8, 1)):
    return jnb.init_mlp(K, list(sizes))


def _train(**kw):
    """``train_model`` on the small binary problem (1 epoch) with ``kw`` changed."""
    model, data, val = kw.pop("model", _model()), kw.pop("data", (X, Y_BIN)), kw.pop("val", None)
    return jnb.train_model(model, data, val, key=kw.pop("key", K), epochs=kw.pop("epochs", 1), **kw)


def _train3(**kw):
    """``train_model`` on the 3-class problem with ``kw`` changed."""
    return _train(model=_model((2, 8, 3), "cross_entropy"), data=kw.pop("data", (X, Y_CLS)), **kw)


def _as(dtype, tree):
    return jax.tree_util.tree_map(lambda a: a.astype(dtype), tree)


def _scaler():
    return jnb.fit_scaler(X)


def _opt():
    return jnb.make_optimizer(1e-3)


def _checked_step(labels):
    model = _model((2, 8, 3), "cross_entropy")
    step = jnb.make_train_step(model.apply, _opt(), loss_type="cross_entropy", checked=True)
    state = jnb.create_train_state(model.init(K), _opt())
    return step(state, jnp.asarray(X), jnp.asarray(labels))


KEY_MSG = "key must be a PRNG key made with jax.random.key(seed)"
ACTIVATION_CASES = [
    Fault(
        "sigmoid-x-str",
        "activations",
        "sigmoid of a string",
        lambda: jnb.sigmoid("a"),
        TypeError,
        "sigmoid: x must be a numeric array, got str 'a'",
    ),
    Fault(
        "relu-x-none",
        "activations",
        "relu of None",
        lambda: jnb.relu(None),
        TypeError,
        "relu: x must be a numeric array, got None",
    ),
    Fault(
        "gelu-x-strings",
        "activations",
        "gelu of an array of strings",
        lambda: jnb.gelu(np.array(["a"])),
        TypeError,
        "gelu: x must be a numeric array, got ndarray of shape (1,) and dtype <U1",
    ),
    Fault(
        "softmax-axis-out-of-range",
        "activations",
        "softmax over axis 2 of a 2-D array",
        lambda: jnb.softmax(LOGITS, axis=2),
        ValueError,
        "softmax: axis must be an integer in [-2, 2)",
    ),
    Fault(
        "log_softmax-axis-str",
        "activations",
        "log_softmax with axis='rows'",
        lambda: jnb.log_softmax(LOGITS, axis="rows"),
        ValueError,
        "log_softmax: axis must be an integer",
    ),
    Fault(
        "leaky_relu-slope-str",
        "activations",
        "leaky_relu with a string slope",
        lambda: jnb.leaky_relu(LOGITS, "a"),
        TypeError,
        "leaky_relu: negative_slope must be a number",
    ),
    Fault(
        "leaky_relu-slope-nan",
        "activations",
        "leaky_relu with slope NaN",
        lambda: jnb.leaky_relu(LOGITS, float("nan")),
        ValueError,
        "leaky_relu: negative_slope must be a finite number",
    ),
    Fault(
        "get_activation-unknown",
        "activations",
        "an activation name that does not exist",
        lambda: jnb.get_activation("swish"),
        ValueError,
        "get_activation: name must be one of 'relu'",
    ),
]
LOSS_CASES = [
    Fault(
        "mse-broadcast",
        "losses",
        "mse of (n, 1) predictions against (n,) targets",
        lambda: jnb.mse(np.zeros((4, 1)), np.zeros(4)),
        ValueError,
        "mse: pred and target must have the same shape",
    ),
    Fault(
        "mse-pred-int",
        "losses",
        "mse of integer predictions",
        lambda: jnb.mse(np.zeros(2, np.int32), np.zeros(2)),
        TypeError,
        "mse: pred must be a floating-point array, got dtype int32",
    ),
    Fault(
        "mse-target-str",
        "losses",
        "mse against string targets",
        lambda: jnb.mse(np.zeros(2), np.array(["a", "b"])),
        TypeError,
        "mse: target must be a numeric array",
    ),
    Fault(
        "mse-reduction",
        "losses",
        "an unknown reduction",
        lambda: jnb.mse(np.zeros(2), np.zeros(2), reduction="avg"),
        ValueError,
        "mse: reduction must be one of 'mean', 'sum', 'none', got 'avg'",
    ),
    Fault(
        "cross_entropy-label-too-large",
        "losses",
        "cross_entropy with label 3 for 3 classes",
        lambda: jnb.cross_entropy(LOGITS, np.array([0, 3, 1, 2])),
        ValueError,
        "cross_entropy: labels must be class labels in [0, 3) for logits of 3 classes, got 3 at row 1 "
        "(target 3 is out of bounds",
    ),
    Fault(
        "cross_entropy-label-negative",
        "losses",
        "cross_entropy with label -1",
        lambda: jnb.cross_entropy(LOGITS, np.array([-1, 0, 1, 2])),
        ValueError,
        "cross_entropy: labels must be class labels in [0, 3) for logits of 3 classes, got -1 at row 0",
    ),
    Fault(
        "cross_entropy-logits-3d",
        "losses",
        "cross_entropy of 3-D logits",
        lambda: jnb.cross_entropy(np.zeros((2, 2, 3)), np.zeros((2, 2), np.int32)),
        ValueError,
        "cross_entropy: logits must be of shape (batch, classes) or (classes,), got shape (2, 2, 3)",
    ),
    Fault(
        "cross_entropy-float-indices",
        "losses",
        "cross_entropy with float labels of shape (batch,)",
        lambda: jnb.cross_entropy(LOGITS, np.zeros(4)),
        TypeError,
        "cross_entropy: labels must be integer class indices when of shape (batch,)",
    ),
    Fault(
        "cross_entropy-probabilities-classes",
        "losses",
        "cross_entropy with probabilities over 2 of 3 classes",
        lambda: jnb.cross_entropy(LOGITS, np.full((4, 2), 0.5)),
        ValueError,
        "cross_entropy: labels must be probabilities over 3 classes",
    ),
    Fault(
        "cross_entropy-labels-bool",
        "losses",
        "cross_entropy with boolean labels",
        lambda: jnb.cross_entropy(LOGITS, np.zeros(4, bool)),
        TypeError,
        "cross_entropy: labels must be integer indices or floating probabilities, got dtype bool",
    ),
    Fault(
        "cross_entropy-smoothing-range",
        "losses",
        "label_smoothing=1.5",
        lambda: jnb.cross_entropy(LOGITS, np.zeros(4, np.int32), label_smoothing=1.5),
        ValueError,
        "cross_entropy: label_smoothing must be in [0, 1], got 1.5",
    ),
    Fault(
        "cross_entropy-smoothing-str",
        "losses",
        "label_smoothing='a'",
        lambda: jnb.cross_entropy(LOGITS, np.zeros(4, np.int32), label_smoothing="a"),
        TypeError,
        "cross_entropy: label_smoothing must be a number",
    ),
    Fault(
        "bce-broadcast",
        "losses",
        "binary_cross_entropy of (n, 1) against (n,)",
        lambda: jnb.binary_cross_entropy(np.full((2, 1), 0.5), np.ones(2)),
        ValueError,
        "binary_cross_entropy: probs and targets must have the same shape",
    ),
    Fault(
        "bce-probs-int",
        "losses",
        "binary_cross_entropy of integer probabilities",
        lambda: jnb.binary_cross_entropy(np.ones((2, 1), np.int32), np.ones((2, 1))),
        TypeError,
        "binary_cross_entropy: probs must be a floating-point array",
    ),
    Fault(
        "bce_with_logits-targets-complex",
        "losses",
        "binary_cross_entropy_with_logits of complex targets",
        lambda: jnb.binary_cross_entropy_with_logits(np.ones((2, 1)), np.ones((2, 1), complex)),
        TypeError,
        "binary_cross_entropy_with_logits: targets must be a real array",
    ),
    Fault(
        "compute_loss-unknown",
        "losses",
        "compute_loss with loss_type='hinge'",
        lambda: jnb.compute_loss(np.zeros(2), np.zeros(2), "hinge"),
        ValueError,
        "compute_loss: loss_type must be one of 'mse', 'cross_entropy'",
    ),
]
INITIALIZER_CASES = [
    Fault(
        "xavier_uniform-shape-1d",
        "initializers",
        "a Xavier draw of a 1-D (bias) shape",
        lambda: jnb.xavier_uniform(K, (3,)),
        ValueError,
        "xavier_uniform: shape must be at least 2-dimensional",
    ),
    Fault(
        "xavier_normal-shape-negative",
        "initializers",
        "a Xavier draw of shape (3, -1)",
        lambda: jnb.xavier_normal(K, (3, -1)),
        ValueError,
        "xavier_normal: shape must be a sequence of positive integers, got (3, -1)",
    ),
    Fault(
        "kaiming_uniform-shape-zero",
        "initializers",
        "a Kaiming draw of shape (0, 3) (fan_in 0)",
        lambda: jnb.kaiming_uniform(K, (0, 3)),
        ValueError,
        "kaiming_uniform: shape must be a sequence of positive integers, got (0, 3)",
    ),
    Fault(
        "kaiming_normal-dtype-int",
        "initializers",
        "a Kaiming draw in int32",
        lambda: jnb.kaiming_normal(K, (3, 3), jnp.int32),
        TypeError,
        "kaiming_normal: dtype must be a floating dtype",
    ),
    Fault(
        "xavier_uniform-key-int",
        "initializers",
        "a Xavier draw with key=0",
        lambda: jnb.xavier_uniform(0, (3, 3)),
        TypeError,
        f"xavier_uniform: {KEY_MSG}, got int 0",
    ),
    Fault(
        "xavier_normal-gain-str",
        "initializers",
        "gain='a'",
        lambda: jnb.xavier_normal(K, (3, 3), gain="a"),
        TypeError,
        "xavier_normal: gain must be a number",
    ),
    Fault(
        "kaiming_uniform-mode",
        "initializers",
        "mode='fan'",
        lambda: jnb.kaiming_uniform(K, (3, 3), mode="fan"),
        ValueError,
        "kaiming_uniform: mode must be one of 'fan_in', 'fan_out'",
    ),
    Fault(
        "kaiming_normal-nonlinearity",
        "initializers",
        "nonlinearity='swish'",
        lambda: jnb.kaiming_normal(K, (3, 3), nonlinearity="swish"),
        ValueError,
        "kaiming_normal: nonlinearity must be one of 'linear'",
    ),
    Fault(
        "torch_linear_default-bias-without-fan_in",
        "initializers",
        "a bias drawn without fan_in",
        lambda: jnb.torch_linear_default(K, (3,)),
        ValueError,
        "torch_linear_default: fan_in must be given for a 1-D (bias) shape",
    ),
    Fault(
        "torch_linear_default-fan_in-zero",
        "initializers",
        "fan_in=0",
        lambda: jnb.torch_linear_default(K, (3,), fan_in=0),
        ValueError,
        "torch_linear_default: fan_in must be a positive integer, got 0",
    ),
    Fault(
        "zeros-shape-negative",
        "initializers",
        "zeros of shape (-1,)",
        lambda: jnb.zeros(None, (-1,)),
        ValueError,
        "zeros: shape must be a sequence of non-negative integers, got (-1,)",
    ),
]
MODEL_CASES = [
    Fault(
        "init_mlp-one-size",
        "models",
        "an MLP with only an input size",
        lambda: jnb.init_mlp(K, [2]),
        ValueError,
        "init_mlp: layer_sizes must be a sequence of at least 2 positive integers",
    ),
    Fault(
        "init_mlp-size-zero",
        "models",
        "a hidden layer of 0 units",
        lambda: jnb.init_mlp(K, [2, 0, 1]),
        ValueError,
        "init_mlp: layer_sizes[1] must be a positive integer, got 0",
    ),
    Fault(
        "init_mlp-size-float",
        "models",
        "a hidden layer of 2.5 units",
        lambda: jnb.init_mlp(K, [2, 2.5, 1]),
        ValueError,
        "init_mlp: layer_sizes[1] must be a positive integer, got 2.5",
    ),
    Fault(
        "init_mlp-init-unknown",
        "models",
        "init='he'",
        lambda: jnb.init_mlp(K, [2, 1], init="he"),
        ValueError,
        "init_mlp: init must be one of 'xavier_uniform'",
    ),
    Fault(
        "init_mlp-dtype-int",
        "models",
        "parameters in int32",
        lambda: jnb.init_mlp(K, [2, 1], dtype=jnp.int32),
        TypeError,
        "init_mlp: dtype must be a floating dtype",
    ),
    Fault(
        "init_mlp-key-int",
        "models",
        "init_mlp with key=0",
        lambda: jnb.init_mlp(0, [2, 1]),
        TypeError,
        f"init_mlp: {KEY_MSG}, got int 0",
    ),
    Fault(
        "init_mlp-key-none",
        "models",
        "init_mlp with key=None",
        lambda: jnb.init_mlp(None, [2, 1]),
        TypeError,
        f"init_mlp: {KEY_MSG}, got None",
    ),
    Fault(
        "mlp-activation",
        "models",
        "activation='swish'",
        lambda: jnb.mlp([2, 1], activation="swish"),
        ValueError,
        "mlp: activation must be one of 'relu'",
    ),
    Fault(
        "mlp-dropout-one",
        "models",
        "dropout_rate=1.0 (drop everything)",
        lambda: jnb.mlp([2, 1], dropout_rate=1.0),
        ValueError,
        "mlp: dropout_rate must be in [0, 1) (the probability of dropping a unit), got 1.0",
    ),
    Fault(
        "mlp-loss_type",
        "models",
        "loss_type='hinge'",
        lambda: jnb.mlp([2, 1], loss_type="hinge"),
        ValueError,
        "mlp: loss_type must be one of 'mse'",
    ),
    Fault(
        "mlp-layer_sizes-none",
        "models",
        "mlp(None)",
        lambda: jnb.mlp(None),
        TypeError,
        "mlp: layer_sizes must be a sequence of at least 2 positive integers, got None",
    ),
    Fault(
        "mlp_apply-features",
        "models",
        "3 features into a 2-input network",
        lambda: jnb.mlp_apply(_params(), np.ones((2, 3))),
        ValueError,
        "mlp_apply: x must have 2 features",
    ),
    Fault(
        "mlp_apply-x-3d",
        "models",
        "a 3-D x",
        lambda: jnb.mlp_apply(_params(), np.ones((2, 2, 2))),
        ValueError,
        "mlp_apply: x must be an array with 1 or 2 dimensions, got shape (2, 2, 2)",
    ),
    Fault(
        "mlp_apply-x-str",
        "models",
        "an x of strings",
        lambda: jnb.mlp_apply(_params(), np.array([["a", "b"]])),
        TypeError,
        "mlp_apply: x must be a numeric array",
    ),
    Fault(
        "mlp_apply-params-dict",
        "models",
        "one layer's dict instead of a list of layers",
        lambda: jnb.mlp_apply(_params()[0], np.ones((2, 2))),
        TypeError,
        'mlp_apply: params must be a non-empty list of {"w", "b"} layers, got dict',
    ),
    Fault(
        "mlp_apply-params-chain",
        "models",
        "layers that do not follow each other",
        lambda: jnb.mlp_apply([_params()[0], _params((2, 8, 1))[0]], np.ones((2, 2))),
        ValueError,
        "mlp_apply: params[1]['w'] must be of shape (8, ...) to follow the previous layer",
    ),
    Fault(
        "mlp_apply-dropout-no-key",
        "models",
        "dropout in training without a key",
        lambda: jnb.mlp_apply(_params(), np.ones((2, 2)), dropout_rate=0.5, train=True),
        ValueError,
        "mlp_apply: key must be a PRNG key when train=True and dropout_rate > 0, got None",
    ),
    Fault(
        "mlp_apply-dropout-key-int",
        "models",
        "dropout in training with key=0",
        lambda: jnb.mlp_apply(_params(), np.ones((2, 2)), dropout_rate=0.5, train=True, key=0),
        TypeError,
        f"mlp_apply: {KEY_MSG}, got int 0",
    ),
    Fault(
        "dropout-rate-one",
        "models",
        "dropout(rate=1.0)",
        lambda: jnb.dropout(K, np.ones(3), 1.0),
        ValueError,
        "dropout: rate must be in [0, 1)",
    ),
    Fault(
        "dropout-key-str",
        "models",
        "dropout with key='k'",
        lambda: jnb.dropout("k", np.ones(3), 0.5),
        TypeError,
        f"dropout: {KEY_MSG}, got str 'k'",
    ),
    Fault(
        "simple_nn-size-zero",
        "models",
        "simple_nn(0, 2, 1)",
        lambda: jnb.simple_nn(0, 2, 1),
        ValueError,
        "simple_nn: input_size must be a positive integer, got 0",
    ),
    Fault(
        "select_architecture-problem",
        "models",
        "problem_type='ranking'",
        lambda: jnb.select_architecture(2, 1, "ranking"),
        ValueError,
        "select_architecture: problem_type must be one of 'binary', 'multiclass', 'regression'",
    ),
]
OPTIM_PENALTY_SCHEDULE_STATE_CASES = [
    Fault(
        "make_optimizer-lr-negative",
        "optim",
        "learning_rate=-1",
        lambda: jnb.make_optimizer(-1.0),
        ValueError,
        "make_optimizer: learning_rate must be a finite number >= 0, got -1.0",
    ),
    Fault(
        "make_optimizer-lr-str",
        "optim",
        "learning_rate='a'",
        lambda: jnb.make_optimizer("a"),
        TypeError,
        "make_optimizer: learning_rate must be a non-negative number",
    ),
    Fault(
        "make_optimizer-b1-one",
        "optim",
        "b1=1.0",
        lambda: jnb.make_optimizer(1e-3, b1=1.0),
        ValueError,
        "make_optimizer: b1 must be in [0, 1), got 1.0",
    ),
    Fault(
        "make_optimizer-schedule-int",
        "optim",
        "schedule=3",
        lambda: jnb.make_optimizer(1e-3, schedule=3),
        TypeError,
        "make_optimizer: schedule must be an optax schedule",
    ),
    Fault(
        "l1_penalty-leaf-str",
        "penalties",
        "a parameter tree with a string leaf",
        lambda: jnb.l1_penalty([{"w": "a"}]),
        TypeError,
        "l1_penalty: params[0]['w'] must be a numeric array",
    ),
    Fault(
        "l2_penalty-params-str",
        "penalties",
        "l2_penalty of a string",
        lambda: jnb.l2_penalty("abc"),
        TypeError,
        "l2_penalty: params must be a numeric array",
    ),
    Fault(
        "add_regularization-lambda-negative",
        "penalties",
        "lambda_l1=-1",
        lambda: jnb.add_regularization(_params(), jnp.ones(()), -1.0),
        ValueError,
        "add_regularization: lambda_l1 must be a finite number >= 0, got -1.0",
    ),
    Fault(
        "add_regularization-loss-vector",
        "penalties",
        "a per-sample loss vector instead of its mean",
        lambda: jnb.add_regularization(_params(), jnp.ones(3), 0.1),
        ValueError,
        "add_regularization: loss must be a scalar (the mean loss), got shape (3,)",
    ),
    Fault(
        "constant-inf",
        "schedules",
        "constant(inf)",
        lambda: jnb.constant(float("inf")),
        ValueError,
        "constant: base_lr must be a finite number >= 0, got inf",
    ),
    Fault(
        "step_lr-step_size-zero",
        "schedules",
        "step_size=0",
        lambda: jnb.step_lr(0.1, 0),
        ValueError,
        "step_lr: step_size must be a positive integer, got 0",
    ),
    Fault(
        "step_lr-gamma-negative",
        "schedules",
        "gamma=-0.5",
        lambda: jnb.step_lr(0.1, 3, -0.5),
        ValueError,
        "step_lr: gamma must be a finite number >= 0, got -0.5",
    ),
    Fault(
        "cosine_annealing-t_max-zero",
        "schedules",
        "t_max=0",
        lambda: jnb.cosine_annealing(0.1, 0),
        ValueError,
        "cosine_annealing: t_max must be a positive integer, got 0",
    ),
    Fault(
        "create_lr_scheduler-mode",
        "schedules",
        "mode='linear'",
        lambda: jnb.create_lr_scheduler(0.1, "linear"),
        ValueError,
        "create_lr_scheduler: mode must be one of 'constant', 'step', 'cosine'",
    ),
    Fault(
        "create_lr_scheduler-option",
        "schedules",
        "a cosine option for the step schedule",
        lambda: jnb.create_lr_scheduler(0.1, "step", t_max=3),
        TypeError,
        "create_lr_scheduler: the options must be among the options of mode 'step'",
    ),
    Fault(
        "lr_at_epoch-schedule-float",
        "schedules",
        "a learning rate where a schedule is expected",
        lambda: jnb.lr_at_epoch(0.1, 1),
        TypeError,
        "lr_at_epoch: schedule must be an optax schedule",
    ),
    Fault(
        "lr_at_epoch-epoch-negative",
        "schedules",
        "epoch=-1",
        lambda: jnb.lr_at_epoch(jnb.constant(0.1), -1),
        ValueError,
        "lr_at_epoch: epoch must be a non-negative integer, got -1",
    ),
    Fault(
        "create_train_state-optimizer-str",
        "state",
        "optimizer='adam'",
        lambda: jnb.create_train_state(_params(), "adam"),
        TypeError,
        "create_train_state: optimizer must be an optax GradientTransformation",
    ),
    Fault(
        "create_train_state-key-int",
        "state",
        "a dropout key of 0",
        lambda: jnb.create_train_state(_params(), _opt(), key=0),
        TypeError,
        f"create_train_state: {KEY_MSG}, got int 0",
    ),
    Fault(
        "create_train_state-params-str",
        "state",
        "parameters that are a string",
        lambda: jnb.create_train_state("abc", _opt()),
        TypeError,
        "create_train_state: params must be a numeric array",
    ),
]
DATA_METRIC_CASES = [
    Fault(
        "fit_scaler-1d",
        "data",
        "fit_scaler of a 1-D array",
        lambda: jnb.fit_scaler(np.ones(3)),
        ValueError,
        "fit_scaler: x must be a 2-D array of shape (n_samples, n_features), got shape (3,)",
    ),
    Fault(
        "fit_scaler-empty",
        "data",
        "fit_scaler of 0 rows",
        lambda: jnb.fit_scaler(np.ones((0, 3))),
        ValueError,
        "fit_scaler: x must be non-empty, got shape (0, 3)",
    ),
    Fault(
        "fit_scaler-nan",
        "data",
        "fit_scaler of data with a NaN",
        lambda: jnb.fit_scaler(np.array([[1.0, np.nan]])),
        ValueError,
        "fit_scaler: x must be finite, got 1 NaN/inf values, the first at index (0, 1)",
    ),
    Fault(
        "transform-features",
        "data",
        "transform 3 features with a 2-feature scaler",
        lambda: jnb.transform(_scaler(), np.ones((3, 3))),
        ValueError,
        "transform: x must be an array whose last axis has 2 features",
    ),
    Fault(
        "transform-state-str",
        "data",
        "transform with a string for the scaler",
        lambda: jnb.transform("scaler", X),
        TypeError,
        "transform: state must be a ScalerState",
    ),
    Fault(
        "inverse_transform-features",
        "data",
        "inverse_transform of 3 features with a 2-feature scaler",
        lambda: jnb.inverse_transform(_scaler(), np.ones((3, 3))),
        ValueError,
        "inverse_transform: x must be an array whose last axis has 2 features",
    ),
    Fault(
        "prepare_data_for_nn-y-rows",
        "data",
        "targets with fewer rows than x",
        lambda: jnb.prepare_data_for_nn(X, np.ones(3)),
        ValueError,
        "prepare_data_for_nn: y must be an array with 12 rows (one per row of x), got shape (3,)",
    ),
    Fault(
        "prepare_data_for_nn-y-str",
        "data",
        "string class names as targets",
        lambda: jnb.prepare_data_for_nn(X, np.array(["a"] * 12)),
        TypeError,
        "prepare_data_for_nn: y must be a numeric array, got dtype <U1; map class names to integers first",
    ),
    Fault(
        "train_val_split-fraction",
        "data",
        "val_fraction=1.5",
        lambda: jnb.train_val_split(K, X, Y_BIN, val_fraction=1.5),
        ValueError,
        "train_val_split: val_fraction must be in (0, 1), got 1.5",
    ),
    Fault(
        "train_val_split-lengths",
        "data",
        "x and y of different lengths",
        lambda: jnb.train_val_split(K, X, Y_BIN[:3]),
        ValueError,
        "train_val_split: x and y must be arrays with the same number of samples, got 12 and 3",
    ),
    Fault(
        "train_val_split-key-int",
        "data",
        "train_val_split with key=0",
        lambda: jnb.train_val_split(0, X, Y_BIN),
        TypeError,
        f"train_val_split: {KEY_MSG}, got int 0",
    ),
    Fault(
        "train_val_split-one-sample",
        "data",
        "splitting one sample",
        lambda: jnb.train_val_split(K, X[:1], Y_BIN[:1]),
        ValueError,
        "train_val_split: val_fraction must be small enough to leave training data",
    ),
    Fault(
        "batches-batch_size-zero",
        "data",
        "batch_size=0",
        lambda: jnb.batches(K, X, Y_BIN, 0),
        ValueError,
        "batches: batch_size must be a positive integer, got 0",
    ),
    Fault(
        "batches-key-none",
        "data",
        "shuffled batches without a key",
        lambda: jnb.batches(None, X, Y_BIN, 4),
        TypeError,
        f"batches: {KEY_MSG}, got None; pass e.g. key=jax.random.key(0), or shuffle=False",
    ),
    Fault(
        "epoch_permutation-n-zero",
        "data",
        "a permutation of 0 samples",
        lambda: jnb.epoch_permutation(K, 0),
        ValueError,
        "epoch_permutation: n must be a positive integer, got 0",
    ),
    Fault(
        "epoch_permutation-key-float",
        "data",
        "epoch_permutation with key=1.5",
        lambda: jnb.epoch_permutation(1.5, 3),
        TypeError,
        f"epoch_permutation: {KEY_MSG}, got float 1.5",
    ),
    Fault(
        "epoch_permutation-epoch-negative",
        "data",
        "epoch=-1",
        lambda: jnb.epoch_permutation(K, 3, epoch=-1),
        ValueError,
        "epoch_permutation: epoch must be a non-negative integer, got -1",
    ),
    Fault(
        "accuracy-lengths",
        "metrics",
        "accuracy of 2 labels against 1 prediction",
        lambda: metrics.accuracy([0, 1], [0]),
        ValueError,
        "accuracy: y_true and y_pred must be of the same length, got 2 and 1",
    ),
    Fault(
        "accuracy-labels-str",
        "metrics",
        "accuracy of class names",
        lambda: metrics.accuracy(["a"], ["a"]),
        TypeError,
        "accuracy: y_true must be integer class indices, got dtype <U1",
    ),
    Fault(
        "confusion_matrix-label-too-large",
        "metrics",
        "label 3 in a 2-class confusion matrix",
        lambda: metrics.confusion_matrix([0, 3], [0, 1], n_classes=2),
        ValueError,
        "confusion_matrix: labels must be < n_classes=2, got label 3",
    ),
    Fault(
        "regression_metrics-nan",
        "metrics",
        "regression metrics of targets with a NaN",
        lambda: metrics.regression_metrics([1.0, np.nan], [1.0, 2.0]),
        ValueError,
        "regression_metrics: y_true must be finite, got 1 NaN/infinite value(s), the first at row 1",
    ),
    Fault(
        "regression_metrics-columns",
        "metrics",
        "regression metrics of two target columns",
        lambda: metrics.regression_metrics(np.ones((3, 2)), np.ones(3)),
        ValueError,
        "regression_metrics: y_true must be one target per sample",
    ),
]
TRAINING_CASES = [
    Fault(
        "train_model-key-int",
        "training",
        "train_model(key=0)",
        lambda: _train(key=0),
        TypeError,
        f"train_model: {KEY_MSG}, got int 0",
    ),
    Fault(
        "train_model-key-float",
        "training",
        "train_model(key=1.5)",
        lambda: _train(key=1.5),
        TypeError,
        f"train_model: {KEY_MSG}, got float 1.5",
    ),
    Fault(
        "train_model-key-none",
        "training",
        "train_model(key=None)",
        lambda: _train(key=None),
        TypeError,
        f"train_model: {KEY_MSG}, got None",
    ),
    Fault(
        "train_model-key-batch",
        "training",
        "a batch of two keys for one run",
        lambda: _train(key=jax.random.split(K, 2)),
        TypeError,
        f"train_model: {KEY_MSG}, got PRNGKeyArray of shape (2,)",
    ),
    Fault(
        "train_model-key-int32-pair",
        "training",
        "a raw key of int32 (not uint32) words",
        lambda: _train(key=np.zeros(2, np.int32)),
        TypeError,
        f"train_model: {KEY_MSG}, got ndarray of shape (2,) and dtype int32",
    ),
    Fault(
        "train_model-params-wider",
        "training",
        "a 2-16-1 parameter tree for a 2-8-1 model",
        lambda: _train(params=_params((2, 16, 1))),
        ValueError,
        "train_model: params[0]['b'] must be of shape (8,) like the model's, got shape (16,); "
        "params was made for another architecture",
    ),
    Fault(
        "train_model-params-inputs",
        "training",
        "parameters for 3 inputs, a model for 2",
        lambda: _train(params=_params((3, 8, 1))),
        ValueError,
        "train_model: params[0]['w'] must be of shape (2, 8) like the model's, got shape (3, 8)",
    ),
    Fault(
        "train_model-params-deeper",
        "training",
        "a 2-8-8-1 parameter tree for a 2-8-1 model",
        lambda: _train(params=_params((2, 8, 8, 1))),
        ValueError,
        "train_model: params must be a tree like the model's (4 leaves",
    ),
    Fault(
        "train_model-params-int",
        "training",
        "integer parameters",
        lambda: _train(params=_as(jnp.int32, _params())),
        TypeError,
        "train_model: params[0]['b'] must be a floating-point array, got dtype int32",
    ),
    Fault(
        "train_model-params-mixed-dtypes",
        "training",
        "one layer in float16, the other in float32",
        lambda: _train(params=[_params()[0], _as(jnp.float16, _params()[1])]),
        TypeError,
        "train_model: params[1]['b'] must be floating, of one dtype with the other leaves (float32)",
    ),
    Fault(
        "train_model-state-wider",
        "training",
        "a training state of another architecture",
        lambda: _train(state=jnb.create_train_state(_params((2, 16, 1)), _opt())),
        ValueError,
        "train_model: state.params[0]['b'] must be of shape (8,) like the model's",
    ),
    Fault(
        "train_model-state-str",
        "training",
        "state='checkpoint.ckpt'",
        lambda: _train(state="checkpoint.ckpt"),
        TypeError,
        "train_model: state must be a TrainState",
    ),
    Fault(
        "train_model-model-str",
        "training",
        "a model name instead of a Model",
        lambda: jnb.train_model("mlp", (X, Y_BIN), key=K),
        TypeError,
        "train_model: model must be a jnnbasics Model",
    ),
    Fault(
        "train_model-data-not-pair",
        "training",
        "train_data=x alone",
        lambda: _train(data=X),
        TypeError,
        "train_model: train_data must be an (x, y) pair of arrays, got ndarray",
    ),
    Fault(
        "train_model-x-1d",
        "training",
        "a 1-D x",
        lambda: _train(data=(X[:, 0], Y_BIN)),
        ValueError,
        "train_model: train_data[0] (x) must be a 2-D array of shape (n, features), got shape (12,)",
    ),
    Fault(
        "train_model-x-features",
        "training",
        "3 features for a 2-input model",
        lambda: _train(data=(np.ones((12, 3)), Y_BIN)),
        ValueError,
        "train_model: train_data[0] (x) must be inputs with 2 features (the model's layer_sizes[0]), got shape (12, 3)",
    ),
    Fault(
        "train_model-x-empty",
        "training",
        "0 training rows",
        lambda: _train(data=(X[:0], Y_BIN[:0])),
        ValueError,
        "train_model: train_data[0] (x) must be non-empty, got 0 samples",
    ),
    Fault(
        "train_model-x-nan",
        "training",
        "a NaN in x",
        lambda: _train(data=(np.where(np.arange(24).reshape(12, 2) == 7, np.nan, X), Y_BIN)),
        ValueError,
        "train_model: train_data[0] (x) must be finite, got 1 NaN/infinite value(s), the first at row 3, column 1",
    ),
    Fault(
        "train_model-y-inf",
        "training",
        "an infinite regression target",
        lambda: _train(model=_model((2, 8, 1), "mse"), data=(X, np.where(Y_BIN, np.inf, 0.0))),
        ValueError,
        "train_model: train_data[1] (y) must be finite, got",
    ),
    Fault(
        "train_model-y-rows",
        "training",
        "y with one row less than x",
        lambda: _train(data=(X, Y_BIN[:-1])),
        ValueError,
        "train_model: train_data[0] (x) and train_data[1] (y) must be arrays with the same number of samples",
    ),
    Fault(
        "train_model-y-str",
        "training",
        "class names as y",
        lambda: _train(data=(X, np.array(["a"] * 12))),
        TypeError,
        "train_model: train_data[1] (y) must be a numeric array",
    ),
    Fault(
        "train_model-label-too-large",
        "training",
        "label 3 for a 3-class model",
        lambda: _train3(data=(X, Y_CLS + 1)),
        ValueError,
        "train_model: train_data[1] (y) must be class labels in [0, 3) for a model with 3 outputs, got 3 at row 2 "
        "(target 3 is out of bounds",
    ),
    Fault(
        "train_model-val-label-negative",
        "training",
        "validation label -1",
        lambda: _train3(val=(X, Y_CLS - 1)),
        ValueError,
        "train_model: val_data[1] (y) must be class labels in [0, 3) for a model with 3 outputs, got -1 at row 0",
    ),
    Fault(
        "train_model-label-fraction",
        "training",
        "label 0.5 for cross-entropy",
        lambda: _train3(data=(X, Y_CLS + 0.5)),
        ValueError,
        "train_model: train_data[1] (y) must be integer class labels",
    ),
    Fault(
        "train_model-bce-target-2",
        "training",
        "a BCE target of 2",
        lambda: _train(data=(X, Y_BIN * 2)),
        ValueError,
        "train_model: train_data[1] (y) must be BCE targets in [0, 1]",
    ),
    Fault(
        "train_model-val-features",
        "training",
        "validation inputs with 3 features",
        lambda: _train(val=(np.ones((4, 3)), Y_BIN[:4])),
        ValueError,
        "train_model: val_data[0] (x) must be inputs with 2 features like train_data",
    ),
    Fault(
        "train_model-lr-str",
        "training",
        "learning_rate='fast'",
        lambda: _train(learning_rate="fast"),
        TypeError,
        "train_model: learning_rate must be a positive number, got 'fast'",
    ),
    Fault(
        "train_model-lr-zero",
        "training",
        "learning_rate=0",
        lambda: _train(learning_rate=0.0),
        ValueError,
        "train_model: learning_rate must be a positive number, got 0.0",
    ),
    Fault(
        "train_model-epochs-zero",
        "training",
        "epochs=0",
        lambda: _train(epochs=0),
        ValueError,
        "train_model: epochs must be a positive integer, got 0",
    ),
    Fault(
        "train_model-batch_size-float",
        "training",
        "batch_size=8.0",
        lambda: _train(batch_size=8.0),
        ValueError,
        "train_model: batch_size must be a positive integer, got 8.0",
    ),
    Fault(
        "train_model-schedule-unknown",
        "training",
        "schedule='linear'",
        lambda: _train(schedule="linear"),
        ValueError,
        "train_model: schedule must be one of 'constant', 'step', 'cosine'",
    ),
    Fault(
        "train_model-schedule_options-wrong",
        "training",
        "a cosine option for the step schedule",
        lambda: _train(schedule="step", schedule_options={"t_max": 3}),
        TypeError,
        "train_model: schedule_options must be options of schedule 'step', got {'t_max': 3}",
    ),
    Fault(
        "train_model-schedule_options-bad-value",
        "training",
        "step_size=0",
        lambda: _train(schedule="step", schedule_options={"step_size": 0}),
        ValueError,
        "train_model: schedule_options must be options of schedule 'step', got {'step_size': 0}",
    ),
    Fault(
        "train_model-schedule_options-list",
        "training",
        "schedule_options as a list",
        lambda: _train(schedule="cosine", schedule_options=[("t_max", 3)]),
        TypeError,
        "train_model: schedule_options must be a dict of the schedule's options or None",
    ),
    Fault(
        "train_model-loss_type-unknown",
        "training",
        "loss_type='hinge'",
        lambda: _train(loss_type="hinge"),
        ValueError,
        "train_model: loss_type must be one of 'mse'",
    ),
    Fault(
        "train_model-weight_decay-negative",
        "training",
        "weight_decay=-1",
        lambda: _train(weight_decay=-1),
        ValueError,
        "train_model: weight_decay must be a finite number >= 0, got -1",
    ),
    Fault(
        "train_model-patience-without-val",
        "training",
        "patience without validation data",
        lambda: _train(patience=3),
        ValueError,
        "train_model: patience must be used together with val_data",
    ),
    Fault(
        "train_model-start_epoch-str",
        "training",
        "start_epoch='1'",
        lambda: _train(start_epoch="1"),
        TypeError,
        "train_model: start_epoch must be an integer, got '1'",
    ),
    Fault(
        "train_model-history-list",
        "training",
        "history=[...]",
        lambda: _train(history=[0.5]),
        TypeError,
        "train_model: history must be a dict of per-epoch lists",
    ),
    Fault(
        "train_model-divergence_factor-small",
        "training",
        "divergence_factor=0.5",
        lambda: _train(divergence_factor=0.5),
        ValueError,
        "train_model: divergence_factor must be a finite number > 1 or None, got 0.5",
    ),
    Fault(
        "train_model-divergence_factor-str",
        "training",
        "divergence_factor='big'",
        lambda: _train(divergence_factor="big"),
        TypeError,
        "train_model: divergence_factor must be a number",
    ),
    Fault(
        "train_model-callback-int",
        "training",
        "callbacks=[3]",
        lambda: _train(callbacks=[3]),
        TypeError,
        "train_model: callbacks must be callables or Callback objects, got int",
    ),
    Fault(
        "train_model-checkpoint_every-zero",
        "training",
        "checkpoint_every=0",
        lambda: _train(checkpoint_every=0),
        ValueError,
        "train_model: checkpoint_every must be a positive integer",
    ),
    Fault(
        "train_many-label-too-large",
        "training",
        "train_many with label 3 for 3 classes",
        lambda: jnb.train_many(
            _model((2, 8, 3), "cross_entropy"),
            (X, Y_CLS + 1),
            keys=jax.random.split(K, 2),
            epochs=1,
            mesh=None,
        ),
        ValueError,
        "train_many: train_data[1] (y) must be class labels in [0, 3) for a model with 3 outputs, got 3 at row 2",
    ),
    Fault(
        "evaluate_loss-empty",
        "training",
        "evaluate_loss on 0 rows",
        lambda: jnb.evaluate_loss(_model().apply, _params(), X[:0], Y_BIN[:0], loss_type="bce_with_logits"),
        ValueError,
        "evaluate_loss: x must be non-empty, got 0 samples",
    ),
    Fault(
        "evaluate_loss-label-too-large",
        "training",
        "evaluate_loss with label 3 for 3 classes",
        lambda: jnb.evaluate_loss(
            _model((2, 8, 3)).apply, _params((2, 8, 3)), X, Y_CLS + 1, loss_type="cross_entropy"
        ),
        ValueError,
        "evaluate_loss: y must be class labels in [0, 3) for a model with 3 outputs, got 3 at row 2 "
        "(target 3 is out of bounds",
    ),
    Fault(
        "evaluate_loss-x-nan",
        "training",
        "evaluate_loss of inputs with a NaN",
        lambda: jnb.evaluate_loss(
            _model().apply, _params(), np.full_like(X, np.nan), Y_BIN, loss_type="bce_with_logits"
        ),
        ValueError,
        "evaluate_loss: x must be finite, got 24 NaN/infinite value(s), the first at row 0, column 0",
    ),
    Fault(
        "evaluate_loss-y-rows",
        "training",
        "evaluate_loss with fewer targets than inputs",
        lambda: jnb.evaluate_loss(_model().apply, _params(), X, Y_BIN[:5], loss_type="bce_with_logits"),
        ValueError,
        "evaluate_loss: x and y must be arrays with the same number of samples, got x 12 and y 5",
    ),
    Fault(
        "evaluate_loss-apply-none",
        "training",
        "evaluate_loss without an apply function",
        lambda: jnb.evaluate_loss(None, _params(), X, Y_BIN),
        TypeError,
        "evaluate_loss: apply_fn must be a model's apply function",
    ),
    Fault(
        "evaluate_model-y-scalar",
        "training",
        "evaluate_model with one number as targets",
        lambda: jnb.evaluate_model(_model().apply, _params(), X, 3),
        ValueError,
        "evaluate_model: y must be an array of 12 rows (one per row of x), got shape ()",
    ),
    Fault(
        "evaluate_model-empty",
        "training",
        "evaluate_model on 0 rows",
        lambda: jnb.evaluate_model(_model().apply, _params(), X[:0], Y_BIN[:0]),
        ValueError,
        "evaluate_model: x must be non-empty, got 0 samples",
    ),
    Fault(
        "make_train_step-apply-int",
        "training",
        "make_train_step(3, ...)",
        lambda: jnb.make_train_step(3, _opt()),
        TypeError,
        "make_train_step: apply_fn must be a model's apply function",
    ),
    Fault(
        "make_train_step-optimizer-str",
        "training",
        "make_train_step(apply, 'adam')",
        lambda: jnb.make_train_step(_model().apply, "adam"),
        TypeError,
        "make_train_step: optimizer must be an optax GradientTransformation",
    ),
    Fault(
        "make_train_step-lambda-negative",
        "training",
        "lambda_l2=-1",
        lambda: jnb.make_train_step(_model().apply, _opt(), lambda_l2=-1.0),
        ValueError,
        "make_train_step: lambda_l2 must be a finite number >= 0, got -1.0",
    ),
    Fault(
        "make_train_step-checked-label",
        "training",
        "the checked train step with label 3 for 3 classes",
        lambda: _checked_step(Y_CLS + 1),
        ValueError,
        "make_train_step: y must be class labels in [0, 3) for a model with 3 outputs, got 3 at row 2 "
        "(target 3 is out of bounds)",
    ),
]

CASES: list[Fault] = [
    *ACTIVATION_CASES,
    *LOSS_CASES,
    *INITIALIZER_CASES,
    *MODEL_CASES,
    *OPTIM_PENALTY_SCHEDULE_STATE_CASES,
    *DATA_METRIC_CASES,
    *TRAINING_CASES,
]
"""The Python API's fault catalogue (``docs/errors.md`` is generated from it and the CLI's)."""


@pytest.mark.parametrize("fault", CASES, ids=[f.id for f in CASES])
def test_fault(fault):
    with pytest.raises(fault.exc) as info:
        fault.call()
    assert fault.message in str(info.value), f"{fault.id}: {fault.what}"


def test_catalogue_is_well_formed():
    check_unique_ids(CASES)
    assert len(CASES) >= 50
    for f in CASES:
        func = f.message.split(":", 1)[0]
        # every message names the public function and the argument, then says what it must be
        assert func.isidentifier() and " must " in f.message, f.id
        assert f.layer == "training" or hasattr(getattr(jnb, f.layer, None) or metrics, func), f.id
        assert f.what and "\n" not in f.what and issubclass(f.exc, Exception), f.id


# --------------------------------------------------------------------------------------------------
# labels out of range in the raw jitted step; keys; parameters in another precision


def test_raw_train_step_gives_nan_for_a_bad_label_and_the_checked_step_raises():
    model = _model((2, 8, 3), "cross_entropy")
    opt = _opt()
    bad = jnp.asarray(Y_CLS + 1)  # label 3 for 3 classes
    fast = jnb.make_train_step(model.apply, opt, loss_type="cross_entropy")
    _, loss = fast(jnb.create_train_state(model.init(K), opt), jnp.asarray(X), bad)
    assert np.isnan(float(loss))  # the documented default: inside jit a value cannot raise
    checked = jnb.make_train_step(model.apply, opt, loss_type="cross_entropy", checked=True)
    state = jnb.create_train_state(model.init(K), opt)
    with pytest.raises(ValueError, match=r"y must be class labels in \[0, 3\).*target 3 is out of bounds"):
        checked(state, jnp.asarray(X), bad)
    # nothing lost: the checked step does not donate, so the state is still usable; and with good
    # labels it takes the same step as the fast one
    new, loss = checked(state, jnp.asarray(X), jnp.asarray(Y_CLS))
    ref, ref_loss = fast(jnb.create_train_state(model.init(K), opt), jnp.asarray(X), jnp.asarray(Y_CLS))
    assert float(loss) == float(ref_loss)
    assert_trees_close(new.params, ref.params)


def test_raw_key_and_float64_params_are_accepted():
    # jax.random.PRNGKey (a uint32 pair) is the old-style key: accepted like jax.random.key
    raw = _train(key=jax.random.PRNGKey(0), epochs=1)
    typed = _train(key=jax.random.key(0), epochs=1)
    assert raw.history["train_loss"] == typed.history["train_loss"]
    # a parameter tree in another (uniform) precision is this model's tree: the run trains in it
    with x64():
        res = _train(params=_as(jnp.float64, _params()), epochs=1)
        assert all(leaf.dtype == jnp.float64 for leaf in jax.tree_util.tree_leaves(res.params))


# --------------------------------------------------------------------------------------------------
# divergence: a loss far above its reference is reported like NaN/inf


def test_divergence_rule():
    m = {"finite": True, "train_loss": 2e4, "start_loss": 1.5}
    assert divergence({**m, "finite": False}, {}, 0.7, None) == "the loss became NaN or infinite"
    assert divergence(m, {}, 0.7, None) is None  # factor None: NaN/inf only
    assert "grew to 2e+04" in divergence(m, {}, 0.7, DIVERGENCE_FACTOR)  # 2e4 > 1e4 * 1.5
    assert divergence({**m, "train_loss": 1.4e4}, {}, 0.7, DIVERGENCE_FACTOR) is None
    assert divergence(m, {}, 3.0, DIVERGENCE_FACTOR) is None  # the baseline is the larger reference
    # later epochs: the first recorded epoch's loss is the reference (the same after a resume)
    assert divergence(m, {"train_loss": [2.5, 1.0]}, 0.7, DIVERGENCE_FACTOR) is None
    assert divergence(m, {"train_loss": [1.0, 1.0]}, 0.7, DIVERGENCE_FACTOR) is not None
    # a reference of 0 (a perfect fit at the start) is floored
    assert divergence({**m, "train_loss": 1e-5, "start_loss": 0.0}, {}, 0.0, 1e4) is None
    assert DIVERGENCE_FACTOR == 1e4


@pytest.mark.parametrize("loss_type", ["mse", "cross_entropy", "bce_with_logits", "binary_cross_entropy"])
def test_baseline_loss_is_the_uninformed_predictions_loss(loss_type):
    # oracle: torch's loss of the uninformed prediction (zeros, uniform logits, p = 1/2)
    y = np.array([[1.0], [3.0], [-2.0]])
    labels = np.array([0, 2, 1, 2])
    if loss_type == "mse":
        expected = F.mse_loss(torch.zeros(3, 1, dtype=torch.float64), torch.tensor(y)).item()
        target = y
    elif loss_type == "cross_entropy":
        expected = F.cross_entropy(torch.zeros(4, 3), torch.tensor(labels)).item()
        target = labels
    else:
        expected = F.binary_cross_entropy(torch.full((3, 1), 0.5), torch.tensor([[0.0], [1.0], [0.3]])).item()
        target = None
    assert metrics.baseline_loss(
        target, loss_type, 3 if loss_type == "cross_entropy" else 1
    ) == pytest.approx(expected, rel=1e-6)


def _regression(n=200):
    return jnb.make_regression(jax.random.key(0), n, n_features=4, noise=0.1)


def test_lr_1e5_on_regression_is_divergence_not_success():
    x, y = _regression(1000)
    model = jnb.mlp([4, 64, 32, 1], loss_type="mse")
    kw = dict(key=jax.random.key(2), epochs=3, learning_rate=1e5)
    with pytest.warns(
        RuntimeWarning, match=r"training loss grew to .* in epoch 1; training stopped \(diverged\)"
    ):
        res = jnb.train_model(model, (x[:800], y[:800]), (x[800:], y[800:]), **kw)
    assert res.stop_reason == "diverged" and res.diverged_epoch == 1 and res.history == {}
    assert_trees_close(res.params, model.init(jnb.training.split_run_key(kw["key"])[0]))  # epoch 0's
    # the same run without the growth rule "succeeds" with a finite loss of 1e20 or more: the old silence
    quiet = jnb.train_model(model, (x[:800], y[:800]), (x[800:], y[800:]), divergence_factor=None, **kw)
    assert quiet.stop_reason == "completed" and 1e20 < quiet.history["train_loss"][-1] < np.inf


def test_divergence_in_a_later_epoch_keeps_the_last_good_epoch_in_the_checkpoint(tmp_path):
    x, y = _regression(64)
    model = jnb.mlp([4, 16, 1], loss_type="mse")
    # 4 steps per epoch: three good epochs at lr 1e-2, then lr 1e5 from the first step of epoch 4
    kw = dict(key=jax.random.key(1), batch_size=16, schedule=lambda c: jnp.where(c < 12, 1e-2, 1e5))
    with pytest.warns(RuntimeWarning, match=r"training loss grew to .* in epoch 4.*end of epoch 3"):
        res = jnb.train_model(model, (x, y), epochs=6, checkpoint_dir=tmp_path / "run", **kw)
    assert (res.stop_reason, res.diverged_epoch, len(res.history["train_loss"])) == ("diverged", 4, 3)
    good = jnb.train_model(model, (x, y), epochs=3, **kw)  # oracle: the same run stopped at epoch 3
    assert_trees_close(res.params, good.params)
    meta = read_checkpoint_metadata(tmp_path / "run" / "checkpoint.ckpt")
    assert (meta["epoch"], meta["stop_reason"], meta["diverged_epoch"]) == (3, "diverged", 4)
    tree, _ = load_checkpoint(tmp_path / "run" / "checkpoint.ckpt", {"state": res.state, "best": res.params})
    assert_trees_close(tree["state"].params, good.params)


def test_overfitting_with_a_rising_validation_loss_is_not_divergence():
    x, y = jnb.make_regression(jax.random.key(0), 60, n_features=4, noise=1.0)
    model = jnb.mlp([4, 64, 64, 1], loss_type="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = jnb.train_model(
            model,
            (x[:20], y[:20]),
            (x[20:], y[20:]),
            key=jax.random.key(1),
            epochs=150,
            learning_rate=1e-2,
            batch_size=8,
        )
    vl, tl = res.history["val_loss"], res.history["train_loss"]
    assert min(vl) < 0.8 * vl[-1]  # the validation loss rose well above its minimum...
    assert tl[-1] < 1e-2 * tl[0]  # ...while the training loss fell: overfitting, not divergence
    assert res.stop_reason == "completed" and res.diverged_epoch is None


# --------------------------------------------------------------------------------------------------
# nothing lost: a refused call leaves the user's files as they were


def test_bad_params_or_data_with_checkpoint_dir_leave_the_folder_as_it_was(tmp_path):
    folder = tmp_path / "run"
    _train(epochs=2, checkpoint_dir=folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert "checkpoint.ckpt" in before
    bad_calls = [
        lambda: _train(epochs=3, checkpoint_dir=folder, params=_params((2, 16, 1))),
        lambda: _train(epochs=3, checkpoint_dir=folder, data=(X, Y_BIN * 2)),
        lambda: _train(epochs=3, checkpoint_dir=folder, key=0),
        lambda: _train(epochs=3, checkpoint_dir=folder, schedule="step", schedule_options={"t_max": 3}),
    ]
    for call in bad_calls:
        with pytest.raises((ValueError, TypeError)):
            call()
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    # a refused call on a new folder creates nothing
    with pytest.raises(ValueError, match="params"):
        _train(checkpoint_dir=tmp_path / "new", params=_params((3, 8, 1)))
    assert not (tmp_path / "new").exists()
