"""The framework benchmark: jnnbasics against PyTorch, ``torch.compile`` and Flax NNX.

For each workload (``tiny``, ``seed``, ``wide``; issue 5) the same MLP training step is timed in
each system — the tutorial's PyTorch eager loop, jnnbasics' ``make_train_step`` called from a
Python loop, jnnbasics' ``train_model`` (one compiled call per epoch), the idiomatic Flax NNX +
optax step, and ``torch.compile`` — with warm-up (and so compilation) excluded and reported
apart, systems interleaved run by run, and each system's ratio to the PyTorch loop computed pair
by pair (one ratio per repeat) before taking the median. Extras measure the machine's float32
matmul rate, the first seed epoch's compile time, ``train_many`` on 64 models, start-up time and
peak memory (the last three in fresh subprocesses). ``main`` prints a table with every target of
the issue, and writes a JSON file, a Markdown table and a PNG chart.

torch, flax and matplotlib are imported inside the functions that use them, so importing this
module costs no more than importing jnnbasics. Run it as ``python benchmarks/run.py`` or
``jnnbasics bench``.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------
# Workloads and systems
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One benchmark workload: an MLP, a batch size, a loss and a synthetic data set.

    Attributes:
        name: ``"tiny"``, ``"seed"`` or ``"wide"``.
        layer_sizes: ``(in, hidden..., out)``.
        batch_size: optimizer-step batch size.
        loss_type: ``"bce_with_logits"`` (one output, float 0/1 targets) or ``"cross_entropy"``
            (integer class labels).
        n_samples: samples per epoch (a multiple of ``batch_size``, so every step has full size).
    """

    name: str
    layer_sizes: tuple[int, ...]
    batch_size: int
    loss_type: str
    n_samples: int

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch."""
        return self.n_samples // self.batch_size

    @property
    def flops_per_step(self) -> float:
        """≈ 6 × batch × Σ in×out: forward (2), backward (4) multiply-adds of the dense layers."""
        sizes = self.layer_sizes
        return 6.0 * self.batch_size * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


WORKLOADS: dict[str, Workload] = {
    "tiny": Workload("tiny", (2, 64, 32, 1), 32, "bce_with_logits", 2048),
    "seed": Workload("seed", (784, 128, 64, 10), 128, "cross_entropy", 128 * 50),
    "wide": Workload("wide", (1024, 2048, 2048, 10), 512, "cross_entropy", 512 * 8),
}
"""The issue's workloads at full size (float32, Adam 1e-3)."""

QUICK_WORKLOADS: dict[str, Workload] = {
    "tiny": Workload("tiny", (2, 64, 32, 1), 32, "bce_with_logits", 32 * 8),
    "seed": Workload("seed", (784, 128, 64, 10), 128, "cross_entropy", 128 * 4),
    "wide": Workload("wide", (1024, 256, 256, 10), 512, "cross_entropy", 512 * 2),
}
"""``--quick``: the same shapes except ``wide``'s hidden layers (256, not 2048), few samples."""

SYSTEMS: tuple[str, ...] = (
    "torch_eager",
    "torch_presliced",
    "torch_compile",
    "flax_nnx",
    "jnn_step",
    "jnn_epoch",
)
"""Systems timed per workload (see ``SYSTEM_LABELS``); ``torch_eager`` is the baseline."""

SYSTEM_LABELS: dict[str, str] = {
    "torch_eager": "PyTorch eager, the tutorial's loop (DataLoader, shuffle=True)",
    "torch_presliced": "PyTorch eager, same step on pre-sliced batches (no DataLoader)",
    "torch_compile": "PyTorch, tutorial's loop with torch.compile(model)",
    "flax_nnx": "Flax NNX + optax, nnx.jit step from a Python loop",
    "jnn_step": "jnnbasics make_train_step from a Python loop",
    "jnn_epoch": "jnnbasics train_model (one compiled call per epoch)",
}

BASELINE = "torch_eager"
STRICT_BASELINE = "torch_presliced"
LEARNING_RATE = 1e-3


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def make_data(
    workload: Workload, *, seed: int = 0, n_samples: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic float32 training data for a workload (no download).

    ``tiny`` uses two moons (:func:`jnnbasics.datasets.make_moons`) with float 0/1 targets of
    shape (n, 1); the others standard-normal inputs of shape (n, in) and integer labels (n,).

    Args:
        workload: the workload.
        seed: seed of the generator.
        n_samples: number of samples (default ``workload.n_samples``).

    Returns:
        ``(x, y)`` as NumPy arrays: ``x`` float32 of shape (n, in); ``y`` float32 of shape
        (n, 1) for ``bce_with_logits``, int32 of shape (n,) for ``cross_entropy``.
    """
    n = workload.n_samples if n_samples is None else n_samples
    n_in, n_out = workload.layer_sizes[0], workload.layer_sizes[-1]
    if workload.name == "tiny" and n_in == 2:
        import jax

        from .datasets import make_moons

        x, y = make_moons(jax.random.key(seed), n, noise=0.1)
        return np.array(x, np.float32), np.array(y, np.float32).reshape(n, 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in), dtype=np.float32)
    if workload.loss_type == "bce_with_logits":
        return x, (rng.random((n, 1)) > 0.5).astype(np.float32)
    return x, rng.integers(0, n_out, size=n).astype(np.int32)


# --------------------------------------------------------------------------------------------
# Timed runners: one per (system, workload)
# --------------------------------------------------------------------------------------------
@dataclass
class Runner:
    """A prepared system: ``run(units)`` trains ``units`` epochs and returns the seconds taken.

    ``first_s`` is the wall time of the first call (trace + compile + one run), measured by
    :func:`prepare`.
    """

    run: Callable[[int], float]
    steps_per_unit: int
    first_s: float = math.nan
    note: str = ""
    extra: dict = field(default_factory=dict)


_COLD_CACHES: list = []


def _torch_setup(workload: Workload, x: np.ndarray, y: np.ndarray, device: str, *, compiled: bool):
    import torch

    torch.set_num_threads(_cores())
    torch.manual_seed(0)
    dev = torch.device("cuda" if device == "gpu" else "cpu")
    layers: list = []
    for a, b in zip(workload.layer_sizes[:-1], workload.layer_sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    criterion = (
        torch.nn.BCEWithLogitsLoss()
        if workload.loss_type == "bce_with_logits"
        else torch.nn.CrossEntropyLoss()
    )
    if compiled:
        # A fresh inductor cache, so that the compile time reported is a cold one (kept until exit).
        _COLD_CACHES.append(tempfile.TemporaryDirectory(prefix="jnnbench-inductor-"))
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = _COLD_CACHES[-1].name
    forward = torch.compile(model) if compiled else model
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y if workload.loss_type == "bce_with_logits" else y.astype(np.int64))

    def train_step(xb, yb):  # the tutorial's train_step
        y_pred = forward(xb)
        loss = criterion(y_pred, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    return torch, dev, xt, yt, train_step, sync


def torch_runner(
    workload: Workload,
    x: np.ndarray,
    y: np.ndarray,
    *,
    device: str = "cpu",
    loader: bool = True,
    compiled: bool = False,
) -> Runner:
    """The tutorial's PyTorch loop: per epoch, ``for xb, yb in loader: train_step(...)``.

    Args:
        workload: the workload.
        x: inputs of shape (n, in); y: targets (see :func:`make_data`).
        device: ``"cpu"`` or ``"gpu"``.
        loader: iterate a ``DataLoader(TensorDataset(x, y), batch_size, shuffle=True)`` as the
            tutorial does; False iterates batches sliced once beforehand (no loader cost).
        compiled: wrap the model in ``torch.compile``.

    Returns:
        A :class:`Runner` whose unit is one epoch.
    """
    torch, dev, xt, yt, train_step, sync = _torch_setup(workload, x, y, device, compiled=compiled)
    bs = workload.batch_size
    if loader:
        data = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(xt, yt), batch_size=bs, shuffle=True
        )
        move = dev.type == "cuda"
    else:
        data = list(zip(xt.to(dev).split(bs), yt.to(dev).split(bs)))
        move = False

    def run(epochs: int) -> float:
        t0 = time.perf_counter()
        for _ in range(epochs):
            train_losses = []
            for xb, yb in data:
                if move:
                    xb, yb = xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)
                train_losses.append(train_step(xb, yb))
            np.mean(train_losses)
        sync()
        return time.perf_counter() - t0

    return Runner(run, workload.steps_per_epoch)


def _jax_batches(workload: Workload, x: np.ndarray, y: np.ndarray):
    import jax.numpy as jnp

    bs = workload.batch_size
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    return [(xj[i : i + bs], yj[i : i + bs]) for i in range(0, workload.n_samples, bs)]


def jnn_step_runner(workload: Workload, x: np.ndarray, y: np.ndarray) -> Runner:
    """jnnbasics' jitted ``train_step`` (``make_train_step``) called once per batch from Python.

    Batches are sliced on the device once; each epoch keeps the step's loss arrays and takes
    their mean at the end (the tutorial's ``np.mean(train_losses)``), without a host sync per step.

    Returns:
        A :class:`Runner` whose unit is one epoch.
    """
    import jax

    from .models import mlp
    from .optim import make_optimizer
    from .state import create_train_state
    from .training import make_train_step

    model = mlp(workload.layer_sizes)
    optimizer = make_optimizer(LEARNING_RATE)
    step = make_train_step(model.apply, optimizer, loss_type=workload.loss_type)
    box = [create_train_state(model.init(jax.random.key(0)), optimizer)]
    data = _jax_batches(workload, x, y)

    def run(epochs: int) -> float:
        t0 = time.perf_counter()
        state = box[0]
        for _ in range(epochs):
            losses = []
            for xb, yb in data:
                state, loss = step(state, xb, yb)
                losses.append(loss)
            np.mean(jax.device_get(losses))
        jax.block_until_ready(state)
        box[0] = state
        return time.perf_counter() - t0

    return Runner(run, workload.steps_per_epoch)


def jnn_epoch_runner(workload: Workload, x: np.ndarray, y: np.ndarray) -> Runner:
    """jnnbasics' ``train_model``: one call trains ``units`` epochs (shuffled, as the tutorial).

    The time is the whole call's wall time — argument checks, the initial state (from parameters
    drawn once beforehand, as the other systems build their model once) and the per-epoch history
    included — divided by the steps; ``extra["epoch_time_us_per_step"]`` keeps
    the median of the per-epoch times ``train_model`` itself records.

    Returns:
        A :class:`Runner` whose unit is one epoch.
    """
    import jax
    import jax.numpy as jnp

    from .models import mlp
    from .training import train_model

    model = mlp(workload.layer_sizes, loss_type=workload.loss_type)
    # Initial parameters drawn once, as the other systems build their model once outside the timed
    # runs (drawing wide's 6.3M numbers takes ~70 ms: 9 ms per step of a one-epoch run).
    params0 = jax.block_until_ready(model.init(jax.random.key(0)))
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    counter = [0]
    extra: dict = {"epoch_time_us_per_step": [], "call_overhead_ms": []}

    def run(epochs: int) -> float:
        counter[0] += 1
        t0 = time.perf_counter()
        result = train_model(
            model,
            (xj, yj),
            key=jax.random.key(counter[0]),
            params=params0,
            epochs=epochs,
            learning_rate=LEARNING_RATE,
            batch_size=workload.batch_size,
        )
        jax.block_until_ready(result.params)
        dt = time.perf_counter() - t0
        times = result.history["epoch_time"]
        extra["epoch_time_us_per_step"].append(float(np.median(times)) / workload.steps_per_epoch * 1e6)
        extra["call_overhead_ms"].append((dt - float(np.sum(times))) * 1e3)
        return dt

    return Runner(run, workload.steps_per_epoch, extra=extra)


def flax_nnx_runner(workload: Workload, x: np.ndarray, y: np.ndarray) -> Runner:
    """The idiomatic Flax NNX step: ``nnx.Optimizer`` + ``optax.adam``, ``@nnx.jit``.

    Returns:
        A :class:`Runner` whose unit is one epoch over batches sliced on the device once.
    """
    import jax
    import optax
    from flax import nnx

    sizes = workload.layer_sizes

    class MLP(nnx.Module):
        def __init__(self, rngs: nnx.Rngs):
            self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])

        def __call__(self, h):
            for i, layer in enumerate(self.layers):
                h = layer(h)
                if i < len(self.layers) - 1:
                    h = nnx.relu(h)
            return h

    if workload.loss_type == "bce_with_logits":
        loss_of = lambda logits, t: optax.sigmoid_binary_cross_entropy(logits, t).mean()
    else:
        loss_of = lambda logits, t: optax.softmax_cross_entropy_with_integer_labels(logits, t).mean()

    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(LEARNING_RATE), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, xb, yb):
        def loss_fn(model):
            return loss_of(model(xb), yb)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    data = _jax_batches(workload, x, y)

    def run(epochs: int) -> float:
        t0 = time.perf_counter()
        for _ in range(epochs):
            losses = [train_step(model, optimizer, xb, yb) for xb, yb in data]
            np.mean(jax.device_get(losses))
        jax.block_until_ready(nnx.state(model))
        return time.perf_counter() - t0

    return Runner(run, workload.steps_per_epoch)


def make_runner(system: str, workload: Workload, x: np.ndarray, y: np.ndarray, *, device: str) -> Runner:
    """Build the :class:`Runner` of ``system`` for ``workload`` (not yet warmed up)."""
    if system == "torch_eager":
        return torch_runner(workload, x, y, device=device, loader=True)
    if system == "torch_presliced":
        return torch_runner(workload, x, y, device=device, loader=False)
    if system == "torch_compile":
        return torch_runner(workload, x, y, device=device, loader=True, compiled=True)
    if system == "flax_nnx":
        return flax_nnx_runner(workload, x, y)
    if system == "jnn_step":
        return jnn_step_runner(workload, x, y)
    if system == "jnn_epoch":
        return jnn_epoch_runner(workload, x, y)
    raise ValueError(f"make_runner: system must be one of {', '.join(SYSTEMS)}, got {system!r}")


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------
def _quiet_run(runner: Runner, units: int) -> float:
    gc.collect()
    time.sleep(0.02)  # let the other framework's worker threads stop spinning
    return runner.run(units)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles, min and max of a sample (NaN entries dropped)."""
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
    """Summary of ``numerator[r] / denominator[r]`` over repeats ``r`` (pair by pair)."""
    return summarize([a / b for a, b in zip(numerator, denominator) if a and b and a > 0 and b > 0])


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
        t0 = time.perf_counter()
        try:
            runner = make_runner(name, workload, x, y, device=device)
            runner.first_s = _quiet_run(runner, 1)  # the first epoch: trace + compile + run
            steady = _quiet_run(runner, 1)
        except Exception as exc:  # record why a system could not run here
            reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            log(f"  {workload.name:5s} {name:16s} failed: {reason[:200]}")
            out[name] = {"error": reason[:2000]}
            continue
        units = max(1, round(target_s / max(steady, 1e-9)))
        runner.extra.setdefault("epochs_per_run", units)
        runners[name] = runner
        out[name] = {
            "first_s": runner.first_s,
            "compile_s": max(runner.first_s - steady, 0.0),
            "setup_s": time.perf_counter() - t0,
            "epochs_per_run": units,
            "steps_per_run": units * runner.steps_per_unit,
            "us_per_step": [],
        }
        log(f"  {workload.name:5s} {name:16s} first call {runner.first_s:8.3f} s, {units} epoch(s) per run")
    names = list(runners)
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)] if names else []
        for name in order:
            runner = runners[name]
            units = out[name]["epochs_per_run"]
            dt = _quiet_run(runner, units)
            out[name]["us_per_step"].append(dt / (units * runner.steps_per_unit) * 1e6)
    for name in names:
        res = out[name]
        res["summary"] = summarize(res["us_per_step"])
        for k, v in runners[name].extra.items():
            if k != "epochs_per_run":
                res[k] = v
        for base_key, base in (("vs_torch_eager", BASELINE), ("vs_torch_presliced", STRICT_BASELINE)):
            if base in runners:
                res[base_key] = paired_ratio(out[base]["us_per_step"], res["us_per_step"])
        res["gflops"] = workload.flops_per_step / (res["summary"]["median"] * 1e-6) / 1e9
    return {"workload": _workload_dict(workload), "systems": out}


def _workload_dict(w: Workload) -> dict[str, Any]:
    return {
        "name": w.name,
        "layer_sizes": list(w.layer_sizes),
        "batch_size": w.batch_size,
        "loss_type": w.loss_type,
        "n_samples": w.n_samples,
        "steps_per_epoch": w.steps_per_epoch,
        "flops_per_step": w.flops_per_step,
    }


def matmul_peak(*, n: int = 2048, tries: int = 7, device: str = "cpu") -> dict[str, Any]:
    """The machine's float32 matmul rate: best of ``tries`` jitted ``jnp.dot`` (and ``torch.mm``).

    Args:
        n: side of the square float32 matrices.
        tries: timed calls per framework (after one warm-up).
        device: ``"cpu"`` or ``"gpu"``.

    Returns:
        ``{"n", "jax_gflops", "torch_gflops", "peak_gflops"}``; the peak is the larger of the two.
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
    best = math.inf
    for _ in range(tries):
        t0 = time.perf_counter()
        dot(a, b).block_until_ready()
        best = min(best, time.perf_counter() - t0)
    out: dict[str, Any] = {"n": n, "tries": tries, "jax_gflops": flops / best / 1e9}
    try:
        import torch

        torch.set_num_threads(_cores())
        dev = "cuda" if device == "gpu" else "cpu"
        at, bt = torch.from_numpy(a_np).to(dev), torch.from_numpy(b_np).to(dev)
        torch.mm(at, bt)
        best_t = math.inf
        for _ in range(tries):
            t0 = time.perf_counter()
            torch.mm(at, bt)
            if dev == "cuda":
                torch.cuda.synchronize()
            best_t = min(best_t, time.perf_counter() - t0)
        out["torch_gflops"] = flops / best_t / 1e9
    except Exception as exc:  # torch missing or without this device
        out["torch_error"] = f"{type(exc).__name__}: {exc}"
    out["peak_gflops"] = max(v for k, v in out.items() if k.endswith("_gflops"))
    return out


def combine_peaks(start: dict[str, Any], end: dict[str, Any], workloads: dict[str, Any]) -> dict[str, Any]:
    """The machine's matmul peak for this run: the best of the microbenchmarks before and after.

    On a shared machine a microbenchmark can land in a busy moment; if a training step of any
    system ran at a higher rate than both, that rate is the peak (it is a float32 matmul rate this
    machine reached in this run) and ``peak_source`` says so.

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


# --------------------------------------------------------------------------------------------
# Subprocess measurements: compile, start-up, memory
# --------------------------------------------------------------------------------------------
def _package_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def _run_script(
    source: str, *, device: str, cache_dir: str | None = None, timeout: float = 600.0
) -> tuple[dict[str, Any], float]:
    """Run ``source`` in a fresh interpreter; it prints one JSON line last. Returns (that, wall s).

    ``cache_dir``: use JAX's persistent compilation cache there (every compilation stored); None
    runs without one (cold), whatever the environment says.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = _package_root() + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    if cache_dir is not None:
        env["JAX_COMPILATION_CACHE_DIR"] = cache_dir
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    if device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
        env["CUDA_VISIBLE_DEVICES"] = ""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), wall


_IMPORT_SCRIPT = """
import time, json
t0 = time.perf_counter()
import {module}
print(json.dumps({{"import_s": time.perf_counter() - t0}}))
"""

_INIT_SCRIPT = """
import time, json
import jax
from jnnbasics import create_train_state, init_mlp, make_optimizer
t0 = time.perf_counter()
jax.devices()
backend_s = time.perf_counter() - t0
t0 = time.perf_counter()
params = init_mlp(jax.random.key(0), {sizes})
state = create_train_state(params, make_optimizer(1e-3))
jax.block_until_ready(state)
print(json.dumps({{"backend_s": backend_s, "init_s": time.perf_counter() - t0}}))
"""

# Shared start of the two training scripts run as subprocesses (no braces: they are .format()-ed).
_PEAK_MEMORY_PRELUDE = """
import json, resource, time
t0 = time.perf_counter()

def hwm():
    # peak RSS of this process image: ru_maxrss would include the parent's at fork/exec on Linux
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

_JNN_TRAIN_SCRIPT = (
    _PEAK_MEMORY_PRELUDE
    + """import numpy as np
import jax
from jnnbasics import mlp
from jnnbasics.training import train_model
d = np.load({path!r})
x, y = d["x"], d["y"]
model = mlp({sizes}, loss_type={loss!r})
result = train_model(model, (x, y), key=jax.random.key(0), epochs={epochs}, batch_size={bs}, learning_rate=1e-3)
jax.block_until_ready(result.params)
print(json.dumps({{"inside_s": time.perf_counter() - t0, "final_loss": result.history["train_loss"][-1],
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "hwm_kb": hwm()}}))
"""
)

_TORCH_TRAIN_SCRIPT = (
    _PEAK_MEMORY_PRELUDE
    + """import numpy as np
import torch
torch.set_num_threads({threads})
d = np.load({path!r})
x = torch.from_numpy(d["x"])
y = torch.from_numpy(d["y"] if {loss!r} == "bce_with_logits" else d["y"].astype(np.int64))
sizes = {sizes}
layers = []
for a, b in zip(sizes[:-1], sizes[1:]):
    layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
model = torch.nn.Sequential(*layers[:-1])
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = torch.nn.BCEWithLogitsLoss() if {loss!r} == "bce_with_logits" else torch.nn.CrossEntropyLoss()
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size={bs}, shuffle=True)
history = []
for epoch in range({epochs}):
    model.train()
    losses = []
    for xb, yb in loader:
        loss = criterion(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    history.append(float(np.mean(losses)))
print(json.dumps({{"inside_s": time.perf_counter() - t0, "final_loss": history[-1],
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "hwm_kb": hwm()}}))
"""
)

_COMPILE_SCRIPT = """
import json, time
import numpy as np
import jax
from jax import monitoring
from jnnbasics import mlp
from jnnbasics.training import train_model
compiles = []
monitoring.register_event_duration_secs_listener(
    lambda name, secs, **kw: compiles.append(secs) if name == "/jax/core/compile/backend_compile_duration" else None)
d = np.load({path!r})
x, y = d["x"], d["y"]
jax.devices()
model = mlp({sizes}, loss_type="cross_entropy")
marks = []
t0 = time.perf_counter()
def cb(epoch, logs, state):
    marks.append((time.perf_counter() - t0, len(compiles)))
result = train_model(model, (x, y), key=jax.random.key(0), epochs={epochs}, batch_size={bs}, callbacks=[cb])
print(json.dumps({{"marks": marks, "epoch_time": result.history["epoch_time"], "n_compiles": len(compiles),
                  "compile_s": sum(compiles)}}))
"""


def _write_data(path: Path, x: np.ndarray, y: np.ndarray) -> str:
    np.savez(path, x=x, y=y)
    return str(path)


def compile_check(
    workload: Workload, tmp: Path, *, device: str, epochs: int = 3, extra_samples: int = 37
) -> dict[str, Any]:
    """First-epoch cost of ``train_model`` on ``workload`` in a fresh process, and recompilations.

    The data has ``workload.n_samples + extra_samples`` rows, so every epoch ends with a partial
    batch. Compilations are counted with ``jax.monitoring`` (backend compile events).

    Returns:
        ``first_epoch_s`` (from the call until the end of epoch 1: checks, init, trace, compile,
        run), ``first_epoch_time_s`` (``history["epoch_time"][0]``), ``later_epoch_s``,
        ``compiles_in_first_epoch`` and ``recompiles_after_first_epoch``.
    """
    x, y = make_data(workload, n_samples=workload.n_samples + extra_samples, seed=1)
    path = _write_data(tmp / f"compile_{workload.name}.npz", x, y)
    src = _COMPILE_SCRIPT.format(
        path=path, sizes=list(workload.layer_sizes), epochs=epochs, bs=workload.batch_size
    )
    res, _ = _run_script(src, device=device)
    marks = res["marks"]
    cache = str(tmp / "jax_cache_compile")
    _run_script(src, device=device, cache_dir=cache)  # fills the persistent cache
    warm, _ = _run_script(src, device=device, cache_dir=cache)
    return {
        "first_epoch_s_warm_cache": warm["marks"][0][0],
        "workload": workload.name,
        "n_samples": int(x.shape[0]),
        "first_epoch_s": marks[0][0],
        "first_epoch_time_s": res["epoch_time"][0],
        "later_epoch_s": float(np.median(res["epoch_time"][1:])) if len(res["epoch_time"]) > 1 else math.nan,
        "compiles_in_first_epoch": marks[0][1],
        "recompiles_after_first_epoch": marks[-1][1] - marks[0][1],
        "backend_compile_s": res["compile_s"],
    }


def startup_check(
    tmp: Path, *, device: str, repeats: int, tiny: Workload, seed: Workload, steps: int = 2000
) -> dict[str, Any]:
    """Start-up costs in fresh processes, each measured ``repeats`` times (interleaved).

    * ``import jnnbasics`` (and ``import torch`` for comparison), timed inside the process.
    * ``init_mlp`` + Adam state for the seed shape, after the backend is up (``backend_s``).
    * the whole process (interpreter start to exit) of a ``steps``-step tiny run: jnnbasics'
      ``train_model`` against the tutorial's PyTorch script, on the same data.
    * ``*_warm_cache``: the jnnbasics figures again with JAX's persistent compilation cache
      filled by an earlier process (not what the targets are judged on: a first run has none).

    Returns:
        Medians and the raw values.
    """
    bs = tiny.batch_size
    epochs = 20
    n = steps * bs // epochs
    x, y = make_data(tiny, n_samples=n, seed=2)
    path = _write_data(tmp / "startup_tiny.npz", x, y)
    kw = {"path": path, "sizes": list(tiny.layer_sizes), "loss": tiny.loss_type, "epochs": epochs, "bs": bs}
    jnn_src = _JNN_TRAIN_SCRIPT.format(**kw)
    torch_src = _TORCH_TRAIN_SCRIPT.format(threads=_cores(), **kw)
    rec: dict[str, list] = {
        k: []
        for k in (
            "import_jnnbasics_s",
            "import_torch_s",
            "backend_s",
            "init_s",
            "jnn_process_s",
            "torch_process_s",
            "init_s_warm_cache",
            "jnn_process_s_warm_cache",
        )
    }
    init_src = _INIT_SCRIPT.format(sizes=list(seed.layer_sizes))
    cache = str(tmp / "jax_cache_startup")
    _run_script(init_src, device=device, cache_dir=cache)  # fill the persistent cache once
    _run_script(jnn_src, device=device, cache_dir=cache)
    for _ in range(repeats):
        rec["import_jnnbasics_s"].append(
            _run_script(_IMPORT_SCRIPT.format(module="jnnbasics"), device=device)[0]["import_s"]
        )
        rec["import_torch_s"].append(
            _run_script(_IMPORT_SCRIPT.format(module="torch"), device=device)[0]["import_s"]
        )
        r, _ = _run_script(init_src, device=device)
        rec["backend_s"].append(r["backend_s"])
        rec["init_s"].append(r["init_s"])
        rec["jnn_process_s"].append(_run_script(jnn_src, device=device)[1])
        rec["torch_process_s"].append(_run_script(torch_src, device=device)[1])
        rec["init_s_warm_cache"].append(_run_script(init_src, device=device, cache_dir=cache)[0]["init_s"])
        rec["jnn_process_s_warm_cache"].append(_run_script(jnn_src, device=device, cache_dir=cache)[1])
    out: dict[str, Any] = {"steps": epochs * (n // bs), "raw": rec}
    out.update({k: float(np.median(v)) for k, v in rec.items()})
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
    path = _write_data(tmp / f"memory_{workload.name}.npz", x, y)
    kw = {
        "path": path,
        "sizes": list(workload.layer_sizes),
        "loss": workload.loss_type,
        "epochs": epochs,
        "bs": workload.batch_size,
    }
    runs: dict[str, list] = {"jnn": [], "torch": []}
    for _ in range(repeats):
        runs["jnn"].append(_run_script(_JNN_TRAIN_SCRIPT.format(**kw), device=device)[0])
        runs["torch"].append(
            _run_script(_TORCH_TRAIN_SCRIPT.format(threads=_cores(), **kw), device=device)[0]
        )
    med = {k: float(np.median([r["hwm_kb"] for r in v])) / 1024 for k, v in runs.items()}
    return {
        "workload": workload.name,
        "epochs": epochs,
        "jnn_mb": med["jnn"],
        "torch_mb": med["torch"],
        "ratio": med["jnn"] / med["torch"],
        "ru_maxrss_mb": {k: [r["maxrss_kb"] / 1024 for r in v] for k, v in runs.items()},
    }


def many_check(
    workload: Workload, *, n_models: int, epochs: int, repeats: int, sequential: str
) -> dict[str, Any]:
    """``train_many`` on ``n_models`` copies of ``workload`` against sequential ``train_model`` runs.

    Args:
        workload: the (tiny) workload; each model trains ``epochs`` epochs on its data.
        n_models: number of models trained at once.
        epochs: epochs per model and run.
        repeats: timed runs of each (interleaved), after one warm-up each.
        sequential: ``"measured"`` runs ``n_models`` ``train_model`` calls in a row;
            ``"estimated"`` times one and multiplies by ``n_models`` (labelled so).

    Returns:
        Per model-step times (µs) of both, raw values, and their pair-by-pair ratio.
    """
    import jax
    import jax.numpy as jnp

    from .models import mlp
    from .parallel import train_many
    from .training import train_model

    x, y = make_data(workload)
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    model = mlp(workload.layer_sizes, loss_type=workload.loss_type)
    model_steps = n_models * epochs * workload.steps_per_epoch

    def many(r: int) -> float:
        t0 = time.perf_counter()
        res = train_many(
            model,
            (xj, yj),
            keys=jax.random.split(jax.random.key(r), n_models),
            epochs=epochs,
            batch_size=workload.batch_size,
        )
        jax.block_until_ready(res.params)
        return time.perf_counter() - t0

    def seq(r: int) -> float:
        count = n_models if sequential == "measured" else 1
        t0 = time.perf_counter()
        for k in range(count):
            res = train_model(
                model,
                (xj, yj),
                key=jax.random.fold_in(jax.random.key(r), k),
                epochs=epochs,
                batch_size=workload.batch_size,
            )
            jax.block_until_ready(res.params)
        return (time.perf_counter() - t0) * (n_models / count)

    t0 = time.perf_counter()
    many(0)
    first_many = time.perf_counter() - t0
    seq(0)
    m_us, s_us = [], []
    for r in range(1, repeats + 1):
        gc.collect()
        m_us.append(many(r) / model_steps * 1e6)
        gc.collect()
        s_us.append(seq(r) / model_steps * 1e6)
    return {
        "n_models": n_models,
        "epochs": epochs,
        "steps_per_epoch": workload.steps_per_epoch,
        "first_call_s": first_many,
        "train_many_us_per_model_step": summarize(m_us),
        "sequential_train_model_us_per_model_step": summarize(s_us),
        "sequential_mode": sequential,
        "raw_many": m_us,
        "raw_sequential": s_us,
        "speedup_vs_sequential_train_model": paired_ratio(s_us, m_us),
    }


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------
def _ratio(results: dict, wl: str, system: str, key: str = "vs_torch_eager") -> float:
    try:
        return results["workloads"][wl]["systems"][system][key]["median"]
    except KeyError:
        return math.nan


def _median_us(results: dict, wl: str, system: str) -> float:
    try:
        return results["workloads"][wl]["systems"][system]["summary"]["median"]
    except KeyError:
        return math.nan


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 5 with the measured value and whether it is met.

    A target whose measurement was not taken (workload or extra not run, system failed) has
    ``met = None``.

    Returns:
        A list of ``{"what", "target", "value", "met", "detail"}``.
    """
    out: list[dict[str, Any]] = []
    peak = results.get("matmul", {}).get("peak_gflops", math.nan)

    def add(what: str, target: str, value: float, ok: bool | None, detail: str = "") -> None:
        met = None if value is None or (isinstance(value, float) and math.isnan(value)) else bool(ok)
        out.append({"what": what, "target": target, "value": value, "met": met, "detail": detail})

    def strict(wl: str, system: str) -> str:
        return f"vs pre-sliced torch loop {_fmt(_ratio(results, wl, system, 'vs_torch_presliced'))}x"

    r = _ratio(results, "tiny", "jnn_epoch")
    add("train_model tiny, speed-up vs PyTorch eager", ">= 50x", r, r >= 50, strict("tiny", "jnn_epoch"))
    for wl, speed, frac_t in (("seed", 2.5, 0.75), ("wide", 1.3, 0.90)):
        r = _ratio(results, wl, "jnn_epoch")
        add(
            f"train_model {wl}, speed-up vs PyTorch eager",
            f">= {speed}x",
            r,
            r >= speed,
            strict(wl, "jnn_epoch"),
        )
        us = _median_us(results, wl, "jnn_epoch")
        flops = results.get("workloads", {}).get(wl, {}).get("workload", {}).get("flops_per_step", math.nan)
        frac = flops / (us * 1e-6) / (peak * 1e9) if us == us and peak == peak else math.nan
        add(
            f"train_model {wl}, fraction of matmul peak",
            f">= {frac_t:.0%}",
            frac,
            frac >= frac_t,
            f"{flops / (us * 1e-6) / 1e9:.1f} of {peak:.1f} GFLOP/s" if frac == frac else "",
        )
    r = _ratio(results, "tiny", "jnn_step")
    add("train_step loop tiny, speed-up vs PyTorch eager", ">= 10x", r, r >= 10, strict("tiny", "jnn_step"))
    try:
        nnx = paired_ratio(
            results["workloads"]["tiny"]["systems"]["flax_nnx"]["us_per_step"],
            results["workloads"]["tiny"]["systems"]["jnn_step"]["us_per_step"],
        )["median"]
    except KeyError:
        nnx = math.nan
    add("train_step loop tiny, speed-up vs Flax NNX nnx.jit", ">= 5x", nnx, nnx >= 5)
    many = results.get("many")
    if many:
        m_us = many["train_many_us_per_model_step"]["median"]
        t_us = _median_us(results, "tiny", "torch_eager")
        r = t_us / m_us if m_us else math.nan
        add(
            f"train_many {many['n_models']} tiny, per model-step vs sequential PyTorch loop",
            ">= 100x",
            r,
            r >= 100,
            f"{m_us:.2f} us vs {t_us:.1f} us (torch_eager tiny median)",
        )
        r = many["speedup_vs_sequential_train_model"]["median"]
        add(
            f"train_many {many['n_models']} tiny vs {many['n_models']} sequential train_model runs",
            "> 1x",
            r,
            r > 1,
            f"sequential {many['sequential_mode']}",
        )
    comp = results.get("compile")
    if comp:
        v = comp["first_epoch_s"]
        add(
            "compile: first seed epoch (call to end of epoch 1)",
            "<= 1 s",
            v,
            v <= 1.0,
            f"epoch_time[0] = {comp['first_epoch_time_s']:.3f} s; with a warm persistent cache {comp['first_epoch_s_warm_cache']:.3f} s",
        )
        v = comp["recompiles_after_first_epoch"]
        add(
            "compile: recompilations after epoch 1 (partial final batch)",
            "0",
            float(v),
            v == 0,
            f"{comp['n_samples']} samples, batch {results['workloads'].get('seed', {}).get('workload', {}).get('batch_size', 128)}",
        )
    mem = results.get("memory")
    if mem:
        add(
            "memory: peak RSS seed train_model / PyTorch loop",
            "<= 1.5x",
            mem["ratio"],
            mem["ratio"] <= 1.5,
            f"{mem['jnn_mb']:.0f} MB vs {mem['torch_mb']:.0f} MB",
        )
    st = results.get("startup")
    if st:
        add(
            "start-up: import jnnbasics",
            "<= 1 s",
            st["import_jnnbasics_s"],
            st["import_jnnbasics_s"] <= 1.0,
            f"import torch: {st['import_torch_s']:.2f} s",
        )
        add(
            "start-up: init_mlp + Adam state, seed shape",
            "<= 0.2 s",
            st["init_s"],
            st["init_s"] <= 0.2,
            f"backend start {st['backend_s']:.2f} s not included; warm persistent cache {st['init_s_warm_cache']:.3f} s",
        )
        add(
            f"start-up: whole process, {st['steps']}-step tiny run / PyTorch script",
            "<= 0.5x",
            st["process_ratio"],
            st["process_ratio"] <= 0.5,
            f"{st['jnn_process_s']:.2f} s vs {st['torch_process_s']:.2f} s; warm persistent cache {st['jnn_process_s_warm_cache']:.2f} s",
        )
    return out


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------
def _fmt(v: Any, spec: str = ".2f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return format(v, spec)


def results_table(results: dict[str, Any]) -> list[list[str]]:
    """Rows ``[workload, system, median µs/step, IQR, min–max, ratio vs torch_eager, vs presliced, first call s]``."""
    rows = [
        [
            "workload",
            "system",
            "us/step (median)",
            "IQR",
            "min-max",
            "x vs torch_eager",
            "x vs torch_presliced",
            "GFLOP/s",
            "first call s",
        ]
    ]
    for wl, wres in results["workloads"].items():
        for name, res in wres["systems"].items():
            if "error" in res:
                rows.append([wl, name, "failed", "", "", "", "", "", res["error"][:60]])
                continue
            s = res["summary"]
            rows.append(
                [
                    wl,
                    name,
                    _fmt(s["median"], ".1f"),
                    f"{_fmt(s['q1'], '.1f')}-{_fmt(s['q3'], '.1f')}",
                    f"{_fmt(s['min'], '.1f')}-{_fmt(s['max'], '.1f')}",
                    _fmt(res.get("vs_torch_eager", {}).get("median")),
                    _fmt(res.get("vs_torch_presliced", {}).get("median")),
                    _fmt(res.get("gflops"), ".1f"),
                    _fmt(res.get("first_s"), ".3f"),
                ]
            )
    return rows


def target_rows(results: dict[str, Any]) -> list[list[str]]:
    """Rows ``[what, target, measured, met, detail]``."""
    rows = [["target", "wanted", "measured", "met", "detail"]]
    for t in results["targets"]:
        v = t["value"]
        spec = ".1%" if "fraction" in t["what"] else ".3f"
        met = {True: "yes", False: "NO", None: "not run"}[t["met"]]
        rows.append([t["what"], t["target"], _fmt(v, spec), met, t["detail"]])
    return rows


def _text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def markdown_report(results: dict[str, Any]) -> str:
    """The Markdown tables (per-step times, targets) and the extras of a run."""
    meta = results["meta"]
    parts = [
        f"Run {meta['date']} on {meta['machine']['cpu']} ({meta['machine']['cores']} cores in use), "
        f"device {meta['device']}, load before/after {meta['load_before']} / {meta.get('load_after', 'n/a')}.",
        f"Command: `{meta['command']}`" + (" (quick: smoke-test sizes)" if meta["quick"] else ""),
        "",
        "### Per optimizer step (µs; median over repeats, interleaved; ratios pair by pair)",
        "",
        _md_table(results_table(results)),
        "",
    ]
    if results.get("matmul"):
        m = results["matmul"]
        parts.append(
            f"Matmul peak (float32, {m['n']}x{m['n']}, best of {m['start'].get('tries')}, before / after the workloads): "
            f"jnp.dot {_fmt(m['start'].get('jax_gflops'), '.1f')} / {_fmt(m['end'].get('jax_gflops'), '.1f')}, "
            f"torch.mm {_fmt(m['start'].get('torch_gflops'), '.1f')} / {_fmt(m['end'].get('torch_gflops'), '.1f')} GFLOP/s; "
            f"best training step {_fmt(m['best_step_gflops'], '.1f')} GFLOP/s ({m['best_step']}); "
            f"peak used: {_fmt(m['peak_gflops'], '.1f')} GFLOP/s, from the {m['peak_source']}."
        )
        parts.append("")
    parts += ["### Targets (issue 5)", "", _md_table(target_rows(results)), ""]
    errors = {
        f"{wl}/{n}": r["error"]
        for wl, w in results["workloads"].items()
        for n, r in w["systems"].items()
        if "error" in r
    }
    if errors:
        parts += (
            ["### Systems that did not run", ""] + [f"- {k}: {v[:300]}" for k, v in errors.items()] + [""]
        )
    return "\n".join(parts)


def plot_results(results: dict[str, Any], path: Path) -> None:
    """Bar chart, log scale: µs per step per system per workload (error bars: IQR)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wls = list(results["workloads"])
    systems = [s for s in SYSTEMS if any(s in results["workloads"][w]["systems"] for w in wls)]
    fig, ax = plt.subplots(figsize=(max(6, 2.6 * len(wls) + 2), 4.5))
    width = 0.8 / max(len(systems), 1)
    for i, s in enumerate(systems):
        med, lo, hi = [], [], []
        for w in wls:
            res = results["workloads"][w]["systems"].get(s, {})
            sm = res.get("summary")
            if sm is None:
                med.append(np.nan)
                lo.append(0)
                hi.append(0)
            else:
                med.append(sm["median"])
                lo.append(sm["median"] - sm["q1"])
                hi.append(sm["q3"] - sm["median"])
        xs = np.arange(len(wls)) + (i - (len(systems) - 1) / 2) * width
        ax.bar(xs, med, width, yerr=[lo, hi], label=s, capsize=2)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(wls)), wls)
    ax.set_ylabel("µs per optimizer step (log)")
    ax.set_title(
        f"MLP training step, {results['meta']['device']}, {results['meta']['machine']['cores']} cores"
    )
    ax.legend(fontsize=8, ncols=2)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("jax", "jaxlib", "optax", "flax", "torch"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            versions[mod] = None
    return {
        "cpu": cpu,
        "cores": _cores(),
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _command(argv: Sequence[str]) -> str:
    prog = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if prog.endswith("run.py"):
        head = f"python {os.path.relpath(prog)}"
    elif prog.endswith("jnnbasics") or prog.endswith("__main__.py"):
        head = "jnnbasics bench"
    else:
        head = "python -m jnnbasics.bench"
    return " ".join([head, *argv])


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------
def _parse_list(text: str, choices: Sequence[str], flag: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in choices]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"{flag} must be a comma-separated subset of {','.join(choices)}, got {text!r}"
        )
    return items


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of the benchmark (``python benchmarks/run.py --help``)."""
    p = argparse.ArgumentParser(
        prog="jnnbasics bench",
        description="Time MLP training steps in PyTorch (eager, compiled), Flax NNX and jnnbasics; "
        "print the issue's targets and write JSON, Markdown and a PNG chart.",
    )
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu", help="where to run (default cpu)")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: small sizes, 2 repeats, a few seconds per workload"
    )
    p.add_argument("--workloads", default="tiny,seed,wide", help="comma-separated subset of tiny,seed,wide")
    p.add_argument(
        "--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}"
    )
    p.add_argument(
        "--repeats", type=int, default=None, help="timed runs per system (default 7; 2 with --quick)"
    )
    p.add_argument(
        "--run-seconds",
        type=float,
        default=None,
        help="target length of one timed run (default 0.25 s; 0.01 with --quick)",
    )
    p.add_argument(
        "--extras",
        default="all",
        help="comma-separated subset of matmul,compile,many,startup,memory, 'all' or 'none'",
    )
    p.add_argument("--out", default="benchmarks/out", help="output folder (default benchmarks/out)")
    return p


EXTRAS = ("matmul", "compile", "many", "startup", "memory")


def run_benchmark(args: argparse.Namespace, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run everything ``args`` asks for and return the results dict (also what the JSON holds)."""
    import jax

    if args.device == "cpu":
        jax.config.update("jax_platforms", "cpu")
    else:
        try:
            jax.devices("gpu")
        except RuntimeError as exc:
            raise SystemExit(f"jnnbasics bench: --device gpu needs a GPU visible to JAX ({exc})") from None
    wl_names = _parse_list(args.workloads, tuple(WORKLOADS), "--workloads")
    systems = _parse_list(args.systems, SYSTEMS, "--systems")
    extras = (
        list(EXTRAS)
        if args.extras == "all"
        else ([] if args.extras == "none" else _parse_list(args.extras, EXTRAS, "--extras"))
    )
    repeats = args.repeats or (2 if args.quick else 7)
    if repeats < 1:
        raise SystemExit("jnnbasics bench: --repeats must be >= 1")
    run_s = args.run_seconds or (0.01 if args.quick else 0.25)
    table = QUICK_WORKLOADS if args.quick else WORKLOADS
    if args.quick and "torch_compile" in systems:
        systems = [s for s in systems if s != "torch_compile"]
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": _command(getattr(args, "argv", None) or []),
            "device": args.device,
            "quick": bool(args.quick),
            "repeats": repeats,
            "run_seconds": run_s,
            "machine": _machine(),
            "load_before": _load(),
            "systems": {s: SYSTEM_LABELS[s] for s in systems},
            "notes": ["torch_compile skipped in --quick (compiling takes tens of seconds)"]
            if args.quick
            else [],
        },
        "workloads": {},
    }
    t_start = time.perf_counter()
    mm_kw = {"n": 512 if args.quick else 2048, "tries": 3 if args.quick else 7, "device": args.device}
    if "matmul" in extras:
        log("matmul peak ...")
        mm_start = matmul_peak(**mm_kw)
        log(f"  {mm_start['peak_gflops']:.1f} GFLOP/s")
    for name in wl_names:
        log(f"workload {name} ...")
        results["workloads"][name] = bench_workload(
            table[name], systems, repeats=repeats, target_s=run_s, device=args.device, log=log
        )
    with tempfile.TemporaryDirectory(prefix="jnnbench") as tmpdir:
        tmp = Path(tmpdir)
        if "compile" in extras:
            log("compile check (fresh process) ...")
            results["compile"] = compile_check(table["seed"], tmp, device=args.device, epochs=3)
        if "many" in extras:
            log("train_many ...")
            k = 8 if args.quick else 64
            results["many"] = many_check(
                table["tiny"],
                n_models=k,
                epochs=1 if args.quick else 2,
                repeats=1 if args.quick else 3,
                sequential="estimated" if args.quick else "measured",
            )
        if "startup" in extras:
            log("start-up (fresh processes) ...")
            results["startup"] = startup_check(
                tmp,
                device=args.device,
                repeats=1 if args.quick else 3,
                tiny=table["tiny"],
                seed=table["seed"],
                steps=200 if args.quick else 2000,
            )
        if "memory" in extras:
            log("peak memory (fresh processes) ...")
            results["memory"] = memory_check(
                table["seed"], tmp, device=args.device, epochs=1 if args.quick else 3
            )
    if "matmul" in extras:
        log("matmul peak again ...")
        results["matmul"] = combine_peaks(mm_start, matmul_peak(**mm_kw), results["workloads"])
    results["meta"]["load_after"] = _load()
    results["meta"]["wall_s"] = time.perf_counter() - t_start
    results["targets"] = evaluate_targets(results)
    return results


def write_outputs(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write ``results.json``, ``results.md`` and ``results.png`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "results.md", "png": out / "results.png"}
    paths["json"].write_text(json.dumps(results, indent=1, default=float))
    paths["markdown"].write_text(markdown_report(results))
    plot_results(results, paths["png"])
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python benchmarks/run.py [--quick] [--device cpu|gpu] ...``.

    Args:
        argv: arguments without the program name (None: ``sys.argv[1:]``).

    Returns:
        Exit status 0 (targets not met do not fail the run; they are reported).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        _parse_list(args.workloads, tuple(WORKLOADS), "--workloads")
        _parse_list(args.systems, SYSTEMS, "--systems")
        if args.extras not in ("all", "none"):
            _parse_list(args.extras, EXTRAS, "--extras")
    except argparse.ArgumentTypeError as exc:
        build_parser().error(str(exc))
    results = run_benchmark(args, log=lambda s: print(s, flush=True))
    paths = write_outputs(results, Path(args.out))
    print()
    print(_text_table(results_table(results)))
    print()
    print(_text_table(target_rows(results)))
    print()
    print(f"wall time {results['meta']['wall_s']:.0f} s; wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


__all__ = [
    "QUICK_WORKLOADS",
    "SYSTEMS",
    "WORKLOADS",
    "Workload",
    "bench_workload",
    "evaluate_targets",
    "main",
    "make_data",
    "matmul_peak",
    "run_benchmark",
    "write_outputs",
]

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
