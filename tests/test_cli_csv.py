"""The CSV trainer for real tables, through the command line (``main([...])`` in-process).

``--features``/``--ignore`` choose columns, text columns are one-hot encoded with the training
file's categories (kept in the run), ``--impute mean`` fills missing numeric cells, and the data
and model are printed before training. Oracles: NumPy (one-hot matrices and column means built
here by hand), the ``csv`` and ``json`` modules.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from helpers import assert_close
from test_cli import assert_one_line_error, run

from jnnbasics import load_run
from jnnbasics.cli import load_run_data

FAST = ["--epochs", "2", "--hidden", "8", "--quiet", "--no-plots"]
COLORS = ["red", "blue", "green"]


def write_table(path, n: int = 60, *, missing_every: int = 0, seed: int = 0) -> dict[str, list]:
    """A user's table: an ``id``, a number ``a``, a text ``color``, a number ``b``, a class ``label``."""
    rng = np.random.default_rng(seed)
    cols = {"id": [], "a": [], "color": [], "b": [], "label": []}
    for i in range(n):
        a, b, c = float(rng.normal()), float(rng.normal()), COLORS[i % 3]
        cols["id"].append(f"r{i}")
        cols["a"].append("" if missing_every and i % missing_every == 1 else repr(a))
        cols["color"].append(c)
        cols["b"].append(repr(b))
        cols["label"].append("yes" if a + (1.0 if c == "red" else -0.5) > 0 else "no")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(cols))
        w.writerows(zip(*cols.values()))
    return cols


def train(capsys, tmp_path, *extra, name="run"):
    out = tmp_path / name
    code, stdout, err = run(
        capsys, "train", "--csv", tmp_path / "t.csv", "--target", "label", *FAST, *extra, "--out", out
    )
    return code, stdout, err, out


def config(out) -> dict:
    return json.loads((out / "config.json").read_text())


# ---------------------------------------------------------------------------------------------
# --features / --ignore
# ---------------------------------------------------------------------------------------------
def test_features_choose_and_order_the_columns_and_evaluate_predict_use_them(capsys, tmp_path):
    write_table(tmp_path / "t.csv")
    code, stdout, err, out = train(capsys, tmp_path, "--features", "b,a")
    assert code == 0, err
    cfg = config(out)
    assert cfg["features"] == ["b", "a"] and cfg["layer_sizes"][0] == 2
    assert cfg["feature_columns"] == ["b", "a"] and "--features b,a" in cfg["command"]
    assert "features: b, a (2)" in stdout
    code, stdout, err = run(capsys, "evaluate", out)
    assert code == 0, err
    (tmp_path / "new.csv").write_text("a,b\n0.5,1.0\n-1.0,2.0\n")  # no id, color or label needed
    code, stdout, err = run(capsys, "predict", out, "--csv", tmp_path / "new.csv")
    assert code == 0, err
    assert len(list(csv.DictReader(io.StringIO(stdout)))) == 2


def test_ignore_drops_a_column(capsys, tmp_path):
    write_table(tmp_path / "t.csv")
    code, stdout, err, out = train(capsys, tmp_path, "--ignore", "id,color")
    assert code == 0, err
    assert config(out)["features"] == ["a", "b"]
    assert "features: a, b (2)" in stdout


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--features", "a,colour"], "--features: CSV file"),
        (["--ignore", "nope"], "has no column 'nope'; its columns are: id, a, color, b, label"),
        (["--features", "a,label"], "the target column 'label' cannot be a feature"),
        (["--features", "a", "--ignore", "id"], "give either --features or --ignore, not both"),
        (["--impute", "mean", "--drop-missing"], "give either --drop-missing or --impute mean, not both"),
        (["--features", "a,"], "expected column names separated by commas"),
    ],
)
def test_bad_column_choices_are_one_line_errors(capsys, tmp_path, flags, fragment):
    write_table(tmp_path / "t.csv")
    code, _, err, out = train(capsys, tmp_path, *flags)
    assert_one_line_error(code, err, fragment)
    assert not out.exists()


def test_column_flags_need_a_csv(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--features", "x1", "--out", tmp_path / "r")
    assert_one_line_error(code, err, "--features is for --csv data")


# ---------------------------------------------------------------------------------------------
# the summary before training
# ---------------------------------------------------------------------------------------------
def test_data_and_model_are_printed_before_training(capsys, tmp_path):
    write_table(tmp_path / "t.csv")
    code, stdout, err, out = train(capsys, tmp_path, "--ignore", "id", "--lr", "0.01", "--batch-size", "16")
    assert code == 0, err
    lines = stdout.splitlines()
    plan = lines[: lines.index(f"run folder: {out}")]
    text = "\n".join(plan)
    assert "t.csv (binary, 48 train / 12 validation rows), target label" in text
    assert "features: a, color=blue, color=green, color=red, b (5; one-hot encoded: color)" in text
    assert "model: 5-8-1 relu" in text and "2 epochs, lr 0.01, batch size 16" in text
    assert "eval mode" in stdout  # the final numbers say what they are
    assert err == ""  # --quiet: no progress


# ---------------------------------------------------------------------------------------------
# text columns: one-hot
# ---------------------------------------------------------------------------------------------
def test_text_columns_are_one_hot_with_the_training_categories(capsys, tmp_path):
    write_table(tmp_path / "t.csv")
    code, _, err, out = train(capsys, tmp_path, "--ignore", "id")
    assert code == 0, err
    cfg = config(out)
    assert cfg["categories"] == {"color": ["blue", "green", "red"]}
    assert cfg["features"] == ["a", "color=blue", "color=green", "color=red", "b"]
    new = [("0.5", "green", "1.0"), ("-1.0", "red", "2.0"), ("0.0", "blue", "-0.5")]
    (tmp_path / "new.csv").write_text("b,color,a\n" + "".join(f"{b},{c},{a}\n" for a, c, b in new))
    code, stdout, err = run(capsys, "predict", out, "--csv", tmp_path / "new.csv")
    assert code == 0, err
    got = np.array([[float(r["prob_no"]), float(r["prob_yes"])] for r in csv.DictReader(io.StringIO(stdout))])
    onehot = np.array([[float(a), c == "blue", c == "green", c == "red", float(b)] for a, c, b in new], float)
    want = np.asarray(load_run(out).predict_proba(onehot))  # the encoded matrix built here by hand
    assert_close(got, want, np.float32)
    data = load_run_data(cfg)  # evaluate/--resume read the same encoding
    a = np.array([float(v) for v in write_table(tmp_path / "t.csv")["a"]])
    assert_close(data.x[:, 0], a, np.float32)
    assert_close(data.x[:, 1:4].sum(axis=1), np.ones(60), np.float32)


def test_evaluate_csv_encodes_with_the_runs_categories(capsys, tmp_path):
    write_table(tmp_path / "t.csv")
    code, _, err, out = train(capsys, tmp_path, "--ignore", "id")
    assert code == 0, err
    code, stdout, err = run(capsys, "evaluate", out, "--csv", tmp_path / "t.csv", "--json")
    assert code == 0, err
    assert json.loads(stdout)["csv"]["n"] == 60
    write_table(tmp_path / "t.csv", n=3)  # only red, blue, green again: fine; a new colour is not
    (tmp_path / "t.csv").write_text((tmp_path / "t.csv").read_text().replace(",green,", ",teal,"))
    code, _, err = run(capsys, "evaluate", out, "--csv", tmp_path / "t.csv")
    assert_one_line_error(code, err, "text column 'color' line 4 holds 'teal', a category unseen in training")


def test_an_unseen_category_is_a_one_line_error(capsys, tmp_path):
    write_table(tmp_path / "t.csv")
    code, _, err, out = train(capsys, tmp_path, "--ignore", "id")
    assert code == 0, err
    (tmp_path / "new.csv").write_text("a,color,b\n0.5,red,1.0\n0.1,pink,2.0\n")
    code, _, err = run(capsys, "predict", out, "--csv", tmp_path / "new.csv")
    assert_one_line_error(code, err, "text column 'color' line 3 holds 'pink'")
    assert "known categories are: blue, green, red" in err


# ---------------------------------------------------------------------------------------------
# missing cells: --impute mean
# ---------------------------------------------------------------------------------------------
def test_impute_mean_fills_the_whole_files_mean_and_says_how_many(capsys, tmp_path):
    cols = write_table(tmp_path / "t.csv", missing_every=7)
    code, _, err = run(
        capsys,
        "train",
        "--csv",
        tmp_path / "t.csv",
        "--target",
        "label",
        "--ignore",
        "id",
        *FAST,
        "--out",
        tmp_path / "x",
    )
    assert_one_line_error(code, err, "feature column 'a' must hold finite numbers")
    code, _, err, out = train(capsys, tmp_path, "--ignore", "id", "--impute", "mean")
    assert code == 0, err
    n_missing = sum(v == "" for v in cols["a"])
    assert f"filled {n_missing} missing cell(s)" in err
    a = np.array([float(v) if v else np.nan for v in cols["a"]])
    want = np.where(np.isnan(a), np.nanmean(a), a)
    with pytest.warns(UserWarning, match=f"filled {n_missing} missing cell"):
        data = load_run_data(config(out))
    assert_close(data.x[:, 0], want, np.float32)
    assert config(out)["impute"] == "mean" and "--impute mean" in config(out)["command"]


def test_resume_keeps_the_columns_and_categories(capsys, tmp_path):
    write_table(tmp_path / "t.csv")
    code, _, err, out = train(capsys, tmp_path, "--features", "color,a")
    assert code == 0, err
    code, stdout, err = run(
        capsys, "train", "--resume", "--out", out, "--epochs", "3", "--quiet", "--no-plots"
    )
    assert code == 0, err
    assert "features: color=blue, color=green, color=red, a (4; one-hot encoded: color)" in stdout
    assert "resuming from epoch 2" in stdout
    assert config(out)["features"] == ["color=blue", "color=green", "color=red", "a"]
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 3
    code, _, err = run(capsys, "train", "--resume", "--out", out, "--epochs", "4", "--features", "a")
    assert_one_line_error(code, err, "--features a conflicts with the run's saved feature_columns")
