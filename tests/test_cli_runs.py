"""Run folders on the command line: resume, Ctrl-C, one writer, best/last model, data checks, Python ⇄ CLI.

Most commands run in-process through ``main([...])``; a real process only where a signal or a second
writer is needed (every one under a timeout, killed in a ``finally``). Oracles: a one-shot run of the
same length (a resumed run must reproduce its history), the history's own numbers (the best
model's validation loss is the minimum of ``val_loss``), and ``jnnbasics.load_run`` against
``jnnbasics predict/evaluate`` in both directions.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_close, assert_trees_close
from test_cli import assert_one_line_error, read_csv, run

import jnnbasics as jnb
from jnnbasics.checkpoint import read_checkpoint_metadata

QUIET = ["--quiet", "--no-plots"]
WAIT_S = 120  # the longest wait for a background process to get somewhere (2 busy cores)


def history(folder: Path) -> dict:
    """history.json without ``epoch_time`` (the only series that differs between equal runs)."""
    h = json.loads((folder / "history.json").read_text())
    return {k: v for k, v in h.items() if k != "epoch_time"}


def eval_json(capsys, *argv) -> dict:
    code, out, err = run(capsys, "evaluate", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def write_points(path: Path, x: np.ndarray, features: list[str], target: str | None = None, y=None) -> None:
    """A CSV of feature columns (and a target column) with full-precision numbers."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*features, *([target] if target else [])])
        for i, row in enumerate(np.asarray(x, np.float64)):
            w.writerow([*map(repr, map(float, row)), *([y[i]] if target else [])])


def moons(n: int, seed: int, noise: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    import jax

    x, y = jnb.make_moons(jax.random.key(seed), n, noise=noise)
    return np.asarray(x, np.float64), np.asarray(y)


# ---------------------------------------------------------------------------------------------
# background `python -m jnnbasics train`
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def background_train(cwd: Path, *argv):
    """A ``python -m jnnbasics train ...`` process (stderr to a file); killed if still running."""
    env = {**os.environ, "PYTHONPATH": str(Path(jnb.__file__).parents[1])}
    err_path = cwd / "background.stderr"
    with open(err_path, "w") as err, open(cwd / "background.stdout", "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jnnbasics", "train", *map(str, argv)],
            cwd=cwd,
            stdout=out,
            stderr=err,
            env=env,
        )
    proc.stderr_path = err_path
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)


def wait_until(proc, condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if proc.poll() is not None:
            pytest.fail(
                f"the training process ended (exit {proc.returncode}) before {what}: "
                + proc.stderr_path.read_text()[-2000:]
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT_S} s waiting until {what}")
        time.sleep(0.05)


def checkpoint_epoch(folder: Path) -> int:
    """Epochs held by ``folder/checkpoint.ckpt`` (0 while it does not exist or is unreadable)."""
    try:
        return int(read_checkpoint_metadata(folder / "checkpoint.ckpt")["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def interrupt(proc) -> str:
    """Ctrl-C: send SIGINT, wait for the exit; return stderr."""
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=WAIT_S)
    return proc.stderr_path.read_text()


# ---------------------------------------------------------------------------------------------
# 5. resume extends a finished run
# ---------------------------------------------------------------------------------------------
def test_resume_with_more_epochs_equals_a_one_shot_run(capsys, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    code, _, err = run(capsys, "train", "--out", a, "--samples", 200, "--epochs", 3, *QUIET)
    assert code == 0, err
    code, _, err = run(capsys, "train", "--out", a, "--resume", "--epochs", 6, *QUIET)
    assert code == 0, err
    code, _, err = run(capsys, "train", "--out", b, "--samples", 200, "--epochs", 6, *QUIET)
    assert code == 0, err
    assert len(history(a)["train_loss"]) == 6
    assert_trees_close(history(a), history(b))


# ---------------------------------------------------------------------------------------------
# 6. Ctrl-C keeps a checkpoint that resumes
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ctrl_c_then_resume_equals_a_one_shot_run(capsys, tmp_path):
    d = tmp_path / "d"
    # many epochs: the process must still be training when the signal comes
    with background_train(tmp_path, "--out", d, "--samples", 2000, "--epochs", 100_000) as proc:
        wait_until(proc, lambda: checkpoint_epoch(d) >= 2, "checkpoint.ckpt holds 2 epochs")
        err = interrupt(proc)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    meta = read_checkpoint_metadata(d / "checkpoint.ckpt")
    done = int(meta["epoch"])
    assert done >= 2 and done == len(meta["history"]["train_loss"])

    epochs = done + 2
    code, _, err = run(capsys, "train", "--resume", "--out", d, "--epochs", epochs, *QUIET)
    assert code == 0, err
    code, _, err = run(
        capsys, "train", "--out", tmp_path / "one", "--samples", 2000, "--epochs", epochs, *QUIET
    )
    assert code == 0, err
    assert len(history(d)["train_loss"]) == epochs
    assert_trees_close(history(d), history(tmp_path / "one"))


# ---------------------------------------------------------------------------------------------
# 7. one writer per run folder
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_run_in_progress_cannot_be_resumed_or_overwritten(capsys, tmp_path):
    d = tmp_path / "d"
    # many epochs: the first writer is still training while the second one tries
    with background_train(tmp_path, "--out", d, "--samples", 2000, "--epochs", 100_000) as proc:
        wait_until(proc, lambda: (d / "config.json").is_file() and checkpoint_epoch(d) >= 1, "training runs")
        config = (d / "config.json").read_bytes()
        code, out, err = run(capsys, "train", "--resume", "--out", d, *QUIET)
        assert_one_line_error(code, err, "in use")
        assert out == ""
        code, out, err = run(capsys, "train", "--out", d, "--force", "--samples", 200, "--epochs", 2, *QUIET)
        assert_one_line_error(code, err, "in use")
        assert out == ""
        assert (d / "config.json").read_bytes() == config
        assert proc.poll() is None  # the first writer was not disturbed
        err = interrupt(proc)
    assert proc.returncode == 130, err


def test_a_stale_lock_does_not_block_resume(capsys, tmp_path):
    d = tmp_path / "d"
    code, _, err = run(capsys, "train", "--out", d, "--samples", 200, "--epochs", 2, *QUIET)
    assert code == 0, err
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=60)  # a process that has ended
    (d / ".lock").write_text(json.dumps({"pid": gone.pid, "host": socket.gethostname()}))
    code, _, err = run(capsys, "train", "--resume", "--out", d, "--epochs", 3, *QUIET)
    assert code == 0, err
    assert len(history(d)["train_loss"]) == 3


# ---------------------------------------------------------------------------------------------
# 8. the best model is kept, and reported
# ---------------------------------------------------------------------------------------------
def test_best_and_last_models_are_kept(capsys, tmp_path):
    d = tmp_path / "d"
    # a large learning rate and a wide net on a small noisy set: the validation loss rises again
    flags = ["--lr", "0.05", "--hidden", "256,256", "--samples", 200, "--noise", "0.4", "--epochs", 60]
    code, _, err = run(capsys, "train", "--out", d, *flags, *QUIET)
    assert code == 0, err
    assert (d / "best.ckpt").is_file() and (d / "last.ckpt").is_file()
    metrics = json.loads((d / "metrics.json").read_text())
    vl = history(d)["val_loss"]
    assert len(vl) == 60 and metrics["best_epoch"] == int(np.argmin(vl)) + 1 < 60
    assert metrics["reported_epoch"] == metrics["best_epoch"] and metrics["params"] == "best"
    assert_close(metrics["val"]["loss"], min(vl))

    assert_close(eval_json(capsys, d)["val"]["loss"], min(vl))
    last = eval_json(capsys, d, "--params", "last")["val"]["loss"]
    assert_close(last, vl[-1])
    assert last > min(vl)


# ---------------------------------------------------------------------------------------------
# 9. evaluate checks that the run's data is the data it was trained on
# ---------------------------------------------------------------------------------------------
def test_evaluate_refuses_a_changed_csv(capsys, tmp_path):
    x, y = moons(200, seed=3)
    names = np.array(["a", "b"])
    f = tmp_path / "data.csv"
    write_points(f, x, ["x1", "x2"], "label", names[y])
    d = tmp_path / "d"
    code, _, err = run(capsys, "train", "--csv", f, "--target", "label", "--epochs", 3, "--out", d, *QUIET)
    assert code == 0, err
    code, _, err = run(capsys, "evaluate", d)
    assert code == 0, err
    write_points(f, x, ["x1", "x2"], "label", names[1 - y])  # every label swapped
    code, out, err = run(capsys, "evaluate", d)
    assert_one_line_error(code, err, "changed")
    assert out == ""


# ---------------------------------------------------------------------------------------------
# 10. Python ⇄ command line
# ---------------------------------------------------------------------------------------------
def cli_predictions(capsys, folder: Path, csv_path: Path, dest: Path) -> list[dict[str, str]]:
    code, _, err = run(capsys, "predict", folder, "--csv", csv_path, "--out", dest)
    assert code == 0, err
    return read_csv(dest)


def test_load_run_agrees_with_the_cli_on_a_cli_run(capsys, tmp_path):
    d = tmp_path / "d"
    code, _, err = run(capsys, "train", "--out", d, "--samples", 200, "--epochs", 3, *QUIET)
    assert code == 0, err
    x, y = moons(50, seed=11)
    f = tmp_path / "new.csv"
    write_points(f, x, ["x1", "x2"], "target", y)  # a built-in data set's columns
    rows = cli_predictions(capsys, d, f, tmp_path / "pred.csv")

    r = jnb.load_run(d)
    assert r.features == ["x1", "x2"]
    assert r.predict(x).tolist() == [row["prediction"] for row in rows]
    cli_probs = np.array([[float(row[f"prob_{n}"]) for n in r.class_names] for row in rows])
    assert_close(r.predict_proba(x), cli_probs)  # the CLI prints 6 significant digits

    cli = eval_json(capsys, d, "--csv", f)["csv"]
    ours = r.evaluate(x, y)
    assert ours["n"] == cli["n"] == len(y)
    assert_close(ours["accuracy"], cli["accuracy"])
    assert_close(ours["loss"], cli["loss"])


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_the_cli_agrees_with_load_run_on_a_saved_python_run(capsys, tmp_path, task):
    import jax

    if task == "binary":
        x, y = moons(200, seed=5, noise=0.3)
        class_names, features, sizes, loss = (
            ["pointy", "round"],
            ["width", "height"],
            [2, 16, 1],
            "bce_with_logits",
        )
    else:
        xj, yj = jnb.make_regression(jax.random.key(5), 200, n_features=2, noise=0.3)
        x, y = np.asarray(xj, np.float64), 50.0 + 20.0 * np.asarray(yj, np.float64)
        class_names, features, sizes, loss = None, ["width", "height"], [2, 16, 1], "mse"
    x_scaler = jnb.fit_scaler(x[:160])
    y_scaler = jnb.fit_scaler(y[:160].reshape(-1, 1)) if task == "regression" else None
    xs = np.asarray(jnb.transform(x_scaler, x))
    ys = np.asarray(jnb.transform(y_scaler, y.reshape(-1, 1))) if y_scaler is not None else y
    model = jnb.mlp(sizes, loss_type=loss)
    res = jnb.train_model(
        model, (xs[:160], ys[:160]), (xs[160:], ys[160:]), key=jax.random.key(1), epochs=4, learning_rate=0.01
    )
    d = tmp_path / "d"
    jnb.save_run(
        d,
        res,
        model,
        loss_type=loss,
        x_scaler=x_scaler,
        y_scaler=y_scaler,
        class_names=class_names,
        features=features,
        batch_size=32,
    )
    r = jnb.load_run(d)

    cfg = json.loads((d / "config.json").read_text())
    target = cfg.get("target_column") or cfg.get("target") or "target"
    labels = [class_names[int(v)] for v in y] if class_names else [repr(float(v)) for v in y]
    f = tmp_path / "points.csv"
    write_points(f, x, features, target, labels)
    rows = cli_predictions(capsys, d, f, tmp_path / "pred.csv")
    cli = eval_json(capsys, d, "--csv", f)["csv"]
    if task == "binary":
        assert [row["prediction"] for row in rows] == r.predict(x).tolist()
        cli_probs = np.array([[float(row[f"prob_{n}"]) for n in class_names] for row in rows])
        assert_close(r.predict_proba(x), cli_probs)
        ours = r.evaluate(x, labels)
        assert_close(ours["accuracy"], cli["accuracy"])
    else:
        assert_close(np.array([float(row["prediction"]) for row in rows]), r.predict(x))
        ours = r.evaluate(x, y)
        for k in ("r2", "rmse", "mae"):
            assert_close(ours[k], cli[k])
    assert ours["n"] == cli["n"] == len(y)
    assert_close(ours["loss"], cli["loss"])
