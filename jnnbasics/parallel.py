"""Many models at once: ``train_many`` (``jax.vmap`` over K models) and ``tune_hyperparameters``.

K models of one architecture that differ only in numbers — seed, learning rate, weight decay, L1/L2
strength, dropout rate — train in one compiled program: the same epoch function as
``train_model`` (``jnnbasics.training.run_epoch``), vmapped over the model axis. Each model gets
exactly the keys, batches and updates that ``train_model(..., key=keys[k])`` would give it, so the
results agree with K separate runs. The model axis is sharded over a ``"model"`` mesh: by default
over this process's devices (several CPU devices after :func:`jnnbasics.devices.use_cpu_cores`,
otherwise one device and no mesh), with K padded to a multiple of the mesh's size.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_positive_int, fail
from ._keys import split_run_key
from ._types import Params, PRNGKey
from .data import epoch_permutation, key_bits
from .distributed import check_same, place, spans_processes
from .models import Model
from .state import TrainState, create_train_state
from .training import (
    HYPERPARAMS,
    MLPForward,
    ModelForward,
    append_logs,
    build_optimizer,
    epoch_logs,
    known_compiler_options,
    lr_for_epoch,
    prepare_run,
    run_epoch,
    traced_hyperparams,
)

NUMERIC_HYPERPARAMS = HYPERPARAMS


class ManyResult(NamedTuple):
    """What :func:`train_many` returns.

    Attributes:
        params: parameters stacked over the model axis (every leaf has a leading axis of size K).
        state: the stacked final ``TrainState``.
        histories: one history dict per model (same keys as ``train_model``'s).
        diverged_epoch: per model, the 1-based epoch whose loss was NaN/inf, or None.
        devices: how many devices the models were spread over (the size of the ``"model"`` mesh
            axis; 1 without a mesh).
    """

    params: Params
    state: TrainState
    histories: list[dict[str, list[float]]]
    diverged_epoch: list[int | None]
    devices: int = 1


def unstack(tree: Any, k: int) -> Any:
    """Model ``k``'s slice of a pytree stacked over a leading model axis."""
    return jax.tree_util.tree_map(lambda a: a[k], tree)


@partial(jax.jit, static_argnames=("cfg", "init_fn"))
def _init_states(init_keys, dropout_keys, hps, *, cfg, init_fn):
    """K initial TrainStates in one compiled call (cached across calls: cfg and init_fn are values)."""

    def init_one(init_key, dropout_key, hp):
        return create_train_state(init_fn(init_key), build_optimizer(cfg, hp), key=dropout_key)

    return jax.vmap(init_one)(init_keys, dropout_keys, hps)


def _many_epoch(states, active, x, y, xv, yv, perms, hps, *, cfg):
    def one(state, act, perm, hp):
        new, m = run_epoch(state, x, y, xv, yv, perm, hp, cfg=cfg)
        keep = act & m["finite"]  # a frozen or diverging model keeps its last finite state
        new = jax.tree_util.tree_map(lambda a, b: jnp.where(keep, a, b), new, state)
        return new, m

    return jax.vmap(one)(states, active, perms, hps)


_many_epoch_jit = jax.jit(_many_epoch, static_argnames=("cfg",), donate_argnums=(0,))


@functools.cache
def _many_epoch_fast_jit():
    return jax.jit(
        _many_epoch, static_argnames=("cfg",), donate_argnums=(0,), compiler_options=known_compiler_options()
    )


def _hyperparam_arrays(func: str, hyperparams: Any, k: int, model: Model) -> dict[str, np.ndarray]:
    """Normalise ``hyperparams`` (a dict of per-model sequences or scalars, or a list of dicts)."""
    if isinstance(hyperparams, Sequence) and not isinstance(hyperparams, (str, bytes)):
        if len(hyperparams) != k:
            fail(func, "hyperparams", f"a list of {k} dicts (one per key)", f"{len(hyperparams)} entries")
        names = set().union(*(h.keys() for h in hyperparams))
        hyperparams = {n: [h.get(n, _default(n, model)) for h in hyperparams] for n in names}
    if not isinstance(hyperparams, Mapping):
        fail(
            func,
            "hyperparams",
            "a dict of name -> per-model values, or a list of dicts",
            type(hyperparams).__name__,
            exc=TypeError,
        )
    unknown = set(hyperparams) - set(NUMERIC_HYPERPARAMS)
    if unknown:
        fail(func, "hyperparams", "keys among " + ", ".join(NUMERIC_HYPERPARAMS), sorted(unknown))
    out = {}
    for name in NUMERIC_HYPERPARAMS:
        v = np.asarray(hyperparams.get(name, _default(name, model)), dtype=np.float64)
        if v.ndim == 0:
            v = np.full(k, float(v))
        if v.shape != (k,):
            fail(func, f"hyperparams[{name!r}]", f"a scalar or {k} values (one per key)", f"shape {v.shape}")
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            fail(func, f"hyperparams[{name!r}]", "finite values >= 0", v.tolist())
        out[name] = v
    if np.any(out["learning_rate"] <= 0):
        fail(func, "hyperparams['learning_rate']", "positive values", out["learning_rate"].tolist())
    if np.any(out["dropout_rate"] >= 1):
        fail(func, "hyperparams['dropout_rate']", "values in [0, 1)", out["dropout_rate"].tolist())
    return out


def _default(name: str, model: Model) -> float:
    return {"learning_rate": 1e-3, "dropout_rate": model.dropout_rate}.get(name, 0.0)


def train_many(
    model: Model,
    train_data: tuple[Any, Any],
    val_data: tuple[Any, Any] | None = None,
    *,
    keys: PRNGKey,
    hyperparams: Mapping[str, Any] | Sequence[Mapping[str, float]] | None = None,
    epochs: int = 100,
    batch_size: int = 32,
    loss_type: str | None = None,
    schedule: str | Callable | None = None,
    schedule_options: dict | None = None,
    shuffle: bool = True,
    mesh: Any = "auto",
) -> ManyResult:
    """Train K models of one architecture at once, in one compiled program per epoch.

    Model ``k`` is trained exactly as ``train_model(model_k, ..., key=keys[k], learning_rate=...,
    lambda_l1=..., ...)`` would train it (same init, dropout masks, batches and updates), where
    ``model_k`` is ``model`` with dropout rate ``hyperparams["dropout_rate"][k]``.

    Args:
        model: a ``Model``; to vary ``dropout_rate`` it must be an MLP from ``mlp``/``dropout_mlp``/
            ``simple_nn`` (its ``layer_sizes`` and ``activation`` are used).
        train_data: ``(x, y)`` shared by all models, as for ``train_model``.
        val_data: optional ``(x_val, y_val)``.
        keys: K PRNG keys, shape (K,) for typed keys (``jax.random.split(key, K)``) or (K, 2) raw.
        hyperparams: per-model numbers: a dict mapping names among ``learning_rate``,
            ``weight_decay``, ``lambda_l1``, ``lambda_l2``, ``dropout_rate`` to K values (or one
            value for all), or a list of K dicts. Missing names take ``train_model``'s defaults.
        epochs, batch_size, loss_type, schedule, schedule_options, shuffle: as for ``train_model``.
        mesh: where the K models train. ``"auto"`` (default): sharded over this process's devices
            when it has several (:func:`model_mesh`; one CPU device per core needs
            :func:`jnnbasics.devices.use_cpu_cores` before JAX starts), else on the default device.
            A ``jax.sharding.Mesh`` with a ``"model"`` axis: sharded over that axis. None: the
            default device. When K does not divide by the axis size, the spare places hold copies
            of the last model, computed along and dropped from the result.

    Returns:
        A :class:`ManyResult` with parameters stacked over the model axis, one history per model
        and the number of devices used. A model whose loss becomes NaN/inf is frozen at its last
        finite parameters and its history ends there (``diverged_epoch[k]``); the others go on.
    """
    func = "train_many"
    keys = jnp.asarray(keys) if not isinstance(keys, jax.Array) else keys
    k = keys.shape[0] if keys.ndim >= 1 else 0
    if k == 0:
        fail(func, "keys", "a batch of K >= 1 PRNG keys (jax.random.split(key, K))", f"shape {keys.shape}")
    hp_np = _hyperparam_arrays(func, hyperparams or {}, k, model)
    mesh = _resolve_mesh(func, mesh, k)
    size = mesh.shape["model"] if mesh is not None else 1
    keys, hp_np = _pad_models(keys, hp_np, -(-k // size) * size - k)
    setup = prepare_run(
        func,
        model,
        train_data,
        val_data,
        key=keys[0],
        epochs=epochs,
        learning_rate=1.0,
        batch_size=batch_size,
        loss_type=loss_type,
        schedule=schedule,
        schedule_options=schedule_options,
        lambda_l1=0.0,
        lambda_l2=0.0,
        weight_decay=0.0,
        shuffle=shuffle,
        params=None,
        forward=_many_forward(func, model, hp_np),
        penalize=bool(np.any(hp_np["lambda_l1"]) or np.any(hp_np["lambda_l2"])),
    )
    hps = traced_hyperparams(hp_np, setup.dtype)
    if jax.process_count() > 1:
        _check_processes(func, keys, hp_np, setup, epochs)
    init_keys, dropout_keys, shuffle_keys = jax.vmap(split_run_key)(keys)
    use_key = model.needs_key() or bool(np.any(hp_np["dropout_rate"] > 0))
    states = _init_states(
        init_keys, dropout_keys if use_key else None, hps, cfg=setup.cfg, init_fn=model.init
    )
    place = partial(_shard_models, mesh) if mesh is not None else (lambda *t: t)
    states, hps = place(states, hps)
    states, histories, diverged = _train_epochs(
        states,
        hps,
        setup,
        key_bits(shuffle_keys),
        hp_np["learning_rate"],
        k=k,
        epochs=epochs,
        place=place,
        mesh=mesh,
    )
    if keys.shape[0] > k:  # drop the padding copies
        states = jax.tree_util.tree_map(lambda a: a[:k], states)
    return ManyResult(states.params, states, histories, diverged, size)


def _check_processes(func: str, keys, hp_np, setup, epochs: int) -> None:
    """Every process of a multi-process run must train the same models on the same data."""
    cfg = setup.cfg
    check_same(
        func,
        {
            "keys": keys,
            "hyperparams": hp_np,
            "train_data": (setup.x, setup.y),
            "val_data": (setup.xv, setup.yv),
            "settings (epochs, batch_size, loss, schedule)": (
                epochs,
                cfg.batch_size,
                cfg.loss_type,
                str(cfg.schedule),
            ),
        },
    )


def _train_epochs(states, hps, setup, shuffle_seeds, learning_rates, *, k, epochs, place, mesh=None):
    """The epoch loop of :func:`train_many`: ``(states, histories, diverged)`` of the first k models.

    ``shuffle_seeds`` has one row of host key words per model, padding included; the models past
    the first k are padding: they stay frozen and are not recorded.
    """
    k_run = shuffle_seeds.shape[0]
    histories: list[dict[str, list[float]]] = [{} for _ in range(k)]
    diverged: list[int | None] = [None] * k
    (active,) = place(jnp.arange(k_run) < k)
    n = setup.x.shape[0]
    for epoch in range(epochs):
        (perms,) = place(
            np.stack([epoch_permutation(s, n, shuffle=setup.cfg.shuffle, epoch=epoch) for s in shuffle_seeds])
        )
        compiled = _many_epoch_fast_jit() if setup.cfg.fast else _many_epoch_jit
        states, m = compiled(states, active, setup.x, setup.y, setup.xv, setup.yv, perms, hps, cfg=setup.cfg)
        _record(_to_host(m, mesh), epoch, setup, learning_rates, histories, diverged)
        if any(d is not None for d in diverged):
            (active,) = place(jnp.asarray([d is None for d in diverged] + [False] * (k_run - k)))
        if all(d is not None for d in diverged):
            break
    return states, histories, diverged


def model_mesh(k: int, devices: Sequence[Any] | None = None) -> Any:
    """The ``"model"`` mesh ``train_many`` uses by default for K models, or None for one device.

    It takes as few of ``devices`` as give each the fewest models: ``ceil(K / len(devices))``
    models per device on ``ceil(K / per_device)`` devices (K=9 on 2 devices: 5 + 5, one padding
    copy; K=65 on 16: 5 each on 13 devices, no padding).

    Args:
        k: the number of models, K >= 1.
        devices: the devices to use (default: ``jax.local_devices()``, this process's).

    Returns:
        A one-axis ``jax.sharding.Mesh`` named ``"model"``, or None when it would hold one device.
    """
    k = check_positive_int("model_mesh", "k", k)
    devices = list(jax.local_devices() if devices is None else devices)
    if not devices:
        fail("model_mesh", "devices", "at least one device", "none")
    per_device = -(-k // len(devices))
    used = -(-k // per_device)
    if used <= 1:
        return None
    from jax.sharding import Mesh

    return Mesh(np.array(devices[:used]), ("model",))


def _resolve_mesh(func: str, mesh: Any, k: int) -> Any:
    """The mesh to shard K models over (None for the default device), checked."""
    if isinstance(mesh, str) and mesh == "auto":
        return model_mesh(k)
    if mesh is None:
        return None
    if "model" not in getattr(mesh, "axis_names", ()):
        fail(
            func,
            "mesh",
            '"auto", None or a jax.sharding.Mesh with a "model" axis',
            f"axes {mesh.axis_names}" if hasattr(mesh, "axis_names") else repr(mesh),
        )
    return mesh


def _pad_models(keys: jax.Array, hp_np: dict[str, np.ndarray], pad: int):
    """Append ``pad`` copies of the last model's key and hyperparameters."""
    if pad == 0:
        return keys, hp_np
    keys = jnp.concatenate([keys, jnp.repeat(keys[-1:], pad, axis=0)])
    return keys, {n: np.concatenate([v, np.repeat(v[-1:], pad)]) for n, v in hp_np.items()}


def _many_forward(func: str, model: Model, hp_np: dict[str, np.ndarray]):
    """The epoch's forward: the model's own, or an MLP whose dropout rate is a traced hyperparameter."""
    if not (np.any(hp_np["dropout_rate"] != model.dropout_rate) or model.dropout_rate):
        return ModelForward(model.apply)
    if not model.layer_sizes:
        fail(func, "model", "an MLP (with layer_sizes) to vary dropout_rate", "a model without layer_sizes")
    return MLPForward(model.activation)


def _record(m: dict, epoch: int, setup, learning_rates, histories: list, diverged: list) -> None:
    """Append each still-training model's epoch to its history; mark models whose loss diverged."""
    cfg = setup.cfg
    n_train, n_val = setup.x.shape[0], (setup.xv.shape[0] if setup.xv is not None else 0)
    for i, history in enumerate(histories):
        if diverged[i] is not None:
            continue
        if not m["finite"][i]:
            diverged[i] = epoch + 1
            continue
        lr = lr_for_epoch(cfg, float(learning_rates[i]), epoch)
        row = {name: v[i] for name, v in m.items()}
        logs = epoch_logs(
            row, lr=lr, n_train=n_train, n_val=n_val, penalize=cfg.penalize, classifies=cfg.classifies
        )
        append_logs(history, logs)


def _shard_models(mesh: Any, *trees: Any) -> tuple:
    """``trees`` with their leading (model) axis split over the mesh's ``"model"`` axis."""
    from jax.sharding import NamedSharding, PartitionSpec

    sharding = NamedSharding(mesh, PartitionSpec("model"))
    if spans_processes(mesh):  # device_put refuses other processes' devices: every process places its copy
        return tuple(place(t, sharding) for t in trees)
    return tuple(jax.device_put(t, sharding) for t in trees)


def _to_host(m: Any, mesh: Any) -> Any:
    """Per-model metrics on the host (gathered from every process when the models span processes)."""
    if spans_processes(mesh):
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(m, tiled=True)
    return jax.device_get(m)


# --------------------------------------------------------------------------------------------
# Hyperparameter tuning
# --------------------------------------------------------------------------------------------
TRAINING_SHAPE_SETTINGS = ("batch_size", "epochs", "schedule")


def expand_grid(
    param_grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """A list of settings: a dict of lists becomes its Cartesian product; a list of dicts is kept.

    Example:
        >>> expand_grid({"learning_rate": [1e-3, 1e-2], "hidden": [(32,), (64, 32)]})  # 4 settings
    """
    if isinstance(param_grid, Mapping):
        names = list(param_grid)
        values = [list(v) if isinstance(v, (list, tuple)) else [v] for v in param_grid.values()]
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]
    return [dict(p) for p in param_grid]


def tune_hyperparameters(
    model_fn: Callable[..., Model],
    param_grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    train_data: tuple[Any, Any],
    val_data: tuple[Any, Any],
    *,
    key: PRNGKey,
    epochs: int = 100,
    batch_size: int = 32,
    loss_type: str | None = None,
    schedule: str | Callable | None = None,
    shuffle: bool = True,
    mesh: Any = "auto",
) -> list[dict[str, Any]]:
    """The tutorial's grid search, with settings that share shapes trained together.

    Each setting is a dict. Its keys among ``learning_rate``, ``weight_decay``, ``lambda_l1``,
    ``lambda_l2``, ``dropout_rate`` and ``seed`` only change numbers: settings that differ only in
    those are trained together by :func:`train_many`. Keys ``batch_size``, ``epochs`` and
    ``schedule`` override the arguments of the same name. Every other key is passed to
    ``model_fn(**kwargs)`` (e.g. layer sizes); settings are grouped by these and by the training
    shape settings, and each group is compiled once.

    Args:
        model_fn: builds a ``Model`` from the model keys of a setting (e.g. ``lambda hidden: mlp(...)``).
        param_grid: a dict of lists (its product) or a list of setting dicts, as in the tutorial.
        train_data: ``(x, y)``, as for ``train_model`` (the tutorial passed loaders; we take arrays).
        val_data: ``(x_val, y_val)``; the ranking uses the final validation loss.
        key: base PRNG key; a setting's key is ``jax.random.fold_in(key, seed)``, or ``key`` itself
            for seed 0 (the default): then the setting trains as ``train_model(key=key)`` does.
        epochs, batch_size, loss_type, schedule, shuffle: defaults for every setting.
        mesh: ``"auto"`` (each group spread over this process's devices when there are several),
            None (the default device) or a Mesh with a ``"model"`` axis; passed to ``train_many``.

    Returns:
        A list of ``{"params": setting, "final_loss": float, "history": dict, "trained_params": ...,
        "devices": int}`` sorted by ``final_loss``, best first (a diverged setting has
        ``final_loss = inf``; ``devices`` is how many devices its group was spread over).

    Raises:
        ValueError: for an empty grid, a missing ``val_data``, or a setting key that is neither a
            training setting nor an argument of ``model_fn`` (a typo such as ``learning_rat``).
    """
    func = "tune_hyperparameters"
    settings = expand_grid(param_grid)
    if not settings:
        fail(func, "param_grid", "at least one setting", "an empty grid")
    if val_data is None:
        fail(func, "val_data", "an (x_val, y_val) pair (the ranking uses validation loss)", None)
    _check_setting_names(func, model_fn, settings)
    results: list[dict[str, Any]] = []
    for (model_kw, train_kw), idx in _shape_groups(settings).items():
        model = model_fn(**{n: settings[idx[0]][n] for n, _ in model_kw})
        tkw = {"epochs": epochs, "batch_size": batch_size, "schedule": schedule}
        tkw.update({n: settings[idx[0]][n] for n, _ in train_kw})
        keys = jnp.stack([_setting_key(key, int(settings[i].get("seed", 0))) for i in idx])
        hps = [{n: settings[i][n] for n in NUMERIC_HYPERPARAMS if n in settings[i]} for i in idx]
        res = train_many(
            model, train_data, val_data, keys=keys, hyperparams=hps, loss_type=loss_type, shuffle=shuffle,
            mesh=mesh, **tkw,
        )  # fmt: skip
        results += [_tune_result(settings[i], res, j) for j, i in enumerate(idx)]
    return sorted(results, key=lambda r: r["final_loss"])


def _setting_key(key: PRNGKey, seed: int) -> PRNGKey:
    """A setting's key: ``key`` for seed 0 (as ``train_model(key=key)``), else ``fold_in(key, seed)``."""
    return key if seed == 0 else jax.random.fold_in(key, seed)


_NUMERIC_SETTINGS = (*NUMERIC_HYPERPARAMS, "seed")


def _shape_groups(settings: list[dict[str, Any]]) -> dict[tuple, list[int]]:
    """Setting indices grouped by their model keys and training shape settings (one compile each)."""
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(settings):
        shaped = [(n, _hashable(v)) for n, v in s.items() if n not in _NUMERIC_SETTINGS]
        model_kw = tuple(sorted(nv for nv in shaped if nv[0] not in TRAINING_SHAPE_SETTINGS))
        train_kw = tuple(sorted(nv for nv in shaped if nv[0] in TRAINING_SHAPE_SETTINGS))
        groups.setdefault((model_kw, train_kw), []).append(i)
    return groups


def _tune_result(setting: dict[str, Any], res: ManyResult, j: int) -> dict[str, Any]:
    hist = res.histories[j]
    final = hist["val_loss"][-1] if res.diverged_epoch[j] is None and hist.get("val_loss") else math.inf
    return {
        "params": setting,
        "final_loss": float(final),
        "history": hist,
        "trained_params": unstack(res.params, j),
        "devices": res.devices,
    }


def _check_setting_names(func: str, model_fn: Callable, settings: list[dict[str, Any]]) -> None:
    """Every setting key is a training setting or a keyword ``model_fn`` accepts (before any training)."""
    try:
        params = inspect.signature(model_fn).parameters.values()
    except (TypeError, ValueError):  # no signature to read (some builtins): model_fn will say
        return
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    model_args = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    known = [*_NUMERIC_SETTINGS, *TRAINING_SHAPE_SETTINGS, *model_args]
    for name in dict.fromkeys(n for s in settings for n in s):
        if name not in known:
            close = difflib.get_close_matches(str(name), known, n=1)
            fail(
                func,
                f"param_grid key {name!r}",
                "a training setting (" + ", ".join((*_NUMERIC_SETTINGS, *TRAINING_SHAPE_SETTINGS)) + ") "
                "or an argument of model_fn (" + (", ".join(model_args) or "none") + ")",
                repr(name),
                hint=f"did you mean {close[0]!r}?" if close else "",
            )


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(u) for u in v)
    if isinstance(v, dict):
        return tuple(sorted((a, _hashable(b)) for a, b in v.items()))
    return v


__all__ = [
    "ManyResult",
    "MLPForward",
    "NUMERIC_HYPERPARAMS",
    "expand_grid",
    "model_mesh",
    "train_many",
    "tune_hyperparameters",
    "unstack",
]
