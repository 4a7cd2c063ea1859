"""An exclusive lock file: one writer per folder, released on exit, recognised as stale after a crash.

The lock is a file created with ``O_CREAT | O_EXCL`` (atomic on POSIX and Windows) holding JSON
``{"pid": ..., "host": ...}``. A lock whose process no longer runs on this host is stale: it is
taken over. A lock held by this very process (a command that locks a folder, then calls a library
function that locks it again) is re-entered, and released only by the outermost holder.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path


class LockedError(RuntimeError):
    """Another running process holds the lock."""


def _holder(path: Path) -> dict | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # being written, or garbage: treated as held by an unknown process
    return info if isinstance(info, dict) else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _is_stale(info: dict) -> bool:
    pid = info.get("pid")
    return isinstance(pid, int) and info.get("host") == socket.gethostname() and not _alive(pid)


def _try_create(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"pid": os.getpid(), "host": socket.gethostname()}, f)
    return True


def _acquire(path: Path, what: str) -> bool:
    """Take the lock; True if this call created it (and must release it), False if re-entered."""
    for _ in range(3):
        if _try_create(path):
            return True
        info = _holder(path)
        if info is None:
            continue  # released meanwhile: try again
        if info.get("pid") == os.getpid() and info.get("host") == socket.gethostname():
            return False
        if _is_stale(info):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        holder = f"process {info.get('pid')} on {info.get('host')}" if info else "another process"
        raise LockedError(
            f"{what} is in use by {holder} (lock file {path}); wait for it to finish, or delete the "
            "lock file if no such process is running"
        )
    raise LockedError(f"{what}: could not take the lock file {path}")


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, what: str) -> Iterator[Path]:
    """Hold the lock file ``path`` for the ``with`` block.

    Args:
        path: the lock file (its folder must exist).
        what: what is locked, for the message (e.g. ``"run folder runs/x"``).

    Raises:
        LockedError: another live process holds it (the message names the process and the file).
    """
    path = Path(path)
    created = _acquire(path, what)
    try:
        yield path
    finally:
        if created:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
