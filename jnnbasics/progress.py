"""A dependency-free progress bar for training loops.

Where the stream goes decides how the bar is drawn (``mode="auto"``):

- a terminal: one line redrawn in place (``\\r`` and "erase to end of line");
- a Jupyter notebook (an IPython kernel is loaded and the bar writes to the kernel's own
  ``sys.stderr`` / ``sys.stdout``, which are not terminals): one line redrawn with ``\\r``, which
  Jupyter, JupyterLab, VS Code and Colab render in place, so the cell shows a single updating line
  instead of one line per epoch;
- anything else (a log file, CI): at most ``max_lines`` plain lines, so it never floods a log.

The time left is measured from the end of the first epoch the bar sees: that epoch includes JAX's
compilation and would make the estimate far too long, so until a second epoch has ended the bar
shows ``left --:--``. IPython is never imported here; the kernel is recognised by ``ipykernel``
being in ``sys.modules``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from ._checks import check_choice, check_nonnegative_float

__all__ = ["MODES", "ProgressBar", "stream_mode"]

MODES = ("auto", "terminal", "notebook", "lines")
_LABELS = (
    ("train_loss", "loss"),
    ("val_loss", "val_loss"),
    ("train_accuracy", "acc"),
    ("val_accuracy", "val_acc"),
)


def _fmt_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def stream_mode(stream: IO[str]) -> str:
    """How to draw on ``stream``: ``"terminal"``, ``"notebook"`` or ``"lines"`` (see the module docstring)."""
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty is not None and isatty():
            return "terminal"
    except ValueError:  # a closed stream
        return "lines"
    kernel_stream = stream is sys.stderr or stream is sys.stdout
    return "notebook" if "ipykernel" in sys.modules and kernel_stream else "lines"


class ProgressBar:
    """Per-epoch progress display; use as a ``train_model`` callback.

    Args:
        total: total number of epochs.
        stream: where to write (default ``sys.stderr``).
        width: width of the bar in characters (terminal and notebook).
        max_lines: in ``"lines"`` mode, the most lines written over the whole run.
        mode: ``"auto"`` (from the stream, see the module docstring), ``"terminal"``, ``"notebook"``
            or ``"lines"``.
        min_interval: in place (terminal, notebook), the least seconds between two redraws; the first
            and the last epoch are always drawn.
        clock: a function returning seconds (default ``time.perf_counter``), e.g. a fake one in tests.

    Example:
        >>> bar = ProgressBar(100)
        >>> result = train_model(model, (x, y), key=key, epochs=100, callbacks=[bar])  # doctest: +SKIP
    """

    def __init__(
        self,
        total: int,
        *,
        stream: IO[str] | None = None,
        width: int = 24,
        max_lines: int = 10,
        mode: str = "auto",
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.total = int(total)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.max_lines = max(1, max_lines)
        mode = check_choice("ProgressBar", "mode", mode, MODES)
        self.mode = stream_mode(self.stream) if mode == "auto" else mode
        self.min_interval = check_nonnegative_float("ProgressBar", "min_interval", min_interval)
        self.clock = clock
        self.first: tuple[int, float] | None = None  # (epoch, time) at the end of the first epoch seen
        self._drawn_at: float | None = None
        self._open_line = False
        self._pending: str | None = None  # the latest line not drawn (too soon after the last)
        self._lines = 0

    @property
    def tty(self) -> bool:
        """True when the bar redraws one line in place (a terminal or a notebook)."""
        return self.mode in ("terminal", "notebook")

    def eta(self, epoch: int, now: float) -> float | None:
        """Seconds left after ``epoch``, from the rate since the first epoch seen; ``None`` until known."""
        if self.first is None or epoch <= self.first[0]:
            return None
        first_epoch, first_time = self.first
        return (now - first_time) / (epoch - first_epoch) * max(self.total - epoch, 0)

    def __call__(self, epoch: int, logs: dict[str, Any], state: Any = None) -> None:
        """Show epoch ``epoch`` (1-based) with the metrics in ``logs``."""
        now = self.clock()
        if self.first is None:
            self.first = (epoch, now)
        text = self.format(epoch, logs, self.eta(epoch, now))
        last = epoch >= self.total
        if self.tty:
            if last or self._drawn_at is None or now - self._drawn_at >= self.min_interval:
                self._redraw(text, end="\n" if last else "")
                self._drawn_at = now
            else:
                self._pending = text
        else:
            every = max(1, math.ceil(self.total / self.max_lines))
            if epoch % every == 0 or last:
                self._write(text + "\n")
                self._lines, self._pending = self._lines + 1, None
            else:
                self._pending = text

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _redraw(self, text: str, *, end: str = "") -> None:
        erase = "\x1b[K" if self.mode == "terminal" else ""  # Jupyter replaces the whole line anyway
        self._write("\r" + text + erase + end)
        self._open_line, self._pending = not end, None

    def close(self) -> None:
        """Show the last epoch if it was not drawn and end the line (call after an early stop)."""
        if not self.tty and self._pending is not None:
            self._write(self._pending + "\n")
            self._lines, self._pending = self._lines + 1, None
        if self.tty and self._pending is not None:
            self._redraw(self._pending)
        if self.tty and self._open_line:
            self._write("\n")
            self._open_line = False

    def format(self, epoch: int, logs: dict[str, Any], eta: float | None) -> str:
        """Return the one-line description of an epoch (``eta`` in seconds, ``None`` when unknown)."""
        frac = min(1.0, epoch / max(self.total, 1))
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        parts = [f"epoch {epoch}/{self.total} [{bar}]"]
        for key, label in _LABELS:
            if key in logs and logs[key] is not None:
                parts.append(f"{label} {logs[key]:.4g}")
        if "lr" in logs:
            parts.append(f"lr {logs['lr']:.3g}")
        parts.append(f"left {_fmt_time(eta)}")
        return "  ".join(parts)
