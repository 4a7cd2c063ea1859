"""Write the notebooks of this folder from the cells below (committed without outputs).

Run ``python notebooks/build_notebooks.py`` after changing a cell here, then
``ruff format notebooks`` (the committed notebooks are ruff-formatted), and commit the ``.ipynb``
files. ``tests/test_notebooks.py`` executes them top to bottom.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

INSTALL = """\
**Set-up.** This notebook needs nothing from the network. Run it from a clone of the repository,
with the package installed:

```bash
pip install -e ".[test]"     # from the repository's root: jnnbasics, PyTorch (CPU), scikit-learn
jupyter lab notebooks/       # or open the .ipynb in VS Code; in Colab, upload the repository folder
```

In Colab, after uploading the repository (e.g. to `/content/jnnbasics`), run
`!pip install -e /content/jnnbasics` once in a cell and restart the runtime."""

# --------------------------------------------------------------------------------------------------
# the tutorial, end to end

TUTORIAL = [
    (
        "md",
        """\
# Neural-network basics in JAX, end to end

The classic PyTorch "Neural Networks Basics" tutorial — activations, `SimpleNN`, MLP, losses,
backpropagation, the training loop, dropout, L1/L2, initialisation, schedules, evaluation, plots,
data preparation, architecture selection and tuning — with **jnnbasics**: pure functions over
parameter pytrees, randomness only from the keys you pass. `docs/tutorial.md` says, section by
section, what differs from the tutorial's PyTorch code and why; the sizes here are small so the
whole notebook runs in seconds on a laptop CPU.

"""
        + INSTALL,
    ),
    (
        "code",
        """\
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import jnnbasics as jnb
from jnnbasics import viz

key = jax.random.key(0)  # the one source of randomness: split it, never reuse a piece""",
    ),
    (
        "md",
        """\
## 1. Artificial neurons

A neuron is a weighted sum of its inputs plus a bias, through an activation: `y = σ(w · x + b)`.
`jax.vmap` turns the one-sample function into a batched one.""",
    ),
    (
        "code",
        """\
def neuron(w, b, x):
    return jnb.sigmoid(jnp.dot(w, x) + b)


w, b, x = jnp.array([0.5, -1.0, 2.0]), jnp.array(0.1), jnp.array([1.0, 2.0, 3.0])
print(neuron(w, b, x))  # sigmoid(4.6)
batch = jnp.stack([x, -x, 2 * x])
print(jax.vmap(neuron, in_axes=(None, None, 0))(w, b, batch))""",
    ),
    (
        "md",
        """\
## 2. Activation functions

Each activation and its derivative (from `jax.grad`). `viz` plots make their figure through
pyplot, so the notebook shows it under the cell (and `plt.show()` shows it in a script). A plot
returns its figure: assign it (`fig = ...`) when the plot is a cell's last line, or Jupyter shows
the returned figure a second time.""",
    ),
    (
        "code",
        """\
fig = viz.plot_activations(["sigmoid", "relu", "tanh"], x_range=(-4, 4))  # also: leaky_relu, gelu
logits = jnp.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
print(jnb.softmax(logits).sum(axis=1))  # per sample (rows sum to 1); the tutorial's axis=0 sums columns""",
    ),
    (
        "md",
        "## 3. `SimpleNN` and 4. the multi-layer perceptron\n\nA model is a `(init, apply)` pair; "
        "the parameters are plain data.",
    ),
    (
        "code",
        """\
model = jnb.simple_nn(input_size=4, hidden_size=8, output_size=3)
key, init_key = jax.random.split(key)
params = model.init(init_key)
print([{name: a.shape for name, a in layer.items()} for layer in params])
print(model.apply(params, jnp.ones((5, 4))).shape)

deep = jnb.mlp([4, 16, 16, 3])
print(deep.layer_sizes, len(deep.init(init_key)), "layers")""",
    ),
    (
        "md",
        "## 5. Loss functions\n\nA binary network ends in a logit: `bce_with_logits` applies the "
        "sigmoid inside the loss, stably.",
    ),
    (
        "code",
        """\
raw = jnp.array([[2.0], [-1.0]])
y01 = jnp.array([[1.0], [0.0]])
print(jnb.compute_loss(raw, y01, "bce_with_logits"), jnb.compute_loss(jnb.sigmoid(raw), y01, "binary_cross_entropy"))
print(jnb.compute_loss(jnp.array([[2.0, 0.5, -1.0]]), jnp.array([0]), "cross_entropy"))""",
    ),
    (
        "md",
        "## 6. Backpropagation: one training step\n\n`jax.value_and_grad` is the backward pass; "
        "optax's Adam is the optimiser; `jax.jit` compiles the step once.",
    ),
    (
        "code",
        """\
binary = jnb.mlp([2, 16, 1])
key, init_key, data_key = jax.random.split(key, 3)
params = binary.init(init_key)
xb = jax.random.normal(data_key, (8, 2))
yb = (xb[:, :1] > 0).astype(jnp.float32)


def loss_fn(params, x, y):
    return jnb.compute_loss(binary.apply(params, x), y, "bce_with_logits")


optimizer = jnb.make_optimizer(1e-2)


@jax.jit
def train_step(params, opt_state, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


opt_state = optimizer.init(params)
for _ in range(20):
    params, opt_state, loss = train_step(params, opt_state, xb, yb)
print("loss after 20 steps:", float(loss))""",
    ),
    (
        "md",
        """\
## 7. The training loop

`train_model` runs each epoch as one compiled call. `progress=True` draws a bar that updates in
place under the cell; its time left is measured from the second epoch on (the first one compiles).""",
    ),
    (
        "code",
        """\
key, data_key, split_key, train_key = jax.random.split(key, 4)
x, y = jnb.make_moons(data_key, 400, noise=0.2)
x, y, scaler = jnb.prepare_data_for_nn(x, y)
x_train, y_train, x_val, y_val = jnb.train_val_split(split_key, x, y, val_fraction=0.2)

moons_model, loss_type = jnb.select_architecture(2, 1, "binary")  # SimpleNN(2, 64, 1), bce_with_logits
result = jnb.train_model(
    moons_model, (x_train, y_train), (x_val, y_val), key=train_key,
    epochs=60, learning_rate=1e-2, batch_size=32, patience=10, progress=True,
)
history = result.history
print(f"stopped: {result.stop_reason}, best epoch {result.best_epoch}, "
      f"val accuracy {history['val_accuracy'][result.best_epoch - 1]:.1%}")""",
    ),
    (
        "md",
        "The history: losses on the left axis, accuracies on the right, the best epoch starred "
        "and an early stop marked.",
    ),
    (
        "code",
        """\
stop = len(history["train_loss"]) if result.stop_reason == "early_stopping" else None
fig = viz.plot_training_history(history, stop_epoch=stop, title="Two moons")""",
    ),
    ("md", "## 8. Dropout\n\n`rate` is the drop probability; the mask comes from the key you pass."),
    (
        "code",
        """\
drop_model = jnb.dropout_mlp([2, 32, 1], dropout_rate=0.5)
key, init_key, k1, k2 = jax.random.split(key, 4)
params = drop_model.init(init_key)
xs = jnp.ones((4, 2))
a = drop_model.apply(params, xs, key=k1, train=True)
print(jnp.array_equal(a, drop_model.apply(params, xs, key=k1, train=True)),   # same key, same mask
      jnp.allclose(a, drop_model.apply(params, xs, key=k2, train=True)))       # another key, another""",
    ),
    (
        "md",
        "## 9. L1/L2 regularisation\n\nThe tutorial's L2 is the *unsquared* norm; "
        "`l2_squared_penalty` is the usual weight-decay term.",
    ),
    (
        "code",
        """\
p = [{"w": jnp.array([[3.0, 4.0]]), "b": jnp.zeros(2)}]
print(jnb.l1_penalty(p), jnb.l2_penalty(p), jnb.l2_squared_penalty(p))  # 7, 5, 25""",
    ),
    ("md", "## 10. Weight initialisation"),
    (
        "code",
        """\
key, k = jax.random.split(key)
w = jnb.xavier_uniform(k, (100, 50))
print(float(w.std()), np.sqrt(6 / 150) / np.sqrt(3))  # uniform(-a, a) has std a / sqrt(3)""",
    ),
    (
        "md",
        "## 11. Learning-rate schedules\n\nPyTorch's `StepLR` and `CosineAnnealingLR` per epoch "
        "(torch's cosine goes back up after `T_max`).",
    ),
    (
        "code",
        """\
step = jnb.create_lr_scheduler(0.1, "step", steps_per_epoch=1)  # one optimizer step per epoch here
cosine = jnb.cosine_annealing(0.1, t_max=100)
epochs = np.arange(201)  # a schedule is a function of the step count: jit it once for all of them
step_lr, cosine_lr = (np.asarray(jax.jit(schedule)(epochs)) for schedule in (step, cosine))
print(cosine_lr[[0, 50, 100, 150, 200]].round(4))  # 0.1 0.05 0 0.05 0.1: back UP after t_max
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(epochs, step_lr, label="step (30 epochs, gamma 0.1)")
ax.plot(epochs, cosine_lr, label="cosine (t_max=100)")
ax.set(xlabel="epoch", ylabel="learning rate", title="Schedules")
ax.legend()
plt.show()""",
    ),
    ("md", "## 12. Model evaluation"),
    (
        "code",
        """\
predictions, actual = jnb.evaluate_model(moons_model.apply, result.params, x_val, y_val)
predicted = (predictions[:, 0] > 0).astype(int)
print(f"accuracy {np.mean(predicted == actual):.1%}")
fig = viz.plot_confusion_matrix(actual, predicted, class_names=["upper", "lower"])""",
    ),
    (
        "md",
        """\
## 13. Visualisation

The decision boundary: each class's region in a pale version of its colour, training points as
circles, validation points as triangles, the class names in the legend.""",
    ),
    (
        "code",
        """\
fig = viz.plot_decision_boundary(
    moons_model.apply, result.params, x_train, y_train, x_val=x_val, y_val=y_val,
    class_names=["upper", "lower"],
)""",
    ),
    (
        "md",
        "Several plots in one figure: pass `ax=`. On the right, three classes: with several output "
        'columns the regions are the argmax — here of a hand-made linear "model" with a fixed '
        "direction per class.",
    ),
    (
        "code",
        """\
directions = jnp.array([[1.0, 0.0], [-0.5, 0.87], [-0.5, -0.87]]).T  # (2 features, 3 classes)
three_class = lambda p, pts: pts @ p  # scores (n, 3)
points = jax.random.normal(jax.random.key(5), (200, 2))
fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5), layout="constrained")
viz.plot_training_history(history, ax=left, accuracy=False, log_scale=True, title="Losses, log scale")
viz.plot_decision_boundary(three_class, directions, points, jnp.argmax(points @ directions, axis=1), ax=right,
                           class_names=["east", "north-west", "south-west"])
plt.show()""",
    ),
    (
        "md",
        "## 14. Data preparation\n\nThe scaler is a small pytree: fit on the training rows, "
        "apply everywhere.",
    ),
    (
        "code",
        """\
raw_x = jnp.array([[1.0, 100.0], [2.0, 200.0], [3.0, 300.0], [4.0, 400.0]])
fitted = jnb.fit_scaler(raw_x[:3])
print(jnb.transform(fitted, raw_x))""",
    ),
    ("md", "## 15. Model architecture selection"),
    (
        "code",
        """\
for problem in ("binary", "multiclass", "regression"):
    chosen, loss_name = jnb.select_architecture(10, 3, problem)
    print(f"{problem:>10}: layers {chosen.layer_sizes}, loss {loss_name}")""",
    ),
    (
        "md",
        "## 16. Hyperparameter tuning\n\nSettings that only change numbers (learning rate, penalties, "
        "dropout rate, seed) are trained together, as one vmapped program; here 6 settings, one "
        "compilation. A key the model takes (e.g. `hidden`) makes one program per value.",
    ),
    (
        "code",
        """\
def make_model():
    return jnb.mlp([2, 16, 1], loss_type="bce_with_logits")


grid = {"learning_rate": [3e-3, 1e-2, 3e-2], "lambda_l2": [0.0, 1e-3]}
key, tune_key = jax.random.split(key)
results = jnb.tune_hyperparameters(
    make_model, grid, (x_train, y_train), (x_val, y_val), key=tune_key, epochs=15, batch_size=32
)
for r in results:
    print(r["params"], round(r["final_loss"], 4))""",
    ),
    (
        "md",
        """\
## Where to go next

`docs/tutorial.md` (what differs from the tutorial, and why), `framework_comparison.ipynb` (the
same network in PyTorch, Flax NNX and jnnbasics), `examples/` and `jnnbasics train --help`.""",
    ),
]

# --------------------------------------------------------------------------------------------------
# the framework comparison

COMPARISON = [
    (
        "md",
        """\
# The same MLP in PyTorch, Flax NNX and jnnbasics

One set of initial weights, the same batches in the same order, Adam with the same settings — three
frameworks. Their loss curves lie on top of each other (float32 rounding apart), and a small timing
comparison shows what each costs **on the machine this runs on** (medians of a few repeats; the
numbers change with the machine and with whatever else runs on it, so they are no benchmark: see
`benchmarks/` for that).

"""
        + INSTALL
        + """

PyTorch is a test dependency of jnnbasics (`pip install -e ".[test]"`); Flax comes with jnnbasics.""",
    ),
    (
        "code",
        """\
import statistics
import time

import jax
import matplotlib.pyplot as plt
import numpy as np
import optax
import torch
from flax import nnx

import jnnbasics as jnb

jax.config.update("jax_default_matmul_precision", "highest")  # full float32 products on every backend
torch.set_num_threads(1)  # small matrices: threads only add overhead

LAYER_SIZES, BATCH, EPOCHS, LR = [2, 32, 32, 1], 32, 20, 1e-3
ADAM = optax.adam(LR)  # one optax object for every NNX run: a new one makes nnx.jit compile again""",
    ),
    (
        "md",
        "## The data and the starting weights\n\nTwo moons, standardised; the weights are drawn "
        "once by jnnbasics and copied into the other two.",
    ),
    (
        "code",
        """\
data_key, split_key, init_key, train_key = jax.random.split(jax.random.key(0), 4)
x, y = jnb.make_moons(data_key, 300, noise=0.2)
x, y, _ = jnb.prepare_data_for_nn(x, y)
x_train, y_train, x_val, y_val = jnb.train_val_split(split_key, x, y, val_fraction=0.2)
y_train2, y_val2 = (np.asarray(v, np.float32).reshape(-1, 1) for v in (y_train, y_val))  # (n, 1) targets

model = jnb.mlp(LAYER_SIZES, loss_type="bce_with_logits")
params0 = model.init(init_key)
print(f"{len(x_train)} training rows, {len(x_val)} validation rows; "
      f"{EPOCHS * -(-len(x_train) // BATCH)} Adam steps")""",
    ),
    ("md", "## PyTorch: the tutorial's loop"),
    (
        "code",
        """\
def torch_mlp(params):
    layers = []
    for i, (m, n) in enumerate(zip(LAYER_SIZES[:-1], LAYER_SIZES[1:])):
        layers.append(torch.nn.Linear(m, n))
        if i < len(LAYER_SIZES) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    net.load_state_dict(jnb.params_to_torch(params))  # (in, out) -> torch's (out, in)
    return net


def loader(x, y):
    data = torch.utils.data.TensorDataset(torch.tensor(np.asarray(x)), torch.tensor(y))
    return torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=False)


def train_torch(params):
    net, loss_fn = torch_mlp(params), torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    train, val = loader(x_train, y_train2), loader(x_val, y_val2)
    history = {"train_loss": [], "val_loss": []}
    for _ in range(EPOCHS):
        net.train()
        losses = []
        for xb, yb in train:
            loss = loss_fn(net(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        net.eval()
        with torch.no_grad():
            val_losses = [loss_fn(net(xb), yb).item() for xb, yb in val]
        history["train_loss"].append(np.mean(losses))
        history["val_loss"].append(np.mean(val_losses))
    return history""",
    ),
    ("md", "## Flax NNX: a module object, a Python loop of jitted steps"),
    (
        "code",
        """\
class NNXMLP(nnx.Module):
    def __init__(self, params):
        self.layers = nnx.List([nnx.Linear(m, n, rngs=nnx.Rngs(0)) for m, n in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:])])
        for layer, p in zip(self.layers, params):  # nnx.Linear's kernel is (in, out), like ours
            layer.kernel.value, layer.bias.value = p["w"], p["b"]

    def __call__(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            x = jax.nn.relu(x) if i < len(self.layers) - 1 else x
        return x


def nnx_loss(net, x, y):
    return optax.sigmoid_binary_cross_entropy(net(x), y).mean()


@nnx.jit
def nnx_step(net, optimizer, x, y):
    loss, grads = nnx.value_and_grad(nnx_loss)(net, x, y)
    optimizer.update(net, grads)
    return loss


nnx_eval = nnx.jit(nnx_loss)


def in_batches(x, y):
    return [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH)]


def train_nnx(params):
    net = NNXMLP(params)
    optimizer = nnx.Optimizer(net, ADAM, wrt=nnx.Param)
    train, val = in_batches(np.asarray(x_train), y_train2), in_batches(np.asarray(x_val), y_val2)
    history = {"train_loss": [], "val_loss": []}
    for _ in range(EPOCHS):
        history["train_loss"].append(np.mean([float(nnx_step(net, optimizer, xb, yb)) for xb, yb in train]))
        history["val_loss"].append(np.mean([float(nnx_eval(net, xb, yb)) for xb, yb in val]))
    return history""",
    ),
    ("md", "## jnnbasics: one compiled call per epoch"),
    (
        "code",
        """\
def train_jnnbasics(params):
    result = jnb.train_model(
        model, (x_train, y_train), (x_val, y_val), key=train_key, params=params,
        epochs=EPOCHS, learning_rate=LR, batch_size=BATCH, shuffle=False,
    )
    return result.history""",
    ),
    ("md", "## Train all three from the same start, and compare"),
    (
        "code",
        """\
histories = {name: train(params0) for name, train in
             (("jnnbasics", train_jnnbasics), ("PyTorch", train_torch), ("Flax NNX", train_nnx))}

largest = {
    (name, k): float(np.max(np.abs(np.asarray(h[k]) - np.asarray(histories["jnnbasics"][k]))))
    for name, h in histories.items() if name != "jnnbasics" for k in ("train_loss", "val_loss")
}
for (name, k), diff in largest.items():
    print(f"largest {k} difference, {name} vs jnnbasics: {diff:.2e}")
print(f"largest difference overall: {max(largest.values()):.2e}")""",
    ),
    (
        "code",
        """\
fig, (ax, ax_diff) = plt.subplots(1, 2, figsize=(13, 4.5), layout="constrained")
epochs = np.arange(1, EPOCHS + 1)
styles = {"jnnbasics": "-", "PyTorch": "x", "Flax NNX": "o"}
for name, h in histories.items():
    for k, color in (("train_loss", "tab:blue"), ("val_loss", "tab:orange")):
        ax.plot(epochs, h[k], styles[name], color=color, mfc="none", label=f"{k}, {name}")
        if name != "jnnbasics":
            diff = np.abs(np.asarray(h[k]) - np.asarray(histories["jnnbasics"][k])) + 1e-12
            ax_diff.semilogy(epochs, diff, styles[name] + "-", color=color, mfc="none", label=f"{k}, {name}")
ax.set(xlabel="Epoch", ylabel="BCE-with-logits loss", title="Same MLP, same start, same batches")
ax_diff.set(xlabel="Epoch", ylabel="|other − jnnbasics|", title="Difference from jnnbasics (float32 rounding)")
ax.legend(fontsize="small", ncols=2)
ax_diff.legend(fontsize="small")
plt.show()""",
    ),
    (
        "md",
        """\
## A small timing comparison, on this machine

Each framework trains the same run (all epochs, from the same start) a few times; the first call
includes compilation (JAX) or warm-up (PyTorch), the median of the next ones is the steady cost.
jnnbasics runs an epoch — every batch and the validation pass — as one compiled call; the other two
run one call per batch.""",
    ),
    (
        "code",
        """\
def timed(train, repeats=3):
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        train(params0)
        times.append(time.perf_counter() - t0)
    return times[0], statistics.median(times[1:])


print(f"{'framework':<10} {'first call':>11} {'median after':>13}   ({EPOCHS} epochs, this machine, now)")
for name, train in (("jnnbasics", train_jnnbasics), ("PyTorch", train_torch), ("Flax NNX", train_nnx)):
    first, median = timed(train)
    print(f"{name:<10} {first:>10.3f}s {median:>12.3f}s")""",
    ),
    (
        "md",
        """\
Why the losses are not bit for bit equal: all three compute in float32, but not in the same order
(XLA fuses and reorders sums; torch calls its own kernels), so each step rounds a little
differently. `examples/torch_side_by_side.py --float64` shows the two agreeing to about 1e-15 in
double precision.""",
    ),
]


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook of the given (kind, source) cells, with stable cell ids and no outputs."""
    nb = new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, (kind, source) in enumerate(cells):
        cell = new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        cell["id"] = f"cell-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def main() -> None:
    for name, cells in (("tutorial.ipynb", TUTORIAL), ("framework_comparison.ipynb", COMPARISON)):
        nbformat.write(build(cells), HERE / name)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
