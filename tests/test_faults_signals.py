"""Signals at random moments of ``python -m jnnbasics train`` (issue 9), each followed by recovery.

A loop of tries, bounded in time: each starts a real training process, sends it ``SIGKILL``
(``kill -9``: no handler runs, the lock and maybe a temporary file stay behind) or ``SIGINT``
(Ctrl-C) after a delay drawn from a seeded RNG — during start-up, data loading, the run folder's
first writes, training and checkpoint saves, or the final save — and then recovers the way the
messages tell a user to: ``train --resume`` to the fixed epoch count (or, when the process died
before the run's ``config.json`` existed, the same ``train`` again with ``--force``). After every
signal: each file in the folder is complete (JSON parses, checkpoints pass their checksum), the
checkpoint's label equals its contents (metadata ``epoch`` == the length of its history); after
every recovery: the lock of the killed process did not block it, no lock or temporary file is
left, and the history equals an uninterrupted run's within the trajectory tolerance — the oracle
is that uninterrupted run of the same flags.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_trees_close

import jnnbasics
from jnnbasics.checkpoint import read_checkpoint_metadata
from jnnbasics.cli import main

pytestmark = pytest.mark.slow

EPOCHS = 400  # about a second of training (2 cores): signals land in it; short to resume
FLAGS = ["--samples", "1000", "--epochs", str(EPOCHS), "--quiet", "--no-plots", "--seed", "3"]
BUDGET_S = 24.0  # no new try starts after this (3 tries at least); each process is bounded by PROCESS_S
PROCESS_S = 60.0
KILL, INT = ("kill", signal.SIGKILL), ("int", signal.SIGINT)
# (signal, what the delay counts from): the start (imports, data), config.json (the first writes,
# compiling, epoch 1), the first checkpoint (training, saves, the final save); the likeliest first
TRIES = [(*KILL, "checkpoint"), (*INT, "checkpoint"), (*KILL, "config"), (*INT, "start"), (*KILL, "start")]
TRIES += [(*INT, "config")]
MARKS = {"start": None, "config": "config.json", "checkpoint": "checkpoint.ckpt"}


def history(folder: Path) -> dict:
    """history.json without ``epoch_time`` (the one series that differs between equal runs)."""
    h = json.loads((folder / "history.json").read_text())
    return {k: v for k, v in h.items() if k != "epoch_time"}


def start(cwd: Path, out: Path, *extra: str) -> subprocess.Popen:
    """A training process; compiled code shared between the tries through JAX's persistent cache."""
    env = {**os.environ, "PYTHONPATH": str(Path(jnnbasics.__file__).parents[1])}
    env.pop("JNNBASICS_TRACEBACK", None)
    env["JAX_COMPILATION_CACHE_DIR"] = str(cwd / "jax-cache")
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    return subprocess.Popen(
        [sys.executable, "-m", "jnnbasics", "train", "--out", str(out), *FLAGS, *extra],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def signal_at(proc: subprocess.Popen, out: Path, sig: int, delay: float, mark: str | None) -> str:
    """Send ``sig`` ``delay`` s after the start, or after ``out/mark`` appeared; return stderr."""
    t0 = time.monotonic()
    while mark and not (out / mark).is_file() and proc.poll() is None:
        if time.monotonic() - t0 > PROCESS_S:
            pytest.fail(f"the training process did not write {mark} in time")
        time.sleep(0.005)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=PROCESS_S)
    return err


def check_folder_after_signal(out: Path) -> dict:
    """Every file complete, the checkpoint's label its contents; what was found, for the report."""
    found = {"lock": (out / ".lock").is_file(), "temp": len(list(out.glob(".*.tmp"))), "epoch": None}
    if not out.is_dir():
        return found
    for name in ("config.json", "scaler.json", "labels.json", "history.json", "metrics.json"):
        if (out / name).is_file():
            json.loads((out / name).read_text())  # complete: atomic writes
    for name in ("best.ckpt", "last.ckpt"):
        if (out / name).is_file():
            read_checkpoint_metadata(out / name)  # the checksum holds
    if (out / "checkpoint.ckpt").is_file():
        meta = read_checkpoint_metadata(out / "checkpoint.ckpt")
        assert meta["epoch"] == len(meta["history"]["train_loss"]), (
            "the checkpoint's label is not its contents"
        )
        found["epoch"] = meta["epoch"]
    return found


def recover(out: Path, capsys) -> int:
    """What the messages tell the user: --resume a run folder; else train again (--force: leftovers)."""
    if (out / "config.json").is_file():
        argv = ["train", "--resume", "--out", str(out), "--epochs", str(EPOCHS), "--quiet", "--no-plots"]
    else:
        argv = ["train", "--force", "--out", str(out), *FLAGS]
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 0, err
    return code


def test_kill_and_ctrl_c_at_random_moments_then_resume(tmp_path, capsys):
    ref = tmp_path / "uninterrupted"
    assert main(["train", "--out", str(ref), *FLAGS]) == 0
    capsys.readouterr()
    expected = history(ref)
    rng = np.random.default_rng(9)
    t_start, report = time.monotonic(), []
    for i, (name, sig, since) in enumerate(TRIES):
        if time.monotonic() - t_start > BUDGET_S and i >= 3:
            break
        out = tmp_path / f"try{i}-{name}"
        delay = float(rng.uniform(0.0, 1.2) if since != "start" else rng.uniform(0.3, 4.0))
        proc = start(tmp_path, out)
        try:
            err = signal_at(proc, out, sig, delay, MARKS[since])
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=PROCESS_S)
        rc = proc.returncode
        assert rc in (0, -signal.SIGKILL, 130, -signal.SIGINT), f"exit {rc}: {err[-2000:]}"
        if rc == 130:  # the CLI handled Ctrl-C: one line, the epoch it says is the checkpoint's
            assert "Traceback" not in err and "interrupted" in err, err
        found = check_folder_after_signal(out)
        if rc == 130 and found["epoch"]:
            assert f"holds epoch {found['epoch']}/{EPOCHS}" in err, err
        recover(out, capsys)  # a stale lock (kill -9) must not block this
        assert not (out / ".lock").exists() and not list(out.glob(".*.tmp"))
        assert_trees_close(history(out), expected, np.float32, "trajectory")
        report.append((name, since, round(delay, 2), rc, found["epoch"], found["lock"], found["temp"]))
    print(
        f"\n{len(report)} tries in {time.monotonic() - t_start:.1f} s "
        "(signal, since, delay s, exit, checkpoint epoch, lock left, temp files):",
        *report,
        sep="\n",
    )
    assert len(report) >= 2 and {r[0] for r in report} == {"kill", "int"}
    assert time.monotonic() - t_start < BUDGET_S + 2 * PROCESS_S
