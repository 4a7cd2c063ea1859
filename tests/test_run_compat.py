"""Run folders written before the run redesign (format version 1) still load, evaluate and predict.

``tests/data/v1_run`` was written by the last release's ``jnnbasics train`` (``--samples 60 --hidden 4
--epochs 3 --patience 5``): ``model.ckpt`` (the final parameters), ``best.ckpt`` (with --patience),
a bare-TrainState ``checkpoint.ckpt`` and that release's ``metrics.json`` — the oracle here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_close
from test_cli import assert_one_line_error, read_csv, run

import jnnbasics as jnb

V1 = Path(__file__).parent / "data" / "v1_run"


@pytest.fixture
def v1(tmp_path):
    """A copy of the version-1 run folder (commands must not change the committed one)."""
    return Path(shutil.copytree(V1, tmp_path / "v1_run"))


def test_load_run_reads_a_version_1_folder(v1):
    last = jnb.load_run(v1, params="last")
    best = jnb.load_run(v1)
    assert last.config["version"] == 1 and last.task == "binary" and last.class_names == ["0", "1"]
    assert last.last_epoch == 3 and best.which == "best"
    x = np.array([[0.0, 0.0], [1.0, -0.5], [-1.0, 1.0]], np.float32)
    p = last.predict_proba(x)
    assert p.shape == (3, 2) and np.allclose(p.sum(axis=1), 1.0)


def test_evaluate_of_a_version_1_folder_reproduces_its_metrics(v1, capsys):
    """The last release's metrics.json reported model.ckpt (the last epoch): same numbers today."""
    code, out, err = run(capsys, "evaluate", v1, "--params", "last", "--json")
    assert code == 0, err
    got, saved = json.loads(out), json.loads((V1 / "metrics.json").read_text())
    for split in ("train", "val"):
        assert got[split]["n"] == saved[split]["n"]
        assert got[split]["accuracy"] == saved[split]["accuracy"]
        assert_close(got[split]["loss"], saved[split]["loss"], np.float32)


def test_predict_with_a_version_1_folder(v1, capsys, tmp_path):
    (tmp_path / "new.csv").write_text("x1,x2\n0,0\n1,-0.5\n")
    code, _, err = run(capsys, "predict", v1, "--csv", tmp_path / "new.csv", "--out", tmp_path / "p.csv")
    assert code == 0, err
    rows = read_csv(tmp_path / "p.csv")
    want = jnb.load_run(v1).predict(np.array([[0.0, 0.0], [1.0, -0.5]], np.float32))
    assert [r["prediction"] for r in rows] == list(want)


def test_resume_of_a_version_1_folder_is_a_clear_error_and_keeps_it(v1, capsys):
    before = {p.name: p.read_bytes() for p in v1.iterdir()}
    code, _, err = run(capsys, "train", "--resume", "--out", v1, "--quiet")
    assert_one_line_error(code, err, "older jnnbasics (run format 1)")
    assert {p.name: p.read_bytes() for p in v1.iterdir()} == before
