"""Runs in Python: ``train_model(checkpoint_dir=)`` resume, best parameters, ``save_run``/``load_run``.

Oracles: the same run trained without interruption (a resumed run must give its history and
parameters), the checkpoint's own bytes (a refused resume leaves them as they were),
``evaluate_loss`` and the run's history (the best parameters' validation loss is the minimum of
``val_loss``), scikit-learn's metrics, and the model applied by hand (scaler, ``model.apply``,
sigmoid / softmax / argmax in numpy) for ``Run.predict``.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import jax
import numpy as np
import pytest
from helpers import assert_close, assert_trees_close

import jnnbasics as jnb
from jnnbasics.checkpoint import read_checkpoint_metadata

BCE = "bce_with_logits"
SIZES = [2, 16, 1]
# every run of the resume tests: small batches, so that an epoch has several steps
KW = dict(key=jax.random.key(0), batch_size=16, loss_type=BCE)


class Split(NamedTuple):
    """Raw and standardised data of a run, and its scaler."""

    x_train: np.ndarray  # original units
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    xs_train: np.ndarray  # standardised with the training split's scaler
    xs_val: np.ndarray
    scaler: jnb.ScalerState


def make_split(x, y, *, seed: int) -> Split:
    xt, yt, xv, yv = (
        np.asarray(a) for a in jnb.train_val_split(jax.random.key(seed), x, y, val_fraction=0.2)
    )
    s = jnb.fit_scaler(xt)
    return Split(xt, yt, xv, yv, np.asarray(jnb.transform(s, xt)), np.asarray(jnb.transform(s, xv)), s)


@pytest.fixture(scope="module")
def moons() -> Split:
    """200 noisy two-moons points (160 train / 40 validation): the validation loss bounces."""
    x, y = jnb.make_moons(jax.random.key(0), 200, noise=0.4)
    return make_split(x, y, seed=1)


def fit(model, data: Split, folder=None, **kw):
    """``train_model`` on the standardised split, checkpointing to ``folder`` when given."""
    return jnb.train_model(
        model,
        (data.xs_train, data.y_train),
        (data.xs_val, data.y_val),
        checkpoint_dir=folder,
        **{**KW, **kw},
    )


def without_time(history: dict) -> dict:
    """A history without ``epoch_time`` (the only series that differs between equal runs)."""
    return {k: list(v) for k, v in history.items() if k != "epoch_time"}


def interrupt_at(epoch_to_stop: int):
    """A callback that presses Ctrl-C after epoch ``epoch_to_stop``."""

    def cb(epoch, logs, state):
        if epoch == epoch_to_stop:
            raise KeyboardInterrupt

    return cb


def ckpt_meta(folder) -> dict:
    return read_checkpoint_metadata(folder / "checkpoint.ckpt")


def leaves_differ(a, b) -> bool:
    return any(
        not np.array_equal(np.asarray(u), np.asarray(v))
        for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b))
    )


# ---------------------------------------------------------------------------------------------
# 1. a resumed run is the uninterrupted run
# ---------------------------------------------------------------------------------------------
RESUME_CASES = {
    "mlp": (0.0, {}),
    "dropout": (0.2, {}),
    "step": (0.0, {"schedule": "step", "schedule_options": {"step_size": 2}}),
    "cosine": (0.0, {"schedule": "cosine"}),
    # lr 0.2 on this data: the best epoch is 2, patience 2 stops the run at epoch 4, so the resumed
    # run (from epoch 3) must know the best loss, the epochs since it and the best parameters
    "patience": (0.0, {"patience": 2, "learning_rate": 0.2}),
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_interrupted_run_resumes_like_the_uninterrupted_one(tmp_path, moons, case):
    dropout, extra = RESUME_CASES[case]
    model = jnb.mlp(SIZES, dropout_rate=dropout, loss_type=BCE)
    full = fit(model, moons, tmp_path / "full", epochs=6, **extra)
    assert ckpt_meta(tmp_path / "full")["epoch"] == len(full.history["train_loss"])
    if case == "patience":  # the case tests what it says
        assert full.stop_reason == "early_stopping" and full.best_epoch < 3 < len(full.history["train_loss"])
    if case == "step":
        assert full.history["lr"][2] < full.history["lr"][1]

    with pytest.raises(KeyboardInterrupt):
        fit(model, moons, tmp_path / "cut", epochs=6, callbacks=[interrupt_at(3)], **extra)
    meta = ckpt_meta(tmp_path / "cut")
    assert meta["epoch"] == 3
    assert {k: len(v) for k, v in meta["history"].items()} == {k: 3 for k in full.history}

    resumed = fit(model, moons, tmp_path / "cut", epochs=6, **extra)
    assert resumed.stop_reason == full.stop_reason and resumed.best_epoch == full.best_epoch
    assert_trees_close(without_time(resumed.history), without_time(full.history))
    assert_trees_close(resumed.params, full.params)
    assert_trees_close(resumed.state.params, full.state.params)


def ctrl_c_in_writes(monkeypatch, calls: set[int]):
    """Make the checkpoint writer raise KeyboardInterrupt (Ctrl-C mid-save) on these 1-based calls."""
    import jnnbasics.checkpoint as checkpoint

    real, count = checkpoint.write_bytes_atomic, [0]

    def write(path, data):
        count[0] += 1
        if count[0] in calls:
            raise KeyboardInterrupt
        return real(path, data)

    monkeypatch.setattr(checkpoint, "write_bytes_atomic", write)


@pytest.mark.parametrize(
    "calls, held",
    [({3}, 3), ({3, 4}, 2)],
    ids=["save-retried-at-exit", "both-saves-interrupted"],
)
def test_ctrl_c_during_a_save_leaves_a_true_checkpoint(tmp_path, moons, monkeypatch, calls, held):
    """Ctrl-C while epoch 3 is written: the loop's exit writes it again (or, interrupted too, the file
    keeps epoch 2); either way its label equals its contents and resuming equals the full run."""
    model = jnb.mlp(SIZES, loss_type=BCE)
    full = fit(model, moons, tmp_path / "full", epochs=6)
    ctrl_c_in_writes(monkeypatch, calls)
    with pytest.raises(KeyboardInterrupt):
        fit(model, moons, tmp_path / "cut", epochs=6)
    monkeypatch.undo()
    assert not [p for p in (tmp_path / "cut").iterdir() if ".tmp" in p.name]  # no temp file left
    meta = ckpt_meta(tmp_path / "cut")
    assert meta["epoch"] == held and len(meta["history"]["train_loss"]) == held
    assert_trees_close(meta["history"]["train_loss"], full.history["train_loss"][:held])
    resumed = fit(model, moons, tmp_path / "cut", epochs=6)
    assert_trees_close(without_time(resumed.history), without_time(full.history))
    assert_trees_close(resumed.params, full.params)


@pytest.mark.parametrize("dropout", [0.0, 0.2], ids=["mlp", "dropout"])
def test_more_epochs_extend_a_finished_run(tmp_path, moons, dropout):
    model = jnb.mlp(SIZES, dropout_rate=dropout, loss_type=BCE)
    full = fit(model, moons, tmp_path / "full", epochs=6)
    short = fit(model, moons, tmp_path / "grow", epochs=3)
    assert len(short.history["train_loss"]) == 3
    longer = fit(model, moons, tmp_path / "grow", epochs=6)
    assert ckpt_meta(tmp_path / "grow")["epoch"] == 6
    assert_trees_close(without_time(longer.history), without_time(full.history))
    assert_trees_close(longer.params, full.params)


# ---------------------------------------------------------------------------------------------
# 2. a checkpoint belongs to one run
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def finished(tmp_path, moons):
    """A 6-epoch run checkpointed in ``tmp_path / "run"``: (folder, result, checkpoint bytes)."""
    folder = tmp_path / "run"
    result = fit(jnb.mlp(SIZES, loss_type=BCE), moons, folder, epochs=6)
    return folder, result, (folder / "checkpoint.ckpt").read_bytes()


OTHER_RUNS = {
    # name: (change of fit's arguments, words the error must contain)
    "train_x": (lambda d: {"data": d._replace(xs_train=d.xs_train + 0.05)}, ["checkpoint_dir", "train_data"]),
    "train_y": (lambda d: {"data": d._replace(y_train=1 - d.y_train)}, ["checkpoint_dir", "train_data"]),
    "key": (lambda d: {"key": jax.random.key(99)}, ["key"]),
    "learning_rate": (lambda d: {"learning_rate": 0.01}, ["learning_rate"]),
    "val_data": (lambda d: {"data": d._replace(xs_val=d.xs_val[::-1].copy())}, ["val_data"]),
}


@pytest.mark.parametrize("change", list(OTHER_RUNS))
def test_a_checkpoint_of_another_run_is_refused_and_kept(finished, moons, change):
    folder, _, before = finished
    make, words = OTHER_RUNS[change]
    kw = make(moons)
    data = kw.pop("data", moons)
    with pytest.raises(ValueError) as err:  # a resume past the checkpoint's 6 epochs
        fit(jnb.mlp(SIZES, loss_type=BCE), data, folder, epochs=8, **kw)
    for word in words:
        assert word in str(err.value), str(err.value)
    assert (folder / "checkpoint.ckpt").read_bytes() == before


def test_fewer_epochs_than_the_checkpoint_holds_is_refused(finished, moons):
    folder, _, before = finished
    with pytest.raises(ValueError, match="epochs"):
        fit(jnb.mlp(SIZES, loss_type=BCE), moons, folder, epochs=3)
    assert (folder / "checkpoint.ckpt").read_bytes() == before


def test_the_same_epochs_again_returns_the_run_without_training(finished, moons):
    folder, first, _ = finished
    seen = []
    again = fit(
        jnb.mlp(SIZES, loss_type=BCE), moons, folder, epochs=6, callbacks=[lambda e, logs, s: seen.append(e)]
    )
    assert seen == []  # no epoch ran
    assert_trees_close(without_time(again.history), without_time(first.history))
    assert_trees_close(again.params, first.params)


# ---------------------------------------------------------------------------------------------
# 3. the best parameters are kept
# ---------------------------------------------------------------------------------------------
def test_best_params_are_those_of_the_lowest_validation_loss(moons):
    model = jnb.mlp([2, 256, 256, 1], loss_type=BCE)
    # a large learning rate on noisy data: the validation loss rises after a few epochs
    res = jnb.train_model(
        model,
        (moons.xs_train, moons.y_train),
        (moons.xs_val, moons.y_val),
        key=jax.random.key(2),
        epochs=20,
        learning_rate=0.05,
        batch_size=32,
        loss_type=BCE,
    )
    vl = res.history["val_loss"]
    assert res.best_epoch == int(np.argmin(vl)) + 1 and res.best_epoch < 20
    yv = moons.y_val.astype(np.float32).reshape(-1, 1)
    loss_of = lambda p: jnb.evaluate_loss(model.apply, p, moons.xs_val, yv, loss_type=BCE, batch_size=32)
    assert_close(loss_of(res.best_params), min(vl))
    assert_close(loss_of(res.state.params), vl[-1])
    assert leaves_differ(res.best_params, res.state.params)


def test_best_params_is_none_without_validation_data(moons):
    res = jnb.train_model(jnb.mlp(SIZES, loss_type=BCE), (moons.xs_train, moons.y_train), epochs=2, **KW)
    assert res.best_params is None and res.best_epoch is None


# ---------------------------------------------------------------------------------------------
# 4. save_run / load_run
# ---------------------------------------------------------------------------------------------
class Task(NamedTuple):
    split: Split
    y_scaler: jnb.ScalerState | None
    class_names: list[str] | None
    features: list[str]
    sizes: list[int]
    loss_type: str


def make_task(task: str) -> Task:
    if task == "binary":
        x, y = jnb.make_moons(jax.random.key(5), 150, noise=0.3)
        return Task(make_split(x, y, seed=6), None, ["pointy", "round"], ["width", "height"], [2, 16, 1], BCE)
    if task == "multiclass":
        x, y = jnb.make_blobs(jax.random.key(5), 150, n_classes=3, cluster_std=3.0)
        return Task(
            make_split(x, y, seed=6), None, ["red", "green", "blue"], ["u", "v"], [2, 16, 3], "cross_entropy"
        )
    x, y = jnb.make_regression(jax.random.key(5), 150, n_features=3, noise=0.3)
    y = 50.0 + 20.0 * np.asarray(y, np.float64)  # targets far from unit scale
    split = make_split(x, y, seed=6)
    ys = jnb.fit_scaler(split.y_train.reshape(-1, 1))
    return Task(split, ys, None, ["a", "b", "c"], [3, 16, 1], "mse")


@functools.cache
def trained(task: str):
    """(task data, model, result) of a short run on the standardised data (and targets, for
    regression); trained once per test module run and shared by the round-trip tests."""
    t = make_task(task)
    return (t, *train_task(t))


def train_task(t: Task, epochs: int = 6):
    s = t.split
    yt, yv = s.y_train, s.y_val
    if t.y_scaler is not None:
        yt = np.asarray(jnb.transform(t.y_scaler, yt.reshape(-1, 1)))
        yv = np.asarray(jnb.transform(t.y_scaler, yv.reshape(-1, 1)))
    model = jnb.mlp(t.sizes, loss_type=t.loss_type)
    res = jnb.train_model(
        model,
        (s.xs_train, yt),
        (s.xs_val, yv),
        key=jax.random.key(7),
        epochs=epochs,
        learning_rate=0.01,
        batch_size=32,
        loss_type=t.loss_type,
    )
    return model, res


def by_hand(t: Task, model, params, x_raw: np.ndarray):
    """(predictions, probabilities or None) from the scaler, ``model.apply`` and numpy."""
    sc = t.split.scaler
    xs = (np.asarray(x_raw, np.float64) - np.asarray(sc.mean, np.float64)) / np.asarray(sc.scale, np.float64)
    out = np.asarray(model.apply(params, xs.astype(np.float32)), np.float64)
    if t.y_scaler is not None:
        return out[:, 0] * float(t.y_scaler.scale[0]) + float(t.y_scaler.mean[0]), None
    if out.shape[1] == 1:
        p1 = 1.0 / (1.0 + np.exp(-out[:, 0]))
        probs = np.stack([1.0 - p1, p1], axis=1)
    else:
        e = np.exp(out - out.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
    return [t.class_names[i] for i in np.argmax(probs, axis=1)], probs


def save(folder, t: Task, model, res):
    return jnb.save_run(
        folder,
        res,
        model,
        loss_type=t.loss_type,
        x_scaler=t.split.scaler,
        y_scaler=t.y_scaler,
        class_names=t.class_names,
        features=t.features,
        batch_size=32,
    )


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_save_run_load_run_round_trip(tmp_path, task):
    t, model, res = trained(task)
    assert res.best_epoch is not None
    save(tmp_path / "run", t, model, res)

    run = jnb.load_run(tmp_path / "run")
    assert run.task == task
    assert run.class_names == t.class_names and run.features == t.features
    assert isinstance(run.config, dict)
    assert run.best_epoch == res.best_epoch and run.epoch == res.best_epoch
    assert_trees_close(run.params, res.best_params)
    assert_trees_close(run.best_params, res.best_params)
    assert_trees_close(run.last_params, res.state.params)
    assert_trees_close(without_time(run.history), without_time(res.history))
    xs = t.split.xs_val
    assert_trees_close(run.model.apply(run.params, xs), model.apply(res.best_params, xs))

    last = jnb.load_run(tmp_path / "run", params="last")
    assert last.epoch == len(res.history["train_loss"]) and last.best_epoch == res.best_epoch
    assert_trees_close(last.params, res.state.params)

    x_new = np.concatenate([t.split.x_val, t.split.x_train[:7]])  # original units
    expected, probs = by_hand(t, model, res.best_params, x_new)
    pred = run.predict(x_new)
    assert isinstance(pred, np.ndarray) and len(pred) == len(x_new)
    if task == "regression":
        assert pred.dtype == np.float64
        assert_close(pred, expected)
        with pytest.raises(ValueError):
            run.predict_proba(x_new)
    else:
        assert all(isinstance(p, str) for p in pred.tolist())
        assert pred.tolist() == expected
        got = run.predict_proba(x_new)
        assert got.dtype == np.float64 and got.shape == (len(x_new), len(t.class_names))
        assert_close(got, probs)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_run_evaluate_reproduces_the_history(tmp_path, task):
    from sklearn.metrics import mean_absolute_error, r2_score

    t, model, res = trained(task)
    save(tmp_path / "run", t, model, res)
    for which in ("best", "last"):
        run = jnb.load_run(tmp_path / "run", params=which)
        s = t.split
        e = run.epoch - 1
        if task == "regression":
            got = run.evaluate(s.x_val, s.y_val)
            pred = run.predict(s.x_val)
            assert got["n"] == len(s.y_val)
            assert_close(got["r2"], r2_score(s.y_val, pred))
            assert_close(got["rmse"], np.sqrt(np.mean((s.y_val - pred) ** 2)))
            assert_close(got["mae"], mean_absolute_error(s.y_val, pred))
        else:
            names = [t.class_names[int(i)] for i in s.y_val]
            got = run.evaluate(s.x_val, names)
            assert got["n"] == len(names)
            assert_close(got["accuracy"], res.history["val_accuracy"][e])
            # the data's raw labels 0, 1, ... of a run whose class names are "0", "1", ...
            digits = t._replace(class_names=[str(i) for i in range(len(t.class_names))])
            save(tmp_path / f"digits-{which}", digits, model, res)
            raw = jnb.load_run(tmp_path / f"digits-{which}", params=which).evaluate(s.x_val, s.y_val)
            assert raw["n"] == got["n"] and raw["accuracy"] == got["accuracy"]
            assert_close(raw["loss"], got["loss"])
        # averaged like the history's val_loss (batches of batch_size, on the trained-on scale)
        assert_close(got["loss"], res.history["val_loss"][e])


def test_load_run_of_a_missing_folder_names_it(tmp_path):
    missing = tmp_path / "nothing-here"
    with pytest.raises((FileNotFoundError, ValueError), match=re.escape(str(missing))):
        jnb.load_run(missing)
