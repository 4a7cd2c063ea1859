"""The ``jnnbasics`` command line, run in-process through ``main([...])`` (plus two subprocesses).

Runs are tiny (a few epochs on a few hundred rows) and share architectures, so most of them reuse
compiled code. Oracles: scikit-learn's StandardScaler, accuracy_score and r2_score, the ``csv`` and
``json`` modules, and matplotlib's PNG reader for the pictures.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_close

from jnnbasics import cli
from jnnbasics.cli import main

EPOCHS = "4"
ROWS = 200


def run(capsys, *argv):
    """``main(argv)`` -> (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def png_size(path) -> tuple[int, int]:
    """(width, height) of a PNG read back with matplotlib; fails on a blank picture."""
    import matplotlib.image

    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert float(img[..., :3].std()) > 0.01, f"{path} is blank"
    return img.shape[1], img.shape[0]


def write_moons_csv(
    path: Path, n: int = ROWS, *, seed: int = 3, target: bool = True
) -> tuple[np.ndarray, list[str]]:
    """Two-moons rows with class names, as a user's CSV file (the target column in the middle)."""
    import jax

    from jnnbasics.datasets import make_moons

    x, y = make_moons(jax.random.key(seed), n, noise=0.15)
    x = np.asarray(x, np.float64)
    names = ["round" if v else "pointy" for v in np.asarray(y)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["width", "shape", "height"] if target else ["height", "width"])
        for (a, b), s in zip(x, names):
            w.writerow([repr(float(a)), s, repr(float(b))] if target else [repr(float(b)), repr(float(a))])
    return x, names


def assert_one_line_error(code: int, err: str, fragment: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("jnnbasics: error: "), err
    assert fragment in lines[0], err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One binary run on a CSV file with class names, pictures included; shared by several tests."""
    d = tmp_path_factory.mktemp("csvrun")
    x, names = write_moons_csv(d / "moons.csv")
    out = d / "run"
    argv = [
        "train",
        "--csv",
        d / "moons.csv",
        "--target",
        "shape",
        "--epochs",
        EPOCHS,
        "--quiet",
        "--out",
        out,
    ]
    assert main([str(a) for a in argv]) == 0
    return d, out, x, names


# ---------------------------------------------------------------------------------------------
# entry points and help
# ---------------------------------------------------------------------------------------------
def test_console_script_help():
    exe = shutil.which("jnnbasics")
    if exe is None:
        pytest.skip("the jnnbasics console script is not on PATH (package not installed with pip)")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for command in ("train", "evaluate", "predict", "tune", "bench"):
        assert command in proc.stdout


@pytest.mark.slow  # several seconds: in the whole suite, not the fast subset
def test_python_m_jnnbasics_train(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "jnnbasics", "train", "--epochs", "2", "--quiet", "--samples", str(ROWS)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()  # default folder: runs/<data>-<date>-<time>
    assert re.fullmatch(r"moons-\d{8}-\d{6}", run_dir.name)
    assert f"run folder: {Path('runs') / run_dir.name}" in proc.stdout
    assert len(proc.stdout.splitlines()) <= 8 and len(proc.stderr.splitlines()) <= 2
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_run"] == 2


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["predict"], ["tune"]])
def test_help(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert out.startswith("usage: jnnbasics")


def test_no_command_is_a_one_line_error(capsys):
    code, _, err = run(capsys)
    assert_one_line_error(code, err, "a command is required, one of: train, evaluate, predict, tune, bench")


def test_bench_forwards_its_arguments(capsys):
    pytest.importorskip("jnnbasics.bench", reason="jnnbasics.bench has not landed yet")
    code, out, _ = run(capsys, "bench", "--help")
    assert code == 0
    assert "--quick" in out


def test_bench_receives_argv(monkeypatch):
    bench = pytest.importorskip("jnnbasics.bench", reason="jnnbasics.bench has not landed yet")
    seen = []
    monkeypatch.setattr(bench, "main", lambda argv: seen.append(argv) or 0)
    assert main(["bench", "--quick", "--workloads", "tiny"]) == 0
    assert seen == [["--quick", "--workloads", "tiny"]]


def test_import_does_not_load_matplotlib():
    code = "import sys, jnnbasics, jnnbasics.cli; print('matplotlib' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr


# ---------------------------------------------------------------------------------------------
# the run folder
# ---------------------------------------------------------------------------------------------
def test_run_folder_files_are_valid(trained):
    from jnnbasics.checkpoint import read_checkpoint_metadata

    _, out, _, names = trained
    for f in cli.RUN_FILES:
        if f not in ("model.ckpt", "predictions.png"):  # model.ckpt: format version 1 only
            assert (out / f).is_file(), f
    assert not (out / "predictions.png").exists()  # classification: no regression plot
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["task"] == "binary" and cfg["loss_type"] == "bce_with_logits"
    assert cfg["features"] == ["width", "height"] and cfg["class_names"] == ["pointy", "round"]
    assert cfg["layer_sizes"] == [2, 64, 32, 1] and cfg["epochs"] == int(EPOCHS)
    assert cfg["command"].startswith("jnnbasics train --csv ")
    labels = json.loads((out / "labels.json").read_text())
    assert labels == {"task": "binary", "target_column": "shape", "class_names": ["pointy", "round"]}
    history = json.loads((out / "history.json").read_text())
    rows = read_csv(out / "history.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr"):
        assert_close([float(r[key]) for r in rows], history[key], np.float64)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 4 and metrics["stop_reason"] == "completed"
    assert metrics["train"]["n"] + metrics["val"]["n"] == ROWS and metrics["val"]["n"] == 40
    assert 0.5 < metrics["val"]["accuracy"] <= 1.0
    # the reported (best) model's validation loss is averaged like the history's (mean of batch means)
    best = metrics["best_epoch"] - 1
    assert_close(metrics["val"]["loss"], history["val_loss"][best], np.float32)
    assert_close(metrics["val"]["accuracy"], history["val_accuracy"][best], np.float32)
    assert metrics["params"] == "best" and metrics["reported_epoch"] == metrics["best_epoch"]
    meta = read_checkpoint_metadata(out / "checkpoint.ckpt")
    assert meta["epoch"] == 4 and len(meta["history"]["train_loss"]) == 4
    assert (
        meta["run"]["model"]["layer_sizes"] == [2, 64, 32, 1]
        and meta["run"]["loss_type"] == "bce_with_logits"
    )
    assert read_checkpoint_metadata(out / "last.ckpt")["epoch"] == 4
    assert read_checkpoint_metadata(out / "best.ckpt")["epoch"] == metrics["best_epoch"]
    for png in ("history.png", "decision_boundary.png", "confusion_matrix.png"):
        w, h = png_size(out / png)
        assert w >= 300 and h >= 200, (png, w, h)


def test_scaler_is_fitted_on_the_training_split_only(trained):
    from sklearn.preprocessing import StandardScaler

    _, out, x, _ = trained
    cfg = json.loads((out / "config.json").read_text())
    data = cli.load_run_data(cfg)
    scaler = json.loads((out / "scaler.json").read_text())
    oracle = StandardScaler().fit(data.x_train.astype(np.float64))
    assert scaler["features"] == ["width", "height"] and scaler["target_mean"] is None
    assert_close(scaler["mean"], oracle.mean_, np.float32)
    assert_close(scaler["scale"], oracle.scale_, np.float32)
    assert not np.allclose(scaler["mean"], x.mean(axis=0))  # not the statistics of all rows


def test_evaluate_reproduces_metrics(trained, capsys):
    _, out, _, _ = trained
    code, stdout, _ = run(capsys, "evaluate", out, "--json")
    assert code == 0
    got = json.loads(stdout)
    saved = json.loads((out / "metrics.json").read_text())
    for split in ("train", "val"):
        assert got[split]["n"] == saved[split]["n"]
        assert got[split]["accuracy"] == saved[split]["accuracy"]
        assert_close(got[split]["loss"], saved[split]["loss"], np.float32)
    code, stdout, _ = run(capsys, "evaluate", out)
    assert code == 0 and "val:" in stdout and "accuracy" in stdout


def test_predict_returns_class_names(trained, capsys, tmp_path):
    from sklearn.metrics import accuracy_score

    d, out, x, names = trained
    dest = tmp_path / "pred.csv"
    code, _, err = run(capsys, "predict", out, "--csv", d / "moons.csv", "--out", dest)
    assert code == 0, err
    rows = read_csv(dest)
    assert len(rows) == ROWS and list(rows[0])[:3] == ["width", "shape", "height"]
    assert {r["prediction"] for r in rows} <= {"pointy", "round"}
    probs = np.array([[float(r["prob_pointy"]), float(r["prob_round"])] for r in rows])
    assert_close(probs.sum(axis=1), np.ones(ROWS), np.float32)
    assert [r["prediction"] for r in rows] == [("round" if p > 0.5 else "pointy") for p in probs[:, 1]]
    metrics = json.loads((out / "metrics.json").read_text())
    n_tr = metrics["train"]["n"]
    overall = (metrics["train"]["accuracy"] * n_tr + metrics["val"]["accuracy"] * (ROWS - n_tr)) / ROWS
    assert_close(accuracy_score(names, [r["prediction"] for r in rows]), overall, np.float64)


def test_predict_without_target_column_to_stdout(trained, capsys, tmp_path):
    d, out, _, names = trained
    write_moons_csv(tmp_path / "new.csv", target=False)  # columns reordered, no target
    code, stdout, _ = run(capsys, "predict", out, "--csv", tmp_path / "new.csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert list(rows[0]) == ["height", "width", "prediction", "prob_pointy", "prob_round"]
    ref = read_csv(d / "moons.csv")
    ours = [r["prediction"] for r in rows]
    code, _, _ = run(capsys, "predict", out, "--csv", d / "moons.csv", "--out", tmp_path / "ref.csv")
    assert ours == [r["prediction"] for r in read_csv(tmp_path / "ref.csv")]
    assert len(ref) == len(rows)


def test_evaluate_on_a_csv(trained, capsys, tmp_path):
    from sklearn.metrics import accuracy_score

    d, out, _, names = trained
    code, stdout, _ = run(capsys, "evaluate", out, "--csv", d / "moons.csv", "--json")
    assert code == 0
    got = json.loads(stdout)["csv"]
    run(capsys, "predict", out, "--csv", d / "moons.csv", "--out", tmp_path / "p.csv")
    predicted = [r["prediction"] for r in read_csv(tmp_path / "p.csv")]
    assert got["n"] == ROWS
    assert_close(got["accuracy"], accuracy_score(names, predicted), np.float64)


def test_refuses_to_overwrite_a_run_then_force_keeps_user_files(trained, capsys, tmp_path):
    d, out, _, _ = trained
    code, _, err = run(capsys, "train", "--csv", d / "moons.csv", "--target", "shape", "--out", out)
    assert_one_line_error(code, err, "exists and is not empty; use --resume")
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    (user / "decision_boundary.png").write_text("stale")
    code, _, err = run(capsys, "train", "--epochs", "2", "--samples", ROWS, "--quiet", "--out", user)
    assert_one_line_error(code, err, "exists and is not empty")
    code, _, err = run(
        capsys, "train", "--epochs", "2", "--samples", ROWS, "--quiet", "--no-plots", "--out", user, "--force"
    )
    assert code == 0, err
    assert (user / "notes.txt").read_text() == "keep me"
    assert not (user / "decision_boundary.png").exists()  # our stale file went, the user's stayed
    assert json.loads((user / "config.json").read_text())["dataset"] == "moons"


# ---------------------------------------------------------------------------------------------
# interrupt and resume
# ---------------------------------------------------------------------------------------------
def test_interrupt_keeps_checkpoint_and_resume_matches_uninterrupted(monkeypatch, capsys, tmp_path):
    from jnnbasics.checkpoint import read_checkpoint_metadata

    flags = [
        "--epochs",
        "5",
        "--samples",
        ROWS,
        "--dropout",
        "0.1",
        "--schedule",
        "cosine",
        "--quiet",
        "--no-plots",
    ]

    import jnnbasics.training as training

    real_train_model = training.train_model

    def interrupted_after_epoch_2(*args, **kwargs):
        def ctrl_c(epoch, logs, state):
            if epoch == 2:
                raise KeyboardInterrupt  # Ctrl-C after epoch 2

        return real_train_model(*args, **{**kwargs, "callbacks": [*kwargs.get("callbacks", ()), ctrl_c]})

    monkeypatch.setattr(training, "train_model", interrupted_after_epoch_2)
    code, _, err = run(capsys, "train", *flags, "--out", tmp_path / "a")
    assert code == 130 and "Traceback" not in err
    assert "holds epoch 2/5" in err and "--resume --out" in err
    assert len(json.loads((tmp_path / "a" / "history.json").read_text())["train_loss"]) == 2
    assert read_checkpoint_metadata(tmp_path / "a" / "checkpoint.ckpt")["epoch"] == 2
    monkeypatch.undo()

    code, _, err = run(capsys, "evaluate", tmp_path / "a")
    assert_one_line_error(code, err, "has no trained model yet (its checkpoint holds epoch 2/5)")
    code, _, err = run(capsys, "train", "--resume", "--out", tmp_path / "a", "--lr", "0.01")
    assert_one_line_error(code, err, "--lr 0.01 conflicts with the run's saved lr = 0.001")

    code, _, err = run(capsys, "train", "--resume", "--out", tmp_path / "a", "--quiet", "--no-plots")
    assert code == 0, err
    code, _, err = run(capsys, "train", *flags, "--out", tmp_path / "b")
    assert code == 0, err
    resumed = json.loads((tmp_path / "a" / "history.json").read_text())
    straight = json.loads((tmp_path / "b" / "history.json").read_text())
    assert set(resumed) == set(straight)
    for key in straight:
        if key != "epoch_time":
            assert resumed[key] == straight[key], key  # same key, same batches: bit for bit
    assert json.loads((tmp_path / "a" / "metrics.json").read_text()) == json.loads(
        (tmp_path / "b" / "metrics.json").read_text()
    )

    code, out, _ = run(capsys, "train", "--resume", "--out", tmp_path / "a")
    assert code == 0 and "finished" in out
    code, _, _ = run(
        capsys, "train", "--resume", "--out", tmp_path / "a", "--epochs", "6", "--quiet", "--no-plots"
    )
    assert code == 0
    assert len(json.loads((tmp_path / "a" / "history.json").read_text())["train_loss"]) == 6


def test_progress_does_not_flood_a_log(capsys, tmp_path):
    code, out, err = run(
        capsys, "train", "--epochs", "40", "--samples", ROWS, "--no-plots", "--out", tmp_path / "r"
    )
    assert code == 0
    assert "epoch 40/40" in err and len(err.splitlines()) <= 10
    assert len(out.splitlines()) <= 9  # 3 lines before training (data, features, model), 4 after


# ---------------------------------------------------------------------------------------------
# regression and multiclass
# ---------------------------------------------------------------------------------------------
def test_regression_csv_run(capsys, tmp_path):
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = 50.0 + 20.0 * (x @ np.array([1.0, -2.0, 0.5])) + rng.normal(size=120)  # far from unit scale
    with open(tmp_path / "houses.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "price"])
        w.writerows([[*map(repr, map(float, row)), repr(float(t))] for row, t in zip(x, y)])
    out = tmp_path / "run"
    code, stdout, err = run(
        capsys,
        "train",
        "--csv",
        tmp_path / "houses.csv",
        "--target",
        "price",
        "--epochs",
        "3",
        "--quiet",
        "--out",
        out,
    )
    assert code == 0, err
    assert "r2" in stdout and "rmse" in stdout
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["task"] == "regression" and cfg["loss_type"] == "mse" and cfg["layer_sizes"][-1] == 1
    assert json.loads((out / "labels.json").read_text())["class_names"] is None
    scaler = json.loads((out / "scaler.json").read_text())
    assert scaler["target_mean"] is not None and scaler["target_scale"] > 1.0
    assert (out / "predictions.png").is_file() and not (out / "decision_boundary.png").exists()
    assert not (out / "confusion_matrix.png").exists()
    w, h = png_size(out / "predictions.png")
    assert w >= 300 and h >= 200

    code, _, _ = run(capsys, "predict", out, "--csv", tmp_path / "houses.csv", "--out", tmp_path / "p.csv")
    assert code == 0
    pred = np.array([float(r["prediction"]) for r in read_csv(tmp_path / "p.csv")])
    code, stdout, _ = run(capsys, "evaluate", out, "--csv", tmp_path / "houses.csv", "--json")
    got = json.loads(stdout)["csv"]
    assert_close(got["r2"], r2_score(y, pred), np.float32)
    assert_close(got["rmse"], np.sqrt(np.mean((y - pred) ** 2)), np.float32)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["val"]) >= {"loss", "r2", "rmse", "mae"}


def test_iris_multiclass_has_species_names(capsys, tmp_path):
    out = tmp_path / "iris"
    code, stdout, err = run(
        capsys, "train", "--dataset", "iris", "--epochs", "3", "--quiet", "--no-plots", "--out", out
    )
    assert code == 0, err
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["task"] == "multiclass" and cfg["loss_type"] == "cross_entropy"
    assert cfg["layer_sizes"] == [4, 64, 32, 3] and cfg["n_train"] == 120
    assert cfg["class_names"] == ["setosa", "versicolor", "virginica"]
    assert cfg["target_column"] == "species"


# ---------------------------------------------------------------------------------------------
# issue 9: built-in blobs, --hidden none, --drop-missing
# ---------------------------------------------------------------------------------------------
def default_data(dataset: str):
    from jnnbasics.cli.rundata import DATA_DEFAULTS, resolve_data

    cfg = resolve_data({"dataset": dataset}, {**DATA_DEFAULTS, "dataset": dataset})
    return cfg, cli.load_run_data(cfg)


def test_default_blobs_are_well_separated():
    """The best linear classifier (LDA: Bayes-optimal for equal-covariance Gaussians) gets >= 0.97."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    cfg, data = default_data("blobs")
    assert cfg["noise"] == 0.5 and data.task == "multiclass" and len(data.class_names) == 3
    lda = LinearDiscriminantAnalysis().fit(data.x_train, data.y_train)
    assert lda.score(data.x_val, data.y_val) >= 0.97


@pytest.mark.slow
def test_a_default_blobs_run_reaches_the_linear_oracle(capsys, tmp_path):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    code, _, err = run(
        capsys, "train", "--dataset", "blobs", "--quiet", "--no-plots", "--out", tmp_path / "b"
    )
    assert code == 0, err
    _, data = default_data("blobs")
    oracle = LinearDiscriminantAnalysis().fit(data.x_train, data.y_train).score(data.x_val, data.y_val)
    got = json.loads((tmp_path / "b" / "metrics.json").read_text())["val"]["accuracy"]
    assert got >= 0.95 and got >= oracle - 0.02, (got, oracle)


def test_hidden_none_trains_a_linear_model(capsys, tmp_path):
    d = tmp_path / "lin"
    code, stdout, err = run(
        capsys,
        "train",
        "--hidden",
        "none",
        "--samples",
        100,
        "--epochs",
        2,
        "--quiet",
        "--no-plots",
        "--out",
        d,
    )
    assert code == 0, err
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["hidden"] == [] and cfg["layer_sizes"] == [2, 1] and "model: 2-1 " in stdout
    assert "--hidden none" in cfg["command"]  # the repeat command spells it the documented way
    import jnnbasics as jnb

    r = jnb.load_run(d)
    assert [p["w"].shape for p in r.params] == [(2, 1)]  # one affine layer: x @ w + b
    x = np.random.default_rng(0).normal(size=(5, 2))
    s = r.x_scaler
    logits = ((x - np.asarray(s.mean)) / np.asarray(s.scale)) @ np.asarray(r.params[0]["w"]) + np.asarray(
        r.params[0]["b"]
    )
    assert_close(r.outputs(x), logits)  # the closed form of a linear model


def test_drop_missing_trains_on_the_complete_rows_and_evaluate_sees_the_same(capsys, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    y = x @ np.array([1.5, -2.0]) + 0.1 * rng.normal(size=60)
    cells = [repr(float(v)) for v in y]
    cells[4], cells[30] = "NA", ""  # file lines 6 and 32
    lines = ["a,b,y", *(f"{float(p)!r},{float(q)!r},{c}" for (p, q), c in zip(x, cells))]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    d = tmp_path / "run"
    argv = ["train", "--csv", tmp_path / "d.csv", "--target", "y", "--epochs", 2, "--quiet", "--no-plots"]
    code, _, err = run(capsys, *argv, "--drop-missing", "--out", d)
    assert code == 0, err
    assert err.strip() == (
        f"jnnbasics: warning: CSV file '{tmp_path / 'd.csv'}': dropped 2 row(s) with a missing value "
        "(line(s) 6, 32); 58 row(s) remain"
    )
    cfg = json.loads((d / "config.json").read_text())
    assert (
        cfg["drop_missing"] is True
        and cfg["n_train"] + cfg["n_val"] == 58
        and "--drop-missing" in cfg["command"]
    )
    metrics = json.loads((d / "metrics.json").read_text())
    code, stdout, err = run(capsys, "evaluate", d, "--json")
    assert code == 0, err
    assert json.loads(stdout)["val"]["n"] == cfg["n_val"]
    assert_close(json.loads(stdout)["val"]["loss"], metrics["val"]["loss"])
    code, _, err = run(capsys, "train", "--resume", "--out", d, "--epochs", 3, "--quiet", "--no-plots")
    assert code == 0, err


@pytest.mark.slow  # several seconds: in the whole suite, not the fast subset
# ---------------------------------------------------------------------------------------------
# tune
# ---------------------------------------------------------------------------------------------
def test_tune_grid_from_flags(capsys, tmp_path):
    out = tmp_path / "tune"
    code, stdout, err = run(
        capsys,
        "tune",
        "--lr",
        "1e-3,3e-2",
        "--hidden",
        "8;8,8",
        "--epochs",
        "3",
        "--samples",
        ROWS,
        "--out",
        out,
    )
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())["results"]
    assert len(results) == 4
    losses = [r["val_loss"] for r in results]
    assert losses == sorted(losses)
    assert {(r["params"]["lr"], r["params"]["hidden"]) for r in results} == {
        (a, b) for a in (1e-3, 3e-2) for b in ("8", "8,8")
    }
    assert all(r["val_loss"] == r["history"]["val_loss"][-1] for r in results)
    rows = read_csv(out / "results.csv")
    assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4]
    assert_close([float(r["val_loss"]) for r in rows], losses, np.float64)
    table = stdout.splitlines()
    assert table[0].split()[:3] == ["rank", "lr", "hidden"] and len(table) == 6
    w, h = png_size(out / "tune.png")
    assert w >= 300 and h >= 200


@pytest.mark.slow  # several seconds: in the whole suite, not the fast subset
def test_tune_grid_file(capsys, tmp_path):
    pytest.importorskip("tomllib", reason="TOML grid files need Python 3.11")
    (tmp_path / "grid.toml").write_text("l2 = [0, 0.01]\ndropout = [0.0, 0.2]\n")
    out = tmp_path / "t"
    code, _, err = run(
        capsys,
        "tune",
        "--grid",
        tmp_path / "grid.toml",
        "--epochs",
        "2",
        "--samples",
        ROWS,
        "--no-plots",
        "--out",
        out,
    )
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())["results"]
    assert sorted((r["params"]["l2"], r["params"]["dropout"]) for r in results) == [
        (0, 0.0),
        (0, 0.2),
        (0.01, 0.0),
        (0.01, 0.2),
    ]


# ---------------------------------------------------------------------------------------------
# bad input: one line, exit status 2, no traceback
# ---------------------------------------------------------------------------------------------
CSV_CASES = {
    "ragged.csv": ("a,b,label\n1,2,x\n3,4\n", "line 3 has 2 field(s) but the header has 3"),
    "nonnum.csv": (
        "a,b,label\n1,2,x\n3,oops,y\n",
        "feature column 'b' must hold finite numbers, but line 3 holds 'oops'",
    ),
    "header_only.csv": ("a,b,label\n", "no data rows (empty data)"),
    "empty.csv": ("", "is empty"),
    "single.csv": ("a,b,label\n1,2,x\n3,4,x\n5,6,x\n", "single class 'x'"),
    "floats.csv": ("a,label\n1,0.5\n2,1.5\n3,2.5\n", "non-integer value '0.5'"),
}


@pytest.mark.parametrize("name", list(CSV_CASES))
def test_bad_csv(capsys, tmp_path, name):
    text, fragment = CSV_CASES[name]
    (tmp_path / name).write_text(text)
    extra = ["--task", "binary"] if name == "floats.csv" else []
    code, _, err = run(
        capsys, "train", "--csv", tmp_path / name, "--target", "label", *extra, "--out", tmp_path / "r"
    )
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "r").exists()  # bad input leaves nothing behind


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["train", "--csv", "{tmp}/nope.csv", "--target", "y"], "CSV file '{tmp}/nope.csv' does not exist"),
        (
            ["train", "--csv", "{tmp}/ok.csv", "--target", "zzz"],
            "has no target column 'zzz'; its columns are: a, b, label",
        ),
        (["train", "--csv", "{tmp}/ok.csv"], "--csv needs --target"),
        (
            ["train", "--csv", "{tmp}/ok.csv", "--target", "label", "--dataset", "moons"],
            "either --dataset or --csv",
        ),
        (["train", "--lr", "-0.1"], "argument --lr: must be a positive number, got -0.1"),
        (["train", "--lr", "fast"], "argument --lr: expected a number, got 'fast'"),
        (["train", "--epochs", "0"], "argument --epochs: must be a positive integer"),
        (["train", "--dropout", "1"], "must be a drop probability in [0, 1)"),
        (["train", "--val-fraction", "1.5"], "must be a fraction in (0, 1)"),
        (["train", "--hidden", "64,x"], "expected comma-separated layer sizes"),
        (["train", "--l2", "-1"], "must be a number >= 0"),
        (["train", "--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["train", "--dataset", "iris", "--samples", "10"], "--samples is for generated data sets"),
        (["train", "--samples", "1"], "make_moons: n_samples must be at least 2"),
        (
            ["train", "--dataset", "iris", "--val-fraction", "0.999"],
            "150 row(s) with --val-fraction 0.999 leave 0 training and 150 validation row(s); each of the 3 "
            "classes needs a row in the training split, so at least 3000 rows are needed",
        ),
        (["train", "--resume"], "--resume needs --out"),
        (["train", "--resume", "--out", "{tmp}"], "is not a jnnbasics run folder (no config.json)"),
        (["evaluate", "{tmp}"], "is not a jnnbasics run folder (no config.json)"),
        (["evaluate", "{tmp}/missing"], "run folder {tmp}/missing does not exist"),
        (["predict", "{tmp}"], "the following arguments are required: --csv"),
        (["fly"], "invalid choice: 'fly'"),
        (["tune", "--epochs", "2"], "no grid"),
        (["tune", "--grid", "{tmp}/nope.json"], "grid file '{tmp}/nope.json' does not exist"),
        (["tune", "--grid", "{tmp}/bad.json"], "unknown hyperparameter 'momentum'"),
        (["tune", "--lr", "0.1,-1"], "must be a positive number, got -1"),
    ],
)
def test_bad_arguments(capsys, tmp_path, argv, fragment):
    (tmp_path / "ok.csv").write_text("a,b,label\n1,2,x\n3,4,y\n")
    (tmp_path / "bad.json").write_text('{"momentum": [0.9]}')
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, fragment.replace("{tmp}", str(tmp_path)))


def test_not_a_run_folder_when_config_is_foreign(capsys, tmp_path):
    (tmp_path / "config.json").write_text('{"name": "something else"}')
    code, _, err = run(capsys, "predict", tmp_path, "--csv", tmp_path / "x.csv")
    assert_one_line_error(code, err, "config.json was not written by jnnbasics")
    (tmp_path / "config.json").write_text("{broken")
    code, _, err = run(capsys, "evaluate", tmp_path)
    assert_one_line_error(code, err, "cannot read")


def test_predict_bad_inputs(trained, capsys, tmp_path):
    d, out, _, _ = trained
    (tmp_path / "other.csv").write_text("width,depth\n1,2\n")
    code, _, err = run(capsys, "predict", out, "--csv", tmp_path / "other.csv")
    assert_one_line_error(code, err, "has no feature column 'height'; its columns are: width, depth")
    code, _, err = run(capsys, "predict", out, "--csv", d / "moons.csv", "--out", d / "moons.csv")
    assert_one_line_error(code, err, "--out would overwrite the input CSV")
    (tmp_path / "unknown.csv").write_text("width,shape,height\n1,square,2\n")
    code, _, err = run(capsys, "evaluate", out, "--csv", tmp_path / "unknown.csv")
    assert_one_line_error(
        code, err, "target value 'square' in line 2 is not one of the run's classes: pointy, round"
    )


def test_corrupt_checkpoint_is_a_clear_error(trained, capsys, tmp_path):
    _, out, _, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "best.ckpt").write_bytes(b"not a checkpoint")
    code, _, err = run(capsys, "evaluate", copy)
    assert_one_line_error(code, err, "is not a jnnbasics checkpoint")


def test_early_stopping_keeps_the_best_epoch(capsys, tmp_path):
    out = tmp_path / "es"
    argv = ["--samples", ROWS, "--batch-size", "40", "--lr", "0.3", "--epochs", "40", "--patience", "2"]
    code, stdout, err = run(capsys, "train", *argv, "--quiet", "--no-plots", "--out", out)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert metrics["stop_reason"] == "early_stopping" and "early stop" in stdout
    best = metrics["best_epoch"]
    assert best == int(np.argmin(history["val_loss"])) + 1 and len(history["val_loss"]) == best + 2
    # the saved model is the best epoch's: its validation loss is that epoch's history entry
    assert_close(metrics["val"]["loss"], history["val_loss"][best - 1], np.float32)
    assert (out / "best.ckpt").is_file()
