"""The timed systems: one runner per (system, workload) that trains whole epochs and times them.

torch and flax are imported inside the functions that use them.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from unittest import mock

import numpy as np

import jnnbasics as jnb
import jnnbasics.training.fastpath as fastpath

from .machine import cores
from .workloads import Workload

SYSTEMS: tuple[str, ...] = (
    "torch_eager",
    "torch_presliced",
    "torch_compile",
    "flax_nnx",
    "jnn_step",
    "jnn_epoch",
    "jnn_epoch_autodiff",
)
"""Systems timed per workload (see ``SYSTEM_LABELS``); ``torch_eager`` is the baseline."""

SYSTEM_LABELS: dict[str, str] = {
    "torch_eager": "PyTorch eager, the tutorial's loop (DataLoader, shuffle=True)",
    "torch_presliced": "PyTorch eager, same step on pre-sliced batches (no DataLoader)",
    "torch_compile": "PyTorch, tutorial's loop with torch.compile(model)",
    "flax_nnx": "Flax NNX + optax, nnx.jit step from a Python loop",
    "jnn_step": "jnnbasics make_train_step from a Python loop",
    "jnn_epoch": "jnnbasics train_model (one compiled call per epoch)",
    "jnn_epoch_autodiff": "jnnbasics train_model with the small-MLP fast path off (autodiff step, as before it)",
}

BASELINE = "torch_eager"
"""The system every ratio is taken against."""
STRICT_BASELINE = "torch_presliced"
"""The stricter baseline (PyTorch's step without the DataLoader); its ratios are reported too."""
LEARNING_RATE = 1e-3


@dataclass
class Runner:
    """A prepared system: ``run(units)`` trains ``units`` epochs and returns the seconds taken.

    ``first_s`` is the wall time of the first call (trace + compile + one run), measured by
    :func:`jnnbasics.bench.timing.bench_workload`.
    """

    run: Callable[[int], float]
    steps_per_unit: int
    first_s: float = math.nan
    note: str = ""
    extra: dict = field(default_factory=dict)


_COLD_CACHES: list = []  # inductor cache directories of torch.compile runs, kept until exit


def torch_mlp(layer_sizes: Sequence[int]):
    """The tutorial's PyTorch MLP: ``Linear``, ``ReLU``, ..., ``Linear`` (``torch.nn.Sequential``)."""
    import torch

    layers: list = []
    for a, b in zip(layer_sizes[:-1], layer_sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def torch_criterion(loss_type: str):
    """``BCEWithLogitsLoss()`` for ``"bce_with_logits"``, else ``CrossEntropyLoss()`` (mean over the batch)."""
    import torch

    return torch.nn.BCEWithLogitsLoss() if loss_type == "bce_with_logits" else torch.nn.CrossEntropyLoss()


def torch_targets(workload: Workload, y: np.ndarray):
    """``y`` as the tensor the criterion takes: float (n, 1) for BCE, int64 (n,) labels otherwise."""
    import torch

    return torch.from_numpy(y if workload.loss_type == "bce_with_logits" else y.astype(np.int64))


def _torch_train_step(workload: Workload, dev, *, compiled: bool) -> Callable:
    """The tutorial's model, Adam and ``train_step(xb, yb) -> float`` on device ``dev``."""
    import torch

    torch.set_num_threads(cores())
    torch.manual_seed(0)
    model = torch_mlp(workload.layer_sizes).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    criterion = torch_criterion(workload.loss_type)
    if compiled:
        # A fresh inductor cache, so that the compile time reported is a cold one (kept until exit).
        _COLD_CACHES.append(tempfile.TemporaryDirectory(prefix="jnnbench-inductor-"))
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = _COLD_CACHES[-1].name
    forward = torch.compile(model) if compiled else model

    def train_step(xb, yb):  # the tutorial's train_step
        y_pred = forward(xb)
        loss = criterion(y_pred, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return train_step


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
        x: inputs of shape (n, in); y: targets (see :func:`jnnbasics.bench.make_data`).
        device: ``"cpu"`` or ``"gpu"``.
        loader: iterate a ``DataLoader(TensorDataset(x, y), batch_size, shuffle=True)`` as the
            tutorial does; False iterates batches sliced once beforehand (no loader cost).
        compiled: wrap the model in ``torch.compile``.

    Returns:
        A :class:`Runner` whose unit is one epoch.
    """
    import torch

    dev = torch.device("cuda" if device == "gpu" else "cpu")
    train_step = _torch_train_step(workload, dev, compiled=compiled)
    xt, yt = torch.from_numpy(x), torch_targets(workload, y)
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
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    return Runner(run, workload.steps_per_epoch)


def _jax_batches(workload: Workload, x: np.ndarray, y: np.ndarray) -> list:
    """``(xb, yb)`` device arrays of every full batch, sliced once."""
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

    model = jnb.mlp(workload.layer_sizes)
    optimizer = jnb.make_optimizer(LEARNING_RATE)
    step = jnb.make_train_step(model.apply, optimizer, loss_type=workload.loss_type)
    box = [jnb.create_train_state(model.init(jax.random.key(0)), optimizer)]
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


def jnn_epoch_runner(workload: Workload, x: np.ndarray, y: np.ndarray, *, fast_path: bool = True) -> Runner:
    """jnnbasics' ``train_model``: one call trains ``units`` epochs (shuffled, as the tutorial).

    The time is the whole call's wall time — argument checks, the initial state (from parameters
    drawn once beforehand, as the other systems build their model once) and the per-epoch history
    included — divided by the steps; ``extra["epoch_time_us_per_step"]`` keeps
    the median of the per-epoch times ``train_model`` itself records. With ``fast_path=False`` the
    run's fast-path rule is switched off for each call (``FAST_PATH_MAX_PARAMS`` patched to 0), so
    every model takes the autodiff step (``jnnbasics.training.fastpath``).

    Returns:
        A :class:`Runner` whose unit is one epoch.
    """
    import jax
    import jax.numpy as jnp

    model = jnb.mlp(workload.layer_sizes, loss_type=workload.loss_type)
    # Initial parameters drawn once, as the other systems build their model once outside the timed
    # runs (drawing wide's 6.3M numbers takes ~70 ms: 9 ms per step of a one-epoch run).
    params0 = jax.block_until_ready(model.init(jax.random.key(0)))
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    counter = [0]
    extra: dict = {"epoch_time_us_per_step": [], "call_overhead_ms": []}

    def run(epochs: int) -> float:
        counter[0] += 1
        rule = (
            contextlib.nullcontext() if fast_path else mock.patch.object(fastpath, "FAST_PATH_MAX_PARAMS", 0)
        )
        t0 = time.perf_counter()
        with rule:
            result = jnb.train_model(
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
    """Build the :class:`Runner` of ``system`` for ``workload`` (not yet warmed up).

    Raises:
        ValueError: ``system`` is not one of :data:`SYSTEMS`.
    """
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
    if system == "jnn_epoch_autodiff":
        return jnn_epoch_runner(workload, x, y, fast_path=False)
    raise ValueError(f"make_runner: system must be one of {', '.join(SYSTEMS)}, got {system!r}")
