"""The per-step timing: every system warmed up, then timed run by run, interleaved.

Ratios to the baseline are taken pair by pair (repeat ``r`` of one system over repeat ``r`` of
the other) before the median, so that a slow phase of a shared machine hits both sides of a ratio.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from .runners import BASELINE, STRICT_BASELINE, Runner, make_runner
from .workloads import Workload, make_data


def quiet_run(runner: Runner, units: int) -> float:
    """``runner.run(units)`` after a garbage collection and a 20 ms pause; returns its seconds.

    The collection runs, then everything alive is frozen (``gc.freeze``), so that the next
    collections only walk what was made since: a full collection of a process holding JAX, PyTorch
    and Flax takes 0.1-0.4 s, which made every timed run pay it.
    """
    gc.collect()
    gc.freeze()
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


def warm_up(
    build: Callable[[], Runner], *, target_s: float, max_units: int | None = None
) -> tuple[Runner, dict[str, Any]]:
    """Build a runner, run it twice (the first call compiles) and size a timed run.

    Args:
        build: makes the runner.
        target_s: about how long one timed run should take.
        max_units: the most units one timed run may have (None: no limit).

    Returns:
        ``(runner, record)``: ``record`` has ``first_s`` (the first call), ``compile_s``,
        ``setup_s``, ``units_per_run``, ``steps_per_run`` and an empty ``us_per_step`` list.
    """
    t0 = time.perf_counter()
    runner = build()
    runner.first_s = quiet_run(runner, 1)  # the first unit: trace + compile + run
    steady = quiet_run(runner, 1)
    units = max(1, round(target_s / max(steady, 1e-9)))
    units = units if max_units is None else min(units, max_units)
    return runner, {
        "first_s": runner.first_s,
        "compile_s": max(runner.first_s - steady, 0.0),
        "setup_s": time.perf_counter() - t0,
        "units_per_run": units,
        "steps_per_run": units * runner.steps_per_unit,
        "us_per_step": [],
    }


def time_interleaved(
    builders: dict[str, Callable[[], Runner]],
    *,
    repeats: int,
    target_s: float,
    label: str,
    log: Callable[[str], None] = print,
    max_units: dict[str, int] | None = None,
) -> tuple[dict[str, Runner], dict[str, dict[str, Any]]]:
    """Warm up every system, then time them ``repeats`` times, interleaved run by run.

    Each round runs every system once, in an order rotated each round, so that a slow phase of a
    shared machine hits all of them. A system that fails to build or warm up is recorded with its
    error and left out of the rounds.

    Args:
        builders: system name -> a function that makes its :class:`Runner`.
        repeats: rounds.
        target_s: about how long one timed run of each system should take.
        label: what the progress lines start with (the workload's name).
        log: where progress lines go.
        max_units: per system, the most units one timed run may have.

    Returns:
        ``(runners, records)``: the runners that ran, and per system its :func:`warm_up` record
        with ``us_per_step`` filled (one value per round: µs per step of ``steps_per_unit``), or
        ``{"error": ...}``.
    """
    runners: dict[str, Runner] = {}
    out: dict[str, dict[str, Any]] = {}
    for name, build in builders.items():
        try:
            cap = (max_units or {}).get(name)
            runners[name], out[name] = warm_up(build, target_s=target_s, max_units=cap)
        except Exception as exc:  # record why a system could not run here
            reason = _failure(exc)
            log(f"  {label:5s} {name:16s} failed: {reason[:200]}")
            out[name] = {"error": reason[:2000]}
            continue
        log(
            f"  {label:5s} {name:16s} first call {runners[name].first_s:8.3f} s, "
            f"{out[name]['units_per_run']} unit(s) per run"
        )
    names = list(runners)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            runner, units = runners[name], out[name]["units_per_run"]
            dt = quiet_run(runner, units)
            out[name]["us_per_step"].append(dt / (units * runner.steps_per_unit) * 1e6)
    gc.unfreeze()
    return runners, out


def _failure(exc: Exception) -> str:
    """``"TypeName: first line of the message"``."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def _summarize_system(res: dict[str, Any], runner: Runner, out: dict[str, Any], workload: Workload) -> None:
    """Add the summary, the runner's extras, the paired ratios and GFLOP/s to ``res``."""
    res["summary"] = summarize(res["us_per_step"])
    res.update(runner.extra)
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
    """Time every system on one workload, interleaved run by run (see :func:`time_interleaved`).

    A unit is one epoch: a timed run is as many whole epochs as take about ``target_s``.

    Returns:
        A dict with ``workload`` (its definition) and ``systems``: per system ``us_per_step`` (the
        per-repeat values), their summary, ``first_s``, ``compile_s`` and ``units_per_run``
        (epochs); ratios ``vs_torch_eager`` and ``vs_torch_presliced``, pair by pair.
    """
    x, y = make_data(workload)
    builders = {name: partial(make_runner, name, workload, x, y, device=device) for name in systems}
    runners, out = time_interleaved(
        builders, repeats=repeats, target_s=target_s, label=workload.name, log=log
    )
    for name, runner in runners.items():
        _summarize_system(out[name], runner, out, workload)
    return {"workload": workload.as_dict(), "systems": out}
