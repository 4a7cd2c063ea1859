"""Tests for jnnbasics.progress: one line redrawn in place on a terminal and in a notebook, few
lines in a log, and a time left that leaves the first (compiling) epoch out.

Oracles: hand-computed times from a fake clock; what a terminal or Jupyter shows, reconstructed
with the rule both apply to a carriage return (the text after it replaces the line).
"""

from __future__ import annotations

import io
import re
import sys
import types

import pytest

from jnnbasics.progress import ProgressBar, stream_mode


class FakeClock:
    """Seconds that the test sets: ``clock.t``."""

    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def shown_lines(raw: str) -> list[str]:
    """The lines a terminal or Jupyter shows for ``raw``: after a '\\r' the text replaces the line."""
    raw = raw.replace("\x1b[K", "")
    return [line.rsplit("\r", 1)[-1] for line in raw.split("\n")]


def logs(epoch: int) -> dict[str, float]:
    return {"train_loss": 1.0 / epoch, "val_loss": 1.2 / epoch, "lr": 0.01}


def run_epochs(bar: ProgressBar, clock: FakeClock, times: list[float]) -> None:
    """Call the bar at the end of epochs 1, 2, ... at the given clock times."""
    for epoch, t in enumerate(times, start=1):
        clock.t = t
        bar(epoch, logs(epoch))


def left(text: str) -> list[str]:
    return re.findall(r"left (\S+)", text)


# --------------------------------------------------------------------------------------------------
# the time left


def test_time_left_excludes_the_first_epoch():
    """Epoch 1 takes 30 s (compilation), the others 2 s: after epoch 2 of 10, 8 epochs x 2 s are left."""
    clock, out = FakeClock(), io.StringIO()
    bar = ProgressBar(10, stream=out, mode="lines", max_lines=10, clock=clock)
    run_epochs(bar, clock, [30.0 + 2.0 * k for k in range(10)])  # ends of epochs 1..10
    assert left(out.getvalue()) == ["--:--", "00:16", "00:14", "00:12", "00:10", "00:08", "00:06", "00:04",
                                    "00:02", "00:00"]  # fmt: skip


def test_time_left_follows_the_rate_measured_since_the_first_epoch():
    clock = FakeClock()
    bar = ProgressBar(100, stream=io.StringIO(), mode="lines", clock=clock)
    assert bar.eta(1, 50.0) is None  # nothing measured yet
    clock.t = 50.0
    bar(1, logs(1))
    assert bar.eta(1, 50.0) is None
    assert bar.eta(5, 58.0) == pytest.approx(2.0 * 95)  # 4 epochs in 8 s
    assert bar.eta(100, 300.0) == 0.0


def test_a_resumed_run_measures_from_its_own_first_epoch():
    clock, out = FakeClock(), io.StringIO()
    bar = ProgressBar(20, stream=out, mode="lines", max_lines=20, clock=clock)
    for epoch, t in ((11, 40.0), (12, 41.0), (13, 42.0)):  # resumed after 10 epochs; epoch 11 compiles
        clock.t = t
        bar(epoch, logs(epoch))
    assert left(out.getvalue()) == ["--:--", "00:08", "00:07"]


def test_long_times_have_hours():
    clock, out = FakeClock(), io.StringIO()
    bar = ProgressBar(10_000, stream=out, mode="lines", max_lines=10_000, clock=clock)
    run_epochs(bar, clock, [5.0, 6.0])
    assert left(out.getvalue()) == ["--:--", "2:46:38"]  # 9998 s


# --------------------------------------------------------------------------------------------------
# how it is drawn


def test_terminal_redraws_one_line_in_place():
    clock, out = FakeClock(), TtyStream()
    bar = ProgressBar(50, stream=out, clock=clock)
    assert bar.mode == "terminal"
    run_epochs(bar, clock, [1.0 + k for k in range(50)])  # 1 s apart: every epoch is drawn
    raw = out.getvalue()
    assert raw.count("\n") == 1 and raw.endswith("\n")  # one line, ended after the last epoch
    assert raw.count("\r") == 50 and raw.count("\x1b[K") == 50
    assert shown_lines(raw)[0].startswith("epoch 50/50 [########################]")


def test_in_place_redraws_are_throttled_but_the_last_epoch_is_drawn():
    clock, out = FakeClock(), TtyStream()
    bar = ProgressBar(200, stream=out, clock=clock, min_interval=0.1)
    run_epochs(bar, clock, [0.01 * k for k in range(1, 201)])  # 10 ms per epoch
    raw = out.getvalue()
    assert 15 <= raw.count("\r") <= 25  # about one redraw per 0.1 s, not 200
    assert "epoch 200/200" in shown_lines(raw)[0]


def test_close_after_an_early_stop_shows_the_last_epoch_and_ends_the_line():
    clock, out = FakeClock(), TtyStream()
    bar = ProgressBar(100, stream=out, clock=clock, min_interval=10.0)
    run_epochs(bar, clock, [1.0, 1.5, 2.0])  # epochs 2 and 3 come too soon to be drawn
    assert "epoch 1/100" in shown_lines(out.getvalue())[0]
    bar.close()
    raw = out.getvalue()
    assert raw.endswith("\n") and raw.count("\n") == 1
    assert "epoch 3/100" in shown_lines(raw)[0]
    bar.close()  # a second close writes nothing
    assert out.getvalue() == raw


@pytest.fixture
def in_a_kernel(monkeypatch, capsys):
    """As inside a Jupyter kernel: ipykernel imported, stderr the kernel's stream (not a terminal).

    pytest's ``capsys`` stream stands for the kernel's: it is ``sys.stderr`` during the test and no
    terminal. Returns a function that reads what was written to it.
    """
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    return lambda: capsys.readouterr().err


def test_in_a_notebook_the_bar_is_one_line_redrawn_with_carriage_returns(in_a_kernel):
    clock = FakeClock()
    bar = ProgressBar(300, clock=clock)  # the default stream: sys.stderr, the kernel's
    assert bar.mode == "notebook" and bar.tty
    run_epochs(bar, clock, [1.0 + k for k in range(300)])
    raw = in_a_kernel()
    assert raw.count("\n") == 1 and raw.endswith("\n")  # not 300 lines
    assert raw.count("\r") == 300 and "\x1b" not in raw  # no terminal escapes in a notebook
    shown = shown_lines(raw)
    assert shown[0].startswith("epoch 300/300") and shown[1:] == [""]


def test_in_a_kernel_a_file_still_gets_plain_lines(in_a_kernel, tmp_path):
    with open(tmp_path / "log.txt", "w") as f:
        assert stream_mode(f) == "lines"
    out = io.StringIO()
    assert ProgressBar(10, stream=out).mode == "lines"


def test_without_a_kernel_stderr_that_is_not_a_terminal_gets_plain_lines(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    clock = FakeClock()
    bar = ProgressBar(300, clock=clock)  # sys.stderr: pytest's capture, not a terminal
    assert bar.mode == "lines"
    run_epochs(bar, clock, [1.0 + k for k in range(300)])
    raw = capsys.readouterr().err
    lines = raw.splitlines()
    assert len(lines) == 10 and "\r" not in raw
    assert lines[0].startswith("epoch 30/300") and lines[-1].startswith("epoch 300/300")


def test_a_log_after_an_early_stop_ends_with_the_last_epoch():
    clock, out = FakeClock(), io.StringIO()
    bar = ProgressBar(40, stream=out, clock=clock)
    run_epochs(bar, clock, [1.0 + k for k in range(38)])  # stopped after epoch 38 of 40
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) <= 10 and lines[-1].startswith("epoch 38/40")


def test_bad_options():
    with pytest.raises(ValueError, match="ProgressBar: mode must be one of 'auto', 'terminal', 'notebook'"):
        ProgressBar(10, mode="jupyter")
    with pytest.raises(ValueError, match="ProgressBar: min_interval must be a finite number >= 0"):
        ProgressBar(10, min_interval=-1)


@pytest.mark.slow  # compiles a training epoch: ~4 s
def test_the_training_loop_draws_it_in_a_notebook(in_a_kernel):
    """train_model(progress=True) inside a kernel: one line, the last epoch shown."""
    import jax

    import jnnbasics as jnb

    x, y = jnb.make_moons(jax.random.key(0), 64, noise=0.2)
    model = jnb.mlp([2, 8, 1], loss_type="bce_with_logits")
    jnb.train_model(model, (x, y), key=jax.random.key(1), epochs=40, progress=True)
    raw = in_a_kernel()
    assert raw.count("\n") == 1 and "\r" in raw
    assert shown_lines(raw)[0].startswith("epoch 40/40")


@pytest.mark.slow  # a fresh interpreter importing jax: ~5 s
def test_importing_progress_does_not_import_ipython():
    import subprocess

    code = "import sys, jnnbasics.progress; assert 'IPython' not in sys.modules and 'ipykernel' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
