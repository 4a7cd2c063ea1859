"""What the benchmark records about the machine it runs on: cores, CPU, versions, devices, load."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import numpy as np


def cores() -> int:
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` off Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def machine_info() -> dict[str, Any]:
    """The CPU's model name, cores in use, platform and the versions of the frameworks timed.

    Returns:
        ``{"cpu", "cores", "nproc", "platform", "versions"}``; a framework that cannot be
        imported has version None.
    """
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
        "cores": cores(),
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "versions": versions,
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages as text (``"n/a"`` where the OS has none)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (OSError, AttributeError):  # pragma: no cover - no load average on this OS
        return "n/a"


def busy_warning() -> str | None:
    """One line of warning when the 1-minute load average is above the cores in use, else None.

    Other programs then take CPU time from the systems being timed, unevenly (PyTorch's worker
    threads suffer most), so times and ratios can be off by large factors.
    """
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # pragma: no cover - no load average on this OS
        return None
    n = cores()
    if load <= n:
        return None
    return (
        f"warning: load average {load:.2f} on {n} cores: other programs are using the CPU, "
        "so these times and ratios are unreliable; run again when the machine is quiet"
    )


def torch_available() -> bool:
    """Whether PyTorch can be imported here (the comparison systems need it)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


TORCH_MISSING = (
    "PyTorch is not installed: timing the JAX systems only; 'pip install torch' adds the PyTorch comparison"
)
"""The line printed when :func:`torch_available` is False."""


def jax_devices() -> dict[str, Any]:
    """JAX's devices as this run sees them: ``{"count", "platform", "devices"}`` (names as text)."""
    import jax

    devices = jax.devices()
    return {
        "count": len(devices),
        "platform": devices[0].platform,
        "devices": [str(d) for d in devices],
    }
