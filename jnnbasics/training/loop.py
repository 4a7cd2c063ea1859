"""``train_model``: the tutorial's training loop — a short loop of compiled epochs and callbacks."""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from .._checks import check_number, check_positive_int, fail
from .._types import Params, PRNGKey
from ..data import epoch_permutation
from ..distributed import check_same, global_inputs, is_primary, place, spans_processes
from ..models import Model
from ..state import TrainState
from .callbacks import EarlyStopping, ProgressCallback, as_callback
from .epoch import ModelForward, fresh_state, lr_for_epoch, run_epoch_jit, traced_hyperparams
from .history import DIVERGENCE_FACTOR, Loop, append_logs, divergence, epoch_logs
from .setup import RunSetup, check_model, prepare_run


class TrainResult(NamedTuple):
    """What :func:`train_model` returns.

    Attributes:
        params: final parameters (the best ones when early stopping restored them).
        state: the final ``TrainState`` (for resuming; its params are those at the last epoch run).
        history: per-epoch lists: ``train_loss``, ``val_loss`` (when validation data was given),
            ``lr``, ``train_objective`` (when a penalty is on), ``train_accuracy`` and
            ``val_accuracy`` (classification), ``epoch_time`` (seconds).
        stop_reason: ``"completed"``, ``"early_stopping"``, ``"diverged"`` or ``"callback"``.
        best_epoch: 1-based epoch of the lowest validation loss (None without validation data).
        diverged_epoch: 1-based epoch that diverged — a NaN/inf loss, or a training loss far above
            the reference (see ``divergence_factor``); None if training never diverged.
        best_params: the parameters at the end of ``best_epoch`` (None without validation data).
    """

    params: Params
    state: TrainState
    history: dict[str, list[float]]
    stop_reason: str = "completed"
    best_epoch: int | None = None
    diverged_epoch: int | None = None
    best_params: Params | None = None


def train_model(
    model: Model,
    train_data: tuple[Any, Any],
    val_data: tuple[Any, Any] | None = None,
    *,
    key: PRNGKey,
    epochs: int = 100,
    learning_rate: float = 1e-3,
    batch_size: int = 32,
    loss_type: str | None = None,
    schedule: str | Callable | None = None,
    schedule_options: dict | None = None,
    lambda_l1: float = 0.0,
    lambda_l2: float = 0.0,
    weight_decay: float = 0.0,
    shuffle: bool = True,
    params: Params | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    callbacks: Sequence[Any] = (),
    progress: bool = False,
    state: TrainState | None = None,
    start_epoch: int = 0,
    history: dict[str, list[float]] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    checkpoint_interval: float = 0.0,
    mesh: Any = None,
    process_local_data: bool = False,
    divergence_factor: float | None = DIVERGENCE_FACTOR,
) -> TrainResult:
    """Train ``model`` with Adam, the tutorial's loop, one compiled call per epoch.

    Each epoch: the training set in batches of ``batch_size`` (shuffled with a key derived from
    ``key`` and the epoch number, or in order with ``shuffle=False``; the last partial batch kept,
    like ``DataLoader(drop_last=False)``), one Adam step per batch, then the validation loss as the
    mean of per-batch losses over the validation set in batches of ``batch_size`` in its order —
    exactly the numbers the tutorial's PyTorch ``train_model`` records.

    Args:
        model: a :class:`Model` (``init``, ``apply``); ``model.loss_type`` is the default loss.
        train_data: ``(x, y)`` with ``x`` of shape (n, features) and ``y`` of shape (n,) or
            (n, outputs). For a one-output model ``y`` of shape (n,) is reshaped to (n, 1), and
            integer 0/1 labels become floats for the BCE losses; class labels for cross-entropy are
            integers in ``[0, outputs)`` (or probabilities of shape (n, outputs)).
        val_data: optional ``(x_val, y_val)`` of the same form.
        key: PRNG key; split once into init / dropout / shuffle keys (:func:`split_run_key`).
        epochs: number of epochs to run (in total, counting ``start_epoch``).
        learning_rate: Adam's base learning rate.
        batch_size: training (and validation) batch size.
        loss_type: one of ``LOSS_TYPES``; None uses ``model.loss_type`` or ``"mse"``.
        schedule: ``"step"`` (StepLR, step_size=30, gamma=0.1), ``"cosine"`` (CosineAnnealingLR,
            t_max=100), ``"constant"``/None, or an optax schedule of the optimizer step count.
            Torch's schedulers are stepped once per epoch; so are these.
        schedule_options: keyword arguments for the schedule, e.g. ``{"step_size": 10}``.
        lambda_l1: L1 penalty weight (tutorial's ``add_regularization``).
        lambda_l2: weight of the tutorial's unsquared L2 penalty.
        weight_decay: ``torch.optim.Adam``'s weight decay (L2 added to the gradient).
        shuffle: shuffle the training set each epoch.
        params: initial parameters; None initialises them with ``model.init(init_key)``.
        patience: stop when the validation loss has not improved for this many epochs (needs
            ``val_data``); None disables early stopping.
        restore_best: with ``patience``, return the parameters of the best epoch as ``params``.
        callbacks: :class:`~jnnbasics.training.Callback` objects (``on_train_begin``,
            ``on_epoch_end``, ``on_train_end``), or callables ``cb(epoch, logs, state)`` run after
            each epoch (1-based ``epoch``, ``logs`` the epoch's history entries); a callable
            returning True stops training.
        progress: show a progress bar on stderr (see :class:`jnnbasics.progress.ProgressBar`).
        state: a saved ``TrainState`` to resume from (with ``start_epoch`` and ``history``).
        start_epoch: number of epochs already run in ``state``.
        history: the history so far, extended in place of a copy.
        checkpoint_dir: a run folder for ``checkpoint.ckpt`` (see :mod:`jnnbasics.runs`), saved
            atomically every ``checkpoint_every`` epochs and whenever training ends — completed,
            stopped, diverged, or interrupted by Ctrl-C (the last finished epoch, labelled with its
            number). If the folder holds a checkpoint of this run, training resumes from it, and the
            result equals the uninterrupted run's; asking for more epochs extends it. A checkpoint
            of another run (other data, key, model or settings) is refused with a ValueError naming
            what differs, and so are fewer epochs than it holds; the file is left as it is. The
            folder is locked while training (a second process gets an error at once).
        checkpoint_every: save every this many epochs (the final epoch is always saved).
        checkpoint_interval: at least this many seconds between saves while training (0: none).
        mesh: a ``jax.sharding.Mesh`` with a ``"data"`` axis for data parallelism: each batch is
            sharded over it and parameters/optimizer state are replicated. ``batch_size`` must be
            divisible by the axis size (ValueError otherwise); the final partial batch is padded to
            a full batch with masked rows, so its size does not matter. In a multi-process run
            (``jnnbasics.distributed``) the mesh spans every process's devices; every process calls
            ``train_model`` with the same settings and key (checked: a mismatch is a ValueError
            naming the field and the process), parameters come back replicated (readable on every
            process), and only process 0 writes ``checkpoint_dir`` and draws progress.
        process_local_data: in a multi-process run, each process passes only its own rows (its
            shard of the data set, any number of rows); the rows are gathered in process order, so
            the run equals a one-process run on the concatenated data (the shuffle is one global
            permutation, like PyTorch's ``DistributedSampler`` with a shared seed). Every process
            then holds all rows: this is for data that fits one host. False: every process passes
            the whole data set (checked to be the same). Global ``jax.Array`` inputs are accepted
            either way.
        divergence_factor: an epoch whose training loss exceeds this many times the reference loss
            has diverged (default ``DIVERGENCE_FACTOR`` = 1e4; the reference is the larger of the
            first epoch's training loss — for the first epoch, the loss before training — and an
            uninformed prediction's loss, see :func:`jnnbasics.training.history.divergence`).
            None: only a NaN or infinite loss counts.

    Returns:
        A :class:`TrainResult` (``best_params``: the best validation epoch's). If an epoch diverges
        (a NaN or infinite loss, or a training loss above ``divergence_factor`` times the
        reference), training stops, a ``RuntimeWarning`` names the epoch and why,
        ``stop_reason == "diverged"``, ``diverged_epoch`` is that epoch, and the parameters of the
        last good epoch are returned (and saved to ``checkpoint_dir``) — nothing learned before is lost.

    Raises:
        ValueError / TypeError: bad data or arguments, before any compilation.

    Example:
        >>> x, y = make_moons(jax.random.key(0), 400, noise=0.1)
        >>> model, loss = select_architecture(2, 1, "binary")
        >>> result = train_model(model, (x[:320], y[:320]), (x[320:], y[320:]), key=jax.random.key(1), epochs=50)
        >>> result.history["val_loss"][-1]
    """
    check_model("train_model", model)  # before model.apply is read below
    multi = jax.process_count() > 1
    if multi:
        train_data, val_data = global_inputs("train_model", train_data, val_data, local=process_local_data)
    setup = prepare_run(
        "train_model",
        model,
        train_data,
        val_data,
        key=key,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        loss_type=loss_type,
        schedule=schedule,
        schedule_options=schedule_options,
        lambda_l1=lambda_l1,
        lambda_l2=lambda_l2,
        weight_decay=weight_decay,
        shuffle=shuffle,
        params=params,
        forward=ModelForward(model.apply),
        penalize=bool(lambda_l1 or lambda_l2),
        mesh=mesh,
        state=state,
    )
    _check_loop_options(patience, val_data, start_epoch, epochs, history, checkpoint_every, divergence_factor)
    hp = traced_hyperparams(
        {
            "learning_rate": learning_rate,
            "weight_decay": weight_decay,
            "lambda_l1": lambda_l1,
            "lambda_l2": lambda_l2,
            "dropout_rate": model.dropout_rate,
        },
        setup.dtype,
    )
    if multi:
        _check_processes(setup, key, epochs, start_epoch, params, hp)
    if state is None:
        init = params if params is not None else model.init(setup.init_key)
        state = fresh_state(init, setup.dropout_key if model.needs_key() else None, hp, cfg=setup.cfg)
    loop = Loop(state=state, history=history if history is not None else {}, epochs=epochs, epoch=start_epoch)
    loop.best_from_history()
    cbs = [as_callback(cb) for cb in callbacks]
    if patience is not None:
        cbs.append(EarlyStopping(patience))
    if progress and is_primary():
        cbs.append(ProgressCallback(epochs))
    rules = _Rules(learning_rate, restore_best and patience is not None, divergence_factor)
    if checkpoint_dir is None:
        return _run(loop, setup, hp, cbs, rules)
    return _run_in_folder(
        checkpoint_dir, model, setup, hp, params, loop, cbs, rules, checkpoint_every, checkpoint_interval
    )


class _Rules(NamedTuple):
    """How the loop runs: the base learning rate (for the history), restoring the best, divergence."""

    learning_rate: Any
    restore_best: bool
    divergence_factor: float | None


def _check_loop_options(
    patience, val_data, start_epoch, epochs, history, checkpoint_every, divergence_factor
) -> None:
    if patience is not None:
        check_positive_int("train_model", "patience", patience)
        if val_data is None:
            fail("train_model", "patience", "used together with val_data", "no val_data")
    if isinstance(start_epoch, bool) or not isinstance(start_epoch, (int, np.integer)):
        fail("train_model", "start_epoch", "an integer", repr(start_epoch), exc=TypeError)
    if start_epoch < 0 or start_epoch > epochs:
        fail("train_model", "start_epoch", f"in [0, epochs={epochs}]", start_epoch)
    if history is not None and not isinstance(history, dict):
        fail(
            "train_model",
            "history",
            "a dict of per-epoch lists (a TrainResult's .history)",
            type(history).__name__,
            exc=TypeError,
        )
    check_positive_int("train_model", "checkpoint_every", checkpoint_every)
    if divergence_factor is not None:
        factor = check_number("train_model", "divergence_factor", divergence_factor)
        if factor <= 1:
            fail("train_model", "divergence_factor", "a finite number > 1 or None", repr(divergence_factor))


def _run_in_folder(folder, model, setup, hp, params, loop, cbs, rules, every, interval) -> TrainResult:
    """:func:`_run` with the run checkpoint first among the callbacks, the folder locked."""
    from ..runs import run_lock
    from .checkpointing import RunCheckpoint, fingerprint

    ckpt = RunCheckpoint(folder, fingerprint(model, setup, hp, params), every=every, interval=interval)
    with run_lock(folder) if is_primary() else contextlib.nullcontext():  # one writer: process 0
        return _run(loop, setup, hp, [ckpt, *cbs], rules)


def _check_processes(setup: RunSetup, key, epochs, start_epoch, params, hp) -> None:
    """Every process of a multi-process run must run the same run (else a ValueError, not a hang)."""
    cfg = setup.cfg
    settings = (cfg.loss_type, cfg.batch_size, cfg.shuffle, str(cfg.schedule), cfg.schedule_options, epochs)
    check_same(
        "train_model",
        {
            "settings (loss_type, batch_size, shuffle, schedule, epochs)": settings,
            "hyperparameters": hp,
            "key": key,
            "start_epoch": start_epoch,
            "params": params,
            "train_data": (setup.x, setup.y),
            "val_data": (setup.xv, setup.yv),
        },
    )


def _run(loop: Loop, setup: RunSetup, hp: dict, callbacks: list, rules: _Rules) -> TrainResult:
    """Run ``loop`` to its end: callbacks begin, epochs, callbacks end (also on any exception)."""
    try:
        for cb in callbacks:
            cb.on_train_begin(loop)
        if jax.process_count() > 1:  # e.g. a checkpoint that only some processes can read
            check_same("train_model", {"epochs done (from checkpoint_dir)": loop.epoch})
        if setup.cfg.mesh is not None:
            hp = _replicate(loop, hp, setup.cfg.mesh)
        orders = EpochOrders(setup)
        while loop.epoch < loop.epochs and not loop.stopped:
            logs = _one_epoch(loop, setup, hp, rules, orders)
            if logs is None:
                break
            for cb in callbacks:
                if cb.on_epoch_end(loop, logs) and not loop.stopped:
                    loop.stop("callback")
    finally:
        for cb in callbacks:
            cb.on_train_end(loop)
    final = (
        loop.best_params
        if (rules.restore_best and loop.stop_reason == "early_stopping" and loop.best_params is not None)
        else loop.state.params
    )
    return TrainResult(
        final,
        loop.state,
        loop.history,
        loop.stop_reason,
        loop.best_epoch,
        loop.diverged_epoch,
        loop.best_params,
    )


class EpochOrders:
    """Each epoch's sample order (``epoch_permutation``), the next one made while the device runs.

    The epoch is dispatched asynchronously; computing the next epoch's order before waiting for its
    metrics hides that host work (~50 µs for 2048 rows) behind the compiled epoch.
    """

    def __init__(self, setup: RunSetup):
        self._setup = setup
        self._ready: dict[int, np.ndarray] = {}

    def get(self, epoch: int) -> np.ndarray:
        """The order of 0-based ``epoch`` (made now unless :meth:`prepare` made it)."""
        if epoch in self._ready:
            return self._ready.pop(epoch)
        cfg = self._setup.cfg
        return epoch_permutation(
            self._setup.shuffle_key, self._setup.x.shape[0], shuffle=cfg.shuffle, epoch=epoch
        )

    def prepare(self, epoch: int) -> None:
        """Make the order of ``epoch`` now, for a later :meth:`get` (only the latest is kept)."""
        self._ready = {epoch: self.get(epoch)}


def _one_epoch(
    loop: Loop, setup: RunSetup, hp: dict, rules: _Rules, orders: EpochOrders
) -> dict[str, float] | None:
    """Train epoch ``loop.epoch + 1``; its history row, or None (and a warning) if it diverged."""
    t0 = time.perf_counter()
    cfg, n_train = setup.cfg, setup.x.shape[0]
    perm = orders.get(loop.epoch)
    new_state, pending = run_epoch_jit(loop.state, setup.x, setup.y, setup.xv, setup.yv, perm, hp, cfg=cfg)
    if loop.epoch + 1 < loop.epochs:
        orders.prepare(loop.epoch + 1)  # while the device runs this epoch
    m = pending.fetch()
    why = divergence(m, loop.history, setup.baseline, rules.divergence_factor)
    if why is not None:  # keep loop.state: the end of the last good epoch
        loop.diverged_epoch = loop.epoch + 1
        loop.stop("diverged")
        warnings.warn(
            f"train_model: {why} in epoch {loop.diverged_epoch}; training stopped (diverged) and the "
            f"parameters from the end of epoch {loop.epoch} (the last good ones) are kept. "
            "Lower the learning rate or check the data.",
            RuntimeWarning,
            stacklevel=4,
        )
        return None
    n_val = setup.xv.shape[0] if setup.xv is not None else 0
    logs = epoch_logs(
        m,
        lr=lr_for_epoch(cfg, rules.learning_rate, loop.epoch),
        n_train=n_train,
        n_val=n_val,
        penalize=cfg.penalize,
        classifies=cfg.classifies,
    )
    logs["epoch_time"] = time.perf_counter() - t0
    loop.state, loop.epoch = new_state, loop.epoch + 1
    append_logs(loop.history, logs)
    if n_val:
        loop.track_best(logs["val_loss"])
    return logs


def _replicate(loop: Loop, hp: dict, mesh: Any) -> dict:
    """Place the loop's state (and best parameters) and ``hp`` replicated over ``mesh``."""
    from jax.sharding import NamedSharding, PartitionSpec

    replicated = NamedSharding(mesh, PartitionSpec())
    # device_put refuses a sharding over other processes' devices (and typed keys there): a jitted
    # identity places the same values on every process instead
    put = (
        (lambda t: place(t, replicated))
        if spans_processes(mesh)
        else (lambda t: jax.device_put(t, replicated))
    )
    loop.state = put(loop.state)
    if loop.best_params is not None:
        loop.best_params = put(loop.best_params)
    return put(hp)
