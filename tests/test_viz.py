"""Tests for jnnbasics.viz: the pictures are rendered and read back, pixel by pixel where it matters.

Oracles: closed forms (which half-plane a grid point lies in, activation formulas) and scikit-learn
(confusion matrix, R², RMSE, MAE).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from jnnbasics import viz

# --------------------------------------------------------------------------------------------------
# reading pictures back


def render(fig: Figure) -> np.ndarray:
    """Draw ``fig`` with Agg and return its pixels as an (height, width, 4) uint8 array."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def pixel(rgba: np.ndarray, ax, x: float, y: float) -> np.ndarray:
    """RGB (0..1) of the pixel showing data point (x, y) of ``ax`` (after the figure was drawn)."""
    col, row_from_bottom = ax.transData.transform((x, y))
    row = rgba.shape[0] - 1 - int(row_from_bottom)
    return rgba[row, int(col), :3] / 255.0


def region_colours(ax) -> np.ndarray:
    """The on-screen colour of each class's region: its colormap colour blended over white."""
    image = ax.images[0]
    n = image.norm.Ncmap
    rgb = np.array([image.cmap(image.norm(k))[:3] for k in range(n)])
    alpha = image.get_alpha()
    return alpha * rgb + (1.0 - alpha) * 1.0


def class_at(rgba: np.ndarray, ax, x: float, y: float) -> int:
    """The class whose region colour is nearest to the pixel at data point (x, y)."""
    colours = region_colours(ax)
    distances = np.linalg.norm(colours - pixel(rgba, ax, x, y), axis=1)
    return int(np.argmin(distances))


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
    for y_probe in (-1.8, 0.0, 2.2):  # 0.25 is over a grid cell away from the boundary (cells ~0.15 wide)
        for x_probe in (0.25, 1.2, 2.8):
            assert class_at(rgba, ax, -x_probe, y_probe) == 0, (-x_probe, y_probe)
            assert class_at(rgba, ax, x_probe, y_probe) == 1, (x_probe, y_probe)
    # the two regions really are different colours on screen, not the same colour twice
    assert np.linalg.norm(pixel(rgba, ax, -0.5, 0.0) - pixel(rgba, ax, 0.5, 0.0)) > 0.1


def test_decision_boundary_grid_classes_match_closed_form():
    """The drawn class image equals (grid x0 > 0) on the documented grid, and is not transposed."""
    x, y = two_class_data()
    res, pad = 25, 0.5
    fig = viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, y, resolution=res, padding=pad)
    image = np.asarray(fig.axes[0].images[0].get_array())
    gx = np.linspace(x[:, 0].min() - pad, x[:, 0].max() + pad, res).astype(np.float32)
    expected = np.broadcast_to((gx > 0).astype(int), (res, res))  # row = feature 2, column = feature 1
    np.testing.assert_array_equal(image, expected)
    ax = fig.axes[0]
    assert ax.get_xlim() == pytest.approx((x[:, 0].min() - pad, x[:, 0].max() + pad))
    assert ax.get_ylim() == pytest.approx((x[:, 1].min() - pad, x[:, 1].max() + pad))


def quadrant_apply(params, x):
    # class = (x0 > 0) + 2 * (x1 > 0): the argmax of these four scores
    a, b = x[:, 0] * params, x[:, 1] * params
    return jnp.stack([-a - b, a - b, -a + b, a + b], axis=1)


def test_decision_boundary_four_quadrants_orientation():
    """Four classes by quadrant on an asymmetric plane: catches a flipped or transposed image."""
    x = np.array([[-1.0, -2.0], [3.0, -2.0], [-1.0, 1.0], [3.0, 1.0], [2.5, 0.8]])
    y = np.array([0, 1, 2, 3, 3])
    fig = viz.plot_decision_boundary(quadrant_apply, jnp.float32(1.0), x, y, resolution=50)
    ax = fig.axes[0]
    rgba = render(fig)
    assert class_at(rgba, ax, -0.6, -0.6) == 0
    assert class_at(rgba, ax, 0.6, -0.6) == 1
    assert class_at(rgba, ax, -0.6, 0.6) == 2
    assert class_at(rgba, ax, 0.6, 0.6) == 3
    assert class_at(rgba, ax, 3.5, -2.5) == 1


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
    assert len(region_colours(ax)) == 3
    for x_probe, cls in [(-2.0, 0), (-1.3, 0), (-0.7, 1), (0.0, 1), (0.7, 1), (1.3, 2), (2.0, 2)]:
        assert class_at(rgba, ax, x_probe, 0.0) == cls, x_probe


def test_decision_boundary_scatter_coloured_by_true_class():
    x, y = two_class_data()
    y = 1 - y  # deliberately opposite to the model: the points must show the truth, not the model
    fig = viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, y, resolution=20)
    ax = fig.axes[0]
    scatter = ax.collections[0]
    np.testing.assert_array_equal(scatter.get_offsets(), x)
    np.testing.assert_array_equal(scatter.get_array(), y)
    image = ax.images[0]
    assert scatter.cmap is image.cmap and scatter.norm is image.norm
    assert np.all(scatter.get_edgecolors()[:, :3] == 0.0)  # black edges


def test_decision_boundary_batches_match_one_shot_and_respect_batch_size():
    x, y = two_class_data()
    seen = []

    def counting_apply(params, x):  # runs at trace time only: one entry per compilation
        seen.append(x.shape)
        return two_logits_apply(params, x)

    res = 30  # 900 grid points: 7 full batches of 128 and one padded batch
    batched = viz.plot_decision_boundary(counting_apply, HALF_PLANE, x, y, resolution=res, batch_size=128)
    assert seen == [(128, 2)], "one compilation, never more than batch_size rows"
    one_shot = viz.plot_decision_boundary(two_logits_apply, HALF_PLANE, x, y, resolution=res, batch_size=900)
    np.testing.assert_array_equal(
        np.asarray(batched.axes[0].images[0].get_array()), np.asarray(one_shot.axes[0].images[0].get_array())
    )


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
    ref = viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, y, resolution=10).axes[0].collections[0]
    for labels in (y.reshape(-1, 1).astype(np.float32), np.eye(2)[y]):
        fig = viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, labels, resolution=10)
        np.testing.assert_array_equal(fig.axes[0].collections[0].get_array(), ref.get_array())


def test_decision_boundary_draws_into_given_axes():
    x, y = two_class_data()
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert viz.plot_decision_boundary(logit_apply, HALF_PLANE, x, y, ax=right, resolution=10) is fig
    assert len(right.images) == 1 and len(left.images) == 0


def test_decision_boundary_warns_on_sigmoid_outputs_read_as_logits():
    x, y = two_class_data()
    with pytest.warns(UserWarning, match="output='probabilities'"):
        viz.plot_decision_boundary(sigmoid_apply, HALF_PLANE, x, y, resolution=10)


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
    with pytest.raises(ValueError, match="output must be one of 'auto', 'logits', 'probabilities'"):
        f(logit_apply, HALF_PLANE, x, y, output="softmax")
    with pytest.raises(ValueError, match="resolution must be at least 2"):
        f(logit_apply, HALF_PLANE, x, y, resolution=1)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        f(logit_apply, HALF_PLANE, x, y, batch_size=0)
    with pytest.raises(ValueError, match=r"apply_fn\(params, x\) must be an array of shape"):
        f(lambda p, x: x[:, :, None] * jnp.ones(3), HALF_PLANE, x, y, resolution=5)
    with pytest.raises(ValueError, match=r"outputs must be in \[0, 1\] for output='probabilities'"):
        f(logit_apply, HALF_PLANE, x, y, resolution=5, output="probabilities")
    with pytest.raises(TypeError, match="apply_fn must be a callable"):
        f(HALF_PLANE, HALF_PLANE, x, y)


# --------------------------------------------------------------------------------------------------
# training history


def test_history_lines_hold_the_values():
    history = {"train_loss": [0.9, 0.5, 0.3, 0.25], "val_loss": [1.0, 0.6, 0.45, 0.44], "lr": [0.1] * 4}
    fig = viz.plot_training_history(history)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"Training Loss", "Validation Loss"}
    np.testing.assert_array_equal(lines["Training Loss"].get_ydata(), history["train_loss"])
    np.testing.assert_array_equal(lines["Validation Loss"].get_ydata(), history["val_loss"])
    np.testing.assert_array_equal(lines["Training Loss"].get_xdata(), [1, 2, 3, 4])
    assert ax.get_xlabel() == "Epoch" and ax.get_ylabel() == "Loss" and ax.get_title() == "Training History"
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Training Loss", "Validation Loss"]


def test_history_log_scale_and_jax_arrays():
    history = {"train_loss": jnp.array([1.0, 0.1, 0.01]), "val_loss": np.array([1.5, 0.2, 0.05])}
    ax = viz.plot_training_history(history, log_scale=True, title="run 7").axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "run 7"
    assert_close(ax.get_lines()[0].get_ydata(), np.array([1.0, 0.1, 0.01]), np.float32)


@pytest.mark.parametrize("val", [None, [], [float("nan")] * 3], ids=["missing", "empty", "all-nan"])
def test_history_without_validation_has_one_line(val):
    history = {"train_loss": [3.0, 2.0, 1.0]}
    if val is not None:
        history["val_loss"] = val
    lines = viz.plot_training_history(history).axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["Training Loss"]


def test_history_draws_penalised_objective_dashed():
    history = {"train_loss": [1.0, 0.5], "val_loss": [1.2, 0.7], "train_objective": [1.3, 0.8]}
    lines = {line.get_label(): line for line in viz.plot_training_history(history).axes[0].get_lines()}
    objective = lines["Training Objective (loss + penalty)"]
    np.testing.assert_array_equal(objective.get_ydata(), [1.3, 0.8])
    assert objective.get_linestyle() == "--"


def test_history_draws_into_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert viz.plot_training_history({"train_loss": [1.0]}, ax=ax) is fig
    assert len(ax.get_lines()) == 1


def test_history_errors():
    with pytest.raises(ValueError, match=r"history\['train_loss'\] must be a non-empty .*got nothing"):
        viz.plot_training_history({})
    with pytest.raises(ValueError, match="got an empty sequence; train for at least one epoch"):
        viz.plot_training_history({"train_loss": [], "val_loss": []})
    with pytest.raises(ValueError, match=r"history\['val_loss'\] must be one value per epoch \(3.*got 2"):
        viz.plot_training_history({"train_loss": [1.0, 2.0, 3.0], "val_loss": [1.0, 2.0]})
    with pytest.raises(TypeError, match="history must be a mapping"):
        viz.plot_training_history([1.0, 2.0])


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


def _needs_activations():
    pytest.importorskip("jnnbasics.activations", reason="the core library's activations are not there yet")


def test_plot_activations_values_and_derivatives(dtype):
    _needs_activations()
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


def test_plot_activations_errors():
    _needs_activations()
    assert len([ax for ax in viz.plot_activations("relu").axes if ax.get_visible()]) == 1
    with pytest.raises(ValueError, match="relu"):  # get_activation lists the valid names
        viz.plot_activations(["swishy"])
    with pytest.raises(ValueError, match="names must be a non-empty sequence"):
        viz.plot_activations([])
    with pytest.raises(ValueError, match="x_range must be finite numbers with low < high"):
        viz.plot_activations(["relu"], x_range=(2, -2))


# --------------------------------------------------------------------------------------------------
# saving


def test_save_figure_writes_valid_png_of_the_right_size(tmp_path):
    from PIL import Image

    fig = viz.plot_training_history({"train_loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 0.6, 0.4]})
    path = viz.save_figure(fig, tmp_path / "run" / "plots" / "history.png")
    assert path == tmp_path / "run" / "plots" / "history.png"
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (800, 500)
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.std() > 10  # not a blank picture
    viz.save_figure(fig, path, dpi=50)  # replacing an existing file
    with Image.open(path) as im:
        assert im.size == (400, 250)
    assert sorted(p.name for p in path.parent.iterdir()) == ["history.png"]  # no temp files left
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644 & ~umask  # the package's one file mode, not 0600


def test_saved_decision_boundary_png_shows_the_regions(tmp_path):
    """Read the written PNG back and check the two half-planes there, not only in memory."""
    import matplotlib.image

    x, y = two_class_data()
    fig = viz.plot_decision_boundary(two_logits_apply, HALF_PLANE, x, y, resolution=40)
    ax = fig.axes[0]
    rgba = render(fig)  # fixes the layout so transData matches the saved picture
    path = viz.save_figure(fig, tmp_path / "boundary.png", dpi=int(fig.dpi))
    saved = (matplotlib.image.imread(path) * 255).round().astype(np.uint8)
    assert saved.shape[:2] == rgba.shape[:2]
    assert class_at(saved, ax, -0.5, 0.0) == 0
    assert class_at(saved, ax, 0.5, 0.0) == 1


def test_save_figure_that_fails_to_render_keeps_the_old_file(tmp_path, monkeypatch):
    fig = viz.plot_training_history({"train_loss": [1.0, 0.5]})
    path = viz.save_figure(fig, tmp_path / "history.png")
    before = path.read_bytes()

    def broken_savefig(*args, **kwargs):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="renderer failed"):
        viz.save_figure(fig, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.png"]


def test_metrics_are_still_importable_from_viz():
    from jnnbasics import metrics

    assert viz.confusion_matrix is metrics.confusion_matrix
    assert viz.regression_metrics is metrics.regression_metrics


def test_save_figure_errors(tmp_path):
    fig = Figure()
    with pytest.raises(ValueError, match=r"path must be a file name ending in \.png"):
        viz.save_figure(fig, tmp_path / "history")
    with pytest.raises(ValueError, match=r"path must be a file name ending in \.png"):
        viz.save_figure(fig, tmp_path / "history.docx")
    with pytest.raises(ValueError, match="dpi must be a positive integer"):
        viz.save_figure(fig, tmp_path / "h.png", dpi=0)
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        viz.save_figure(object(), tmp_path / "h.png")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# import hygiene


def test_imports_stay_lazy_and_headless(tmp_path):
    """`import jnnbasics` and `import jnnbasics.viz` load no matplotlib; plotting never loads pyplot."""
    code = f"""
import sys
import jnnbasics
assert "matplotlib" not in sys.modules, "import jnnbasics imported matplotlib"
import jnnbasics.viz as viz
assert "matplotlib" not in sys.modules, "import jnnbasics.viz imported matplotlib"
fig = viz.plot_training_history({{"train_loss": [1.0, 0.5]}})
viz.save_figure(fig, {str(tmp_path / "h.png")!r})
assert "matplotlib.pyplot" not in sys.modules, "viz imported pyplot"
"""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")}
    cmd = [sys.executable, "-c", code]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "h.png").stat().st_size > 1000
