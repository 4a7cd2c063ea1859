"""The command line's persistent compilation cache: where it goes, its switch, and that only the
console entry (never ``import jnnbasics``) sets it. Oracle: the files JAX writes into the folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jnnbasics.__main__ import NO_CACHE_ENV, compilation_cache_dir


def test_cache_folder_follows_xdg_and_the_switches(monkeypatch, tmp_path):
    assert compilation_cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/jnnbasics/jax")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert compilation_cache_dir({}) == tmp_path / ".cache" / "jnnbasics" / "jax"
    assert compilation_cache_dir({NO_CACHE_ENV: "0", "XDG_CACHE_HOME": "/c"}) == Path("/c/jnnbasics/jax")
    assert compilation_cache_dir({NO_CACHE_ENV: "1", "XDG_CACHE_HOME": "/c"}) is None
    assert compilation_cache_dir({"JAX_COMPILATION_CACHE_DIR": "/mine", "XDG_CACHE_HOME": "/c"}) is None


def _env(tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (NO_CACHE_ENV, "JAX_COMPILATION_CACHE_DIR")}
    return {**env, "XDG_CACHE_HOME": str(tmp_path / "xdg"), **extra}


def _train(tmp_path, env) -> None:
    cmd = [sys.executable, "-m", "jnnbasics", "train", "--epochs", "1", "--samples", "64", "--hidden", "4"]
    cmd += ["--quiet", "--no-plots", "--out", str(tmp_path / "run")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow  # two `jnnbasics train` processes, ~7 s each
def test_the_command_line_fills_the_cache_and_the_switch_turns_it_off(tmp_path):
    _train(tmp_path, _env(tmp_path))
    cache = tmp_path / "xdg" / "jnnbasics" / "jax"
    assert any(p.is_file() for p in cache.iterdir()), "no compiled program was cached"
    off = tmp_path / "off"
    off.mkdir()
    _train(off, _env(off, **{NO_CACHE_ENV: "1"}))
    assert not (off / "xdg").exists()


def test_import_jnnbasics_leaves_jax_config_alone(tmp_path):
    code = (
        "import jax\n"
        "c = jax.config\n"
        "before = (c.jax_compilation_cache_dir, c.jax_persistent_cache_min_compile_time_secs)\n"
        "import jnnbasics, jnnbasics.cli, jnnbasics.__main__\n"
        "assert before == (c.jax_compilation_cache_dir, c.jax_persistent_cache_min_compile_time_secs), before\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "xdg").exists()
