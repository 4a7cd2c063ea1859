"""The machine's float32 matmul rate, against which training steps are read as a fraction."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .machine import cores


def _best_seconds(call: Callable[[], object], tries: int) -> float:
    """The shortest of ``tries`` timed calls of ``call`` (it must wait for its result)."""
    best = math.inf
    for _ in range(tries):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def _torch_mm_seconds(a_np: np.ndarray, b_np: np.ndarray, *, tries: int, device: str) -> float:
    """Best time of ``torch.mm`` on the two matrices, after one warm-up."""
    import torch

    torch.set_num_threads(cores())
    dev = "cuda" if device == "gpu" else "cpu"
    at, bt = torch.from_numpy(a_np).to(dev), torch.from_numpy(b_np).to(dev)
    torch.mm(at, bt)

    def mm() -> None:
        torch.mm(at, bt)
        if dev == "cuda":
            torch.cuda.synchronize()

    return _best_seconds(mm, tries)


def matmul_peak(*, n: int = 2048, tries: int = 7, device: str = "cpu") -> dict[str, Any]:
    """The machine's float32 matmul rate: best of ``tries`` jitted ``jnp.dot`` (and ``torch.mm``).

    Args:
        n: side of the square float32 matrices.
        tries: timed calls per framework (after one warm-up).
        device: ``"cpu"`` or ``"gpu"``.

    Returns:
        ``{"n", "tries", "jax_gflops", "torch_gflops", "peak_gflops"}``; the peak is the larger of
        the two; ``torch_error`` replaces ``torch_gflops`` when PyTorch cannot run.
    """
    import jax
    import jax.numpy as jnp

    flops = 2.0 * n**3
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((n, n), dtype=np.float32)
    b_np = rng.standard_normal((n, n), dtype=np.float32)
    a, b = jnp.asarray(a_np), jnp.asarray(b_np)
    dot = jax.jit(jnp.dot)
    dot(a, b).block_until_ready()
    best = _best_seconds(lambda: dot(a, b).block_until_ready(), tries)
    out: dict[str, Any] = {"n": n, "tries": tries, "jax_gflops": flops / best / 1e9}
    try:
        out["torch_gflops"] = flops / _torch_mm_seconds(a_np, b_np, tries=tries, device=device) / 1e9
    except Exception as exc:  # torch missing or without this device
        out["torch_error"] = f"{type(exc).__name__}: {exc}"
    out["peak_gflops"] = max(v for k, v in out.items() if k.endswith("_gflops"))
    return out


def combine_peaks(start: dict[str, Any], end: dict[str, Any], workloads: dict[str, Any]) -> dict[str, Any]:
    """The machine's matmul peak for this run: the best of the microbenchmarks before and after.

    On a shared machine a microbenchmark can land in a busy moment; if a training step of any
    system ran at a higher rate than both, that rate is the peak (it is a float32 matmul rate this
    machine reached in this run) and ``peak_source`` says so.

    Args:
        start, end: :func:`matmul_peak` before and after the workloads.
        workloads: the results of :func:`jnnbasics.bench.bench_workload` by workload name.

    Returns:
        ``{"n", "start", "end", "microbench_gflops", "best_step_gflops", "best_step",
        "peak_gflops", "peak_source"}``.
    """
    micro = max(start["peak_gflops"], end["peak_gflops"])
    best, where = 0.0, None
    for wl, w in workloads.items():
        for name, res in w["systems"].items():
            if res.get("gflops", 0) > best:
                best, where = res["gflops"], f"{wl}/{name}"
    out = {"n": start["n"], "start": start, "end": end, "microbench_gflops": micro}
    out.update({"best_step_gflops": best, "best_step": where})
    if best > micro:
        out["peak_gflops"] = best
        out["peak_source"] = (
            f"training step {where} (faster than the matmul microbenchmark, which was disturbed)"
        )
    else:
        out["peak_gflops"] = micro
        out["peak_source"] = (
            "matmul microbenchmark (best of jnp.dot and torch.mm, before and after the workloads)"
        )
    return out
