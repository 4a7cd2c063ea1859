"""One model, two JAX styles: Flax NNX objects beside jnnbasics' pure functions.

What it shows, for people choosing between the styles:
  * the same MLP written as a Flax NNX ``nnx.Module`` (layers are attributes, parameters live inside
    the object, ``nnx.Optimizer`` updates them in place, ``nnx.jit`` compiles a step) and as
    jnnbasics' ``(init, apply)`` pair over a plain list of ``{"w", "b"}`` dicts;
  * both start from the same weights (copied into the NNX layers: ``nnx.Linear`` stores its kernel as
    (in, out), as we do), see the same unshuffled batches and use Adam with the same settings
    (``optax.adam`` and ``jnnbasics.make_optimizer`` compute the same update), so their final
    losses agree to float32 rounding;
  * how each is trained: NNX with a Python loop of jitted steps; jnnbasics with ``train_model``,
    one compiled call per epoch.

Run it:
    python examples/flax_nnx_side_by_side.py                  # writes examples/out/flax_nnx_side_by_side.png
    python examples/flax_nnx_side_by_side.py --epochs 60 --out /tmp/figs
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jnnbasics as jnb
from jnnbasics.viz import save_figure

LAYER_SIZES = [2, 32, 32, 1]

NOTE = """\
Two styles, one computation:
  Flax NNX   — objects: the model owns its parameters; nnx.Optimizer(model, tx, wrt=nnx.Param) and
               optimizer.update(model, grads) change them in place; nnx.jit/nnx.value_and_grad
               understand modules. Familiar to PyTorch users; state handling is done for you.
  jnnbasics  — functions: params are a plain pytree you pass in and get back; jax.jit, jax.grad and
               jax.vmap apply directly (vmap trains many models at once, see train_many);
               nothing is mutated, so a run is reproducible from its key alone.
"""


# ---------------------------------------------------------------------------------------------
# Style 1: Flax NNX — a module object with its layers as attributes.
# ---------------------------------------------------------------------------------------------
class NNXMLP(nnx.Module):
    """Linear -> ReLU -> ... -> Linear, the tutorial's ``MLP`` in Flax NNX."""

    def __init__(self, layer_sizes, *, rngs: nnx.Rngs):
        self.layers = nnx.List(
            [
                nnx.Linear(m, n, kernel_init=nnx.initializers.xavier_uniform(), rngs=rngs)
                for m, n in zip(layer_sizes[:-1], layer_sizes[1:])
            ]
        )

    def __call__(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = jax.nn.relu(x)
        return x


def nnx_loss(model, x, y):
    return optax.sigmoid_binary_cross_entropy(model(x), y).mean()


@nnx.jit
def nnx_train_step(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(nnx_loss)(model, x, y)
    optimizer.update(model, grads)  # in place: the model's parameters change
    return loss


@nnx.jit
def nnx_eval_loss(model, x, y):
    return nnx_loss(model, x, y)


def batches(x, y, batch_size):
    """The data in order, the last partial batch kept (DataLoader(shuffle=False) semantics)."""
    for i in range(0, len(x), batch_size):
        yield x[i : i + batch_size], y[i : i + batch_size]


def train_nnx(model, train, val, *, epochs, learning_rate, batch_size):
    optimizer = nnx.Optimizer(model, optax.adam(learning_rate), wrt=nnx.Param)
    history = {"train_loss": [], "val_loss": []}
    for _ in range(epochs):
        losses = [float(nnx_train_step(model, optimizer, xb, yb)) for xb, yb in batches(*train, batch_size)]
        val_losses = [float(nnx_eval_loss(model, xb, yb)) for xb, yb in batches(*val, batch_size)]
        history["train_loss"].append(np.mean(losses))
        history["val_loss"].append(np.mean(val_losses))
    return history


# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out", help="folder for the PNG (default: examples/out)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--quick", action="store_true", help="smaller run (used by the tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.samples = 15, 300

    data_key, split_key, init_key, train_key = jax.random.split(jax.random.key(0), 4)
    x, y = jnb.make_moons(data_key, args.samples, noise=0.2)
    x, y, _ = jnb.prepare_data_for_nn(x, y)
    x_train, y_train, x_val, y_val = jnb.train_val_split(split_key, x, y, val_fraction=0.2)
    # Targets as (n, 1) floats, the shape of the model's output, for both styles.
    train = (jnp.asarray(x_train), jnp.asarray(y_train, jnp.float32).reshape(-1, 1))
    val = (jnp.asarray(x_val), jnp.asarray(y_val, jnp.float32).reshape(-1, 1))

    # Style 2: jnnbasics — a Model is (init, apply); params is a plain list of {"w", "b"} dicts.
    model = jnb.mlp(LAYER_SIZES, loss_type="bce_with_logits")
    params0 = model.init(init_key)

    # The NNX model, then the same starting weights copied into it.
    nnx_model = NNXMLP(LAYER_SIZES, rngs=nnx.Rngs(0))
    for layer, p in zip(nnx_model.layers, params0):
        layer.kernel.value = p["w"]
        layer.bias.value = p["b"]

    t0 = time.perf_counter()
    nnx_hist = train_nnx(
        nnx_model, train, val, epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size
    )
    t_nnx = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = jnb.train_model(
        model,
        train,
        val,
        key=train_key,
        params=params0,
        epochs=args.epochs,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        shuffle=False,
    )
    t_pure = time.perf_counter() - t0
    pure_hist = result.history

    diff = max(
        float(np.max(np.abs(np.asarray(nnx_hist[k]) - np.asarray(pure_hist[k]))))
        for k in ("train_loss", "val_loss")
    )
    print(
        f"final train loss: Flax NNX {nnx_hist['train_loss'][-1]:.6f}, jnnbasics {pure_hist['train_loss'][-1]:.6f}"
    )
    print(
        f"final val loss:   Flax NNX {nnx_hist['val_loss'][-1]:.6f}, jnnbasics {pure_hist['val_loss'][-1]:.6f}"
    )
    print(f"largest loss difference over all epochs: {diff:.3e}")
    print(
        f"wall time incl. compilation: Flax NNX {t_nnx:.2f} s (jitted step per batch), "
        f"jnnbasics {t_pure:.2f} s (one compiled call per epoch)"
    )
    print()
    print(NOTE)

    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    epochs = np.arange(1, args.epochs + 1)
    for k, color in (("train_loss", "tab:blue"), ("val_loss", "tab:orange")):
        ax.plot(epochs, pure_hist[k], "-", color=color, label=f"{k} — jnnbasics (pure functions)")
        ax.plot(epochs, nnx_hist[k], "o", mfc="none", color=color, label=f"{k} — Flax NNX (objects)")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("BCE-with-logits loss")
    ax.set_title(f"Same MLP, same start, same batches: largest difference {diff:.1e}")
    ax.legend()
    ax.grid(alpha=0.3)
    path = save_figure(fig, Path(args.out) / "flax_nnx_side_by_side.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
