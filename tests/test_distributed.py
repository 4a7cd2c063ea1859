"""Multi-process runs for real: 2 local processes x 2 CPU devices, a coordinator on 127.0.0.1, gloo.

Every process runs under a timeout and is killed in a ``finally``; the tests skip where
``jax.distributed`` cannot start here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import jnnbasics.distributed as dist

WORKER = Path(__file__).with_name("distributed_worker.py")


def _multiprocess_unavailable() -> str | None:
    """Why 2 local processes x 2 CPU devices cannot run here (an older jax), or None."""
    import jax

    if not hasattr(jax, "distributed") or not hasattr(jax.distributed, "initialize"):
        return "jax.distributed is not available in this jax"
    try:
        jax.config.jax_num_cpu_devices  # noqa: B018 - the option the workers set
    except AttributeError:
        return "this jax has no jax_num_cpu_devices option"
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_multiprocess_unavailable() is not None, reason=str(_multiprocess_unavailable())),
]


def run_processes(mode: str, n: int = 2, *, extra: tuple = (), timeout: float = 90, ranks=None) -> list:
    """Start ``n`` workers (or only ``ranks`` of them) in ``mode``; their JSON lines and exit codes."""
    port = dist.free_port()
    procs = []
    try:
        for rank in ranks if ranks is not None else range(n):
            env = {
                **os.environ,
                dist.ENV_COORDINATOR: f"127.0.0.1:{port}",
                dist.ENV_NUM_PROCESSES: str(n),
                dist.ENV_PROCESS_ID: str(rank),
                dist.ENV_LOCAL_DEVICES: "2",
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), mode, *extra],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        results = []
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            lines = [line for line in out.splitlines() if line.startswith("{")]
            results.append((p.returncode, json.loads(lines[-1]) if lines else None, err))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_check_same_passes_when_every_process_agrees():
    res = run_processes("same")
    for code, out, err in res:
        assert code == 0, err[-2000:]
        assert out["ok"] and out["processes"] == 2 and out["devices"] == 4


def test_check_same_names_the_field_and_process_on_every_process():
    res = run_processes("differ")
    for code, out, err in res:
        assert code == 0, err[-2000:]
        assert "data differs between processes: process 1" in out["error"]


def test_replicate_places_typed_keys_over_a_mesh_of_two_processes():
    res = run_processes("replicate")
    key_data = [out["key_data"] for _, out, _ in res]
    assert key_data[0] == key_data[1]
    assert [out["primary"] for _, out, _ in res] == [True, False]
    assert all(out["spans"] for _, out, _ in res)


def test_a_missing_coordinator_is_a_clear_timeout():
    ((code, out, err),) = run_processes("same", n=2, ranks=[1], extra=("3",), timeout=60)
    assert code != 0 and out is None
    assert "process 1 could not reach the coordinator 127.0.0.1:" in err


def test_a_peer_that_never_arrives_ends_process_0_after_the_timeout():
    """JAX itself ends process 0 (it cannot be caught in Python): non-zero, its gRPC status on stderr."""
    ((code, out, err),) = run_processes("same", n=2, ranks=[0], extra=("3",), timeout=60)
    assert code != 0 and out is None
    assert "DEADLINE_EXCEEDED" in err


# ---------------------------------------------------------------------------------------------
# train_model over two processes
# ---------------------------------------------------------------------------------------------
def one_process_run(**kw):
    """The reference: the same run in this one process, no mesh."""
    import jax
    import numpy as np

    import jnnbasics as jnb

    x, y = jnb.make_moons(jax.random.key(0), 320, noise=0.2)
    x = np.asarray(jnb.transform(jnb.fit_scaler(x), x))
    model = jnb.mlp([2, 16, 1], dropout_rate=0.2, loss_type="bce_with_logits")
    r = jnb.train_model(
        model,
        (x[:256], np.asarray(y)[:256]),
        (x[256:], np.asarray(y)[256:]),
        key=jax.random.key(1),
        epochs=3,
        batch_size=32,
        learning_rate=0.01,
        **kw,
    )
    leaves = [np.asarray(a).ravel().tolist() for a in jax.tree_util.tree_leaves(r.params)]
    return {k: v for k, v in r.history.items() if k != "epoch_time"}, leaves


def assert_equals_one_process_run(results, **kw):
    from helpers import assert_trees_close

    history, params = one_process_run(**kw)
    for code, out, err in results:
        assert code == 0, err[-3000:]
        assert out["params"] == results[0][1]["params"]  # bit for bit the same on every process
        assert_trees_close(out["history"], history, kind="trajectory")
        assert_trees_close(out["params"], params, kind="trajectory")


def test_dropout_model_with_the_whole_data_on_every_process():
    assert_equals_one_process_run(run_processes("train_whole"))


def test_each_process_passes_its_own_rows():
    """Process 0 passes the first half, process 1 the second: the run on all rows, in order."""
    assert_equals_one_process_run(run_processes("train_local"), shuffle=False)


def test_different_settings_are_a_value_error_on_every_process():
    for code, out, err in run_processes("train_mismatch"):
        assert code == 0, err[-3000:]
        assert "hyperparameters differs between processes: process 1" in out["error"]


def test_a_checkpoint_resumed_across_processes(tmp_path):
    """Both processes resume the folder process 0 wrote (2 epochs, then 3): the 3-epoch run."""
    results = run_processes("train_resume", extra=("30", str(tmp_path / "run")))
    assert_equals_one_process_run(results)
    assert not (tmp_path / "run" / ".lock").exists()


def test_train_many_with_models_on_two_processes():
    """Four models over 4 devices of 2 processes: every process gets every history, as in one process."""
    import jax
    import numpy as np
    from helpers import assert_trees_close

    import jnnbasics as jnb

    res = run_processes("many")
    x, y = jnb.make_moons(jax.random.key(0), 320, noise=0.2)
    x = np.asarray(jnb.transform(jnb.fit_scaler(x), x))
    ref = jnb.train_many(
        jnb.mlp([2, 16, 1], loss_type="bce_with_logits"),
        (x[:256], np.asarray(y)[:256]),
        (x[256:], np.asarray(y)[256:]),
        keys=jax.random.split(jax.random.key(5), 4),
        epochs=3,
        hyperparams={"learning_rate": [0.001, 0.003, 0.01, 0.03]},
        mesh=None,
    )
    want = [{k: v for k, v in h.items() if k != "epoch_time"} for h in ref.histories]
    for code, out, err in res:
        assert code == 0, err[-3000:]
        assert_trees_close(out["histories"], want, kind="trajectory")
        assert out["tuned"] == res[0][1]["tuned"] and len(out["tuned"]) == 4  # tune_hyperparameters too


# ---------------------------------------------------------------------------------------------
# the command line: jnnbasics launch
# ---------------------------------------------------------------------------------------------
def test_launch_trains_the_default_run_in_two_processes(tmp_path, capsys):
    """Two processes write one run folder equal (trajectory tolerance) to the one-process run's."""
    import json

    from helpers import assert_trees_close

    from jnnbasics.cli import main

    argv = ["train", "--epochs", "3", "--quiet", "--no-plots"]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jnnbasics",
            "launch",
            "-n",
            "2",
            "--timeout",
            "120",
            "--",
            *argv,
            "--out",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("run folder:") == 1  # only process 0 reports
    assert main([*argv, "--out", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    two, one = (json.loads((tmp_path / d / "history.json").read_text()) for d in ("two", "one"))
    assert_trees_close(
        {k: v for k, v in two.items() if k != "epoch_time"},
        {k: v for k, v in one.items() if k != "epoch_time"},
        kind="trajectory",
    )
    assert not (tmp_path / "two" / ".lock").exists()


def test_launch_without_out_is_one_error_line_and_no_process_left():
    proc = subprocess.run(
        [sys.executable, "-m", "jnnbasics", "launch", "-n", "2", "--timeout", "60", "--", "train", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "a multi-process run needs --out DIR" in proc.stderr and "Traceback" not in proc.stderr
