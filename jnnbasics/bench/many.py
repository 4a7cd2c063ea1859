"""The sweep: K models of one shape trained at once, against the other ways to train K models.

For a workload and each K of a sweep (``SWEEP_KS``: the tiny MLP at K = 8, 64, 256, the seed MLP
at K = 16), these systems train K models for a few epochs each (tiny data, Adam 1e-3), and are
timed per **model-step** (one optimizer step of one model):

* ``train_many_K``: jnnbasics' ``train_many`` on K models (one compiled program per epoch; it
  spreads the models over the process's devices when there are several);
* ``torch_func_K``: PyTorch's way to train an ensemble at once (:class:`TorchEnsemble`);
* ``train_model``: one model alone, jnnbasics' ``train_model`` (many epochs per call);
* ``train_model_seq``: one ``train_model`` run per model, one after another;
* ``torch_seq``: the tutorial's PyTorch loop, one model after another.

The sequential systems' cost per model-step does not depend on K, so they are timed once per
sweep, with as many models per timed run as fill it (at most 64). All systems are interleaved round
by round and every ratio is taken pair by pair. torch is imported inside the functions that use it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

import jnnbasics as jnb

from .runners import (
    LEARNING_RATE,
    Runner,
    jnn_epoch_runner,
    torch_criterion,
    torch_mlp,
    torch_runner,
    torch_targets,
)
from .timing import paired_ratio, summarize, time_interleaved
from .workloads import Workload, make_data

SWEEP_KS: dict[str, tuple[int, ...]] = {"tiny": (8, 64, 256), "seed": (16,)}
"""The sweeps of a full run: workload name -> the numbers of models K."""

QUICK_SWEEP_KS: dict[str, tuple[int, ...]] = {"tiny": (64,)}
"""The sweeps of ``--quick`` (each K compiles its own program: seconds on a small CPU)."""

SEQUENTIAL_MAX = 64
"""The most models a sequential system trains in one timed run."""

SWEEP_LABELS: dict[str, str] = {
    "train_many": "jnnbasics train_many: K models in one compiled program per epoch",
    "torch_func": "PyTorch torch.func ensemble: stack_module_state + vmap(grad), Adam on the stacked tensors",
    "train_model": "jnnbasics train_model, one model alone (many epochs per call)",
    "train_model_seq": "jnnbasics train_model, one run per model, one after another",
    "torch_seq": "PyTorch eager, the tutorial's loop, one model after another",
}
"""What each sweep system is (``train_many`` and ``torch_func`` are named with their K)."""


class TorchEnsemble:
    """K PyTorch models of one architecture trained at once, as PyTorch's docs ensemble models.

    ``torch.func.stack_module_state`` stacks the models' parameters (a leading axis of size K),
    ``torch.func.vmap(torch.func.grad_and_value(loss))`` gives every model's gradient and loss on
    its own batch in one call, and ``torch.optim.Adam`` updates the stacked tensors: Adam works
    element by element, so this is K separate Adams. Model k trains as it would alone, up to
    float32 rounding. The models passed in are not changed.

    Args:
        models: K ``torch.nn.Module`` of one architecture (without buffers that change).
        loss_type: ``"bce_with_logits"`` or ``"cross_entropy"`` (mean over each model's batch).
        lr: Adam's learning rate.
    """

    def __init__(self, models: Sequence[Any], loss_type: str, *, lr: float = LEARNING_RATE):
        import torch
        from torch.func import functional_call, grad_and_value, stack_module_state, vmap

        self.k = len(models)
        self.params, self.buffers = stack_module_state(list(models))
        base = copy.deepcopy(models[0]).to("meta")
        criterion = torch_criterion(loss_type)

        def loss_one(params, buffers, xb, yb):
            return criterion(functional_call(base, (params, buffers), (xb,)), yb)

        self._grads_and_losses = vmap(grad_and_value(loss_one))
        self.optimizer = torch.optim.Adam(list(self.params.values()), lr=lr)

    def step(self, xb: Any, yb: Any) -> Any:
        """One Adam step of every model on its own batch.

        Args:
            xb: inputs of shape (K, batch, in_features).
            yb: targets of shape (K, batch, 1) (float, BCE) or (K, batch) (int64 labels).

        Returns:
            The K losses before the step, a tensor of shape (K,).
        """
        grads, losses = self._grads_and_losses(self.params, self.buffers, xb, yb)
        for name, p in self.params.items():
            p.grad = grads[name]
        self.optimizer.step()
        return losses

    def train_epochs(self, x: Any, y: Any, *, epochs: int, batch_size: int, generator: Any) -> Any:
        """Train every model ``epochs`` epochs, each on its own shuffle of ``(x, y)``.

        Args:
            x: inputs of shape (n, in_features); y: targets of shape (n, 1) or (n,).
            epochs: passes over the data.
            batch_size: samples per step (the last batch of an epoch may be smaller).
            generator: the ``torch.Generator`` of the shuffles.

        Returns:
            The mean training loss of each epoch and model, shape (epochs, K).
        """
        import torch

        means = []
        for _ in range(epochs):
            perms = torch.argsort(torch.rand(self.k, x.shape[0], generator=generator), dim=1)
            losses = [self.step(x[idx], y[idx]) for idx in perms.split(batch_size, dim=1)]
            means.append(torch.stack(losses).mean(0))
        return torch.stack(means)


def torch_func_runner(workload: Workload, x: np.ndarray, y: np.ndarray, *, k: int, epochs: int) -> Runner:
    """K models trained at once by :class:`TorchEnsemble`; a unit: all K from their first
    parameters (drawn once, as ``train_model``'s are) for ``epochs`` epochs."""
    import torch

    from .machine import cores

    torch.set_num_threads(cores())
    torch.manual_seed(0)
    models = [torch_mlp(workload.layer_sizes) for _ in range(k)]
    xt, yt = torch.from_numpy(x), torch_targets(workload, y)
    generator = torch.Generator().manual_seed(0)

    def run(units: int) -> float:
        t0 = time.perf_counter()
        for _ in range(units):
            ensemble = TorchEnsemble(models, workload.loss_type)
            ensemble.train_epochs(xt, yt, epochs=epochs, batch_size=workload.batch_size, generator=generator)
        return time.perf_counter() - t0

    return Runner(run, k * epochs * workload.steps_per_epoch)


def torch_seq_runner(workload: Workload, x: np.ndarray, y: np.ndarray, *, epochs: int) -> Runner:
    """The tutorial's PyTorch loop, one new model per unit, trained ``epochs`` epochs."""

    def run(units: int) -> float:
        t0 = time.perf_counter()
        for _ in range(units):
            torch_runner(workload, x, y).run(epochs)
        return time.perf_counter() - t0

    return Runner(run, epochs * workload.steps_per_epoch)


def _devices_used(result: Any) -> dict[str, Any]:
    """How many devices ``train_many`` spread the models over, and which ones held them."""
    import jax

    leaf = jax.tree_util.tree_leaves(result.params)[0]
    held_on = sorted(str(d) for d in leaf.sharding.device_set)
    return {"devices": int(getattr(result, "devices", len(held_on))), "held_on": held_on}


def train_many_runner(workload: Workload, data: tuple, *, k: int, epochs: int) -> Runner:
    """One ``train_many`` call per unit: K models, ``epochs`` epochs, new keys each call."""
    import jax

    model = jnb.mlp(workload.layer_sizes, loss_type=workload.loss_type)
    counter = [0]
    extra: dict[str, Any] = {}

    def run(units: int) -> float:
        t0 = time.perf_counter()
        for _ in range(units):
            counter[0] += 1
            keys = jax.random.split(jax.random.key(counter[0]), k)
            res = jnb.train_many(model, data, keys=keys, epochs=epochs, batch_size=workload.batch_size)
            jax.block_until_ready(res.params)
        dt = time.perf_counter() - t0
        extra.update(_devices_used(res))
        return dt

    return Runner(run, k * epochs * workload.steps_per_epoch, extra=extra)


def train_model_seq_runner(workload: Workload, data: tuple, *, epochs: int) -> Runner:
    """One ``train_model`` run per unit (a new key: its own initialisation), ``epochs`` epochs."""
    import jax

    model = jnb.mlp(workload.layer_sizes, loss_type=workload.loss_type)
    counter = [0]

    def run(units: int) -> float:
        t0 = time.perf_counter()
        for _ in range(units):
            counter[0] += 1
            res = jnb.train_model(
                model,
                data,
                key=jax.random.key(counter[0]),
                epochs=epochs,
                learning_rate=LEARNING_RATE,
                batch_size=workload.batch_size,
            )
            jax.block_until_ready(res.params)
        return time.perf_counter() - t0

    return Runner(run, epochs * workload.steps_per_epoch)


def sweep_builders(
    workload: Workload, ks: Sequence[int], *, epochs: int, torch: bool
) -> dict[str, Callable[[], Runner]]:
    """The sweep's systems, by name (``train_many_8``, ..., ``torch_seq``), as runner factories."""
    import jax.numpy as jnp

    x, y = make_data(workload)
    data = (jnp.asarray(x), jnp.asarray(y))
    builders: dict[str, Callable[[], Runner]] = {}
    for k in ks:
        builders[f"train_many_{k}"] = partial(train_many_runner, workload, data, k=k, epochs=epochs)
        if torch:
            builders[f"torch_func_{k}"] = partial(torch_func_runner, workload, x, y, k=k, epochs=epochs)
    builders["train_model"] = partial(jnn_epoch_runner, workload, x, y)
    builders["train_model_seq"] = partial(train_model_seq_runner, workload, data, epochs=epochs)
    if torch:
        builders["torch_seq"] = partial(torch_seq_runner, workload, x, y, epochs=epochs)
    return builders


BASELINES: dict[str, str] = {
    "vs_train_model": "train_model",
    "vs_train_model_seq": "train_model_seq",
    "vs_torch_seq": "torch_seq",
}
"""Speed-up columns of the sweep and the system each is taken against (``vs_torch_func``: the
``torch_func`` system of the same K)."""


def _speedups(name: str, systems: dict[str, Any]) -> dict[str, Any]:
    """Speed-ups of system ``name`` (baseline time over its time, pair by pair) against the others."""
    us = systems[name]["us_per_model_step"]
    bases = dict(BASELINES)
    if name.startswith("train_many_"):
        bases["vs_torch_func"] = "torch_func_" + name.rsplit("_", 1)[1]
    out = {}
    for key, base in bases.items():
        if base != name and "us_per_model_step" in systems.get(base, {}):
            out[key] = paired_ratio(systems[base]["us_per_model_step"], us)
    return out


def bench_sweep(
    workload: Workload,
    ks: Sequence[int],
    *,
    repeats: int,
    target_s: float,
    epochs: int,
    torch: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Time the sweep's systems on ``workload`` for each K in ``ks`` (see the module's docstring).

    Args:
        workload: the workload (its MLP, batch, loss and data).
        ks: the numbers of models trained at once.
        repeats: interleaved rounds.
        target_s: about how long one timed run of each system should take.
        epochs: epochs each model trains, per unit of every system but ``train_model``.
        torch: time the PyTorch systems too.
        log: where progress lines go.

    Returns:
        ``{"workload", "ks", "epochs", "systems"}``: per system ``us_per_model_step`` (one value
        per round), its ``summary``, ``first_s``, ``units_per_run``, the speed-ups of
        :data:`BASELINES` (and ``vs_torch_func`` for ``train_many_K``), and for ``train_many_K``
        the ``devices`` it used and the devices that ``held_on`` its results; or ``{"error"}``.
    """
    builders = sweep_builders(workload, ks, epochs=epochs, torch=torch)
    cap = {n: SEQUENTIAL_MAX for n in ("train_model_seq", "torch_seq")}
    runners, systems = time_interleaved(
        builders, repeats=repeats, target_s=target_s, label=workload.name, log=log, max_units=cap
    )
    for name, runner in runners.items():
        res = systems[name]
        res["us_per_model_step"] = res.pop("us_per_step")
        res["summary"] = summarize(res["us_per_model_step"])
        res.update(runner.extra)
    for name in runners:
        systems[name].update(_speedups(name, systems))
    return {"workload": workload.as_dict(), "ks": list(ks), "epochs": epochs, "systems": systems}
