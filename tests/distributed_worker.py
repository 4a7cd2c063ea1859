"""One process of a multi-process test (run by tests/test_distributed.py, never collected by pytest).

Usage: python distributed_worker.py MODE  (the coordinator, process count and rank come from the
JNNBASICS_* environment that jnnbasics.distributed.launch-style tests set). Prints one JSON line.
"""

import json
import sys

import jnnbasics.distributed as dist

MODE = sys.argv[1]
dist.initialize(timeout=int(sys.argv[2]) if len(sys.argv) > 2 else 30)

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh  # noqa: E402

import jnnbasics as jnb  # noqa: E402


def moons():
    """256 standardised two-moons rows (the same on every process) and a 64-row validation set."""
    x, y = jnb.make_moons(jax.random.key(0), 320, noise=0.2)
    x = np.asarray(jnb.transform(jnb.fit_scaler(x), x))
    return (x[:256], np.asarray(y)[:256]), (x[256:], np.asarray(y)[256:])


def train(mode: str, folder):
    """One multi-process train_model run; its history and parameters as lists."""
    mesh = Mesh(np.array(jax.devices()), ("data",))
    (x, y), val = moons()
    model = jnb.mlp([2, 16, 1], dropout_rate=0.2, loss_type="bce_with_logits")
    kw = dict(key=jax.random.key(1), epochs=3, batch_size=32, learning_rate=0.01, mesh=mesh)
    if mode == "train_local":  # each process passes its own half of the rows
        half = len(x) // 2
        mine = slice(0, half) if jax.process_index() == 0 else slice(half, None)
        kw.update(train_data=(x[mine], y[mine]), process_local_data=True, shuffle=False)
    else:
        kw.update(train_data=(x, y))
    if mode == "train_mismatch":
        kw["learning_rate"] = 0.01 if jax.process_index() == 0 else 0.02
    if mode == "train_resume":
        jnb.train_model(model, val_data=val, checkpoint_dir=folder, **{**kw, "epochs": 2})
    try:
        r = jnb.train_model(model, val_data=val, checkpoint_dir=folder, **kw)
    except ValueError as e:
        return {"error": str(e)}
    leaves = [np.asarray(a).ravel().tolist() for a in jax.tree_util.tree_leaves(r.params)]
    return {"history": {k: v for k, v in r.history.items() if k != "epoch_time"}, "params": leaves}


rank = jax.process_index()
out = {"rank": rank, "processes": jax.process_count(), "devices": jax.device_count()}
if MODE == "same":
    dist.check_same("worker", {"lr": 0.1, "key": jax.random.key(3), "data": np.arange(6.0)})
    out["ok"] = True
elif MODE == "differ":
    try:
        dist.check_same("worker", {"lr": 0.1, "data": np.arange(6.0) + (rank == 1)})
        out["error"] = None
    except ValueError as e:
        out["error"] = str(e)
elif MODE == "replicate":
    mesh = Mesh(np.array(jax.devices()), ("data",))
    k = dist.replicate({"key": jax.random.key(7), "w": np.ones(3, np.float32)}, mesh)
    out["key_data"] = np.asarray(jax.random.key_data(k["key"].addressable_data(0))).tolist()
    out["primary"] = dist.is_primary()
    out["spans"] = dist.spans_processes(mesh)
elif MODE == "many":
    mesh = Mesh(np.array(jax.devices()), ("model",))
    (x, y), val = moons()
    model = jnb.mlp([2, 16, 1], loss_type="bce_with_logits")
    r = jnb.train_many(
        model,
        (x, y),
        val,
        keys=jax.random.split(jax.random.key(5), 4),
        epochs=3,
        hyperparams={"learning_rate": [0.001, 0.003, 0.01, 0.03]},
        mesh=mesh,
    )
    out["histories"] = [{k: v for k, v in h.items() if k != "epoch_time"} for h in r.histories]
    tuned = jnb.tune_hyperparameters(
        lambda hidden=16: jnb.mlp([2, hidden, 1], loss_type="bce_with_logits"),
        {"learning_rate": [0.001, 0.01], "hidden": [8, 16]},
        (x, y),
        val,
        key=jax.random.key(6),
        epochs=2,
        mesh=mesh,
    )
    out["tuned"] = [[r["params"]["learning_rate"], r["params"]["hidden"]] for r in tuned]
elif MODE.startswith("train"):
    out.update(train(MODE, sys.argv[3] if len(sys.argv) > 3 else None))
print(json.dumps(out), flush=True)
