"""Multi-process (multi-host) runs on ``jax.distributed``: start, check, place, launch.

JAX's multi-controller runtime runs one process per host; every process runs the same program,
a ``Mesh`` spans every process's devices, and collectives (gloo on CPUs) join them. This module
holds what ``jnnbasics`` needs on top:

* :func:`initialize` — ``jax.distributed.initialize`` with the settings from the arguments, from
  ``JNNBASICS_COORDINATOR`` / ``JNNBASICS_NUM_PROCESSES`` / ``JNNBASICS_PROCESS_ID`` (what
  :func:`launch` sets), or from JAX's own cluster detection (SLURM, Open MPI);
* :func:`check_same` — every process must pass the same settings, keys and data: a mismatch is a
  ``ValueError`` naming the field and the process, on every process, instead of silently different
  results or a hang;
* :func:`replicate` — place a pytree (typed PRNG keys included) replicated over a mesh that spans
  processes (``jax.device_put`` refuses that; a jitted identity with ``out_shardings`` does not);
* :func:`is_primary` — only process 0 writes files and draws progress;
* :func:`launch` — start N local processes (a coordinator on the loopback address only), each
  under a timeout, none left behind: the way to try a multi-process run on one machine.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from ._checks import check_positive_int, fail

ENV_COORDINATOR = "JNNBASICS_COORDINATOR"
ENV_NUM_PROCESSES = "JNNBASICS_NUM_PROCESSES"
ENV_PROCESS_ID = "JNNBASICS_PROCESS_ID"
ENV_LOCAL_DEVICES = "JNNBASICS_LOCAL_DEVICES"
LOOPBACK = "127.0.0.1"


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    local_devices: int | None = None,
    timeout: int = 60,
) -> None:
    """Join (or start, as process 0) a multi-process run; call before any other JAX computation.

    Args:
        coordinator_address: ``HOST:PORT`` of process 0 (default: ``$JNNBASICS_COORDINATOR``, else
            JAX's cluster detection: SLURM, Open MPI, ...).
        num_processes: processes in the run (default: ``$JNNBASICS_NUM_PROCESSES`` or detected).
        process_id: this process's rank, 0-based (default: ``$JNNBASICS_PROCESS_ID`` or detected).
        local_devices: on a CPU, this many devices in this process (``jax_num_cpu_devices``;
            default ``$JNNBASICS_LOCAL_DEVICES`` or JAX's default of one).
        timeout: seconds to wait for every process to arrive, and for a missing peer to be noticed.

    Raises:
        ValueError: incomplete settings (a coordinator without the process count or rank).
    """
    env = os.environ
    coordinator_address = coordinator_address or env.get(ENV_COORDINATOR)
    num_processes = num_processes if num_processes is not None else _env_int(ENV_NUM_PROCESSES)
    process_id = process_id if process_id is not None else _env_int(ENV_PROCESS_ID)
    local_devices = local_devices if local_devices is not None else _env_int(ENV_LOCAL_DEVICES)
    if coordinator_address and (num_processes is None or process_id is None):
        fail(
            "initialize", "num_processes and process_id", "given with coordinator_address", "only the address"
        )
    if local_devices is not None:
        jax.config.update(
            "jax_num_cpu_devices", check_positive_int("initialize", "local_devices", local_devices)
        )
    bind = (
        f"{LOOPBACK}:{coordinator_address.rsplit(':', 1)[1]}" if _is_loopback(coordinator_address) else None
    )
    if coordinator_address and process_id:
        _wait_for_coordinator(coordinator_address, process_id, timeout)
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
        coordinator_bind_address=bind,
        initialization_timeout=timeout,
        heartbeat_timeout_seconds=max(10, timeout),
    )


def _wait_for_coordinator(address: str, process_id: int, timeout: float) -> None:
    """Wait until process 0's coordinator accepts connections; a clear TimeoutError if it never does.

    (Process 0 itself cannot be helped this way: when a peer never arrives, JAX ends it after
    ``timeout`` seconds with ``DEADLINE_EXCEEDED ... RegisterTask`` on stderr.)
    """
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"initialize: process {process_id} could not reach the coordinator {address} (process 0) "
                    f"within {timeout} s; start process 0 there, or check the address"
                ) from None
            time.sleep(0.2)


def _env_int(name: str) -> int | None:
    text = os.environ.get(name)
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        fail("initialize", f"${name}", "an integer", repr(text))


def _is_loopback(address: str | None) -> bool:
    return bool(address) and address.rsplit(":", 1)[0] in (LOOPBACK, "localhost")


def is_primary() -> bool:
    """Whether this is process 0, the one that writes files and draws progress."""
    return jax.process_index() == 0


def spans_processes(mesh: Any) -> bool:
    """Whether ``mesh`` has devices of other processes than this one."""
    return mesh is not None and any(d.process_index != jax.process_index() for d in mesh.devices.flat)


def replicate(tree: Any, mesh: Any) -> Any:
    """``tree`` replicated over every device of ``mesh`` (across processes too; typed keys allowed).

    Every process must pass the same values (see :func:`check_same`).
    """
    from jax.sharding import NamedSharding, PartitionSpec

    return jax.jit(lambda t: t, out_shardings=NamedSharding(mesh, PartitionSpec()))(tree)


def place(tree: Any, sharding: Any) -> Any:
    """``tree`` laid out as ``sharding`` over a mesh that may span processes (each passes the same values)."""
    return jax.jit(lambda t: t, out_shardings=sharding)(tree)


def host_array(a: Any) -> Any:
    """A global ``jax.Array`` with rows on other processes as a host NumPy array of all its rows;
    anything else as it is."""
    if isinstance(a, jax.Array) and not a.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(a, tiled=True))
    return a


def gather_rows(func: str, name: str, a: Any) -> np.ndarray:
    """Every process's rows of ``a`` (its own shard), concatenated in process order, on every process.

    Each process may hold a different number of rows; the other axes and the dtype must agree.
    """
    a = np.asarray(a)
    if jax.process_count() == 1:
        return a
    from jax.experimental import multihost_utils

    check_same(func, {f"{name} (dtype and shape after the first axis)": (str(a.dtype), a.shape[1:])})
    counts = np.asarray(multihost_utils.process_allgather(np.asarray([a.shape[0]]))).reshape(-1)
    padded = np.zeros((int(counts.max()), *a.shape[1:]), a.dtype)
    padded[: a.shape[0]] = a
    every = np.asarray(multihost_utils.process_allgather(padded))  # (processes, max rows, ...)
    return np.concatenate([every[p, : counts[p]] for p in range(len(counts))])


def global_inputs(func: str, train_data: Any, val_data: Any, *, local: bool) -> tuple[Any, Any]:
    """``(train_data, val_data)`` with global arrays fetched to the host and, with ``local``, every
    process's own rows gathered (in process order) — what a one-process run on all rows would see."""

    def one(name, pair):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            return pair  # the caller's checks name it
        x, y = (host_array(a) for a in pair)
        if local:
            x, y = gather_rows(func, f"{name}[0] (x)", x), gather_rows(func, f"{name}[1] (y)", y)
        return (x, y)

    return one("train_data", train_data), (None if val_data is None else one("val_data", val_data))


def digest(value: Any) -> bytes:
    """A SHA-256 of a value: arrays by dtype, shape and bytes (typed keys by their key data), the rest by repr."""
    h = hashlib.sha256()
    for leaf in jax.tree_util.tree_leaves(value, is_leaf=lambda v: v is None):
        if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        if hasattr(leaf, "dtype") and hasattr(leaf, "shape"):
            a = np.ascontiguousarray(np.asarray(leaf))
            h.update(f"{a.dtype}{a.shape}".encode())
            h.update(a.tobytes())
        else:
            h.update(repr(leaf).encode())
    return h.digest()


def check_same(func: str, values: dict[str, Any]) -> None:
    """Raise on every process unless every process passed equal ``values`` (a collective: all call it).

    Args:
        func: the calling function, for the message.
        values: name -> value (settings, keys, data, step counts); compared by :func:`digest`.

    Raises:
        ValueError: ``"func: NAME differs between processes: process P has another value than process 0"``.
    """
    if jax.process_count() == 1:
        return
    from jax.experimental import multihost_utils

    names = sorted(values)
    mine = np.stack([np.frombuffer(digest(values[n]), np.uint8) for n in names])
    every = np.asarray(multihost_utils.process_allgather(mine))  # (processes, fields, 32)
    for i, name in enumerate(names):
        other = [p for p in range(every.shape[0]) if not np.array_equal(every[p, i], every[0, i])]
        if other:
            raise ValueError(
                f"{func}: {name} differs between processes: process {other[0]} has another value than "
                f"process 0 (every process must pass the same {name})"
            )


def free_port() -> int:
    """A TCP port free on the loopback address now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def launch(
    argv: Sequence[str], num_processes: int, *, local_devices: int | None = None, timeout: float = 600.0
) -> int:
    """Run ``python -m jnnbasics ARGV`` in ``num_processes`` local processes joined by a coordinator
    on 127.0.0.1 (like ``torchrun --nproc-per-node``); each process under ``timeout`` seconds.

    If a process fails or the time runs out, the others are stopped: none is left behind.

    Returns:
        The first non-zero exit status, or 0.
    """
    check_positive_int("launch", "num_processes", num_processes)
    port = free_port()
    procs = []
    try:
        for rank in range(num_processes):
            env = {
                **os.environ,
                ENV_COORDINATOR: f"{LOOPBACK}:{port}",
                ENV_NUM_PROCESSES: str(num_processes),
                ENV_PROCESS_ID: str(rank),
            }
            if local_devices is not None:
                env[ENV_LOCAL_DEVICES] = str(local_devices)
            procs.append(subprocess.Popen([sys.executable, "-m", "jnnbasics", *argv], env=env))
        return _wait(procs, time.monotonic() + timeout)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def _wait(procs: list, deadline: float) -> int:
    while time.monotonic() < deadline:
        codes = [p.poll() for p in procs]
        failed = [c for c in codes if c not in (None, 0)]
        if failed:
            return failed[0]
        if all(c == 0 for c in codes):
            return 0
        time.sleep(0.05)
    print("jnnbasics: error: the launched processes did not finish within the time limit", file=sys.stderr)
    return 124
