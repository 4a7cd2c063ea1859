"""The first epochs of ``train_model`` in a fresh interpreter: when each ends, how many compiles.

``python compile_epochs.py --data D.npz --sizes 784,128,64,10 --loss cross_entropy --epochs 3
--batch-size 128``. XLA backend compilations are counted with ``jax.monitoring``. Prints
``{"marks": [[seconds since the call, compilations so far], ...] (one per epoch), "epoch_time",
"n_compiles", "compile_s"}``.
"""

import json
import sys
import time

from training_args import parse_training_args

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


def main(argv: list[str]) -> None:
    """Train ``--epochs`` epochs, marking the time and the compile count at each epoch's end."""
    args = parse_training_args(argv, description="compilations during train_model's first epochs")
    import jax
    import numpy as np
    from jax import monitoring

    from jnnbasics import mlp, train_model

    compiles: list[float] = []

    def on_event(name: str, secs: float, **kwargs) -> None:
        if name == _COMPILE_EVENT:
            compiles.append(secs)

    monitoring.register_event_duration_secs_listener(on_event)
    data = np.load(args.data)
    jax.devices()
    model = mlp(args.sizes, loss_type=args.loss)
    marks: list[tuple[float, int]] = []
    t0 = time.perf_counter()

    def mark(epoch, logs, state) -> None:
        marks.append((time.perf_counter() - t0, len(compiles)))

    try:
        result = train_model(
            model,
            (data["x"], data["y"]),
            key=jax.random.key(0),
            epochs=args.epochs,
            batch_size=args.batch_size,
            callbacks=[mark],
        )
    finally:  # leave a caller that runs main() in its own process as it was (old JAX cannot)
        if hasattr(monitoring, "unregister_event_duration_listener"):
            monitoring.unregister_event_duration_listener(on_event)
    out = {"marks": marks, "epoch_time": result.history["epoch_time"]}
    print(json.dumps({**out, "n_compiles": len(compiles), "compile_s": sum(compiles)}))


if __name__ == "__main__":
    main(sys.argv[1:])
