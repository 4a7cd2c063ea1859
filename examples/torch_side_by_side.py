"""The same MLP trained in jnnbasics and in PyTorch, step for step, loss curves on one plot.

What it shows — the framework comparison a course would make:
  * one set of initial weights: drawn by ``jnnbasics``, copied into a torch ``nn.Sequential`` with
    ``params_to_torch`` (torch stores a Linear weight as (out, in), we store (in, out));
  * the same batches: the same arrays, in order (``shuffle=False`` here, ``DataLoader(shuffle=False)``
    there), the last partial batch kept by both;
  * the same algorithm: the tutorial's PyTorch ``train_model`` (Adam, zero_grad / forward / loss /
    backward / step, then a validation pass) against ``jnnbasics.train_model``, which runs each epoch
    as one compiled JAX call;
  * the result: the per-epoch losses agree to float32 rounding; the largest difference is printed.

Why not bit for bit? Both sides compute in float32, but not in the same order (XLA fuses and
reorders sums, torch calls its own kernels), so each step rounds a little differently. Over a few
hundred steps that stays at the level of float32 rounding (about 1e-6 here). Run much longer and the
differences grow: Adam divides each gradient by the root of its running square, so a parameter whose
gradient is nearly zero takes a step of about ``lr`` in the direction of its rounding noise, and a
ReLU that flips for one sample changes a whole gradient. That is chaos in float32, not a bug: with
``--float64`` both frameworks compute in double precision and agree to about 1e-15 over the same run.

The binary model outputs a logit, so both sides use BCE-with-logits (``nn.BCEWithLogitsLoss``); the
tutorial's ``BCELoss`` would need a sigmoid first.

Needs PyTorch (a test dependency of jnnbasics: ``pip install -e ".[test]"``).

Run it:
    python examples/torch_side_by_side.py                  # writes examples/out/torch_side_by_side.png
    python examples/torch_side_by_side.py --epochs 50 --out /tmp/figs
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

import jnnbasics as jnb
from jnnbasics.viz import save_figure

# Compare like with like: full float32 matrix products on every backend (GPUs would otherwise use TF32).
jax.config.update("jax_default_matmul_precision", "highest")

LAYER_SIZES = [2, 32, 32, 1]


# ---------------------------------------------------------------------------------------------
# The PyTorch side: the tutorial's code, with the loss named explicitly.
# ---------------------------------------------------------------------------------------------
def torch_train_model(model, train_loader, val_loader, epochs=100, learning_rate=0.001):
    """The tutorial's ``train_model``, line for line, with ``BCEWithLogitsLoss`` as the loss."""
    import torch
    import torch.nn as nn

    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    history = {"train_loss": [], "val_loss": []}
    for _ in range(epochs):
        model.train()
        train_losses = []
        for x_batch, y_batch in train_loader:
            y_pred = model(x_batch)
            loss = loss_fn(y_pred, y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_losses.append(loss.item())
        model.eval()
        val_losses = []
        with torch.no_grad():
            for x_batch, y_batch in val_loader:
                val_losses.append(loss_fn(model(x_batch), y_batch).item())
        history["train_loss"].append(np.mean(train_losses))
        history["val_loss"].append(np.mean(val_losses))
    return history


def torch_mlp(layer_sizes):
    """``nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)``: its keys are 0.weight, 0.bias, 2.weight..."""
    import torch.nn as nn

    layers = []
    for i, (m, n) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        layers.append(nn.Linear(m, n))
        if i < len(layer_sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def loader(x, y, batch_size, dtype):
    import torch

    xt = torch.tensor(np.array(x), dtype=dtype)
    yt = torch.tensor(np.array(y), dtype=dtype).reshape(-1, 1)  # (n,) -> (n, 1) for BCE
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(xt, yt), batch_size=batch_size, shuffle=False
    )


# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out", help="folder for the PNG (default: examples/out)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--float64", action="store_true", help="compute in double precision on both sides")
    parser.add_argument("--quick", action="store_true", help="smaller run (used by the tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.samples = 20, 300
    if args.float64:
        jax.config.update("jax_enable_x64", True)  # before any array is made

    import torch

    tdtype = torch.float64 if args.float64 else torch.float32

    torch.set_num_threads(1)  # small matrices: threads only add overhead
    data_key, split_key, init_key, train_key = jax.random.split(jax.random.key(0), 4)

    x, y = jnb.make_moons(data_key, args.samples, noise=0.2)
    x, y, _ = jnb.prepare_data_for_nn(x, y)
    x_train, y_train, x_val, y_val = jnb.train_val_split(split_key, x, y, val_fraction=0.2)
    n_steps = args.epochs * -(-len(x_train) // args.batch_size)
    print(
        f"{len(x_train)} training samples, batch {args.batch_size}: {n_steps} Adam steps in {args.epochs} epochs"
    )

    # One set of initial weights, in both frameworks.
    model = jnb.mlp(LAYER_SIZES, loss_type="bce_with_logits")
    params0 = model.init(init_key)  # float32
    if args.float64:
        params0 = jax.tree_util.tree_map(lambda a: a.astype(np.float64), params0)  # train_model follows
    net = torch_mlp(LAYER_SIZES).to(tdtype)
    net.load_state_dict(jnb.params_to_torch(params0))

    # jnnbasics: one compiled call per epoch, batches in order.
    t0 = time.perf_counter()
    ours = jnb.train_model(
        model,
        (x_train, y_train),
        (x_val, y_val),
        key=train_key,
        params=params0,
        epochs=args.epochs,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        shuffle=False,
    )
    t_jax = time.perf_counter() - t0

    # PyTorch: the tutorial's loop on the same unshuffled batches.
    t0 = time.perf_counter()
    theirs = torch_train_model(
        net,
        loader(x_train, y_train, args.batch_size, tdtype),
        loader(x_val, y_val, args.batch_size, tdtype),
        epochs=args.epochs,
        learning_rate=args.lr,
    )
    t_torch = time.perf_counter() - t0

    # How far apart are they?
    diffs = {
        k: float(np.max(np.abs(np.asarray(ours.history[k]) - np.asarray(theirs[k]))))
        for k in ("train_loss", "val_loss")
    }
    ours_final = jnb.params_to_torch(ours.params)
    theirs_final = net.state_dict()
    diffs["params"] = max(
        float(np.max(np.abs(ours_final[k].numpy() - theirs_final[k].numpy()))) for k in theirs_final
    )
    print(f"precision: {'float64' if args.float64 else 'float32'}, {args.epochs} epochs")
    print(
        f"final train loss: jnnbasics {ours.history['train_loss'][-1]:.6f}, PyTorch {theirs['train_loss'][-1]:.6f}"
    )
    print(
        f"final val loss:   jnnbasics {ours.history['val_loss'][-1]:.6f}, PyTorch {theirs['val_loss'][-1]:.6f}"
    )
    print(f"largest train_loss difference: {diffs['train_loss']:.3e}")
    print(f"largest val_loss difference: {diffs['val_loss']:.3e}")
    print(f"largest parameter difference after training: {diffs['params']:.3e}")
    print(f"wall time (first run includes JAX compilation): jnnbasics {t_jax:.2f} s, PyTorch {t_torch:.2f} s")

    # One plot, both frameworks: solid lines jnnbasics, markers PyTorch (they lie on top of each other).
    from matplotlib.figure import Figure

    record_dtype = "float64" if args.float64 else "float32"
    fig = Figure(figsize=(13, 5), layout="constrained")
    ax, ax_diff = fig.subplots(1, 2)
    epochs = np.arange(1, args.epochs + 1)
    for k, color in (("train_loss", "tab:blue"), ("val_loss", "tab:orange")):
        ax.plot(epochs, ours.history[k], "-", color=color, label=f"{k} — jnnbasics (JAX)")
        ax.plot(
            epochs, theirs[k], "x", color="black" if k == "train_loss" else "tab:red", label=f"{k} — PyTorch"
        )
        ax_diff.semilogy(
            epochs, np.abs(np.asarray(ours.history[k]) - np.asarray(theirs[k])) + 1e-12, color=color, label=k
        )
    ax.set_xlabel("Epoch")
    ax.set_ylabel("BCE-with-logits loss")
    ax.set_title("Same MLP, same initial weights, same batches")
    ax.legend()
    ax.grid(alpha=0.3)
    ax_diff.set_xlabel("Epoch")
    ax_diff.set_ylabel("|jnnbasics − PyTorch|")
    ax_diff.set_title(f"Difference per epoch ({record_dtype} rounding)")
    ax_diff.legend()
    ax_diff.grid(alpha=0.3)
    out = Path(args.out)
    path = save_figure(fig, out / "torch_side_by_side.png")
    # The curves, for anyone who wants to check the numbers (the tests do).
    record = {
        "dtype": record_dtype,
        "jnnbasics": {k: list(map(float, ours.history[k])) for k in ("train_loss", "val_loss")},
        "pytorch": {k: list(map(float, theirs[k])) for k in ("train_loss", "val_loss")},
        "largest_difference": diffs,
        "final_params": {
            "jnnbasics": {k: v.tolist() for k, v in ours_final.items()},
            "pytorch": {k: v.tolist() for k, v in theirs_final.items()},
        },
    }
    (out / "torch_side_by_side.json").write_text(json.dumps(record, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
