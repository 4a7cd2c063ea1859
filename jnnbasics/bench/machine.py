"""What the benchmark records about the machine it runs on: cores in use, CPU, versions, load."""

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
    except OSError:  # pragma: no cover
        return "n/a"
