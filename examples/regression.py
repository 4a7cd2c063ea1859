"""Regression with MSE: an MLP learns a wiggly curve from noisy samples.

What it shows:
  * regression data made from a PRNG key: ``y = sin(2x) + 0.3 x + noise`` for ``x`` in [-3, 3];
  * the input standardised with ``fit_scaler`` / ``transform`` — the scaler is fitted on the
    training inputs only, then applied to everything (also to the grid the curve is drawn on);
  * the tutorial's regression network ``select_architecture(1, 1, "regression")`` =
    ``mlp([1, 64, 32, 1])`` trained with ``mse`` (targets of shape (n,) are reshaped to (n, 1) by
    ``train_model`` — never silently broadcast against the (n, 1) predictions);
  * evaluation with ``evaluate_model`` (eval mode, NumPy out) and ``regression_metrics`` (R², RMSE);
  * the figure: the fitted curve over the data (left), predicted against true values on the
    validation set (middle), and the loss history (right).

Run it:
    python examples/regression.py                  # writes examples/out/regression.png
    python examples/regression.py --epochs 300 --out /tmp/figs
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jnnbasics as jnb
from jnnbasics.viz import plot_predictions, plot_training_history, regression_metrics, save_figure


def true_function(x):
    return jnp.sin(2.0 * x) + 0.3 * x


def make_data(key, n, noise=0.15):
    """``n`` points ``(x, y)`` with ``x`` uniform in [-3, 3], shapes (n, 1) and (n,)."""
    kx, kn = jax.random.split(key)
    x = jax.random.uniform(kx, (n, 1), minval=-3.0, maxval=3.0)
    y = true_function(x[:, 0]) + noise * jax.random.normal(kn, (n,))
    return x, y


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out", help="folder for the PNG (default: examples/out)")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="shorter run (used by the tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 80

    data_key, split_key, train_key = jax.random.split(jax.random.key(args.seed), 3)
    x, y = make_data(data_key, 500)
    x_train, y_train, x_val, y_val = jnb.train_val_split(split_key, x, y, val_fraction=0.2)

    # Standardise with statistics of the training inputs only (no peeking at validation data).
    scaler = jnb.fit_scaler(x_train)
    x_train_s, x_val_s = jnb.transform(scaler, x_train), jnb.transform(scaler, x_val)

    model, loss_type = jnb.select_architecture(input_size=1, output_size=1, problem_type="regression")
    print(f"model: layers {model.layer_sizes}, loss {loss_type!r}")
    result = jnb.train_model(
        model,
        (x_train_s, y_train),
        (x_val_s, y_val),
        key=train_key,
        epochs=args.epochs,
        learning_rate=5e-3,
        batch_size=32,
    )
    h = result.history
    print(
        f"final train MSE {h['train_loss'][-1]:.4f}, val MSE {h['val_loss'][-1]:.4f} (noise variance {0.15**2:.4f})"
    )

    pred, target = jnb.evaluate_model(model.apply, result.params, x_val_s, y_val)  # (n, 1) and (n,)
    metrics = regression_metrics(target, pred)
    print(f"validation R2: {metrics['r2']:.4f}, RMSE: {metrics['rmse']:.4f}")

    from matplotlib.figure import Figure

    fig = Figure(figsize=(17, 5.2), layout="constrained")
    ax_fit, ax_pred, ax_hist = fig.subplots(1, 3)
    grid = jnp.linspace(-3.5, 3.5, 400)[:, None]
    curve = model.apply(result.params, jnb.transform(scaler, grid))
    ax_fit.scatter(x_train[:, 0], y_train, s=10, alpha=0.5, label="training data")
    ax_fit.scatter(x_val[:, 0], y_val, s=10, alpha=0.7, label="validation data")
    ax_fit.plot(grid[:, 0], true_function(grid[:, 0]), "k--", label="true function")
    ax_fit.plot(grid[:, 0], np.asarray(curve)[:, 0], "r", lw=2, label="MLP prediction")
    for lo, hi in ((-3.5, -3.0), (3.0, 3.5)):  # no data here: the ReLU network extrapolates linearly
        ax_fit.axvspan(lo, hi, color="gray", alpha=0.15, lw=0)
    ax_fit.set_xlim(-3.5, 3.5)
    ax_fit.set_xlabel("x  (grey: outside the training data)")
    ax_fit.set_ylabel("y")
    ax_fit.set_title("Fitted curve")
    ax_fit.legend()
    ax_fit.grid(alpha=0.3)
    plot_predictions(target, pred, ax=ax_pred)
    plot_training_history(h, ax=ax_hist, log_scale=True, title="Training history (MSE, log scale)")
    path = save_figure(fig, Path(args.out) / "regression.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
