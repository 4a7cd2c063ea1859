"""Atomic file writes: the one way jnnbasics puts a file on disk (checkpoints, figures, run files).

The bytes go to a temporary file in the destination's folder (named ``.<name>.<random>.tmp``), which
is flushed, ``fsync``-ed and then renamed over the destination with ``os.replace``; the folder is then
``fsync``-ed too (best effort) so that the rename itself survives a power loss. A reader therefore sees
either the old file or the complete new one, never a half-written one; if anything fails (or the
process is interrupted, ``KeyboardInterrupt`` included) before the rename, the temporary file is
removed and the old file is left as it was. Only a process killed outright (``kill -9``, power loss)
can leave a temporary file behind: :func:`stale_temp_files` finds them for the folder's next writer
(the run folder's lock holder removes them).

Permissions: the new file is created with mode ``0o644`` filtered by the process umask, like a file
written by ``open(path, "w")`` but never group/other-writable (with the usual umask ``022``: owner
read/write, everyone else read). An existing file's own mode is not carried over: the replaced file
gets this mode.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

from ._checks import fail

FILE_MODE = 0o644
"""Mode requested for every file written here (the umask still applies)."""

__all__ = ["FILE_MODE", "stale_temp_files", "write_bytes_atomic", "write_text_atomic"]


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating missing parent folders.

    Args:
        path: destination file.
        data: the complete new contents (``bytes``, ``bytearray`` or ``memoryview``).

    Returns:
        The path written, as a ``Path``.

    Raises:
        TypeError: if ``data`` is not bytes-like.
        OSError: if the folder cannot be created or the file cannot be written or renamed (the old
            file at ``path``, if any, is then unchanged and no temporary file is left).

    Example:
        >>> write_bytes_atomic("run/model.ckpt", b"...")  # doctest: +SKIP
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        fail("write_bytes_atomic", "data", "bytes", type(data).__name__, exc=TypeError)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically as UTF-8 (newlines as given, not translated).

    Args:
        path: destination file.
        text: the complete new contents.

    Returns:
        The path written, as a ``Path``.

    Raises:
        TypeError: if ``text`` is not a ``str``.
        OSError: as :func:`write_bytes_atomic`.

    Example:
        >>> write_text_atomic("run/config.json", '{"epochs": 10}\\n')  # doctest: +SKIP
    """
    if not isinstance(text, str):
        fail("write_text_atomic", "text", "a str", type(text).__name__, exc=TypeError)
    return write_bytes_atomic(path, text.encode("utf-8"))


def _create_temp(path: Path) -> tuple[int, Path]:
    """Create and open a new, uniquely named temporary file next to ``path``.

    Raises:
        OSError: naming ``path`` (the file asked for), not the temporary name.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, flags, FILE_MODE), tmp
        except FileExistsError:  # 64 random bits: practically never
            continue
        except OSError as e:  # e.g. a read-only folder: say which file could not be written
            raise type(e)(e.errno, e.strerror, str(path)) from None


def stale_temp_files(folder: str | os.PathLike[str], names: Iterable[str]) -> list[Path]:
    """Temporary files this module left in ``folder`` for the files ``names`` (a killed writer's).

    Only call this while holding the folder's lock: another writer's temporary file looks the same.
    """
    folder = Path(folder)
    wanted = set(names)
    return [
        p
        for p in folder.glob(".*.tmp")
        if (m := _TEMP_NAME.fullmatch(p.name)) is not None and m.group(1) in wanted
    ]


_TEMP_NAME = re.compile(r"\.(.+)\.[0-9a-f]{16}\.tmp")


def _fsync_dir(directory: Path) -> None:
    """Persist a rename in ``directory`` (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
