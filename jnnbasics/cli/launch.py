"""Multi-process runs from the command line: ``--coordinator ...`` flags and ``jnnbasics launch``.

``jnnbasics launch -n 2 -- train --out runs/x`` starts two local processes joined by a coordinator
on 127.0.0.1 (like ``torchrun --nproc-per-node``); on a cluster, start one process per host with
``jnnbasics train ... --coordinator HOST:PORT --num-processes N --process-id I`` (or
``--coordinator auto`` for JAX's own detection under SLURM or Open MPI). Every process trains;
only process 0 writes the run folder and prints.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import distributed
from .common import CLIError, positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``launch``."""
    p = sub.add_parser(
        "launch",
        help="run a command in N local processes (a multi-process run on this machine)",
        description="Run 'jnnbasics COMMAND ...' in N processes on this machine, joined by a coordinator on "
        "127.0.0.1 (loopback only), each under a time limit; if one fails the others are stopped.",
        epilog="example: jnnbasics launch -n 2 --local-devices 2 -- train --out runs/two",
    )
    p.add_argument("-n", "--num-processes", type=positive_int, required=True, help="processes to start")
    p.add_argument("--local-devices", type=positive_int, help="CPU devices per process (default: 1)")
    p.add_argument("--timeout", type=positive_float, default=3600.0, help="seconds (default: 3600)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the jnnbasics command to run, after --")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``jnnbasics launch``."""
    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not argv or argv[0] not in ("train",):
        raise CLIError(
            "launch runs 'train' in several processes: jnnbasics launch -n 2 -- train --out DIR ..."
        )
    return distributed.launch(
        argv, args.num_processes, local_devices=args.local_devices, timeout=args.timeout
    )


def add_process_options(p: argparse.ArgumentParser) -> None:
    """``--coordinator``, ``--num-processes``, ``--process-id`` (set by ``jnnbasics launch`` through the
    environment, or given for a cluster)."""
    g = p.add_argument_group("multi-process run (see 'jnnbasics launch')")
    g.add_argument(
        "--coordinator", metavar="HOST:PORT", help="process 0's address, or 'auto' (SLURM, Open MPI)"
    )
    g.add_argument("--num-processes", type=positive_int, metavar="N", help="processes in the run")
    g.add_argument("--process-id", type=int, metavar="I", help="this process's rank, 0 to N-1")


def join_processes(args: argparse.Namespace) -> bool:
    """Join a multi-process run when asked (flags or ``jnnbasics launch``'s environment); True if in one."""
    if args.coordinator is None and not os.environ.get(distributed.ENV_COORDINATOR):
        if args.num_processes is not None or args.process_id is not None:
            raise CLIError("--num-processes and --process-id need --coordinator HOST:PORT")
        return False
    if args.coordinator == "auto":
        distributed.initialize()
    else:
        distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    import jax

    return jax.process_count() > 1


def agree(ok: bool, what: str) -> None:
    """Every process learns whether process 0 got through ``what`` (an error there stops them all)."""
    import jax

    if jax.process_count() == 1:
        return
    from jax.experimental import multihost_utils

    oks = multihost_utils.process_allgather(__import__("numpy").asarray([ok]))
    if not bool(oks.all()) and ok:
        raise CLIError(f"another process could not {what} (see its error); every process stops")


def on_process_0(what: str, step) -> None:
    """Run ``step()`` on process 0 only; every process learns whether it succeeded (see :func:`agree`)."""
    ok = False
    try:
        if distributed.is_primary():
            step()
        ok = True
    finally:
        agree(ok, what)


def data_mesh() -> Any:
    """A ``"data"`` mesh over every process's devices."""
    import jax
    import numpy as np
    from jax.sharding import Mesh

    return Mesh(np.array(jax.devices()), ("data",))
