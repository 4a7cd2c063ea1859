"""Run every example script as a user would (a subprocess, ``--quick``) and check what it claims.

Each example must exit 0, write its PNG(s) — valid images of a sensible size that are not blank —
into the ``--out`` folder, and print the numbers it is about; those numbers are checked against an
independent reference where there is one (PyTorch's run for the side-by-side, a closed form for the
activation derivatives) and against the result the example exists to show otherwise.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_close, tolerance

pytestmark = pytest.mark.slow  # each example runs for seconds: in the whole suite, not the fast subset

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, out: Path, *args: str) -> str:
    """Run ``examples/<name>.py --quick --out <out>``; return its stdout (fail with its output)."""
    env = dict(os.environ, JAX_PLATFORMS="cpu", MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def number(text: str, label: str) -> float:
    """The number printed right after ``label`` (e.g. ``"final validation accuracy:"``)."""
    m = re.search(re.escape(label) + r"\s*([-+0-9.eE]+)", text)
    assert m, f"{label!r} not found in output:\n{text}"
    return float(m.group(1))


def check_png(path: Path, *, min_size: tuple[int, int] = (400, 300)) -> np.ndarray:
    """Assert ``path`` is a readable PNG of at least ``min_size`` (w, h) with real content."""
    from matplotlib import image

    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    img = image.imread(path)  # raises on a truncated or corrupt file
    h, w = img.shape[:2]
    assert w >= min_size[0] and h >= min_size[1], f"{path}: {w}x{h} pixels is too small"
    assert w <= 4000 and h <= 4000, f"{path}: {w}x{h} pixels is unreasonably large"
    colours = np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"{path} looks blank ({len(colours)} distinct colours)"
    return img


def test_activations(tmp_path):
    out = run_example("activations", tmp_path)
    check_png(tmp_path / "activations.png")
    # jax.grad(sigmoid) against the closed form sigmoid * (1 - sigmoid)
    _, atol = tolerance(np.float32, "value")
    assert number(out, "max |grad(sigmoid) - sigmoid*(1-sigmoid)| =") <= atol
    assert number(out, "relu'(0) =") == 0.0
    # the printed softmax rows sum to 1 (ours) and the columns sum to 1 (the tutorial's axis=0)
    rows = re.search(r"axis=-1\), each row sums to 1:\s*\n(.*?)\n(.*?)\n", out)
    vals = np.array([[float(v) for v in re.findall(r"[0-9.]+", line)] for line in rows.groups()])
    assert vals.shape == (2, 3)
    np.testing.assert_allclose(vals.sum(axis=1), 1.0, atol=2e-3)  # printed with 3 decimals


def test_binary_moons(tmp_path):
    out = run_example("binary_moons", tmp_path)
    check_png(tmp_path / "binary_moons.png", min_size=(1000, 400))
    assert "loss 'bce_with_logits'" in out
    assert number(out, "final validation accuracy:") >= 0.9


def test_multiclass_spirals(tmp_path):
    out = run_example("multiclass_spirals", tmp_path)
    check_png(tmp_path / "multiclass_spirals.png", min_size=(1000, 900))
    plain_val = float(re.search(r"plain: .*?val loss ([0-9.]+)", out).group(1))
    reg_val = float(re.search(r"regularised: .*?val loss ([0-9.]+)", out).group(1))
    # the point of the example: regularisation ends with a lower validation loss
    assert reg_val < plain_val, out
    for acc in re.findall(r"val accuracy ([0-9.]+)", out):
        assert float(acc) >= 0.85, out
    # the cosine schedule went from the base rate almost to zero
    assert number(out, "regularised run:") == pytest.approx(1e-2)
    assert number(out, "at first,") < 1e-4


def test_regression(tmp_path):
    out = run_example("regression", tmp_path)
    check_png(tmp_path / "regression.png", min_size=(1200, 400))
    assert "loss 'mse'" in out
    assert number(out, "validation R2:") >= 0.9
    # the validation MSE approaches the noise variance (0.0225) from above
    assert number(out, "val MSE") < 0.05


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_torch_side_by_side(tmp_path, precision):
    dtype = np.dtype(precision)
    out = run_example("torch_side_by_side", tmp_path, *(["--float64"] if precision == "float64" else []))
    check_png(tmp_path / "torch_side_by_side.png", min_size=(1000, 400))
    record = json.loads((tmp_path / "torch_side_by_side.json").read_text())
    assert record["dtype"] == precision
    ours, theirs = record["jnnbasics"], record["pytorch"]
    assert len(ours["train_loss"]) == len(theirs["train_loss"]) == 20
    # the PyTorch run is the oracle: same weights, same batches -> same losses up to rounding
    for k in ("train_loss", "val_loss"):
        assert_close(ours[k], theirs[k], dtype, "trajectory", err_msg=k)
    # and the printed largest differences are the real ones, within the same bound
    rtol, atol = tolerance(dtype, "trajectory")
    for k in ("train_loss", "val_loss"):
        printed = number(out, f"largest {k} difference:")
        actual = float(np.max(np.abs(np.subtract(ours[k], theirs[k]))))
        assert printed == pytest.approx(actual, rel=1e-3, abs=1e-300)
        assert printed <= atol + rtol * max(map(abs, theirs[k]))
    params = record["final_params"]
    assert sorted(params["jnnbasics"]) == sorted(params["pytorch"])
    for k in params["pytorch"]:
        assert_close(params["jnnbasics"][k], params["pytorch"][k], dtype, "trajectory", err_msg=k)
    largest = max(
        np.max(np.abs(np.subtract(params["jnnbasics"][k], params["pytorch"][k]))) for k in params["pytorch"]
    )
    assert number(out, "largest parameter difference after training:") == pytest.approx(largest, rel=1e-3)


def test_flax_nnx_side_by_side(tmp_path):
    out = run_example("flax_nnx_side_by_side", tmp_path)
    check_png(tmp_path / "flax_nnx_side_by_side.png")
    m = re.search(r"final train loss: Flax NNX ([0-9.]+), jnnbasics ([0-9.]+)", out)
    assert m, out
    nnx_loss, ours = float(m.group(1)), float(m.group(2))
    assert_close(ours, nnx_loss, np.float32, "trajectory")
    rtol, atol = tolerance(np.float32, "trajectory")
    assert number(out, "largest loss difference over all epochs:") <= atol + rtol * nnx_loss
    assert "Flax NNX" in out and "jnnbasics" in out and "nnx.Optimizer" in out  # the note on styles
