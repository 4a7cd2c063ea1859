"""The tutorial's PyTorch training loop in a fresh interpreter, for its process time and memory.

``python train_torch.py --data D.npz --sizes 2,64,32,1 --loss bce_with_logits --epochs 20
--batch-size 32 --threads 2``. Prints ``{"inside_s", "final_loss", "maxrss_kb", "hwm_kb"}``.
Nothing from jnnbasics or JAX is imported.
"""

import json
import sys
import time

from peak_memory import peak_memory_kb
from training_args import parse_training_args


def main(argv: list[str]) -> None:
    """Train the MLP with PyTorch (Adam 1e-3, ``DataLoader(shuffle=True)``), print the JSON line."""
    t0 = time.perf_counter()
    args = parse_training_args(argv, description="the tutorial's PyTorch loop on an .npz data set")
    import numpy as np
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    data = np.load(args.data)
    bce = args.loss == "bce_with_logits"
    x = torch.from_numpy(data["x"])
    y = torch.from_numpy(data["y"] if bce else data["y"].astype(np.int64))
    layers = []
    for a, b in zip(args.sizes[:-1], args.sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = torch.nn.BCEWithLogitsLoss() if bce else torch.nn.CrossEntropyLoss()
    dataset = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True)
    history = []
    for _ in range(args.epochs):
        model.train()
        losses = []
        for xb, yb in loader:
            loss = criterion(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(float(np.mean(losses)))
    out = {"inside_s": time.perf_counter() - t0, "final_loss": history[-1]}
    print(json.dumps({**out, **peak_memory_kb()}))


if __name__ == "__main__":
    main(sys.argv[1:])
