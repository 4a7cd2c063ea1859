"""train_step, evaluation and train_model against the tutorial's PyTorch loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch_reference as ref
from helpers import assert_close, assert_trees_close

import jnnbasics as jnb
from jnnbasics.training import ModelForward


def _problem(kind, n=90, n_val=37, features=5, seed=0):
    """Random data for a regression, binary or multiclass problem (n not a multiple of the batch)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + n_val, features))
    w = rng.normal(size=(features,))
    if kind == "regression":
        y = x @ w + 0.1 * rng.normal(size=n + n_val)
        sizes, loss = [features, 16, 8, 1], "mse"
    elif kind == "binary":
        y = (x @ w > 0).astype(np.int64)
        sizes, loss = [features, 16, 1], "bce_with_logits"
    else:
        y = np.digitize(x @ w, [-0.5, 0.5]).astype(np.int64)
        sizes, loss = [features, 16, 8, 3], "cross_entropy"
    return (x[:n], y[:n]), (x[n:], y[n:]), sizes, loss


def _torch_history(sizes, params, train, val, dtype, loss_type, **kwargs):
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    model = ref.sequential_mlp(sizes, tdtype)
    model.load_state_dict(jnb.params_to_torch(params))
    hist = ref.train_model(
        model,
        ref.loaders(*train, 16, tdtype, loss_type),
        ref.loaders(*val, 16, tdtype, loss_type),
        loss_type=loss_type,
        **kwargs,
    )
    return hist, jnb.params_from_torch(model)


@pytest.mark.parametrize(
    "kind,penalties",
    [
        ("regression", {}),
        ("binary", {}),
        ("multiclass", {}),
        ("multiclass", {"lambda_l1": 1e-3, "lambda_l2": 1e-2}),
    ],
)
def test_train_model_matches_tutorial_loop(kind, penalties, dtype):
    train, val, sizes, loss = _problem(kind)
    model = jnb.mlp(sizes, loss_type=loss)
    params = jnb.init_mlp(jax.random.key(3), sizes, init="torch_default", dtype=dtype)
    result = jnb.train_model(
        model,
        train,
        val,
        key=jax.random.key(0),
        epochs=20,
        batch_size=16,
        learning_rate=3e-3,
        shuffle=False,
        params=params,
        **penalties,
    )
    hist, torch_params = _torch_history(
        sizes, params, train, val, dtype, loss, epochs=20, learning_rate=3e-3, **penalties
    )
    assert len(result.history["train_loss"]) == 20
    assert_close(result.history["train_loss"], hist["train_loss"], dtype, "trajectory")
    assert_close(result.history["val_loss"], hist["val_loss"], dtype, "trajectory")
    assert_trees_close(result.params, torch_params, dtype, "trajectory")
    if penalties:
        assert "train_objective" in result.history
        assert all(o > t for o, t in zip(result.history["train_objective"], result.history["train_loss"]))


@pytest.mark.parametrize("schedule", ["step", "cosine"])
def test_train_model_schedule_and_weight_decay_match_torch(schedule, dtype):
    train, val, sizes, loss = _problem("regression", n=40, n_val=10)
    model = jnb.mlp(sizes, loss_type=loss)
    params = jnb.init_mlp(jax.random.key(5), sizes, init="torch_default", dtype=dtype)
    # Near a minimum Adam turns float32 rounding in tiny gradients into steps of size lr, so long
    # float32 runs drift apart chaotically (even at a constant lr); float64 runs all 120 epochs (past
    # CosineAnnealingLR's T_max=100, where torch's rate rises again) to 1e-9, float32 stops at 110.
    epochs = 120 if dtype == np.float64 else 110
    result = jnb.train_model(
        model,
        train,
        val,
        key=jax.random.key(0),
        epochs=epochs,
        batch_size=16,
        learning_rate=1e-2,
        weight_decay=1e-3,
        schedule=schedule,
        shuffle=False,
        params=params,
    )
    hist, torch_params = _torch_history(
        sizes,
        params,
        train,
        val,
        dtype,
        loss,
        epochs=epochs,
        learning_rate=1e-2,
        weight_decay=1e-3,
        schedule=schedule,
    )
    assert_close(result.history["train_loss"], hist["train_loss"], dtype, "trajectory")
    assert_trees_close(result.params, torch_params, dtype, "trajectory")
    lr = result.history["lr"]
    assert lr[0] == pytest.approx(1e-2)
    if schedule == "step":
        assert (
            lr[29] == pytest.approx(1e-2) and lr[30] == pytest.approx(1e-3) and lr[60] == pytest.approx(1e-4)
        )
    else:
        assert lr[100] == pytest.approx(0.0, abs=1e-12) and lr[105] > 0  # torch's cosine rises after T_max


def test_train_step_200_steps_match_torch_adam(dtype):
    sizes = [4, 32, 16, 1]
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(200, 8, 4)).astype(dtype)
    # A learnable target: on pure-noise targets weight decay plus the unsquared L2 norm drive the
    # biases to ~0, where the norm's gradient b/||b|| points wherever float32 rounding says, and the
    # float32 runs part ways chaotically (float64 still agrees); that is the penalty, not the code.
    ys = np.tanh(xs.sum(axis=-1, keepdims=True)).astype(dtype)
    params = jnb.init_mlp(jax.random.key(0), sizes, init="torch_default", dtype=dtype)
    model = jnb.mlp(sizes)
    opt = jnb.make_optimizer(1e-3, weight_decay=1e-2)
    step = jnb.make_train_step(model.apply, opt, loss_type="mse", lambda_l2=1e-2)
    state = jnb.create_train_state(params, opt)
    losses = []
    for xb, yb in zip(xs, ys):
        state, loss = step(state, jnp.asarray(xb), jnp.asarray(yb))
        losses.append(float(loss))
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    tm = ref.sequential_mlp(sizes, tdtype)
    tm.load_state_dict(jnb.params_to_torch(params))
    topt = torch.optim.Adam(tm.parameters(), lr=1e-3, weight_decay=1e-2)
    tlosses = []
    for xb, yb in zip(xs, ys):
        loss = ref.compute_loss(tm(torch.as_tensor(xb)), torch.as_tensor(yb))
        obj = ref.add_regularization(tm, loss, 0.0, 1e-2)
        topt.zero_grad()
        obj.backward()
        topt.step()
        tlosses.append(loss.item())
    assert_close(losses, tlosses, dtype, "trajectory")
    assert_trees_close(state.params, jnb.params_from_torch(tm), dtype, "trajectory")
    assert int(state.step) == 200


def test_train_step_does_not_retrace_and_donates():
    traces = []

    def apply(params, x, *, key=None, train=False):
        traces.append(1)
        return jnb.mlp_apply(params, x)

    params = jnb.init_mlp(jax.random.key(0), [3, 4, 1])
    opt = jnb.make_optimizer(1e-2)
    step = jnb.make_train_step(apply, opt)
    state = jnb.create_train_state(params, opt)
    x, y = jnp.ones((8, 3)), jnp.zeros((8, 1))
    for _ in range(5):
        old = state
        state, _ = step(state, x, y)
    assert len(traces) == 1
    assert old.params[0]["w"].is_deleted()  # the old state's buffers were donated


def test_train_model_compiles_each_epoch_once():
    traces = []

    def apply(params, x, *, key=None, train=False):
        traces.append(x.shape)
        return jnb.mlp_apply(params, x, dropout_rate=0.2, key=key, train=train)

    model = jnb.Model(init=lambda k: jnb.init_mlp(k, [2, 8, 1]), apply=apply, layer_sizes=(2, 8, 1))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(37, 2)), rng.integers(0, 2, 37)
    res = jnb.train_model(
        model,
        (x, y),
        (x[:10], y[:10]),
        key=jax.random.key(0),
        epochs=6,
        batch_size=8,
        loss_type="bce_with_logits",
    )
    first = len(traces)
    res2 = jnb.train_model(
        model,
        (x, y),
        (x[:10], y[:10]),
        key=jax.random.key(1),
        epochs=3,
        batch_size=8,
        loss_type="bce_with_logits",
    )
    assert len(res.history["train_loss"]) == 6 and len(res2.history["train_loss"]) == 3
    # the epoch was traced once in the first run: one training step (the partial batch of 5 is
    # padded to a full masked batch, so there is no second step shape) and one validation pass...
    assert sorted(traces[:first]) == [(8, 2), (10, 2)]
    # ...and not again: not in later epochs, not in a second run with the same shapes.
    assert len(traces) == first


def test_dropout_training_is_reproducible_by_key():
    x, y = jnb.make_moons(jax.random.key(0), 120, noise=0.2)
    model = jnb.dropout_mlp([2, 16, 16, 1], dropout_rate=0.3)
    run = lambda k: jnb.train_model(
        model, (x, y), (x, y), key=jax.random.key(k), epochs=5, loss_type="bce_with_logits"
    ).history["train_loss"]
    assert run(7) == run(7)
    assert run(7) != run(8)


def test_shuffle_uses_key_and_shuffle_false_keeps_order():
    train, val, sizes, loss = _problem("regression")
    model = jnb.mlp(sizes, loss_type=loss)
    params = jnb.init_mlp(jax.random.key(0), sizes)
    h = lambda k, s: jnb.train_model(
        model, train, val, key=jax.random.key(k), epochs=3, shuffle=s, params=params
    ).history["train_loss"]
    assert h(1, True) == h(1, True)
    assert h(1, True) != h(2, True)
    assert h(1, False) == h(2, False)  # no shuffling: the key only affects dropout/init


def test_early_stopping_restores_best_params():
    train, val, sizes, loss = _problem("regression", n=60, n_val=20)
    model = jnb.mlp(sizes, loss_type=loss)
    # a large learning rate makes the validation loss bounce; patience 2 stops early
    res = jnb.train_model(model, train, val, key=jax.random.key(0), epochs=200, learning_rate=0.3, patience=2)
    assert res.stop_reason == "early_stopping"
    vl = res.history["val_loss"]
    assert res.best_epoch == int(np.argmin(vl)) + 1
    assert len(vl) == res.best_epoch + 2
    best_loss = jnb.evaluate_loss(model.apply, res.params, *val_targets(val), loss_type="mse", batch_size=32)
    assert_close(best_loss, min(vl))


def val_targets(val):
    x, y = val
    return np.asarray(x, np.float32), np.asarray(y, np.float32).reshape(-1, 1)


def test_divergence_keeps_last_finite_params():
    # A model whose output becomes NaN once its weight passes 3: training toward y=100 gets there.
    def apply(params, x, *, key=None, train=False):
        out = x @ params[0]["w"] + params[0]["b"]
        return jnp.where(jnp.max(params[0]["w"]) > 3.0, jnp.nan, out)

    model = jnb.Model(
        init=lambda k: [{"w": jnp.zeros((1, 1)), "b": jnp.zeros(1)}], apply=apply, layer_sizes=(1, 1)
    )
    x = np.ones((8, 1))
    y = np.full(8, 100.0)
    with pytest.warns(RuntimeWarning, match="NaN or infinite in epoch"):
        res = jnb.train_model(
            model, (x, y), key=jax.random.key(0), epochs=100, learning_rate=0.1, batch_size=8
        )
    assert res.stop_reason == "diverged"
    k = res.diverged_epoch
    assert k is not None and len(res.history["train_loss"]) == k - 1
    again = jnb.train_model(
        model, (x, y), key=jax.random.key(0), epochs=k - 1, learning_rate=0.1, batch_size=8
    )
    assert_trees_close(res.params, again.params)
    assert np.isfinite(np.asarray(res.params[0]["w"])).all()


def test_resume_equals_uninterrupted_run():
    x, y = jnb.make_moons(jax.random.key(0), 100, noise=0.2)
    model = jnb.dropout_mlp([2, 16, 1], dropout_rate=0.2)
    kw = dict(key=jax.random.key(4), loss_type="bce_with_logits", batch_size=16)
    full = jnb.train_model(model, (x, y), (x, y), epochs=8, **kw)
    half = jnb.train_model(model, (x, y), (x, y), epochs=4, **kw)
    hist = {k: list(v) for k, v in half.history.items()}
    resumed = jnb.train_model(
        model, (x, y), (x, y), epochs=8, state=half.state, start_epoch=4, history=hist, **kw
    )
    assert resumed.history["train_loss"] == full.history["train_loss"]
    assert resumed.history["val_loss"] == full.history["val_loss"]
    assert_trees_close(resumed.params, full.params)


def test_callback_can_stop_and_sees_logs():
    x, y = jnb.make_moons(jax.random.key(0), 64)
    seen = []

    def cb(epoch, logs, state):
        seen.append((epoch, set(logs)))
        return epoch == 3

    model, _ = jnb.select_architecture(2, 1, "binary")
    res = jnb.train_model(model, (x, y), (x, y), key=jax.random.key(0), epochs=10, callbacks=[cb])
    assert res.stop_reason == "callback" and [e for e, _ in seen] == [1, 2, 3]
    assert {"train_loss", "val_loss", "lr", "train_accuracy", "val_accuracy"} <= seen[0][1]


def test_evaluate_model_and_loss_match_torch():
    train, val, sizes, loss = _problem("multiclass")
    params = jnb.init_mlp(jax.random.key(2), sizes)
    pred, tgt = jnb.evaluate_model(jnb.mlp(sizes).apply, params, *train, batch_size=16)
    tm = ref.sequential_mlp(sizes)
    tm.load_state_dict(jnb.params_to_torch(params))
    with torch.no_grad():
        expected = tm(torch.as_tensor(train[0], dtype=torch.float32))
        tl = [
            ref.compute_loss(tm(xb), yb, "cross_entropy").item()
            for xb, yb in ref.loaders(*train, 16, torch.float32, "cross_entropy")
        ]
    assert_close(pred, expected)
    np.testing.assert_array_equal(tgt, train[1])
    got = jnb.evaluate_loss(
        jnb.mlp(sizes).apply, params, train[0], train[1], loss_type="cross_entropy", batch_size=16
    )
    assert_close(got, np.mean(tl))


def test_learns_moons_and_spirals():
    x, y = jnb.make_moons(jax.random.key(0), 500, noise=0.1)
    xt, yt, xv, yv = jnb.train_val_split(jax.random.key(1), x, y, val_fraction=0.2)
    model, _ = jnb.select_architecture(2, 1, "binary")
    res = jnb.train_model(model, (xt, yt), (xv, yv), key=jax.random.key(2), epochs=60, learning_rate=1e-2)
    assert res.history["val_accuracy"][-1] >= 0.95

    x, y = jnb.make_spirals(jax.random.key(3), 600, n_classes=3, noise=0.1)
    xt, yt, xv, yv = jnb.train_val_split(jax.random.key(4), x, y, val_fraction=0.2)
    model, _ = jnb.select_architecture(2, 3, "multiclass")
    res = jnb.train_model(model, (xt, yt), (xv, yv), key=jax.random.key(5), epochs=150, learning_rate=1e-2)
    assert res.history["val_accuracy"][-1] >= 0.90


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 3)), rng.integers(0, 3, 20)


@pytest.mark.parametrize(
    "change,exc,match",
    [
        (lambda x, y: ((x, y[:-1]), {}), ValueError, "same number of samples"),
        (lambda x, y: ((x[:0], y[:0]), {}), ValueError, "non-empty"),
        (
            lambda x, y: ((np.where(np.arange(60).reshape(20, 3) == 31, np.nan, x), y), {}),
            ValueError,
            "row 10, column 1",
        ),
        (
            lambda x, y: ((x, np.where(np.arange(20) == 4, 3, y)), {}),
            ValueError,
            r"labels in \[0, 3\).*row 4",
        ),
        (lambda x, y: ((x, y + 0.5), {}), ValueError, "integer class labels"),
        (lambda x, y: ((x, y), {"batch_size": 0}), ValueError, "batch_size must be a positive integer"),
        (lambda x, y: ((x, y), {"epochs": 2.5}), ValueError, "epochs must be a positive integer"),
        (lambda x, y: ((x, y), {"schedule": "linear"}), ValueError, "schedule must be one of"),
        (lambda x, y: ((x, y), {"loss_type": "hinge"}), ValueError, "loss_type must be one of"),
        (lambda x, y: ((x, y), {"learning_rate": -1.0}), ValueError, "learning_rate must be a positive"),
        (lambda x, y: ((x, y), {"patience": 3}), ValueError, "patience must be used together with val_data"),
        (lambda x, y: ((x, np.array(list("abcdefghijklmnopqrst"))), {}), TypeError, "numeric array"),
    ],
)
def test_train_model_bad_input(change, exc, match):
    x, y = _data()
    data, kw = change(x, y)
    model = jnb.mlp([3, 4, 3], loss_type="cross_entropy")
    with pytest.raises(exc, match=match):
        jnb.train_model(model, data, key=jax.random.key(0), epochs=kw.pop("epochs", 1), **kw)


def test_bce_targets_out_of_range():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"BCE targets in \[0, 1\]"):
        jnb.train_model(
            jnb.mlp([2, 1]), (x, np.array([0, 1, 2, 0])), key=jax.random.key(0), loss_type="bce_with_logits"
        )


def test_model_forward_is_hashable_for_jit_cache():
    model = jnb.mlp([2, 3, 1])
    assert hash(ModelForward(model.apply)) == hash(ModelForward(model.apply))


def test_equal_models_share_compiled_code():
    traces = []
    real = jnb.models.get_activation  # what every MLP's hidden layers call when traced (either path)

    def counting(*a, **k):
        traces.append(1)
        return real(*a, **k)

    x, y = np.ones((16, 2), np.float32), np.zeros(16)
    import unittest.mock as mock

    with mock.patch("jnnbasics.models.get_activation", counting):
        for _ in range(2):  # two separately built but equal models
            jnb.train_model(jnb.mlp([2, 5, 1]), (x, y), key=jax.random.key(0), epochs=1, batch_size=8)
    assert len(traces) == 1  # traced for the first model only (one training step; no validation)


def test_checkpoint_dir_resumes_an_interrupted_run(tmp_path):
    x, y = jnb.make_moons(jax.random.key(0), 100, noise=0.2)
    model = jnb.dropout_mlp([2, 16, 1], dropout_rate=0.2)
    kw = dict(key=jax.random.key(4), loss_type="bce_with_logits", batch_size=16, epochs=7)
    full = jnb.train_model(model, (x, y), (x, y), **kw)

    def interrupt(epoch, logs, state):
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        jnb.train_model(model, (x, y), (x, y), checkpoint_dir=tmp_path, callbacks=[interrupt], **kw)
    meta = jnb.checkpoint.read_checkpoint_metadata(tmp_path / "checkpoint.ckpt")
    assert meta["epoch"] == 3
    resumed = jnb.train_model(model, (x, y), (x, y), checkpoint_dir=tmp_path, **kw)
    assert resumed.history["train_loss"] == full.history["train_loss"]
    assert resumed.history["val_loss"] == full.history["val_loss"]
    assert_trees_close(resumed.params, full.params)
    assert jnb.checkpoint.read_checkpoint_metadata(tmp_path / "checkpoint.ckpt")["epoch"] == 7


def test_checkpoint_dir_of_another_run_is_refused_and_kept(tmp_path):
    x, y = jnb.make_moons(jax.random.key(0), 64)
    jnb.train_model(jnb.mlp([2, 8, 1]), (x, y), key=jax.random.key(0), epochs=2, checkpoint_dir=tmp_path)
    before = (tmp_path / "checkpoint.ckpt").read_bytes()
    with pytest.raises(ValueError, match="differs in learning_rate"):
        jnb.train_model(
            jnb.mlp([2, 8, 1]),
            (x, y),
            key=jax.random.key(0),
            epochs=3,
            learning_rate=0.1,
            checkpoint_dir=tmp_path,
        )
    with pytest.raises(ValueError, match="differs in model"):  # said before the tree is compared
        jnb.train_model(jnb.mlp([2, 4, 1]), (x, y), key=jax.random.key(0), epochs=3, checkpoint_dir=tmp_path)
    assert (tmp_path / "checkpoint.ckpt").read_bytes() == before


def test_fewer_rows_than_batch_size_is_one_masked_batch():
    train, val, sizes, loss = _problem("regression", n=10, n_val=3)
    model = jnb.mlp(sizes, loss_type=loss)
    params = jnb.init_mlp(jax.random.key(0), sizes, init="torch_default")
    res = jnb.train_model(
        model, train, val, key=jax.random.key(0), epochs=3, batch_size=32, shuffle=False, params=params
    )
    hist, torch_params = _torch_history(
        sizes, params, train, val, np.float32, loss, epochs=3, learning_rate=1e-3
    )
    assert_close(res.history["train_loss"], hist["train_loss"], np.float32, "trajectory")
    assert_trees_close(res.params, torch_params, np.float32, "trajectory")
