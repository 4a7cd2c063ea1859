"""``train_many`` (many models trained at once) against the same models trained one by one."""

from __future__ import annotations

import gc
import time
from typing import Any

import jnnbasics as jnb

from .timing import paired_ratio, summarize
from .workloads import Workload, make_data


def _train_many_seconds(
    model: jnb.Model, data: tuple, workload: Workload, *, n_models: int, epochs: int, seed: int
) -> float:
    """Wall time of one ``train_many`` call on ``n_models`` models."""
    import jax

    t0 = time.perf_counter()
    res = jnb.train_many(
        model,
        data,
        keys=jax.random.split(jax.random.key(seed), n_models),
        epochs=epochs,
        batch_size=workload.batch_size,
    )
    jax.block_until_ready(res.params)
    return time.perf_counter() - t0


def _sequential_seconds(
    model: jnb.Model, data: tuple, workload: Workload, *, n_models: int, epochs: int, seed: int, count: int
) -> float:
    """Wall time of ``count`` ``train_model`` calls in a row, scaled to ``n_models`` calls."""
    import jax

    t0 = time.perf_counter()
    for k in range(count):
        res = jnb.train_model(
            model,
            data,
            key=jax.random.fold_in(jax.random.key(seed), k),
            epochs=epochs,
            batch_size=workload.batch_size,
        )
        jax.block_until_ready(res.params)
    return (time.perf_counter() - t0) * (n_models / count)


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
    import jax.numpy as jnp

    x, y = make_data(workload)
    data = (jnp.asarray(x), jnp.asarray(y))
    model = jnb.mlp(workload.layer_sizes, loss_type=workload.loss_type)
    model_steps = n_models * epochs * workload.steps_per_epoch
    kw = {"n_models": n_models, "epochs": epochs}
    count = n_models if sequential == "measured" else 1
    first_many = _train_many_seconds(model, data, workload, seed=0, **kw)
    _sequential_seconds(model, data, workload, seed=0, count=count, **kw)
    m_us, s_us = [], []
    for r in range(1, repeats + 1):
        gc.collect()
        m_us.append(_train_many_seconds(model, data, workload, seed=r, **kw) / model_steps * 1e6)
        gc.collect()
        s_us.append(_sequential_seconds(model, data, workload, seed=r, count=count, **kw) / model_steps * 1e6)
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
