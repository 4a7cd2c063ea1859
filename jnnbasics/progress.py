"""A dependency-free progress bar for training loops.

On a terminal it redraws one line in place (epoch, losses, accuracy, learning rate, time left);
when the stream is not a terminal (a log file, CI) it prints at most ``max_lines`` plain lines so it
never floods a log.
"""

from __future__ import annotations

import math
import sys
import time
from typing import IO, Any


def _fmt_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """Per-epoch progress display; use as a ``train_model`` callback.

    Args:
        total: total number of epochs.
        stream: where to write (default ``sys.stderr``).
        width: width of the bar in characters on a terminal.
        max_lines: on a non-terminal stream, the most lines written over the whole run.

    Example:
        >>> bar = ProgressBar(100)
        >>> result = train_model(model, (x, y), key=key, epochs=100, callbacks=[bar])
    """

    def __init__(self, total: int, *, stream: IO[str] | None = None, width: int = 24, max_lines: int = 10):
        self.total = int(total)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.max_lines = max(1, max_lines)
        self.start = time.perf_counter()
        self.first_epoch: int | None = None
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self._lines = 0

    def __call__(self, epoch: int, logs: dict[str, Any], state: Any = None) -> None:
        """Show epoch ``epoch`` (1-based) with the metrics in ``logs``."""
        if self.first_epoch is None:
            self.first_epoch = epoch - 1
        done = epoch - self.first_epoch
        remaining = self.total - epoch
        elapsed = time.perf_counter() - self.start
        eta = elapsed / max(done, 1) * remaining
        text = self.format(epoch, logs, eta)
        if self.tty:
            end = "\n" if epoch >= self.total else ""
            self.stream.write("\r" + text + "\x1b[K" + end)
            self.stream.flush()
        else:
            every = max(1, math.ceil(self.total / self.max_lines))
            if epoch % every == 0 or epoch >= self.total:
                self.stream.write(text + "\n")
                self.stream.flush()
                self._lines += 1

    def close(self) -> None:
        """End the line on a terminal (call after an early stop)."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def format(self, epoch: int, logs: dict[str, Any], eta: float) -> str:
        """Return the one-line description of an epoch."""
        frac = min(1.0, epoch / max(self.total, 1))
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        parts = [f"epoch {epoch}/{self.total} [{bar}]"]
        for key, label in (
            ("train_loss", "loss"),
            ("val_loss", "val_loss"),
            ("train_accuracy", "acc"),
            ("val_accuracy", "val_acc"),
        ):
            if key in logs and logs[key] is not None:
                parts.append(f"{label} {logs[key]:.4g}")
        if "lr" in logs:
            parts.append(f"lr {logs['lr']:.3g}")
        parts.append(f"left {_fmt_time(eta)}")
        return "  ".join(parts)
