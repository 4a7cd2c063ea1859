"""Measurements taken in fresh interpreters: compile time, start-up time and peak memory.

Each runs one of the programs in :mod:`jnnbasics.bench.programs` by its file path (see there
why not with ``-m``) and reads the JSON line it prints last.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .machine import cores
from .timing import paired_ratio, summarize
from .workloads import Workload, make_data

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
"""Where the programs run in fresh interpreters live."""

PROGRAMS: tuple[str, ...] = ("startup_import", "startup_init", "train_jnn", "train_torch", "compile_epochs")
"""The programs :func:`run_program` runs (file names without ``.py``)."""


def _program_env(device: str, cache_dir: str | None) -> dict[str, str]:
    """The child's environment: this checkout first on ``PYTHONPATH``, the device, the cache."""
    env = dict(os.environ)
    package_root = str(PROGRAMS_DIR.parents[2])
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    if cache_dir is not None:
        env["JAX_COMPILATION_CACHE_DIR"] = cache_dir
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    if device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def run_program(
    program: str,
    args: Sequence[str] = (),
    *,
    device: str = "cpu",
    cache_dir: str | None = None,
    timeout: float = 600.0,
) -> tuple[dict[str, Any], float]:
    """Run a program of :mod:`jnnbasics.bench.programs` in a fresh interpreter.

    Args:
        program: one of :data:`PROGRAMS`.
        args: its command-line arguments.
        device: ``"cpu"`` hides GPUs from the child; ``"gpu"`` leaves them visible.
        cache_dir: use JAX's persistent compilation cache there (every compilation stored); None
            runs without one (cold), whatever the environment says.
        timeout: seconds before the child is killed.

    Returns:
        ``(the JSON object it printed last, wall seconds from start to exit)``.

    Raises:
        ValueError: ``program`` is not one of :data:`PROGRAMS`.
        RuntimeError: the program exited with an error (its stderr's end is in the message).
    """
    if program not in PROGRAMS:
        raise ValueError(f"run_program: program must be one of {', '.join(PROGRAMS)}, got {program!r}")
    command = [sys.executable, str(PROGRAMS_DIR / f"{program}.py"), *map(str, args)]
    env = _program_env(device, cache_dir)
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{program} failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), wall


def training_program_args(
    path: Path, x: np.ndarray, y: np.ndarray, workload: Workload, *, epochs: int
) -> list[str]:
    """Save ``(x, y)`` to ``path`` (``.npz``) and return the training programs' arguments for it."""
    np.savez(path, x=x, y=y)
    return [
        f"--data={path}",
        f"--sizes={','.join(map(str, workload.layer_sizes))}",
        f"--loss={workload.loss_type}",
        f"--epochs={epochs}",
        f"--batch-size={workload.batch_size}",
    ]


def compile_check(
    workload: Workload, tmp: Path, *, device: str, epochs: int = 3, extra_samples: int = 37
) -> dict[str, Any]:
    """First-epoch cost of ``train_model`` on ``workload`` in a fresh process, and recompilations.

    The data has ``workload.n_samples + extra_samples`` rows, so every epoch ends with a partial
    batch. Compilations are counted with ``jax.monitoring`` (backend compile events).

    Returns:
        ``first_epoch_s`` (from the call until the end of epoch 1: checks, init, trace, compile,
        run), ``first_epoch_time_s`` (``history["epoch_time"][0]``), ``later_epoch_s``,
        ``compiles_in_first_epoch``, ``recompiles_after_first_epoch``, ``backend_compile_s``,
        ``first_epoch_s_warm_cache`` (with JAX's persistent cache filled by an earlier process),
        ``n_samples`` and ``batch_size``.
    """
    x, y = make_data(workload, n_samples=workload.n_samples + extra_samples, seed=1)
    args = training_program_args(tmp / f"compile_{workload.name}.npz", x, y, workload, epochs=epochs)
    res, _ = run_program("compile_epochs", args, device=device)
    marks = res["marks"]
    cache = str(tmp / "jax_cache_compile")
    run_program("compile_epochs", args, device=device, cache_dir=cache)  # fills the persistent cache
    warm, _ = run_program("compile_epochs", args, device=device, cache_dir=cache)
    later = res["epoch_time"][1:]
    return {
        "first_epoch_s_warm_cache": warm["marks"][0][0],
        "workload": workload.name,
        "n_samples": int(x.shape[0]),
        "batch_size": workload.batch_size,
        "first_epoch_s": marks[0][0],
        "first_epoch_time_s": res["epoch_time"][0],
        "later_epoch_s": float(np.median(later)) if later else math.nan,
        "compiles_in_first_epoch": marks[0][1],
        "recompiles_after_first_epoch": marks[-1][1] - marks[0][1],
        "backend_compile_s": res["compile_s"],
    }


_STARTUP_KEYS = (
    "import_jnnbasics_s",
    "import_torch_s",
    "backend_s",
    "init_s",
    "jnn_process_s",
    "torch_process_s",
    "init_s_warm_cache",
    "jnn_process_s_warm_cache",
)


def _startup_once(train: list[str], sizes: str, *, device: str, cache: str, torch: bool) -> dict[str, float]:
    """One round of every start-up measurement (the values of ``_STARTUP_KEYS``), in order; the
    PyTorch ones are NaN when ``torch`` is False."""
    out = {"import_jnnbasics_s": run_program("startup_import", ["jnnbasics"], device=device)[0]["import_s"]}
    out["import_torch_s"] = (
        run_program("startup_import", ["torch"], device=device)[0]["import_s"] if torch else math.nan
    )
    init, _ = run_program("startup_init", [sizes], device=device)
    out.update(backend_s=init["backend_s"], init_s=init["init_s"])
    out["jnn_process_s"] = run_program("train_jnn", train, device=device)[1]
    torch_train = [*train, f"--threads={cores()}"]
    out["torch_process_s"] = run_program("train_torch", torch_train, device=device)[1] if torch else math.nan
    init, _ = run_program("startup_init", [sizes], device=device, cache_dir=cache)
    out["init_s_warm_cache"] = init["init_s"]
    out["jnn_process_s_warm_cache"] = run_program("train_jnn", train, device=device, cache_dir=cache)[1]
    return out


def startup_check(
    tmp: Path,
    *,
    device: str,
    repeats: int,
    tiny: Workload,
    seed: Workload,
    steps: int = 2000,
    torch: bool = True,
) -> dict[str, Any]:
    """Start-up costs in fresh processes, each measured ``repeats`` times (interleaved).

    * ``import jnnbasics`` (and ``import torch`` for comparison), timed inside the process.
    * ``init_mlp`` + Adam state for the seed shape, after the backend is up (``backend_s``).
    * the whole process (interpreter start to exit) of a ``steps``-step tiny run: jnnbasics'
      ``train_model`` against the tutorial's PyTorch script, on the same data.
    * ``*_warm_cache``: the jnnbasics figures again with JAX's persistent compilation cache
      filled by an earlier process (a first run has none).

    With ``torch=False`` (PyTorch not installed) the PyTorch figures and the ratio are NaN.

    Returns:
        Medians and the raw values, ``steps`` and ``process_ratio`` (jnnbasics over PyTorch,
        pair by pair).
    """
    epochs = 20
    n = steps * tiny.batch_size // epochs
    x, y = make_data(tiny, n_samples=n, seed=2)
    train = training_program_args(tmp / "startup_tiny.npz", x, y, tiny, epochs=epochs)
    sizes = ",".join(map(str, seed.layer_sizes))
    cache = str(tmp / "jax_cache_startup")
    run_program("startup_init", [sizes], device=device, cache_dir=cache)  # fill the persistent cache once
    run_program("train_jnn", train, device=device, cache_dir=cache)
    rec: dict[str, list] = {k: [] for k in _STARTUP_KEYS}
    for _ in range(repeats):
        for k, v in _startup_once(train, sizes, device=device, cache=cache, torch=torch).items():
            rec[k].append(v)
    out: dict[str, Any] = {"steps": epochs * (n // tiny.batch_size), "raw": rec}
    out.update({k: summarize(v)["median"] for k, v in rec.items()})
    out["process_ratio"] = paired_ratio(rec["jnn_process_s"], rec["torch_process_s"])["median"]
    return out


def memory_check(
    workload: Workload, tmp: Path, *, device: str, repeats: int = 1, epochs: int = 3
) -> dict[str, Any]:
    """Peak resident memory of a ``train_model`` run vs the tutorial's PyTorch loop.

    Both run in fresh processes on the same data (``workload.n_samples`` rows) for ``epochs``.
    The peak is ``VmHWM`` from ``/proc/self/status``: on Linux a child's
    ``getrusage(RUSAGE_SELF).ru_maxrss`` starts from the parent's peak at fork (it is kept across
    ``exec``), so in a child of this large process it would report the parent's size for both.
    ``ru_maxrss`` is kept in the results for reference.

    Returns:
        ``jnn_mb``, ``torch_mb`` (medians over ``repeats``), ``ratio`` and the ``ru_maxrss`` values.
    """
    x, y = make_data(workload, seed=3)
    train = training_program_args(tmp / f"memory_{workload.name}.npz", x, y, workload, epochs=epochs)
    runs: dict[str, list] = {"jnn": [], "torch": []}
    for _ in range(repeats):
        runs["jnn"].append(run_program("train_jnn", train, device=device)[0])
        runs["torch"].append(run_program("train_torch", [*train, f"--threads={cores()}"], device=device)[0])
    med = {k: float(np.median([r["hwm_kb"] for r in v])) / 1024 for k, v in runs.items()}
    return {
        "workload": workload.name,
        "epochs": epochs,
        "jnn_mb": med["jnn"],
        "torch_mb": med["torch"],
        "ratio": med["jnn"] / med["torch"],
        "ru_maxrss_mb": {k: [r["maxrss_kb"] / 1024 for r in v] for k, v in runs.items()},
    }
