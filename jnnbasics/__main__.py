"""``python -m jnnbasics`` and the ``jnnbasics`` console script: the command line of ``jnnbasics.cli``.

Only here (never in library code: ``import jnnbasics`` leaves JAX's configuration alone) JAX's
persistent compilation cache is switched on, so a second ``jnnbasics`` command reuses the compiled
programs of the first (see :func:`enable_compilation_cache`).
"""

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from .cli import EXIT_INTERRUPTED, main

NO_CACHE_ENV = "JNNBASICS_NO_COMPILATION_CACHE"
# JAX's default (1 s) caches nothing of a small model: its programs compile in under 0.1 s each
# (a 5-row predict cached nothing at 0.1); entries are a few KiB, and the folder is kept under
# MAX_CACHE_BYTES (least recently used entries removed first).
MIN_COMPILE_TIME_S = 0.0
MAX_CACHE_BYTES = 512 * 2**20


def compilation_cache_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where the command line keeps JAX's compiled programs, or None when it should not set one.

    None when ``JNNBASICS_NO_COMPILATION_CACHE`` is set to anything but ``""``/``"0"``, or when the
    user set ``JAX_COMPILATION_CACHE_DIR`` (JAX then uses that folder). Otherwise
    ``$XDG_CACHE_HOME/jnnbasics/jax``, by default ``~/.cache/jnnbasics/jax``.
    """
    if environ.get(NO_CACHE_ENV, "") not in ("", "0") or environ.get("JAX_COMPILATION_CACHE_DIR"):
        return None
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jnnbasics" / "jax"


def enable_compilation_cache(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Turn on JAX's persistent compilation cache in :func:`compilation_cache_dir` (before compiling).

    A folder that cannot be created (a read-only home) leaves the cache off: it only saves time.

    Returns:
        The cache folder, or None when the cache was not set here.
    """
    path = compilation_cache_dir(environ)
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)
    jax.config.update("jax_compilation_cache_max_size", MAX_CACHE_BYTES)
    return path


def entry() -> None:
    """Run :func:`jnnbasics.cli.main` (the compilation cache on) and exit with its status.

    After Ctrl-C (status 130) the process ends without the interpreter's teardown: everything is
    saved by then (the checkpoint, the released lock), and XLA:CPU can crash in that teardown when
    the interrupt cut a compilation short (a segmentation fault instead of exit status 130).
    """
    enable_compilation_cache()
    code = main()
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
