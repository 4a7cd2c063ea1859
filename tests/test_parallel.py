"""train_many and tune_hyperparameters against separate train_model runs; sharding over 4 CPU devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from helpers import assert_close, assert_trees_close

import jnnbasics as jnb
from jnnbasics.parallel import expand_grid, unstack


@pytest.fixture(scope="module")
def moons():
    x, y = jnb.make_moons(jax.random.key(0), 150, noise=0.2)
    xt, yt, xv, yv = jnb.train_val_split(jax.random.key(1), x, y, val_fraction=0.2)
    return (xt, yt), (xv, yv)


def test_train_many_equals_separate_train_model_runs(moons):
    train, val = moons
    model = jnb.mlp([2, 16, 8, 1], loss_type="bce_with_logits")
    keys = jax.random.split(jax.random.key(3), 4)
    hp = {
        "learning_rate": [1e-3, 5e-3, 1e-2, 2e-3],
        "lambda_l1": [0.0, 1e-3, 0.0, 1e-4],
        "lambda_l2": [0.0, 0.0, 1e-2, 1e-3],
        "dropout_rate": [0.0, 0.2, 0.0, 0.5],
    }
    many = jnb.train_many(model, train, val, keys=keys, hyperparams=hp, epochs=6, batch_size=16)
    for i in range(4):
        mi = jnb.mlp([2, 16, 8, 1], loss_type="bce_with_logits", dropout_rate=hp["dropout_rate"][i])
        single = jnb.train_model(
            mi,
            train,
            val,
            key=keys[i],
            epochs=6,
            batch_size=16,
            learning_rate=hp["learning_rate"][i],
            lambda_l1=hp["lambda_l1"][i],
            lambda_l2=hp["lambda_l2"][i],
        )
        assert_close(many.histories[i]["train_loss"], single.history["train_loss"], np.float32, "trajectory")
        assert_close(many.histories[i]["val_loss"], single.history["val_loss"], np.float32, "trajectory")
        assert_trees_close(unstack(many.params, i), single.params, np.float32, "trajectory")
        assert many.histories[i]["lr"] == pytest.approx(single.history["lr"])


def test_train_many_bad_hyperparams(moons):
    train, val = moons
    model = jnb.mlp([2, 4, 1], loss_type="bce_with_logits")
    keys = jax.random.split(jax.random.key(0), 3)
    with pytest.raises(ValueError, match="3 values"):
        jnb.train_many(model, train, keys=keys, hyperparams={"learning_rate": [1e-3, 1e-2]}, epochs=1)
    with pytest.raises(ValueError, match="keys among"):
        jnb.train_many(model, train, keys=keys, hyperparams={"lr": [1e-3] * 3}, epochs=1)
    with pytest.raises(ValueError, match=r"values in \[0, 1\)"):
        jnb.train_many(model, train, keys=keys, hyperparams={"dropout_rate": [0.1, 1.0, 0.2]}, epochs=1)


def test_expand_grid_product_and_list():
    grid = expand_grid({"learning_rate": [1e-3, 1e-2], "hidden": [16, 32], "seed": 0})
    assert len(grid) == 4 and {"learning_rate": 1e-2, "hidden": 32, "seed": 0} in grid
    assert expand_grid([{"a": 1}, {"a": 2}]) == [{"a": 1}, {"a": 2}]


def test_tune_hyperparameters_matches_train_model_and_sorts(moons):
    train, val = moons
    calls = []

    def model_fn(hidden):
        calls.append(hidden)
        return jnb.mlp([2, hidden, 1], loss_type="bce_with_logits")

    grid = {"hidden": [4, 16], "learning_rate": [1e-3, 1e-2], "lambda_l2": [0.0, 1e-3]}
    key = jax.random.key(7)
    results = jnb.tune_hyperparameters(model_fn, grid, train, val, key=key, epochs=5, batch_size=32)
    assert len(results) == 8
    assert sorted(calls) == [4, 16]  # one model (one compile) per shape group
    losses = [r["final_loss"] for r in results]
    assert losses == sorted(losses)
    best = results[0]
    single = jnb.train_model(
        model_fn(best["params"]["hidden"]),
        train,
        val,
        key=jax.random.fold_in(key, 0),
        epochs=5,
        batch_size=32,
        learning_rate=best["params"]["learning_rate"],
        lambda_l2=best["params"]["lambda_l2"],
    )
    assert_close(best["final_loss"], single.history["val_loss"][-1], np.float32, "trajectory")
    assert_trees_close(best["trained_params"], single.params, np.float32, "trajectory")


_MULTI_DEVICE = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    jax.config.update("jax_default_matmul_precision", "highest")
    import jnnbasics as jnb
    from jax.sharding import Mesh
    assert len(jax.devices()) == 4, jax.devices()
    x, y = jnb.make_moons(jax.random.key(0), 203, noise=0.2)
    model = jnb.mlp([2, 32, 16, 1], loss_type="bce_with_logits")
    kw = dict(key=jax.random.key(1), epochs=4, batch_size=32)
    single = jnb.train_model(model, (x, y), (x, y), **kw)
    mesh = Mesh(np.array(jax.devices()), ("data",))
    multi = jnb.train_model(model, (x, y), (x, y), mesh=mesh, **kw)
    try:
        jnb.train_model(model, (x, y), mesh=mesh, key=jax.random.key(1), epochs=1, batch_size=30)
        bad = ""
    except ValueError as e:
        bad = str(e)
    keys = jax.random.split(jax.random.key(2), 8)
    hp = {"learning_rate": list(np.linspace(1e-3, 1e-2, 8))}
    many1 = jnb.train_many(model, (x, y), (x, y), keys=keys, hyperparams=hp, epochs=3)
    mmesh = Mesh(np.array(jax.devices()), ("model",))
    many4 = jnb.train_many(model, (x, y), (x, y), keys=keys, hyperparams=hp, epochs=3, mesh=mmesh)
    print(json.dumps({
        "single": single.history["train_loss"], "multi": multi.history["train_loss"],
        "single_val": single.history["val_loss"], "multi_val": multi.history["val_loss"],
        "many1": [h["val_loss"] for h in many1.histories], "many4": [h["val_loss"] for h in many4.histories],
        "sharded": str(many4.params[0]["w"].sharding.spec), "bad": bad,
    }))
    """
)


def test_data_and_model_parallel_on_four_cpu_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-c", _MULTI_DEVICE], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert_close(r["multi"], r["single"], np.float32, "trajectory")
    assert_close(r["multi_val"], r["single_val"], np.float32, "trajectory")
    assert_close(r["many4"], r["many1"], np.float32, "trajectory")
    assert "model" in r["sharded"]
    assert "divisible by the 4 devices" in r["bad"]
