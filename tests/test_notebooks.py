"""Execute the notebooks of notebooks/ top to bottom in a real Jupyter kernel (nbclient, python3).

Each must run without an error, each cell within CELL_TIMEOUT seconds, and show what it teaches:
the tutorial its pictures inline (pyplot figures made by jnnbasics.viz) and a progress bar that
is one line in the cell's output; the framework comparison loss curves of PyTorch and Flax NNX
that agree with jnnbasics' (oracle: the PyTorch run in the notebook, compared through
helpers.assert_close with the "trajectory" tolerance). The committed files carry no outputs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_close

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("tutorial.ipynb", "framework_comparison.ipynb")
CELL_TIMEOUT = 60  # seconds per cell; a whole notebook runs in well under a minute on 2 idle cores
TOTAL_LIMIT = 180  # a guard against a stuck kernel, with room for a machine shared with other work

nbformat = pytest.importorskip("nbformat", reason="notebook tests need nbformat (pip install -e '.[test]')")


def read(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def execute(nb, name: str, cwd: Path, monkeypatch) -> float:
    """Run notebook ``name`` (read as ``nb``) in a python3 kernel with ``cwd`` as its working directory; return the seconds taken."""
    try:
        import ipykernel  # noqa: F401
        from nbclient import NotebookClient
    except ImportError as err:
        pytest.skip(f"no Jupyter kernel to run notebooks: {err} (pip install -e '.[test]')")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own inline backend, as in Jupyter
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    print(f"{name}: {elapsed:.1f} s")
    assert elapsed < TOTAL_LIMIT
    return elapsed


def outputs(nb, kind: str | None = None) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if kind in (None, o.output_type)]


def cell_with(nb, text: str):
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
    return cell


def shown_text(stream_outputs) -> list[str]:
    """The lines Jupyter shows for these stream outputs: after a '\\r' the text replaces the line."""
    raw = "".join(o.text for o in stream_outputs)
    return [line.rsplit("\r", 1)[-1] for line in raw.split("\n")]


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_committed_clean_and_valid(name):
    nb = read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code), "clear the outputs"
    assert nb.cells[0].cell_type == "markdown" and "pip install" in nb.cells[0].source  # how to install
    assert not any(line.lstrip().startswith(("!", "%pip")) for c in code for line in c.source.splitlines())


@pytest.mark.slow
def test_tutorial_notebook_runs_with_pictures_and_a_one_line_progress_bar(tmp_path, monkeypatch):
    nb = read("tutorial.ipynb")
    execute(nb, "tutorial.ipynb", tmp_path, monkeypatch)
    pictures = [o for o in outputs(nb) if "image/png" in o.get("data", {})]
    assert len(pictures) >= 6, f"{len(pictures)} inline pictures"
    for text in ("viz.plot_activations", "stop_epoch=stop", "x_val=x_val", "ax=right"):
        shown = [o for o in cell_with(nb, text).outputs if "image/png" in o.get("data", {})]
        assert len(shown) == 1, f"{text}: {len(shown)} pictures (a figure shown twice or not at all)"
    training = cell_with(nb, "progress=True")
    err = [o for o in training.outputs if o.output_type == "stream" and o.name == "stderr"]
    lines = [line for line in shown_text(err) if line]
    assert len(lines) == 1 and lines[0].startswith("epoch "), lines  # one line, updated in place
    assert "\r" in "".join(o.text for o in err)
    assert list(tmp_path.iterdir()) == []  # the notebook writes no files


@pytest.mark.slow
def test_framework_comparison_notebook_runs_and_the_curves_agree(tmp_path, monkeypatch):
    nb = read("framework_comparison.ipynb")
    dump = "import json\nprint('HISTORIES', json.dumps({n: {k: list(map(float, v)) for k, v in h.items()} "
    dump += "for n, h in histories.items()}))"
    nb.cells.append(nbformat.v4.new_code_cell(dump))  # the curves, for the comparison below
    execute(nb, "framework_comparison.ipynb", tmp_path, monkeypatch)
    text = "".join(o.text for o in outputs(nb, "stream") if o.name == "stdout")
    (line,) = [ln for ln in text.splitlines() if ln.startswith("HISTORIES ")]
    histories = json.loads(line.removeprefix("HISTORIES "))
    ours = histories["jnnbasics"]
    for other in ("PyTorch", "Flax NNX"):
        for k in ("train_loss", "val_loss"):
            assert_close(np.array(histories[other][k]), np.array(ours[k]), np.float32, kind="trajectory")
    assert "largest difference overall:" in text
    for name in ("jnnbasics", "PyTorch", "Flax NNX"):  # the timing table has a row per framework
        assert any(ln.startswith(name) and ln.rstrip().endswith("s") for ln in text.splitlines()), name
    assert any("image/png" in o.get("data", {}) for o in outputs(nb))  # the curves, drawn inline
