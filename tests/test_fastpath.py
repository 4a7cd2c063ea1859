"""The small-MLP fast path (training/fastpath.py) against autodiff, the oracle, feature by feature.

The fast path (closed-form dense backward, flat Adam buffers, per-compilation XLA:CPU options) is
taken automatically by small MLPs on the CPU, so the PyTorch parity tests elsewhere already run
through it; here every training feature is compared with the autodiff path on the same state.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, assert_trees_close

import jnnbasics as jnb
from jnnbasics.models import ACTIVATIONS, mlp_apply
from jnnbasics.training import (
    ModelForward,
    fastpath,
    fresh_state,
    prepare_run,
    run_epoch_jit,
    traced_hyperparams,
)
from jnnbasics.training.fastpath import (
    FAST_PATH_MAX_PARAMS,
    DenseStack,
    dense_value_and_grad,
    flatten_state,
    unflatten_state,
    use_fast_path,
)


def _data(loss_type: str, n: int, classes: int, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(dtype)
    if loss_type == "cross_entropy":
        return x, rng.integers(0, classes, n)
    if loss_type == "mse":
        return x, rng.normal(size=(n, classes)).astype(dtype)
    return x, rng.integers(0, 2, (n, classes)).astype(dtype)


CASES = {
    # name: (activation, loss, outputs, dropout, l1, l2, weight decay, schedule, n rows); the other
    # activations are covered by test_dense_gradient_is_autodiffs
    "defaults-padded": ("relu", "bce_with_logits", 1, 0.0, 0.0, 0.0, 0.0, "constant", 100),
    "tanh-mse-decay-step": ("tanh", "mse", 2, 0.0, 0.0, 0.0, 1e-2, "step", 96),
    "sigmoid-ce-dropout-cosine": ("sigmoid", "cross_entropy", 3, 0.3, 0.0, 0.0, 0.0, "cosine", 90),
    "gelu-bce-dropout-l1-l2-decay": ("gelu", "bce_with_logits", 1, 0.2, 1e-3, 1e-2, 1e-3, "step", 70),
}


def _run_both(case, dtype, epochs: int = 3):
    activation, loss_type, out, rate, l1, l2, wd, schedule, n = case
    model = jnb.mlp([3, 16, 8, out], activation=activation, dropout_rate=rate)
    x, y = _data(loss_type, n, out, dtype)
    params = jax.tree_util.tree_map(lambda a: a.astype(dtype), model.init(jax.random.key(4)))
    opts = (
        {"step_size": 1, "gamma": 0.5}
        if schedule == "step"
        else {"t_max": 2}
        if schedule == "cosine"
        else None
    )
    setup = prepare_run(
        "test", model, (x, y), (x[:20], y[:20]), key=jax.random.key(3), epochs=epochs, learning_rate=1e-2,
        batch_size=32, loss_type=loss_type, schedule=schedule, schedule_options=opts, lambda_l1=l1,
        lambda_l2=l2, weight_decay=wd, shuffle=True, params=params, forward=ModelForward(model.apply),
        penalize=bool(l1 or l2),
    )  # fmt: skip
    assert setup.cfg.fast, "a small MLP on the CPU takes the fast path"
    hp = traced_hyperparams(
        {"learning_rate": 1e-2, "weight_decay": wd, "lambda_l1": l1, "lambda_l2": l2, "dropout_rate": rate},
        setup.dtype,
    )
    start = fresh_state(params, setup.dropout_key if model.needs_key() else None, hp, cfg=setup.cfg)
    out = {}
    for fast in (False, True):
        cfg, state, metrics = setup.cfg._replace(fast=fast), start, []
        for epoch in range(epochs):
            perm = jnp.asarray(np.random.default_rng(epoch).permutation(n).astype(np.int32))
            state, pending = run_epoch_jit(state, setup.x, setup.y, setup.xv, setup.yv, perm, hp, cfg=cfg)
            metrics.append(pending.fetch())
        out[fast] = (state, metrics)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_fast_epochs_match_autodiff(name, dtype):
    out = _run_both(CASES[name], dtype)
    (auto_state, auto_metrics), (fast_state, fast_metrics) = out[False], out[True]
    assert fast_state.params[0]["w"].dtype == dtype
    assert_trees_close(fast_state.params, auto_state.params, dtype, "trajectory")
    assert_trees_close(fast_state.opt_state, auto_state.opt_state, dtype, "trajectory")
    assert int(fast_state.step) == int(auto_state.step)
    if auto_state.key is not None:  # the same dropout keys were used, step by step
        assert np.array_equal(jax.random.key_data(fast_state.key), jax.random.key_data(auto_state.key))
    for f, a in zip(fast_metrics, auto_metrics):
        assert_trees_close(f, a, dtype, "trajectory")


@pytest.mark.parametrize(
    "activation, dropout", [("relu", 0.0)] + [(activation, 0.4) for activation in ACTIVATIONS]
)
def test_dense_gradient_is_autodiffs(activation, dropout, dtype):
    params = jnb.init_mlp(jax.random.key(0), [3, 7, 5, 2], dtype=dtype)
    x = jax.random.normal(jax.random.key(1), (9, 3), dtype)
    y = jax.random.normal(jax.random.key(2), (9, 2), dtype)
    key = jax.random.key(5) if dropout else None

    def loss_fn(pred):
        return jnp.mean((pred - y) ** 2)

    def autodiff(p):
        kw = {"key": key, "train": True} if key is not None else {}
        pred = mlp_apply(p, x, activation=activation, dropout_rate=dropout, **kw)
        return loss_fn(pred), pred

    (want_loss, want_pred), want = jax.value_and_grad(autodiff, has_aux=True)(params)
    loss, pred, grads = dense_value_and_grad(params, x, key, loss_fn, DenseStack(activation, dropout))
    assert_close(loss, want_loss, dtype)
    assert_close(pred, want_pred, dtype)
    assert_trees_close(grads, want, dtype, "grad")


def test_flatten_state_round_trip_is_exact():
    params = jnb.init_mlp(jax.random.key(0), [3, 4, 2])
    state = jnb.create_train_state(params, jnb.make_optimizer(1e-3), key=jax.random.key(1))
    flat, unravel = flatten_state(state)
    assert flat.params.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    assert [a.shape for a in jax.tree_util.tree_leaves(flat.opt_state)].count(flat.params.shape) == 2
    back = unflatten_state(flat, state, unravel)
    assert jax.tree_util.tree_structure(back) == jax.tree_util.tree_structure(state)
    for a, b in zip(jax.tree_util.tree_leaves(back), jax.tree_util.tree_leaves(state)):
        assert np.array_equal(_raw(a), _raw(b))


def _is_key(a) -> bool:
    return jnp.issubdtype(a.dtype, jax.dtypes.prng_key)


def _raw(a):
    return np.asarray(jax.random.key_data(a) if _is_key(a) else a)


def test_the_rule_chooses_small_mlps_on_the_cpu_only():
    small = jnb.mlp([2, 64, 32, 1])
    big = jnb.mlp([16, 128, 128, 4])

    def shapes(model):
        return jax.eval_shape(model.init, jax.random.key(0))

    assert use_fast_path(ModelForward(small.apply), shapes(small), None)
    assert not use_fast_path(ModelForward(big.apply), shapes(big), None)  # 19k parameters
    assert sum(np.prod(a.shape) for a in jax.tree_util.tree_leaves(shapes(big))) > FAST_PATH_MAX_PARAMS
    plain = jnb.Model(small.init, lambda p, x, **kw: mlp_apply(p, x))  # not known to be a dense stack
    assert not use_fast_path(ModelForward(plain.apply), shapes(small), None)
    mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    assert not use_fast_path(ModelForward(small.apply), shapes(small), mesh)


def _autodiff_only(monkeypatch):
    monkeypatch.setattr(fastpath, "FAST_PATH_MAX_PARAMS", 0)


def test_train_model_with_defaults_equals_the_autodiff_path(monkeypatch):
    x, y = jnb.make_moons(jax.random.key(0), 200, noise=0.2)
    model, _ = jnb.select_architecture(2, 1, "binary")
    data, val = (x[:150], y[:150]), (x[150:], y[150:])
    fast = jnb.train_model(model, data, val, key=jax.random.key(1), epochs=4)
    _autodiff_only(monkeypatch)
    auto = jnb.train_model(model, data, val, key=jax.random.key(1), epochs=4)
    assert_trees_close(fast.params, auto.params, np.float32, "trajectory")
    for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        assert_close(np.array(fast.history[name]), np.array(auto.history[name]), np.float32, "trajectory")


def test_train_many_with_traced_dropout_equals_the_autodiff_path(monkeypatch):
    x, y = jnb.make_moons(jax.random.key(0), 120, noise=0.2)
    model = jnb.mlp([2, 16, 1])
    keys = jax.random.split(jax.random.key(2), 3)
    hyper = {"dropout_rate": [0.0, 0.2, 0.5], "lambda_l2": [0.0, 1e-3, 0.0]}
    kw = dict(hyperparams=hyper, epochs=3, batch_size=32, loss_type="bce_with_logits")
    fast = jnb.train_many(model, (x, y), (x[:30], y[:30]), keys=keys, **kw)
    _autodiff_only(monkeypatch)
    auto = jnb.train_many(model, (x, y), (x[:30], y[:30]), keys=keys, **kw)
    assert_trees_close(fast.params, auto.params, np.float32, "trajectory")
    for f, a in zip(fast.histories, auto.histories):
        assert_close(np.array(f["val_loss"]), np.array(a["val_loss"]), np.float32, "trajectory")


def test_compiler_options_this_jaxlib_lacks_are_left_out(monkeypatch):
    known = fastpath.known_compiler_options()
    assert known == fastpath.CPU_COMPILER_OPTIONS  # the jaxlib the project is tested on has both
    options = {**fastpath.CPU_COMPILER_OPTIONS, "xla_cpu_no_such_option": True}
    monkeypatch.setattr(fastpath, "CPU_COMPILER_OPTIONS", options)
    fastpath.known_compiler_options.cache_clear()
    try:
        assert fastpath.known_compiler_options() == known
    finally:
        fastpath.known_compiler_options.cache_clear()
