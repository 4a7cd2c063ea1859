"""train_many and tune_hyperparameters against separate train_model runs; sharding over CPU devices.

Several devices need a fresh process (the CPU device count is fixed when JAX's backend starts), so
those tests run a script in a subprocess and compare what it prints.
"""

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
from jnnbasics.devices import cpu_cores, use_cpu_cores
from jnnbasics.parallel import expand_grid, model_mesh, unstack


def run_script(code: str, *args: str, env: dict | None = None, timeout: int = 120) -> dict:
    """Run ``code`` in a fresh CPU-only Python without XLA_FLAGS; its last stdout line is JSON."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"} | {"JAX_PLATFORMS": "cpu"} | (env or {})
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def moons():
    x, y = jnb.make_moons(jax.random.key(0), 150, noise=0.2)
    xt, yt, xv, yv = jnb.train_val_split(jax.random.key(1), x, y, val_fraction=0.2)
    return (xt, yt), (xv, yv)


@pytest.mark.slow  # several seconds: in the whole suite, not the fast subset
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


@pytest.mark.slow  # several seconds: in the whole suite, not the fast subset
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
        key=key,  # seed 0: the base key itself
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
    from jnnbasics.parallel import model_mesh
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
    many1 = jnb.train_many(model, (x, y), (x, y), keys=keys, hyperparams=hp, epochs=3, mesh=None)
    mmesh = Mesh(np.array(jax.devices()), ("model",))
    many4 = jnb.train_many(model, (x, y), (x, y), keys=keys, hyperparams=hp, epochs=3, mesh=mmesh)
    print(json.dumps({
        "single": single.history["train_loss"], "multi": multi.history["train_loss"],
        "single_val": single.history["val_loss"], "multi_val": multi.history["val_loss"],
        "many1": [h["val_loss"] for h in many1.histories], "many4": [h["val_loss"] for h in many4.histories],
        "sharded": str(many4.params[0]["w"].sharding.spec), "bad": bad,
        "meshes": [dict(model_mesh(k).shape) for k in (5, 8, 9, 3)],
    }))
    """
)


@pytest.mark.slow
def test_data_and_model_parallel_on_four_cpu_devices():
    r = run_script(_MULTI_DEVICE, env={"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}, timeout=300)
    assert_close(r["multi"], r["single"], np.float32, "trajectory")
    assert_close(r["multi_val"], r["single_val"], np.float32, "trajectory")
    assert_close(r["many4"], r["many1"], np.float32, "trajectory")
    assert "model" in r["sharded"]
    assert "divisible by the 4 devices" in r["bad"]
    # the fewest models per device on the fewest devices: 5 -> 2+2+1, 8 -> 2x4, 9 -> 3x3, 3 -> 1x3
    assert r["meshes"] == [{"model": 3}, {"model": 4}, {"model": 3}, {"model": 3}]


def test_train_many_on_one_device_reports_it(moons):
    train, _ = moons
    model = jnb.mlp([2, 4, 1], loss_type="bce_with_logits")
    keys = jax.random.split(jax.random.key(0), 3)
    assert len(jax.devices()) == 1  # the test process has one CPU device: "auto" means no mesh
    assert jnb.train_many(model, train, keys=keys, epochs=1).devices == 1
    with pytest.raises(ValueError, match='mesh must be "auto", None or a jax.sharding.Mesh'):
        jnb.train_many(model, train, keys=keys, epochs=1, mesh="all")
    assert model_mesh(5) is None
    with pytest.raises(ValueError, match="model_mesh: k must be a positive integer, got 0"):
        model_mesh(0)
    with pytest.raises(ValueError, match="model_mesh: devices must be at least one device"):
        model_mesh(2, [])


def test_use_cpu_cores_after_jax_started_changes_nothing():
    jax.devices()  # the backend runs: the device count is fixed
    assert use_cpu_cores() == len(jax.devices("cpu")) == 1
    assert jax.config.jax_num_cpu_devices == -1
    with pytest.raises(ValueError, match="use_cpu_cores: n must be a positive integer, got 0"):
        use_cpu_cores(0)
    if hasattr(os, "sched_getaffinity"):
        assert cpu_cores() == len(os.sched_getaffinity(0))


def test_tune_grid_typo_names_the_key(moons):
    train, val = moons
    model_fn = lambda hidden=8: jnb.mlp([2, hidden, 1], loss_type="bce_with_logits")  # noqa: E731
    grid = {"hidden": [4], "learning_rat": [1e-3, 1e-2]}
    with pytest.raises(ValueError, match=r"param_grid key 'learning_rat' must be a training setting") as e:
        jnb.tune_hyperparameters(model_fn, grid, train, val, key=jax.random.key(0), epochs=1)
    assert "learning_rate" in str(e.value) and "argument of model_fn (hidden)" in str(e.value)
    assert "did you mean 'learning_rate'?" in str(e.value)
    # model_fn taking **kwargs accepts any name: its own error is the user's
    with pytest.raises(TypeError, match="unexpected keyword"):
        jnb.tune_hyperparameters(
            lambda **kw: model_fn(**kw), grid, train, val, key=jax.random.key(0), epochs=1
        )


_TWO_DEVICES = textwrap.dedent(
    """
    import json
    from jnnbasics.devices import use_cpu_cores
    assert use_cpu_cores(2) == 2          # before JAX's first computation: two CPU devices
    import jax, numpy as np
    jax.config.update("jax_default_matmul_precision", "highest")
    import jnnbasics as jnb
    from jax.sharding import Mesh
    from jnnbasics.parallel import model_mesh
    assert len(jax.devices()) == 2, jax.devices()
    x, y = jnb.make_moons(jax.random.key(0), 120, noise=0.2)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32).reshape(-1, 1)
    model = jnb.mlp([2, 16, 8, 1], loss_type="bce_with_logits")
    keys = jax.random.split(jax.random.key(3), 5)            # K=5: not divisible by 2 devices
    hp = {"learning_rate": [1e-3, 5e-3, 1e-2, 2e-3, 3e-3]}
    kw = dict(epochs=3, batch_size=16)
    auto = jnb.train_many(model, (x, y), (x, y), keys=keys, hyperparams=hp, **kw)
    one = jnb.train_many(model, (x, y), (x, y), keys=keys, hyperparams=hp, mesh=None, **kw)
    sep = [jnb.train_model(model, (x, y), (x, y), key=keys[i], learning_rate=hp["learning_rate"][i], **kw)
           for i in range(5)]
    even = jnb.train_many(model, (x, y), (x, y), keys=keys[:4], **kw)           # K=4: 2 + 2
    mesh = Mesh(np.array(jax.devices()), ("model",))
    odd = jnb.train_many(model, (x, y), (x, y), keys=keys[:3], mesh=mesh, **kw)  # K=3 on a given mesh
    tuned = jnb.tune_hyperparameters(
        lambda: model, {"learning_rate": [1e-3, 1e-2, 3e-2]}, (x, y), (x, y), key=jax.random.key(4), **kw)
    flat = lambda tree: [np.asarray(a).tolist() for a in jax.tree_util.tree_leaves(tree)]
    print(json.dumps({
        "devices": [auto.devices, one.devices, even.devices, odd.devices, [r["devices"] for r in tuned]],
        "shapes": [np.shape(auto.params[0]["w"]), np.shape(odd.params[0]["w"])],
        "even_spec": str(even.params[0]["w"].sharding.spec), "n_hist": len(auto.histories),
        "auto": [h["val_loss"] for h in auto.histories], "one": [h["val_loss"] for h in one.histories],
        "sep": [r.history["val_loss"] for r in sep],
        "auto_params": flat(auto.params), "one_params": flat(one.params),
        "sep_params": [flat(r.params) for r in sep],
        "meshes": [model_mesh(1) is None, dict(model_mesh(5).shape), dict(model_mesh(2).shape)],
    }))
    """
)


@pytest.mark.slow
def test_train_many_spreads_models_over_two_cpu_devices_by_default():
    r = run_script(_TWO_DEVICES)
    assert r["devices"] == [2, 1, 2, 2, [2, 2, 2]]  # default: the mesh; mesh=None: one device
    assert r["shapes"] == [[5, 2, 16], [3, 2, 16]]  # the padding copies are dropped
    assert "model" in r["even_spec"]  # K=4 on 2 devices: the parameters stay sharded
    assert r["n_hist"] == 5
    assert r["meshes"] == [True, {"model": 2}, {"model": 2}]
    assert_close(r["auto"], r["one"], np.float32, "trajectory")
    assert_close(r["auto"], r["sep"], np.float32, "trajectory")
    auto, one = ([np.asarray(a) for a in r[k]] for k in ("auto_params", "one_params"))
    separate = [np.stack([p[j] for p in r["sep_params"]]) for j in range(len(auto))]
    assert_trees_close(auto, one, np.float32, "trajectory")
    assert_trees_close(auto, separate, np.float32, "trajectory")


_TUNE_CLI = "import sys; from jnnbasics.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.slow
def test_tune_command_uses_one_cpu_device_per_core(tmp_path):
    out = tmp_path / "tune"
    argv = ["tune", "--lr", "1e-3,1e-2,3e-2", "--epochs", "2", "--samples", "120", "--no-plots"]
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"} | {"JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", _TUNE_CLI, *argv, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    devices = json.loads((out / "results.json").read_text())["devices"]
    assert devices == {"platform": "cpu", "count": cores, "used": min(cores, 3)}
    assert f"on {cores} CPU device" in proc.stderr
