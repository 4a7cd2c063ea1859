"""Tests for jnnbasics.viz.figures: pyplot's registry (plt.show() shows a plot), saving, headless use.

The show test runs in a child process with a backend that is not Agg (it records which figures
``plt.show()`` shows), the headless test in a child process without a display; the rest runs here
on Agg.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from jnnbasics import viz

matplotlib.use("Agg")

HISTORY = {"train_loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 0.6, 0.4]}


@pytest.fixture(autouse=True)
def _close_pyplot_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment without a display or a forced backend, plus ``extra``."""
    drop = ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, **extra}


def run_child(code: str, env: dict[str, str]) -> str:
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout


RECORDING_BACKEND = '''
"""A backend that is not Agg: plt.show() records the numbers of the figures it shows."""
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

SHOWN = []


class FigureManagerRecording(FigureManagerBase):
    def show(self):
        SHOWN.append(self.num)


class FigureCanvasRecording(FigureCanvasAgg):
    manager_class = FigureManagerRecording


FigureCanvas = FigureCanvasRecording
FigureManager = FigureManagerRecording
'''


@pytest.mark.slow  # a fresh interpreter importing jax and matplotlib: ~5 s
def test_plt_show_shows_every_plot_made_without_ax(tmp_path):
    """Under a non-Agg backend each plot is in pyplot's registry and plt.show() shows it."""
    (tmp_path / "recording_backend.py").write_text(RECORDING_BACKEND)
    code = """
    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    import recording_backend
    from jnnbasics import viz

    assert matplotlib.get_backend() == "module://recording_backend", matplotlib.get_backend()
    x = np.array([[-1.0, 0.0], [1.0, 0.5], [0.5, -1.0]])
    figs = [
        viz.plot_training_history({"train_loss": [1.0, 0.5], "train_accuracy": [0.5, 0.8]}),
        viz.plot_decision_boundary(lambda p, x: x[:, :1], None, x, [0, 1, 1], resolution=5),
        viz.plot_confusion_matrix([0, 1, 1], [0, 1, 0]),
        viz.plot_predictions([1.0, 2.0], [1.1, 1.9]),
        viz.plot_activations(["relu"]),
    ]
    assert plt.get_fignums() == [f.number for f in figs], (plt.get_fignums(), [f.number for f in figs])
    plt.show()
    assert recording_backend.SHOWN == [f.number for f in figs], recording_backend.SHOWN
    print("shown", len(recording_backend.SHOWN))
    """
    env = child_env(MPLBACKEND="module://recording_backend", PYTHONPATH=str(tmp_path))
    assert run_child(code, env).strip() == "shown 5"


def test_a_plot_without_ax_is_a_pyplot_figure_and_save_figure_closes_it(tmp_path):
    import matplotlib.pyplot as plt

    fig = viz.plot_training_history(HISTORY)
    assert fig.number in plt.get_fignums()
    assert plt.gcf() is fig  # the current figure, as after plt.plot(...)
    viz.save_figure(fig, tmp_path / "h.png")
    assert fig.number not in plt.get_fignums()  # closed: a long run does not pile figures up
    viz.save_figure(fig, tmp_path / "again.png")  # a closed figure can still be saved
    kept = viz.plot_training_history(HISTORY)
    viz.save_figure(kept, tmp_path / "k.png", close=False)
    assert kept.number in plt.get_fignums()


def test_save_figure_leaves_the_users_own_figures_open(tmp_path):
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2)
    viz.plot_training_history(HISTORY, ax=left)
    viz.save_figure(fig, tmp_path / "mine.png")
    assert fig.number in plt.get_fignums()  # the user made it: the user closes it
    viz.save_figure(fig, tmp_path / "mine.png", close=True)
    assert fig.number not in plt.get_fignums()


def test_many_saved_plots_leave_no_figures_behind(tmp_path):
    import matplotlib.pyplot as plt

    before = len(plt.get_fignums())
    for i in range(4):
        viz.save_figure(viz.plot_predictions([1.0, 2.0], [1.5, 2.5]), tmp_path / f"p{i}.png", dpi=20)
    assert len(plt.get_fignums()) == before


def test_save_figure_writes_valid_png_of_the_right_size(tmp_path):
    from PIL import Image

    fig = viz.plot_training_history(HISTORY)
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
    """Read the written PNG back: left of x0 = 0 is class 0's colour, right of it class 1's."""
    import matplotlib.image

    x = np.array([[-2.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [2.0, 1.0]])
    fig = viz.plot_decision_boundary(lambda p, x: x[:, :1], None, x, [0, 0, 1, 1], resolution=40)
    ax = fig.axes[0]
    fig.canvas.draw()  # fixes the layout so transData matches the saved picture
    to_pixel = ax.transData.transform
    path = viz.save_figure(fig, tmp_path / "boundary.png", dpi=int(fig.dpi))
    saved = matplotlib.image.imread(path)[:, :, :3]
    tab10 = np.asarray(matplotlib.colormaps["tab10"].colors)
    for x_probe, cls in ((-0.5, 0), (0.5, 1)):
        col, row = to_pixel((x_probe, 0.3))
        away = 1.0 - saved[saved.shape[0] - 1 - int(row), int(col)]
        dirs = 1.0 - tab10[:2]
        cos = dirs @ away / np.linalg.norm(dirs, axis=1)
        assert int(np.argmax(cos)) == cls


def test_save_figure_that_fails_to_render_keeps_the_old_file_and_the_figure(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    fig = viz.plot_training_history({"train_loss": [1.0, 0.5]})
    path = viz.save_figure(fig, tmp_path / "history.png", close=False)
    before = path.read_bytes()

    def broken_savefig(*args, **kwargs):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="renderer failed"):
        viz.save_figure(fig, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.png"]
    assert fig.number in plt.get_fignums()  # not closed: the user can try again


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
    with pytest.raises(TypeError, match="close must be None, True or False"):
        viz.save_figure(fig, tmp_path / "h.png", close="yes")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a fresh interpreter importing jax and matplotlib: ~5 s
def test_imports_stay_lazy_and_headless(tmp_path):
    """No display: importing loads no matplotlib, drawing into an Axes no pyplot, a plot gets Agg."""
    code = f"""
    import sys
    import jnnbasics
    assert "matplotlib" not in sys.modules, "import jnnbasics imported matplotlib"
    import jnnbasics.viz as viz
    assert "matplotlib" not in sys.modules, "import jnnbasics.viz imported matplotlib"
    from matplotlib.figure import Figure
    viz.save_figure(viz.plot_training_history({{"train_loss": [1.0, 0.5]}}, ax=Figure().add_subplot()),
                    {str(tmp_path / "ax.png")!r})
    assert "matplotlib.pyplot" not in sys.modules, "drawing into an Axes imported pyplot"
    fig = viz.plot_training_history({{"train_loss": [1.0, 0.5]}})
    import matplotlib, matplotlib.pyplot as plt
    assert matplotlib.get_backend().lower() == "agg", matplotlib.get_backend()
    viz.save_figure(fig, {str(tmp_path / "h.png")!r})
    assert plt.get_fignums() == []
    """
    run_child(code, child_env())
    assert (tmp_path / "h.png").stat().st_size > 1000 and (tmp_path / "ax.png").stat().st_size > 1000
