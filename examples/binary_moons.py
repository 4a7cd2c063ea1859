"""Binary classification on the two-moons data: train, then look at the decision boundary.

What it shows, step by step, in the order of the classic tutorial:
  1. data: ``make_moons`` (made from a PRNG key, no download), standardised with
     ``prepare_data_for_nn`` and split into training and validation sets;
  2. model: ``select_architecture(2, 1, "binary")`` — the tutorial's ``SimpleNN(2, 64, 1)``. It has
     no sigmoid at the end, so it outputs a *logit*, and the loss it comes with is the stable
     ``bce_with_logits`` (the tutorial fed these raw outputs to ``BCELoss``, which expects
     probabilities);
  3. training: ``train_model`` (Adam; every epoch is one compiled call);
  4. pictures: the loss history and the decision boundary (class 1 where the logit is > 0).

Run it:
    python examples/binary_moons.py                  # writes examples/out/binary_moons.png
    python examples/binary_moons.py --epochs 200 --out /tmp/figs
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax

import jnnbasics as jnb
from jnnbasics.viz import plot_decision_boundary, plot_training_history, save_figure


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out", help="folder for the PNG (default: examples/out)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smaller run (used by the tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.samples = 40, 400

    # One key for the whole script, split once per use: the same seed gives the same run.
    data_key, split_key, train_key = jax.random.split(jax.random.key(args.seed), 3)

    # 1. Data: two interleaving half circles, labels 0/1 of shape (n,).
    x, y = jnb.make_moons(data_key, args.samples, noise=0.2)
    x, y, scaler = jnb.prepare_data_for_nn(x, y)  # zero mean, unit variance per feature
    x_train, y_train, x_val, y_val = jnb.train_val_split(split_key, x, y, val_fraction=0.2)

    # 2. Model: the tutorial's choice for a binary problem, and the loss that goes with it.
    model, loss_type = jnb.select_architecture(input_size=2, output_size=1, problem_type="binary")
    print(f"model: layers {model.layer_sizes}, loss {loss_type!r}")

    # 3. Train. y of shape (n,) is reshaped to (n, 1) and made float for the BCE loss by train_model.
    result = jnb.train_model(
        model,
        (x_train, y_train),
        (x_val, y_val),
        key=train_key,
        epochs=args.epochs,
        learning_rate=5e-3,
        batch_size=32,
    )
    h = result.history
    print(
        f"epochs: {len(h['train_loss'])}, final train loss {h['train_loss'][-1]:.4f}, val loss {h['val_loss'][-1]:.4f}"
    )
    print(f"final validation accuracy: {h['val_accuracy'][-1]:.4f}")

    # 4. Pictures: the history (left) and the boundary with all points (right).
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 5.5), layout="constrained")
    ax_hist, ax_boundary = fig.subplots(1, 2)
    plot_training_history(h, ax=ax_hist, title="Training history (BCE with logits)")
    plot_decision_boundary(model.apply, result.params, x, y, ax=ax_boundary, output="logits")
    ax_boundary.set_title(f"Decision boundary (validation accuracy {h['val_accuracy'][-1]:.1%})")
    ax_boundary.set_xlabel("feature 1 (standardised)")
    ax_boundary.set_ylabel("feature 2 (standardised)")
    path = save_figure(fig, Path(args.out) / "binary_moons.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
