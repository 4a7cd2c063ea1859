"""The one atomic writer: contents, temporary files, failures mid-write, permissions."""

import contextlib
import os

import pytest

from jnnbasics import _atomic
from jnnbasics._atomic import FILE_MODE, write_bytes_atomic, write_text_atomic


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_writes_bytes_and_text_creating_parents(tmp_path):
    path = write_bytes_atomic(tmp_path / "a" / "b" / "data.bin", b"\x00\x01\xff")
    assert path == tmp_path / "a" / "b" / "data.bin"
    assert path.read_bytes() == b"\x00\x01\xff"
    text = write_text_atomic(str(tmp_path / "notes.txt"), "héllo\r\nworld\n")
    assert text.read_bytes() == "héllo\r\nworld\n".encode()  # UTF-8, newlines not translated
    write_bytes_atomic(tmp_path / "empty", bytearray())
    assert (tmp_path / "empty").read_bytes() == b""


def test_replaces_an_existing_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "m.ckpt"
    write_bytes_atomic(path, b"old")
    write_bytes_atomic(path, memoryview(b"new contents"))
    assert path.read_bytes() == b"new contents"
    assert sorted(os.listdir(tmp_path)) == ["m.ckpt"]


def test_temporary_file_is_hidden_next_to_the_target(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((src, dst, open(src, "rb").read()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_bytes_atomic(tmp_path / "h.png", b"png")
    ((src, dst, data),) = seen
    src = os.fspath(src)
    assert os.path.dirname(src) == os.fspath(tmp_path) and os.fspath(dst) == os.fspath(tmp_path / "h.png")
    name = os.path.basename(src)
    assert name.startswith(".h.png.") and ".tmp" in name
    assert data == b"png"  # complete before the rename


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch, error):
    path = write_text_atomic(tmp_path / "config.json", '{"epochs": 1}')

    def crash(fd):
        raise error("simulated crash after writing, before the rename")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(error, match="simulated crash"):
        write_text_atomic(path, '{"epochs": 2}')
    assert path.read_text() == '{"epochs": 1}'
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_failed_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = write_bytes_atomic(tmp_path / "m.ckpt", b"old")

    def refuse(src, dst):
        raise PermissionError("simulated: cannot rename")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match="cannot rename"):
        write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["m.ckpt"]


def test_failure_without_an_old_file_leaves_nothing(tmp_path, monkeypatch):
    def crash(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(tmp_path / "new.bin", b"data")
    assert os.listdir(tmp_path) == []


def test_directory_fsync_is_best_effort(tmp_path, monkeypatch):
    calls = []
    real_fsync = os.fsync

    def fsync_file_only(fd):
        calls.append(fd)
        if len(calls) > 1:  # the second fsync is the folder's
            raise OSError("fsync not supported on directories here")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_file_only)
    path = write_bytes_atomic(tmp_path / "x.bin", b"x")
    assert len(calls) == 2 and path.read_bytes() == b"x"


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_mode_is_0644_under_the_umask(tmp_path, mask):
    assert FILE_MODE == 0o644
    with umask(mask):
        path = write_bytes_atomic(tmp_path / "f.bin", b"f")
        path.chmod(0o600)  # an existing file's mode is not carried over
        write_bytes_atomic(path, b"g")
    assert path.stat().st_mode & 0o777 == 0o644 & ~mask


def test_type_errors_and_unwritable_places(tmp_path):
    with pytest.raises(TypeError, match="write_bytes_atomic: data must be bytes, got str"):
        write_bytes_atomic(tmp_path / "f", "text")
    with pytest.raises(TypeError, match="write_text_atomic: text must be a str, got bytes"):
        write_text_atomic(tmp_path / "f", b"bytes")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OSError):
        write_bytes_atomic(tmp_path / "file" / "child.bin", b"x")  # a file where a folder should be
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_module_exports():
    assert set(_atomic.__all__) == {
        "FILE_MODE",
        "stale_temp_files",
        "write_bytes_atomic",
        "write_text_atomic",
    }


def test_a_failed_temp_file_names_the_destination(tmp_path, monkeypatch):
    """A read-only folder: the error names the file asked for, not the temporary name (issue 9)."""
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError) as info:
        write_text_atomic(tmp_path / "out.csv", "a\n")
    assert info.value.filename == str(tmp_path / "out.csv") and ".tmp" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_stale_temp_files_finds_a_killed_writers_files(tmp_path):
    from jnnbasics._atomic import stale_temp_files

    names = [".config.json.0123456789abcdef.tmp", ".last.ckpt.fedcba9876543210.tmp"]
    others = [".config.json.tmp", ".other.txt.0123456789abcdef.tmp", "config.json", ".config.json.0123.tmp"]
    for n in names + others:
        (tmp_path / n).write_text("x")
    found = stale_temp_files(tmp_path, ["config.json", "last.ckpt"])
    assert sorted(p.name for p in found) == sorted(names)
