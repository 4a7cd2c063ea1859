"""Tests for jnnbasics.viz's plots: the pictures are rendered and read back, pixel by pixel where it matters.

Oracles: closed forms (which side of a known line a point lies on, activation formulas, hand-built
histories whose best epoch is known), matplotlib's documented tab10 palette for the class colours,
and scikit-learn (confusion matrix, R², RMSE). pyplot's figure registry, saving and import hygiene
are in test_viz_figures.py.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
from helpers import assert_close
from matplotlib.figure import Figure

from jnnbasics import viz

matplotlib.use("Agg")  # before pyplot is first imported: the plots made without ax= go through pyplot

TAB10 = np.asarray(matplotlib.colormaps["tab10"].colors)[:, :3]


@pytest.fixture(autouse=True)
def _close_pyplot_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# --------------------------------------------------------------------------------------------------
# reading pictures back


def render(fig: Figure) -> np.ndarray:
    """Draw ``fig`` and return its pixels as an (height, width, 4) uint8 array."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def pixel(rgba: np.ndarray, ax, x: float, y: float) -> np.ndarray:
    """RGB (0..1) of the pixel showing data point (x, y) of ``ax`` (after the figure was drawn)."""
    col, row_from_bottom = ax.transData.transform((x, y))
    row = rgba.shape[0] - 1 - int(row_from_bottom)
    assert 0 <= row < rgba.shape[0] and 0 <= col < rgba.shape[1], f"({x}, {y}) is outside the picture"
    return rgba[row, int(col), :3] / 255.0


def class_at(rgba: np.ndarray, ax, x: float, y: float, n_classes: int = 10) -> int:
    """The class whose tab10 colour, paled over white, has the hue of the pixel at data point (x, y).

    A pale colour is ``1 - a * (1 - c)`` for some ``a``: its distance from white points the way of
    ``1 - c``, whatever ``a`` is. The class is the one whose direction is closest (cosine).
    """
    away = 1.0 - pixel(rgba, ax, x, y)
    assert np.linalg.norm(away) > 0.05, f"({x}, {y}) is white: no region drawn there"
    dirs = 1.0 - TAB10[:n_classes]
    cos = dirs @ away / (np.linalg.norm(dirs, axis=1) * np.linalg.norm(away))
    return int(np.argmax(cos))


def scatter(ax, name: str):
    """The scatter of the ``"training"`` or ``"validation"`` points."""
    found = [c for c in ax.collections if c.get_label() == name]
    assert len(found) == 1, f"{len(found)} scatters labelled {name!r}"
    return found[0]


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


# --------------------------------------------------------------------------------------------------
# hand-written models that split the plane at x0 = 0

HALF_PLANE = {"w": jnp.array([[1.0], [0.0]]), "b": jnp.array([0.0])}


def logit_apply(params, x):
    return x @ params["w"] + params["b"]  # (m, 1): logit x0


def flat_logit_apply(params, x):
    return (x @ params["w"] + params["b"])[:, 0]  # (m,)


def two_logits_apply(params, x):
    z = (x @ params["w"] + params["b"])[:, 0]
    return jnp.stack([-z, z], axis=1)  # (m, 2): class 1 where x0 > 0


def softmax_apply(params, x):
    return jax.nn.softmax(two_logits_apply(params, x), axis=-1)


def sigmoid_apply(params, x):
    return jax.nn.sigmoid(logit_apply(params, x))


def two_class_data():
    """Points away from x0 = 0: class 0 on the left, class 1 on the right."""
    x = np.array([[-2.0, -1.0], [-1.5, 1.5], [-1.0, 0.5], [1.0, -1.0], [1.5, 1.0], [2.0, 0.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    return x, y


@pytest.mark.parametrize(
    "apply_fn, output",
    [
        (logit_apply, "auto"),
        (logit_apply, "logits"),
        (flat_logit_apply, "auto"),
        (two_logits_apply, "auto"),
        (two_logits_apply, "logits"),
        (softmax_apply, "auto"),
        (softmax_apply, "probabilities"),
        (sigmoid_apply, "probabilities"),
    ],
    ids=["logit", "logit-explicit", "flat-logit", "2-logits", "2-logits-explicit", "softmax", "softmax-prob",
         "sigmoid-prob"],
)  # fmt: skip
def test_decision_boundary_splits_plane_at_zero(apply_fn, output):
    x, y = two_class_data()
    fig = viz.plot_decision_boundary(apply_fn, HALF_PLANE, x, y, resolution=40, output=output)
    ax = fig.axes[0]
    rgba = render(fig)
    for y_probe in (-1.15, 0.0, 1.65):  # the plot spans [-1.25, 1.75] (range [-1, 1.5] + 10%)
        for x_probe in (0.15, 1.2, 2.3):
            assert class_at(rgba, ax, -x_probe, y_probe) == 0, (-x_probe, y_probe)
            assert class_at(rgba, ax, x_probe, y_probe) == 1, (x_probe, y_probe)


def tilted_apply(params, x):
    return (x[:, 1] - 0.4 * x[:, 0] - 0.13)[:, None]  # class 1 above the line x1 = 0.4 x0 + 0.13


def test_decision_boundary_edges_are_smooth_between_grid_points():
    """On a 12 x 12 grid (cells ~0.4 wide) points 0.1 from a tilted line are on the right side.

    One colour per grid cell (nearest neighbour) would put a staircase across the line, with steps
    as large as a cell: many of these probes would fall on the wrong side.
    """
    x = np.array([[-2.0, -2.0], [2.0, 2.0], [-2.0, 2.0], [2.0, -2.0]])
    y = np.array([0, 1, 1, 0])
    fig = viz.plot_decision_boundary(tilted_apply, None, x, y, resolution=12, margin=0.0)
    ax = fig.axes[0]
    rgba = render(fig)
    normal = np.array([-0.4, 1.0]) / math.hypot(0.4, 1.0)  # points to class 1
    for x0 in np.linspace(-1.8, 1.8, 37):
        on_line = np.array([x0, 0.4 * x0 + 0.13])
        assert class_at(rgba, ax, *(on_line + 0.1 * normal)) == 1, x0
        assert class_at(rgba, ax, *(on_line - 0.1 * normal)) == 0, x0


def quadrant_apply(params, x):
    # class = (x0 > 0) + 2 * (x1 > 0): the argmax of these four scores
    a, b = x[:, 0] * params, x[:, 1] * params
    return jnp.stack([-a - b, a - b, -a + b, a + b], axis=1)


def test_decision_boundary_four_quadrants_orientation():
    """Four classes by quadrant on an asymmetric plane: catches a flipped or transposed picture."""
    x = np.array([[-1.0, -2.0], [3.0, -2.0], [-1.0, 1.0], [3.0, 1.0], [2.5, 0.8]])
    y = np.array([0, 1, 2, 3, 3])
    fig = viz.plot_decision_boundary(quadrant_apply, jnp.float32(1.0), x, y, resolution=50)
    ax = fig.axes[0]
    rgba = render(fig)
    assert class_at(rgba, ax, -0.6, -0.6, 4) == 0
    assert class_at(rgba, ax, 0.6, -0.6, 4) == 1
    assert class_at(rgba, ax, -0.6, 0.6, 4) == 2
    assert class_at(rgba, ax, 0.6, 0.6, 4) == 3
    assert class_at(rgba, ax, 3.3, -2.2, 4) == 1


def bands_apply(params, x):
    # three classes in vertical bands: nearest of the centres -2, 0, 2 (boundaries at x0 = -1, 1)
    return -((x[:, :1] - params[None, :]) ** 2)


@pytest.mark.parametrize("softmax", [False, True], ids=["logits", "probabilities"])
def test_decision_boundary_three_classes(softmax):
    centres = jnp.array([-2.0, 0.0, 2.0])
    apply_fn = (lambda p, x: jax.nn.softmax(bands_apply(p, x), axis=-1)) if softmax else bands_apply
    x = np.array([[-3.0, 1.0], [-3.0, -1.0], [0.0, 1.0], [0.0, -1.0], [3.0, 1.0], [3.0, -1.0]])
    y = np.array([0, 0, 1, 1, 2, 2])
    fig = viz.plot_decision_boundary(apply_fn, centres, x, y, resolution=60)
    ax = fig.axes[0]
    rgba = render(fig)
    assert legend_texts(ax)[:3] == ["class 0", "class 1", "class 2"]
    for x_probe, cls in [(-2.0, 0), (-1.1, 0), (-0.9, 1), (0.0, 1), (0.9, 1), (1.1, 2), (2.0, 2)]:
        assert class_at(rgba, ax, x_probe, 0.0, 3) == cls, x_probe


def test_decision_boundary_legend_names_classes_and_point_sets():
    x, y = two_class_data()
    x_val, y_val = np.array([[-1.0, -1.0], [1.0, 1.5]]), np.array([0, 1])
    fig = viz.plot_decision_boundary(
        logit_apply, HALF_PLANE, x, y, x_val=x_val, y_val=y_val, class_names=["cat", "dog"], resolution=10
    )
    ax = fig.axes[0]
    assert legend_texts(ax) == ["cat", "dog", "training: 6", "validation: 2"]
    swatches = ax.get_legend().legend_handles[:2]
    for k, handle in enumerate(swatches):  # the legend colour of each class is its tab10 colour
        np.testing.assert_allclose(matplotlib.colors.to_rgb(handle.get_markerfacecolor()), TAB10[k])
    default = viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, y, resolution=10).axes[0]
    assert legend_texts(default) == ["class 0", "class 1", "training: 6"]


def test_decision_boundary_points_show_the_truth_with_a_marker_per_set():
    x, y = two_class_data()
    y = 1 - y  # deliberately opposite to the model: the points must show the truth, not the model
    x_val, y_val = np.array([[-0.5, 0.5], [0.5, -0.5], [0.7, 0.7]]), np.array([1, 0, 0])
    fig = viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, y, x_val=x_val, y_val=y_val, resolution=20)
    ax = fig.axes[0]
    train, val = scatter(ax, "training"), scatter(ax, "validation")
    np.testing.assert_array_equal(train.get_offsets(), x)
    np.testing.assert_array_equal(train.get_array(), y)
    np.testing.assert_array_equal(val.get_offsets(), x_val)
    np.testing.assert_array_equal(val.get_array(), y_val)
    assert np.all(train.get_edgecolors()[:, :3] == 0.0)  # black edges
    # different markers: a circle is a many-vertex path, the triangle has 3 corners (+ closing)
    assert len(train.get_paths()[0].vertices) > 8 and len(val.get_paths()[0].vertices) <= 5
    # a point's face colour is its class's tab10 colour
    rgba = render(fig)
    assert rgba is not None
    np.testing.assert_allclose(train.get_facecolors()[:, :3], TAB10[y])


def test_decision_boundary_subsamples_large_sets_with_a_seed():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5000, 2))
    y = (x[:, 0] > 0).astype(int)
    x_val, y_val = rng.normal(size=(120, 2)), rng.integers(0, 2, 120)

    def draw(seed):
        fig = viz.plot_decision_boundary(
            logit_apply, HALF_PLANE, x, y, x_val=x_val, y_val=y_val, max_points=300, seed=seed, resolution=10
        )
        return fig.axes[0]

    ax = draw(0)
    shown = np.asarray(scatter(ax, "training").get_offsets())
    assert shown.shape == (300, 2)
    rows = {tuple(r) for r in x}
    assert all(tuple(r) in rows for r in shown) and len({tuple(r) for r in shown}) == 300  # distinct rows
    assert len(scatter(ax, "validation").get_offsets()) == 120  # under max_points: all of it
    assert legend_texts(ax)[2:] == ["training: 300 of 5,000 shown", "validation: 120"]
    np.testing.assert_array_equal(scatter(draw(0), "training").get_offsets(), shown)  # same seed, same
    assert not np.array_equal(scatter(draw(1), "training").get_offsets(), shown)
    everything = viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, y, max_points=None, resolution=10)
    assert len(scatter(everything.axes[0], "training").get_offsets()) == 5000


@pytest.mark.parametrize("margin", [0.0, 0.1, 0.25])
def test_decision_boundary_extent_is_the_data_range_plus_a_margin(margin):
    x, y = two_class_data()  # x0 in [-2, 2], x1 in [-1, 1.5]
    x_val, y_val = np.array([[3.0, -2.0]]), np.array([1])  # widens both ranges: [-2, 3], [-2, 1.5]
    fig = viz.plot_decision_boundary(
        logit_apply, HALF_PLANE, x, y, x_val=x_val, y_val=y_val, margin=margin, resolution=10
    )
    ax = fig.axes[0]
    assert ax.get_xlim() == pytest.approx((-2.0 - 5.0 * margin, 3.0 + 5.0 * margin))
    assert ax.get_ylim() == pytest.approx((-2.0 - 3.5 * margin, 1.5 + 3.5 * margin))


def test_decision_boundary_batches_compile_once_and_match_one_shot():
    x, y = two_class_data()
    seen = []

    def counting_apply(params, x):  # runs at trace time only: one entry per compilation
        seen.append(x.shape)
        return two_logits_apply(params, x)

    res = 30  # 900 grid points: 7 full batches of 128 and one padded batch
    batched = viz.plot_decision_boundary(counting_apply, HALF_PLANE, x, y, resolution=res, batch_size=128)
    assert seen == [(128, 2)], "one compilation, never more than batch_size rows"
    one_shot = viz.plot_decision_boundary(two_logits_apply, HALF_PLANE, x, y, resolution=res, batch_size=900)
    np.testing.assert_array_equal(render(batched), render(one_shot))


def test_decision_boundary_calls_apply_with_float32():
    x, y = two_class_data()
    dtypes = []

    def recording_apply(params, x):
        dtypes.append(x.dtype)
        return logit_apply(params, x)

    viz.plot_decision_boundary(recording_apply, HALF_PLANE, x.astype(np.float64), y, resolution=8)
    assert dtypes == [jnp.float32]


def test_decision_boundary_accepts_column_and_one_hot_labels():
    x, y = two_class_data()
    for labels in (y.reshape(-1, 1).astype(np.float32), np.eye(2)[y]):
        fig = viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, labels, resolution=10)
        np.testing.assert_array_equal(scatter(fig.axes[0], "training").get_array(), y)


def test_decision_boundary_draws_into_given_axes():
    import matplotlib.pyplot as plt

    x, y = two_class_data()
    fig = Figure()
    left, right = fig.subplots(1, 2)
    before = plt.get_fignums()
    assert viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, y, ax=right, resolution=10) is fig
    assert len(right.collections) >= 2 and len(left.collections) == 0
    assert plt.get_fignums() == before  # no pyplot figure made


def test_decision_boundary_warns_on_sigmoid_outputs_read_as_logits():
    x, y = two_class_data()
    with pytest.warns(UserWarning, match="output='probabilities'") as record:
        viz.plot_decision_boundary(sigmoid_apply, HALF_PLANE, x, y, resolution=10)
    assert record[0].filename == __file__  # the warning points at the caller's line


def test_decision_boundary_errors():
    x, y = two_class_data()
    f = viz.plot_decision_boundary
    with pytest.raises(ValueError, match=r"x must be an array of shape \(n, 2\).*got shape \(6, 3\)"):
        f(logit_apply, HALF_PLANE, np.zeros((6, 3)), y)
    with pytest.raises(ValueError, match=r"x must be an array of shape \(n, 2\)"):
        f(logit_apply, HALF_PLANE, np.zeros(6), y)
    with pytest.raises(ValueError, match=r"y must be one class per row of x \(6 rows\), got shape \(5,\)"):
        f(logit_apply, HALF_PLANE, x, y[:5])
    with pytest.raises(ValueError, match="y must be integer class indices"):
        f(logit_apply, HALF_PLANE, x, y + 0.5)
    with pytest.raises(ValueError, match="x must be finite"):
        f(logit_apply, HALF_PLANE, np.where(x == 2.0, np.nan, x), y)
    with pytest.raises(ValueError, match=r"x_val must be an array of shape \(n, 2\)"):
        f(logit_apply, HALF_PLANE, x, y, x_val=np.zeros((2, 3)), y_val=[0, 1])
    with pytest.raises(ValueError, match=r"y_val must be one class per row of x_val \(2 rows\)"):
        f(logit_apply, HALF_PLANE, x, y, x_val=np.zeros((2, 2)), y_val=[0])
    with pytest.raises(ValueError, match="plot_decision_boundary: y_val must be given together with x_val"):
        f(logit_apply, HALF_PLANE, x, y, x_val=x)
    with pytest.raises(ValueError, match="x_val must be given together with y_val, got None"):
        f(logit_apply, HALF_PLANE, x, y, y_val=y)
    with pytest.raises(ValueError, match=r"class_names must be one name per class \(2: .*got 1"):
        f(logit_apply, HALF_PLANE, x, y, class_names=["only"], resolution=5)
    with pytest.raises(TypeError, match="class_names must be a sequence of names"):
        f(logit_apply, HALF_PLANE, x, y, class_names="ab", resolution=5)
    with pytest.raises(ValueError, match="output must be one of 'auto', 'logits', 'probabilities'"):
        f(logit_apply, HALF_PLANE, x, y, output="softmax")
    with pytest.raises(ValueError, match="resolution must be at least 2"):
        f(logit_apply, HALF_PLANE, x, y, resolution=1)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        f(logit_apply, HALF_PLANE, x, y, batch_size=0)
    with pytest.raises(ValueError, match="max_points must be a positive integer"):
        f(logit_apply, HALF_PLANE, x, y, max_points=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        f(logit_apply, HALF_PLANE, x, y, seed=-1)
    with pytest.raises(ValueError, match="margin must be a finite number >= 0"):
        f(logit_apply, HALF_PLANE, x, y, margin=-0.1)
    with pytest.raises(TypeError, match="plot_decision_boundary: ax must be a matplotlib Axes"):
        f(logit_apply, HALF_PLANE, x, y, ax=Figure())
    with pytest.raises(ValueError, match=r"apply_fn\(params, x\) must be an array of shape"):
        f(lambda p, x: x[:, :, None] * jnp.ones(3), HALF_PLANE, x, y, resolution=5)
    with pytest.raises(ValueError, match=r"outputs must be in \[0, 1\] for output='probabilities'"):
        f(logit_apply, HALF_PLANE, x, y, resolution=5, output="probabilities")
    with pytest.raises(TypeError, match="apply_fn must be a callable"):
        f(HALF_PLANE, HALF_PLANE, x, y)


# --------------------------------------------------------------------------------------------------
# training history

# A run whose validation loss is lowest at epoch 7 (by construction) and whose losses span < 1 decade.
VAL = [1.0, 0.8, 0.6, 0.5, 0.45, 0.42, 0.40, 0.41, 0.43, 0.47]
TRAIN = [0.9, 0.7, 0.5, 0.4, 0.35, 0.3, 0.27, 0.25, 0.23, 0.22]


def lines_by_label(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def test_history_lines_hold_the_values():
    history = {"train_loss": [0.9, 0.5, 0.3, 0.25], "val_loss": [1.0, 0.6, 0.45, 0.44], "lr": [0.1] * 4}
    fig = viz.plot_training_history(history, best_epoch=False)
    ax = fig.axes[0]
    lines = lines_by_label(ax)
    assert set(lines) == {"Training Loss", "Validation Loss"}
    np.testing.assert_array_equal(lines["Training Loss"].get_ydata(), history["train_loss"])
    np.testing.assert_array_equal(lines["Validation Loss"].get_ydata(), history["val_loss"])
    np.testing.assert_array_equal(lines["Training Loss"].get_xdata(), [1, 2, 3, 4])
    assert ax.get_xlabel() == "Epoch" and ax.get_ylabel() == "Loss" and ax.get_title() == "Training History"
    assert ax.get_yscale() == "linear"
    assert legend_texts(ax) == ["Training Loss", "Validation Loss"]
    assert len(fig.axes) == 1  # no accuracy in this history: no second axes


def test_history_accuracy_on_a_second_axis():
    acc = {"train_accuracy": [0.5, 0.7, 0.8, 0.9], "val_accuracy": [0.4, 0.6, 0.75, 0.8]}
    history = {"train_loss": [0.9, 0.5, 0.3, 0.25], "val_loss": [1.0, 0.6, 0.45, 0.44], **acc}
    fig = viz.plot_training_history(history)
    ax, acc_ax = fig.axes
    assert acc_ax.get_ylabel() == "Accuracy" and acc_ax.get_ylim() == pytest.approx((0.0, 1.02))
    acc_lines = lines_by_label(acc_ax)
    np.testing.assert_array_equal(acc_lines["Training Accuracy"].get_ydata(), acc["train_accuracy"])
    np.testing.assert_array_equal(acc_lines["Validation Accuracy"].get_ydata(), acc["val_accuracy"])
    loss_lines = lines_by_label(ax)
    for loss, accuracy in (
        ("Training Loss", "Training Accuracy"),
        ("Validation Loss", "Validation Accuracy"),
    ):
        assert acc_lines[accuracy].get_color() == loss_lines[loss].get_color()  # a pair shares its colour
    texts = legend_texts(ax)
    assert texts[:4] == ["Training Loss", "Validation Loss", "Training Accuracy", "Validation Accuracy"]
    assert len(viz.plot_training_history(history, accuracy=False).axes) == 1


@pytest.mark.parametrize(
    "train, log_scale, expected",
    [
        ([10.0, 1.0, 0.1, 0.01], None, "log"),  # 3 decades: automatic log
        ([2.0, 1.0, 0.5, 0.1], None, "linear"),  # 1.3 decades
        ([10.0, 1.0, 0.1, 0.0], None, "linear"),  # a zero loss cannot be drawn on a log axis
        ([10.0, 1.0, 0.1, 0.01], False, "linear"),
        ([2.0, 1.0, 0.5, 0.1], True, "log"),
    ],
)
def test_history_log_scale_automatic_or_forced(train, log_scale, expected):
    ax = viz.plot_training_history({"train_loss": train}, log_scale=log_scale).axes[0]
    assert ax.get_yscale() == expected


def test_history_log_scale_counts_the_validation_loss_too():
    history = {"train_loss": [1.0, 0.9, 0.8], "val_loss": [1.0, 0.1, 0.001]}  # val spans 3 decades
    assert viz.plot_training_history(history).axes[0].get_yscale() == "log"


def test_history_marks_the_best_epoch_at_the_lowest_validation_loss():
    fig = viz.plot_training_history({"train_loss": TRAIN, "val_loss": VAL})
    ax = fig.axes[0]
    star = lines_by_label(ax)["Best epoch 7 (loss 0.4)"]
    assert list(star.get_xdata()) == [7] and list(star.get_ydata()) == [0.40]
    assert "Best epoch 7 (loss 0.4)" in legend_texts(ax)
    rgba = render(fig)  # on screen: the star's centre is green (tab:green), on the validation curve
    np.testing.assert_allclose(pixel(rgba, ax, 7, 0.40), TAB10[2], atol=0.08)
    explicit = viz.plot_training_history({"train_loss": TRAIN, "val_loss": VAL}, best_epoch=3).axes[0]
    assert list(lines_by_label(explicit)["Best epoch 3 (loss 0.6)"].get_xdata()) == [3]
    hidden = viz.plot_training_history({"train_loss": TRAIN, "val_loss": VAL}, best_epoch=False).axes[0]
    assert not [t for t in legend_texts(hidden) if t.startswith("Best")]
    no_val = viz.plot_training_history({"train_loss": TRAIN}).axes[0]
    assert not [t for t in legend_texts(no_val) if t.startswith("Best")]  # no validation: no best


def test_history_marks_the_early_stop():
    fig = viz.plot_training_history({"train_loss": TRAIN, "val_loss": VAL}, stop_epoch=10)
    ax = fig.axes[0]
    stop = lines_by_label(ax)["Early stop (epoch 10)"]
    assert list(stop.get_xdata()) == [10, 10] and stop.get_linestyle() == "--"
    assert legend_texts(ax)[-1] == "Early stop (epoch 10)"


@pytest.mark.parametrize("val", [None, [], [float("nan")] * 3], ids=["missing", "empty", "all-nan"])
def test_history_without_validation_has_one_line(val):
    history = {"train_loss": [3.0, 2.0, 1.0]}
    if val is not None:
        history["val_loss"] = val
    lines = viz.plot_training_history(history).axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["Training Loss"]


def test_history_draws_penalised_objective_dashed_in_the_training_colour():
    history = {"train_loss": [1.0, 0.5], "val_loss": [1.2, 0.7], "train_objective": [1.3, 0.8]}
    lines = lines_by_label(viz.plot_training_history(history).axes[0])
    objective = lines["Training Objective (loss + penalty)"]
    np.testing.assert_array_equal(objective.get_ydata(), [1.3, 0.8])
    assert objective.get_linestyle() == "--"
    assert objective.get_color() == lines["Training Loss"].get_color() != lines["Validation Loss"].get_color()


def test_history_jax_arrays_and_title():
    history = {"train_loss": jnp.array([1.0, 0.1, 0.01]), "val_loss": np.array([1.5, 0.2, 0.05])}
    ax = viz.plot_training_history(history, title="run 7").axes[0]
    assert ax.get_title() == "run 7"
    assert_close(ax.get_lines()[0].get_ydata(), np.array([1.0, 0.1, 0.01]), np.float32)


def test_history_draws_into_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert viz.plot_training_history({"train_loss": [1.0]}, ax=ax) is fig
    assert len(ax.get_lines()) == 1


def test_history_errors():
    f = viz.plot_training_history
    with pytest.raises(ValueError, match=r"history\['train_loss'\] must be a non-empty .*got nothing"):
        f({})
    with pytest.raises(ValueError, match="got an empty sequence; train for at least one epoch"):
        f({"train_loss": [], "val_loss": []})
    with pytest.raises(ValueError, match=r"history\['val_loss'\] must be one value per epoch \(3.*got 2"):
        f({"train_loss": [1.0, 2.0, 3.0], "val_loss": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"history\['val_accuracy'\] must be one value per epoch"):
        f({"train_loss": [1.0, 2.0], "val_accuracy": [0.5]})
    with pytest.raises(TypeError, match="history must be a mapping"):
        f([1.0, 2.0])
    with pytest.raises(ValueError, match=r"best_epoch must be an epoch between 1 and 3 \(1-based\).*got 0"):
        f({"train_loss": [1.0, 2.0, 3.0]}, best_epoch=0)
    with pytest.raises(ValueError, match="stop_epoch must be an epoch between 1 and 3.*got 4"):
        f({"train_loss": [1.0, 2.0, 3.0]}, stop_epoch=4)
    with pytest.raises(TypeError, match="log_scale must be True, False or None"):
        f({"train_loss": [1.0]}, log_scale="auto")
    with pytest.raises(TypeError, match="plot_training_history: ax must be a matplotlib Axes"):
        f({"train_loss": [1.0]}, ax="left")


# --------------------------------------------------------------------------------------------------
# confusion matrix and regression plots (oracle: scikit-learn; the metrics are tested in test_metrics)


@pytest.mark.parametrize("normalize", [False, True])
def test_plot_confusion_matrix_annotations_match_sklearn(normalize):
    from sklearn.metrics import confusion_matrix as sk_confusion

    t = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 1])
    p = np.array([0, 1, 0, 1, 1, 2, 0, 2, 2, 2])
    fig = viz.plot_confusion_matrix(t, p, class_names=["cat", "dog", "eel"], normalize=normalize)
    ax = fig.axes[0]
    counts = sk_confusion(t, p)
    fractions = sk_confusion(t, p, normalize="true")
    texts = {(round(txt.get_position()[1]), round(txt.get_position()[0])): txt.get_text() for txt in ax.texts}
    assert len(texts) == 9
    for i in range(3):
        for j in range(3):
            want = f"{fractions[i, j]:.2f}\n({counts[i, j]})" if normalize else str(counts[i, j])
            assert texts[(i, j)] == want
    shown = np.asarray(ax.images[0].get_array())
    assert_close(shown, fractions if normalize else counts.astype(float), np.float64)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "eel"]
    assert ax.get_xlabel() == "Predicted class" and ax.get_ylabel() == "True class"


def test_plot_confusion_matrix_errors_and_ax():
    with pytest.raises(ValueError, match=r"class_names must be one name per class \(label 2 has none\)"):
        viz.plot_confusion_matrix([0, 1, 2], [0, 1, 1], class_names=["a", "b"])
    fig = Figure()
    ax = fig.add_subplot()
    assert viz.plot_confusion_matrix([0, 1], [1, 1], ax=ax) is fig
    assert len(ax.texts) == 4


def test_plot_predictions_shows_points_diagonal_and_metrics():
    from sklearn.metrics import mean_squared_error, r2_score

    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    p = np.array([0.2, 0.8, 2.5, 2.9, 4.4])
    ax = viz.plot_predictions(t, p.reshape(-1, 1)).axes[0]
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), np.column_stack([t, p]))
    diagonal = ax.get_lines()[0]
    np.testing.assert_array_equal(diagonal.get_xdata(), diagonal.get_ydata())
    assert diagonal.get_xdata()[0] <= min(t.min(), p.min())
    assert diagonal.get_xdata()[-1] >= max(t.max(), p.max())
    title = ax.get_title()
    assert f"R² = {r2_score(t, p):.4f}" in title
    assert f"RMSE = {math.sqrt(mean_squared_error(t, p)):.4g}" in title
    with pytest.raises(ValueError, match="plot_predictions: y_true and y_pred must be of the same length"):
        viz.plot_predictions(t, p[:3])


# --------------------------------------------------------------------------------------------------
# activations (oracle: closed forms)


def _erf(x):
    return np.vectorize(math.erf)(x)


ACTIVATION_ORACLES = {
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.01 * x), lambda x: np.where(x > 0, 1.0, 0.01)),
    "gelu": (
        lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
        lambda x: 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi),
    ),
}


def test_plot_activations_values_and_derivatives(dtype):
    names = tuple(ACTIVATION_ORACLES)
    fig = viz.plot_activations(names, x_range=(-3.1, 2.9))  # 0 is not a sample point: kinks stay off-grid
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(names)
    for ax, name in zip(visible, names, strict=True):
        value_line, slope_line = ax.get_lines()[:2]
        xs = np.asarray(value_line.get_xdata())
        assert xs.dtype == np.dtype(dtype) and xs[0] == pytest.approx(-3.1) and xs[-1] == pytest.approx(2.9)
        f, df = ACTIVATION_ORACLES[name]
        x64 = xs.astype(np.float64)
        assert_close(value_line.get_ydata(), f(x64).astype(dtype), dtype, err_msg=name)
        assert_close(slope_line.get_ydata(), df(x64).astype(dtype), dtype, kind="grad", err_msg=name)


def test_plot_activations_into_given_axes():
    fig = Figure()
    axes = fig.subplots(2, 2)  # an array, as plt.subplots returns it
    assert viz.plot_activations(["relu", "tanh", "sigmoid", "gelu"], ax=axes) is fig
    assert [a.get_title() for a in axes.ravel()] == ["relu", "tanh", "sigmoid", "gelu"]
    one = Figure().add_subplot()
    assert viz.plot_activations("relu", ax=one) is one.figure and one.get_title() == "relu"
    with pytest.raises(ValueError, match=r"plot_activations: ax must be 2 axes \(one per panel\), got 4"):
        viz.plot_activations(["relu", "tanh"], ax=axes)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        viz.plot_activations(["relu", "tanh"], ax=[one, "x"])


def test_plot_activations_errors():
    assert len([ax for ax in viz.plot_activations("relu").axes if ax.get_visible()]) == 1
    with pytest.raises(ValueError, match="relu"):  # get_activation lists the valid names
        viz.plot_activations(["swishy"])
    with pytest.raises(ValueError, match="names must be a non-empty sequence"):
        viz.plot_activations([])
    with pytest.raises(ValueError, match="x_range must be finite numbers with low < high"):
        viz.plot_activations(["relu"], x_range=(2, -2))
