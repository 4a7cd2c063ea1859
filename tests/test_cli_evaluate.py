"""``jnnbasics evaluate``'s classification report and confusion matrix, in-process through ``main``.

Oracle: scikit-learn's ``classification_report`` and ``confusion_matrix`` on the run's own rows
(regenerated from config.json) and the predictions of :class:`jnnbasics.Run`.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from helpers import assert_close
from test_cli import run

from jnnbasics import cli, load_run
from jnnbasics.cli import main


def _train(out, *argv) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(
            ["train", *argv, "--epochs", "3", "--hidden", "8", "--quiet", "--no-plots", "--out", str(out)]
        )
    assert code == 0


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "iris"
    _train(out, "--dataset", "iris", "--lr", "0.01")
    return out


def _oracle(out, split):
    from sklearn.metrics import classification_report, confusion_matrix

    r = load_run(out)
    data = cli.load_run_data(r.config)
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_val, data.y_val)
    pred = np.asarray(r.predict(x))
    labels = list(range(len(r.class_names)))
    idx = np.array([r.class_names.index(p) for p in pred]) if pred.dtype.kind in "UO" else pred
    rep = classification_report(y, idx, labels=labels, output_dict=True, zero_division=0)
    return r.class_names, rep, confusion_matrix(y, idx, labels=labels)


def test_evaluate_json_has_a_classification_report_per_split(iris_run, capsys):
    code, stdout, _ = run(capsys, "evaluate", iris_run, "--json")
    assert code == 0
    got = json.loads(stdout)
    for split in ("train", "val"):
        names, rep, cm = _oracle(iris_run, split)
        g = got[split]["report"]
        assert g["classes"] == names and len(names) == 3
        assert g["confusion_matrix"] == cm.tolist()
        for i in range(3):
            want = [rep[str(i)][k] for k in ("precision", "recall", "f1-score")]
            assert_close(
                np.array([g["precision"][i], g["recall"][i], g["f1"][i]]), np.array(want), np.float64
            )
            assert g["support"][i] == rep[str(i)]["support"]
        assert g["accuracy"] == got[split]["accuracy"] == rep["accuracy"]


def test_evaluate_text_prints_the_report_and_the_matrix(iris_run, capsys):
    code, stdout, _ = run(capsys, "evaluate", iris_run)
    assert code == 0
    names, rep, cm = _oracle(iris_run, "val")
    val = stdout[stdout.index("val:") :]
    assert "precision  recall  f1-score  support" in val and "macro avg" in val and "weighted avg" in val
    lines = val.splitlines()
    at = next(j for j, line in enumerate(lines) if "confusion matrix" in line)
    assert lines[at + 1].split() == names
    for i, name in enumerate(names):
        cells = next(line for line in lines[:at] if line.split()[:1] == [name]).split()
        assert float(cells[3]) == pytest.approx(rep[str(i)]["f1-score"], abs=5e-5)  # printed to 4 decimals
        row = lines[at + 2 + i].split()
        assert row[0] == name and [int(v) for v in row[1:]] == cm[i].tolist()


def test_evaluate_on_a_csv_has_a_report(iris_run, capsys, tmp_path):
    r = load_run(iris_run)
    data = cli.load_run_data(r.config)
    lines = [",".join([*r.features, r.config.get("target_column") or "species"])]
    for xs, y in zip(data.x_val, data.y_val):
        lines.append(",".join([*(repr(float(v)) for v in xs), r.class_names[int(y)]]))
    (tmp_path / "val.csv").write_text("\n".join(lines) + "\n")
    code, stdout, err = run(capsys, "evaluate", iris_run, "--csv", tmp_path / "val.csv", "--json")
    assert code == 0, err
    _, _, cm = _oracle(iris_run, "val")
    assert json.loads(stdout)["csv"]["report"]["confusion_matrix"] == cm.tolist()


def test_evaluate_regression_keeps_r2_rmse_mae_and_has_no_report(capsys, tmp_path):
    from sklearn.metrics import r2_score

    _train(tmp_path / "reg", "--dataset", "regression", "--samples", "100")
    code, stdout, _ = run(capsys, "evaluate", tmp_path / "reg", "--json")
    assert code == 0
    got = json.loads(stdout)["val"]
    r = load_run(tmp_path / "reg")
    data = cli.load_run_data(r.config)
    assert "report" not in got and {"r2", "rmse", "mae"} <= set(got)
    assert_close(got["r2"], r2_score(data.y_val, np.asarray(r.predict(data.x_val)).reshape(-1)), np.float32)
    code, stdout, _ = run(capsys, "evaluate", tmp_path / "reg")
    assert code == 0 and "r2" in stdout and "confusion" not in stdout
