"""Activation functions and their derivatives, computed with ``jax.grad`` and ``jax.vmap``.

What it shows:
  * the tutorial's activations (sigmoid, ReLU, tanh) and two modern ones (leaky ReLU, GELU) as
    plain functions from ``jnnbasics``;
  * their derivatives without writing any derivative by hand: ``jax.grad(f)`` is the derivative of a
    scalar function, and ``jax.vmap`` maps it over a whole array of points;
  * softmax, which is not elementwise: the tutorial normalises over axis 0 (across the batch), while
    ``jnnbasics.softmax`` normalises each row (the last axis), as a classifier needs.

Run it:
    python examples/activations.py                 # writes examples/out/activations.png
    python examples/activations.py --out /tmp/figs # somewhere else
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jnnbasics as jnb
from jnnbasics.viz import save_figure

NAMES = ("sigmoid", "relu", "tanh", "leaky_relu", "gelu")


def derivative(f):
    """f'(x) for every entry of a 1-D array x: grad of the scalar function, vmapped over x."""
    return jax.vmap(jax.grad(f))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out", help="folder for the PNG (default: examples/out)")
    parser.add_argument("--quick", action="store_true", help="fewer points (used by the tests)")
    args = parser.parse_args(argv)

    xs = jnp.linspace(-5.0, 5.0, 101 if args.quick else 401)

    # 1. Values and derivatives. jax.jit compiles each once; vmap(grad(f)) is the whole derivative curve.
    curves = {}
    for name in NAMES:
        f = jnb.get_activation(name)
        curves[name] = (np.asarray(jax.jit(f)(xs)), np.asarray(jax.jit(derivative(f))(xs)))

    # A check you can do by hand: sigmoid'(x) = sigmoid(x) * (1 - sigmoid(x)).
    s = jnb.sigmoid(xs)
    err = float(jnp.max(jnp.abs(curves["sigmoid"][1] - s * (1 - s))))
    print(f"max |grad(sigmoid) - sigmoid*(1-sigmoid)| = {err:.2e}")
    print(f"relu'(0) = {float(jax.grad(jnb.relu)(0.0))}  (0 at the kink, as in PyTorch)")

    # 2. Softmax: per row (ours, axis=-1) versus over the batch (the tutorial's axis=0).
    logits = jnp.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    per_row = jnb.softmax(logits)
    per_column = jnb.softmax(logits, axis=0)
    fmt = dict(precision=3, suppress_small=True)
    print("logits:\n", np.array2string(np.asarray(logits), **fmt))
    print("softmax per sample (axis=-1), each row sums to 1:\n", np.array2string(np.asarray(per_row), **fmt))
    print(
        "tutorial's softmax (axis=0), each column sums to 1:\n",
        np.array2string(np.asarray(per_column), **fmt),
    )

    # 3. The figure: one panel per activation, f solid and f' dashed.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 7), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, name in zip(axes, NAMES):
        values, slopes = curves[name]
        ax.plot(xs, values, label=f"{name}(x)")
        ax.plot(xs, slopes, "--", label=f"{name}'(x)  (jax.grad)")
        ax.axhline(0, color="gray", lw=0.6)
        ax.axvline(0, color="gray", lw=0.6)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    ax = axes[-1]
    im = ax.imshow(np.asarray(per_row), cmap="Blues", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(np.asarray(per_row)):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center")
    ax.set_title("softmax(logits), each row sums to 1")
    ax.set_xlabel("class")
    ax.set_ylabel("sample")
    ax.set_xticks(range(3))
    ax.set_yticks(range(2))
    fig.colorbar(im, ax=ax)
    fig.suptitle("Activation functions and their derivatives (derivatives by jax.vmap(jax.grad(f)))")

    path = save_figure(fig, Path(args.out) / "activations.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
