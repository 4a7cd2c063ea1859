"""``jnnbasics tune`` keeps the best setting: OUT/best/ and the ``jnnbasics train`` line that reproduces it.

Oracle: the printed command itself, run through ``main`` into a fresh folder (its history must match
the tune's best row to the trajectory tolerance), and ``evaluate``/``predict`` reading OUT/best.
"""

from __future__ import annotations

import json
import shlex

import numpy as np
from helpers import assert_close
from test_cli import run

GRID = ("--lr", "1e-2,3e-2", "--hidden", "8", "--epochs", "3", "--samples", "200", "--no-plots")


def _command(err: str) -> str:
    lines = err.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.endswith("the command:")) + 1].strip()


def test_tune_saves_the_best_run_and_its_command_reproduces_the_best_row(capsys, tmp_path):
    out = tmp_path / "tune"
    code, stdout, err = run(capsys, "tune", *GRID, "--out", out)
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    best_row = results["results"][0]
    command = _command(err)
    assert command == results["best"]["command"] and command.startswith("jnnbasics train ")
    assert f"--lr {best_row['params']['lr']}" in command and "note:" not in err
    argv = shlex.split(command)[1:]
    code, _, err = run(capsys, *argv, "--out", tmp_path / "again", "--quiet", "--no-plots")
    assert code == 0, err
    again = json.loads((tmp_path / "again" / "history.json").read_text())["val_loss"]
    saved = json.loads((out / "best" / "history.json").read_text())["val_loss"]
    assert_close(again[-1], best_row["val_loss"], np.float32, "trajectory")
    assert_close(np.array(again), np.array(best_row["history"]["val_loss"]), np.float32, "trajectory")
    assert saved == again and results["best"]["val_loss"] == saved[-1]
    code, stdout, err = run(capsys, "evaluate", out / "best", "--json")
    assert code == 0, err
    assert json.loads(stdout)["val"]["report"]["confusion_matrix"]  # a full run folder
    (tmp_path / "new.csv").write_text("x1,x2\n0.1,0.2\n1.0,-0.5\n")
    code, _, err = run(
        capsys, "predict", out / "best", "--csv", tmp_path / "new.csv", "--out", tmp_path / "p.csv"
    )
    assert code == 0, err
    assert len((tmp_path / "p.csv").read_text().strip().splitlines()) == 3


def test_tune_notes_what_train_cannot_reproduce_and_no_best_skips_it(capsys, tmp_path):
    out = tmp_path / "tune"
    code, stdout, err = run(capsys, "tune", *GRID[2:], "--lr", "3e-2", "--seeds", "1", "--out", out)
    assert code == 0, err
    assert "note: 'jnnbasics train' has no model seed" in err and (out / "best" / "config.json").is_file()
    code, stdout, err = run(capsys, "tune", *GRID, "--out", tmp_path / "plain", "--no-best")
    assert code == 0, err
    assert not (tmp_path / "plain" / "best").exists() and "the command:" not in err
    assert json.loads((tmp_path / "plain" / "results.json").read_text())["best"] is None
