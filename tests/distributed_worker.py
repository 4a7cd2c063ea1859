"""One process of a multi-process test (run by tests/test_distributed.py, never collected by pytest).

Usage: python distributed_worker.py MODE  (the coordinator, process count and rank come from the
JNNBASICS_* environment that jnnbasics.distributed.launch-style tests set). Prints one JSON line.
"""

import json
import sys

import jnnbasics.distributed as dist

MODE = sys.argv[1]
dist.initialize(timeout=int(sys.argv[2]) if len(sys.argv) > 2 else 30)

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh  # noqa: E402

rank = jax.process_index()
out = {"rank": rank, "processes": jax.process_count(), "devices": jax.device_count()}
if MODE == "same":
    dist.check_same("worker", {"lr": 0.1, "key": jax.random.key(3), "data": np.arange(6.0)})
    out["ok"] = True
elif MODE == "differ":
    try:
        dist.check_same("worker", {"lr": 0.1, "data": np.arange(6.0) + (rank == 1)})
        out["error"] = None
    except ValueError as e:
        out["error"] = str(e)
elif MODE == "replicate":
    mesh = Mesh(np.array(jax.devices()), ("data",))
    k = dist.replicate({"key": jax.random.key(7), "w": np.ones(3, np.float32)}, mesh)
    out["key_data"] = np.asarray(jax.random.key_data(k["key"].addressable_data(0))).tolist()
    out["primary"] = dist.is_primary()
    out["spans"] = dist.spans_processes(mesh)
print(json.dumps(out), flush=True)
