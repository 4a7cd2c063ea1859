"""The per-step timing: every system warmed up, then timed run by run, interleaved.

Ratios to the baseline are taken pair by pair (repeat ``r`` of one system over repeat ``r`` of
the other) before the median, so that a slow phase of a shared machine hits both sides of a ratio.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .runners import BASELINE, STRICT_BASELINE, Runner, make_runner
from .workloads import Workload, make_data


def quiet_run(runner: Runner, units: int) -> float:
    """``runner.run(units)`` after a garbage collection and a 20 ms pause; returns its seconds."""
    gc.collect()
    time.sleep(0.02)  # let the other framework's worker threads stop spinning
    return runner.run(units)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles, min and max of a sample (None and NaN entries dropped).

    Returns:
        ``{"median", "q1", "q3", "min", "max", "n"}``; NaN statistics and ``n = 0`` when nothing
        is left.
    """
    v = np.asarray([a for a in values if a is not None and math.isfinite(a)], float)
    if v.size == 0:
        return {"median": math.nan, "q1": math.nan, "q3": math.nan, "min": math.nan, "max": math.nan, "n": 0}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {
        "median": float(med),
        "q1": float(q1),
        "q3": float(q3),
        "min": float(v.min()),
        "max": float(v.max()),
        "n": int(v.size),
    }


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> dict[str, float]:
    """Summary of ``numerator[r] / denominator[r]`` over repeats ``r`` (pair by pair).

    Pairs with a missing, zero or negative side are left out.
    """
    return summarize([a / b for a, b in zip(numerator, denominator) if a and b and a > 0 and b > 0])


def _warm_up(
    name: str, workload: Workload, x: np.ndarray, y: np.ndarray, *, device: str, target_s: float
) -> tuple[Runner, dict[str, Any]]:
    """Build ``name``'s runner, run it twice (the first compiles) and size a timed run."""
    t0 = time.perf_counter()
    runner = make_runner(name, workload, x, y, device=device)
    runner.first_s = quiet_run(runner, 1)  # the first epoch: trace + compile + run
    steady = quiet_run(runner, 1)
    units = max(1, round(target_s / max(steady, 1e-9)))
    runner.extra.setdefault("epochs_per_run", units)
    return runner, {
        "first_s": runner.first_s,
        "compile_s": max(runner.first_s - steady, 0.0),
        "setup_s": time.perf_counter() - t0,
        "epochs_per_run": units,
        "steps_per_run": units * runner.steps_per_unit,
        "us_per_step": [],
    }


def _failure(exc: Exception) -> str:
    """``"TypeName: first line of the message"``."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def _summarize_system(res: dict[str, Any], runner: Runner, out: dict[str, Any], workload: Workload) -> None:
    """Add the summary, the runner's extras, the paired ratios and GFLOP/s to ``res``."""
    res["summary"] = summarize(res["us_per_step"])
    for k, v in runner.extra.items():
        if k != "epochs_per_run":
            res[k] = v
    for base_key, base in (("vs_torch_eager", BASELINE), ("vs_torch_presliced", STRICT_BASELINE)):
        if base in out and "error" not in out[base]:
            res[base_key] = paired_ratio(out[base]["us_per_step"], res["us_per_step"])
    res["gflops"] = workload.flops_per_step / (res["summary"]["median"] * 1e-6) / 1e9


def bench_workload(
    workload: Workload,
    systems: Sequence[str],
    *,
    repeats: int,
    target_s: float,
    device: str,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Time every system on one workload, interleaved run by run.

    Each system is built and warmed up (its first call, which compiles, is timed as
    ``first_s``; a second call estimates its steady time and fixes how many epochs one timed run
    takes, about ``target_s`` seconds). Then, ``repeats`` times, every system runs once, in an order
    rotated each repeat. A system that fails to build or warm up is recorded with its error.

    Returns:
        A dict with ``workload`` (its definition) and ``systems``: per system ``us_per_step`` (the
        per-repeat values), their summary, ``first_s``, ``compile_s`` and ``epochs_per_run``;
        ``ratios`` vs the baseline and vs the pre-sliced PyTorch loop, pair by pair.
    """
    x, y = make_data(workload)
    runners: dict[str, Runner] = {}
    out: dict[str, Any] = {}
    for name in systems:
        try:
            runners[name], out[name] = _warm_up(name, workload, x, y, device=device, target_s=target_s)
        except Exception as exc:  # record why a system could not run here
            reason = _failure(exc)
            log(f"  {workload.name:5s} {name:16s} failed: {reason[:200]}")
            out[name] = {"error": reason[:2000]}
            continue
        units = out[name]["epochs_per_run"]
        log(
            f"  {workload.name:5s} {name:16s} first call {runners[name].first_s:8.3f} s, {units} epoch(s) per run"
        )
    names = list(runners)
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)] if names else []
        for name in order:
            runner, units = runners[name], out[name]["epochs_per_run"]
            dt = quiet_run(runner, units)
            out[name]["us_per_step"].append(dt / (units * runner.steps_per_unit) * 1e6)
    for name in names:
        _summarize_system(out[name], runners[name], out, workload)
    return {"workload": workload.as_dict(), "systems": out}
