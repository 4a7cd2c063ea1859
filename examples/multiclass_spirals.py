"""Three-class spirals, trained twice: without regularisation, then with dropout, L2 and a cosine schedule.

What it shows:
  * a multiclass problem: ``make_spirals`` (3 interleaved arms, noisy angles), the tutorial's
    multiclass network ``mlp([2, 128, 64, 3])`` with ``cross_entropy`` on integer labels;
  * the same network and data trained twice with the same key:
      - "plain": Adam at a constant learning rate, nothing else;
      - "regularised": dropout after each hidden layer (``dropout_rate=0.2``, the *drop* probability,
        as ``nn.Dropout(p)``), the tutorial's L2 penalty (``lambda_l2``: the sum of each weight
        array's unsquared norm, added to the loss that is differentiated), and the learning rate
        following PyTorch's ``CosineAnnealingLR`` over the run (``schedule="cosine"``);
  * what regularisation buys: the plain model fits the training set harder and its validation loss
    climbs back up (over-confidence on the points it gets wrong); the regularised one ends with a
    lower validation loss and a smoother boundary;
  * the figure: both histories (top; the dashed line is the penalised objective that was minimised)
    and both decision boundaries (bottom; each region is the argmax of the 3 logits — not a contour
    of raw outputs, which is what the tutorial's ``visualize_decision_boundary`` would draw).

Run it:
    python examples/multiclass_spirals.py                  # writes examples/out/multiclass_spirals.png
    python examples/multiclass_spirals.py --epochs 300 --out /tmp/figs
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax

import jnnbasics as jnb
from jnnbasics.viz import plot_decision_boundary, plot_training_history, save_figure

LAYER_SIZES = [2, 128, 64, 3]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out", help="folder for the PNG (default: examples/out)")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--dropout", type=float, default=0.2, help="drop probability of the regularised run")
    parser.add_argument("--l2", type=float, default=3e-3, help="lambda_l2 of the regularised run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="shorter runs (used by the tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 100

    data_key, split_key, train_key = jax.random.split(jax.random.key(args.seed), 3)
    x, y = jnb.make_spirals(data_key, 300, n_classes=3, noise=0.5)
    x, y, _ = jnb.prepare_data_for_nn(x, y)
    x_train, y_train, x_val, y_val = jnb.train_val_split(split_key, x, y, val_fraction=0.3)
    print(f"{len(x_train)} training and {len(x_val)} validation points, 3 classes")

    common = dict(key=train_key, epochs=args.epochs, learning_rate=1e-2, batch_size=32)

    # Run 1: no regularisation.
    plain_model = jnb.mlp(LAYER_SIZES, loss_type="cross_entropy")
    plain = jnb.train_model(plain_model, (x_train, y_train), (x_val, y_val), **common)

    # Run 2: dropout in the model, the L2 penalty in the objective, a cosine learning-rate schedule.
    reg_model = jnb.mlp(LAYER_SIZES, loss_type="cross_entropy", dropout_rate=args.dropout)
    reg = jnb.train_model(
        reg_model,
        (x_train, y_train),
        (x_val, y_val),
        lambda_l2=args.l2,
        schedule="cosine",
        schedule_options={"t_max": args.epochs},  # one half cosine over the whole run
        **common,
    )

    for name, res in (("plain", plain), ("regularised", reg)):
        h = res.history
        print(
            f"{name:>12}: final train loss {h['train_loss'][-1]:.4f}, val loss {h['val_loss'][-1]:.4f}, "
            f"best val loss {min(h['val_loss']):.4f}, val accuracy {h['val_accuracy'][-1]:.4f}"
        )
    print(
        f"learning rate of the regularised run: {reg.history['lr'][0]:.2e} at first, {reg.history['lr'][-1]:.2e} last"
    )

    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 11), layout="constrained")
    axes = fig.subplots(2, 2)
    runs = (
        ("No regularisation", plain_model, plain),
        (f"Dropout {args.dropout}, L2 {args.l2:g}, cosine LR", reg_model, reg),
    )
    for col, (title, model, res) in enumerate(runs):
        h = res.history
        plot_training_history(h, ax=axes[0, col], title=f"{title}: history")
        top = max(max(plain.history["val_loss"]), max(reg.history["val_loss"]))
        axes[0, col].set_ylim(0, 1.05 * top)  # the same scale for both runs
        # Evaluation mode: apply without key/train, so no dropout when drawing the boundary.
        plot_decision_boundary(model.apply, res.params, x, y, ax=axes[1, col], output="logits")
        axes[1, col].set_title(
            f"{title}\nval loss {h['val_loss'][-1]:.3f}, val accuracy {h['val_accuracy'][-1]:.1%}"
        )
    fig.suptitle("Three-class spirals: before and after regularisation")
    path = save_figure(fig, Path(args.out) / "multiclass_spirals.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
