"""A whole ``train_model`` run in a fresh interpreter, for its process time and peak memory.

``python train_jnn.py --data D.npz --sizes 2,64,32,1 --loss bce_with_logits --epochs 20
--batch-size 32``. Prints ``{"inside_s", "final_loss", "maxrss_kb", "hwm_kb"}``.
"""

import json
import sys
import time

from peak_memory import peak_memory_kb
from training_args import parse_training_args


def main(argv: list[str]) -> None:
    """Train the MLP with jnnbasics (Adam 1e-3, shuffled batches) and print the JSON line."""
    t0 = time.perf_counter()
    args = parse_training_args(argv, description="train_model on an .npz data set")
    import jax
    import numpy as np

    from jnnbasics import mlp, train_model

    data = np.load(args.data)
    model = mlp(args.sizes, loss_type=args.loss)
    result = train_model(
        model,
        (data["x"], data["y"]),
        key=jax.random.key(0),
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=1e-3,
    )
    jax.block_until_ready(result.params)
    out = {"inside_s": time.perf_counter() - t0, "final_loss": result.history["train_loss"][-1]}
    print(json.dumps({**out, **peak_memory_kb()}))


if __name__ == "__main__":
    main(sys.argv[1:])
