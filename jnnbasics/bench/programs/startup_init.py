"""Time ``init_mlp`` + Adam state in a fresh interpreter: ``python startup_init.py 784,128,64,10``.

The backend is started first and timed apart. Prints ``{"backend_s", "init_s"}``.
"""

import argparse
import json
import sys
import time


def main(argv: list[str]) -> None:
    """Build the parameters and Adam state of the MLP given on the command line; print the times."""
    p = argparse.ArgumentParser(description="time init_mlp + create_train_state after the backend")
    p.add_argument("sizes", type=lambda s: [int(v) for v in s.split(",")], help="layer sizes, e.g. 2,64,1")
    layer_sizes = p.parse_args(argv).sizes
    import jax

    from jnnbasics import create_train_state, init_mlp, make_optimizer

    t0 = time.perf_counter()
    jax.devices()
    backend_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    params = init_mlp(jax.random.key(0), layer_sizes)
    state = create_train_state(params, make_optimizer(1e-3))
    jax.block_until_ready(state)
    print(json.dumps({"backend_s": backend_s, "init_s": time.perf_counter() - t0}))


if __name__ == "__main__":
    main(sys.argv[1:])
