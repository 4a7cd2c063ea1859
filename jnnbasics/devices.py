"""One CPU device per core, so that a sweep (``train_many``) can spread its models over every core.

XLA:CPU shows a machine as one device by default, and the small batched matmuls of a vmapped
sweep then run on one core. JAX can show the CPU as several devices instead, but only if it is
told before its backend starts (the first computation, not the import): :func:`use_cpu_cores` is
that one line. ``jnnbasics tune`` calls it; ``train_many`` and ``tune_hyperparameters`` then spread
their models over the devices by themselves. On a GPU or TPU the setting only concerns the CPU
backend, which the computations do not use, so nothing changes there.
"""

from __future__ import annotations

import os
import re

import jax

from ._checks import check_positive_int

_FORCE_FLAG = re.compile(r"--xla_force_host_platform_device_count=(\d+)")


def cpu_cores() -> int:
    """The number of CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def use_cpu_cores(n: int | None = None) -> int:
    """Ask JAX for ``n`` CPU devices (default: one per core) before its backend starts.

    Call it right after the imports, before the first JAX computation. It changes nothing (and
    raises nothing) when the choice is no longer open or was made by the user: when the backend
    already runs, when ``jax_num_cpu_devices`` is already set, or when ``XLA_FLAGS`` holds
    ``--xla_force_host_platform_device_count``.

    Args:
        n: the number of CPU devices; None for :func:`cpu_cores`.

    Returns:
        The number of CPU devices JAX has or will have.

    Raises:
        ValueError: if ``n`` is not a positive integer.

    Example:
        >>> from jnnbasics.devices import use_cpu_cores
        >>> use_cpu_cores()  # doctest: +SKIP
        2
    """
    n = cpu_cores() if n is None else check_positive_int("use_cpu_cores", "n", n)
    chosen = jax.config.jax_num_cpu_devices
    if chosen > 0:
        return chosen
    flag = _FORCE_FLAG.search(os.environ.get("XLA_FLAGS", ""))
    if flag:
        return int(flag.group(1))
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:  # the backend already runs: its device count is fixed
        return len(jax.devices("cpu"))
    return n


__all__ = ["cpu_cores", "use_cpu_cores"]
