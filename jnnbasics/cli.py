"""The ``jnnbasics`` command line: ``train``, ``evaluate``, ``predict``, ``tune`` and ``bench``.

``jnnbasics train`` trains an MLP on a built-in data set or a CSV file and writes a run folder
(config, history, metrics, checkpoint, scaler, labels, pictures); ``evaluate`` and ``predict``
reuse a run folder; ``tune`` runs a hyperparameter grid; ``bench`` runs the framework benchmark.
Every user error is printed as one line ``jnnbasics: error: ...`` with exit status 2, never a
traceback. matplotlib is imported only inside the functions that draw.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import hashlib
import io
import json
import math
import os
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PROG = "jnnbasics"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
RUN_FORMAT = "jnnbasics-run"
RUN_VERSION = 1

CONFIG = "config.json"
CHECKPOINT = "checkpoint.ckpt"
MODEL = "model.ckpt"
BEST = "best.ckpt"
RUN_FILES = (
    CONFIG,
    CHECKPOINT,
    MODEL,
    BEST,
    "history.csv",
    "history.json",
    "metrics.json",
    "scaler.json",
    "labels.json",
    "history.png",
    "decision_boundary.png",
    "confusion_matrix.png",
    "predictions.png",
)
TUNE_FILES = ("results.json", "results.csv", "tune.png")

TASKS = ("binary", "multiclass", "regression")
SCHEDULES = ("constant", "step", "cosine")
LOSS_OF_TASK = {"binary": "bce_with_logits", "multiclass": "cross_entropy", "regression": "mse"}
_LOSS_AVERAGE = (
    "averaged like the history's val_loss: the mean over batches of --batch-size rows of each batch's mean"
)
METRICS_NOTE = {
    "binary": f"loss: binary cross-entropy from logits, eval mode (no dropout), {_LOSS_AVERAGE}",
    "multiclass": f"loss: cross-entropy, eval mode (no dropout), {_LOSS_AVERAGE}",
    "regression": f"loss: squared error of the standardised target, eval mode, {_LOSS_AVERAGE}; r2, rmse "
    "and mae are over all rows, in the target's own units",
}


class CLIError(Exception):
    """A user error: printed as ``jnnbasics: error: <message>`` with exit status 2."""


# ----------------------------------------------------------------------------------------------
# Built-in data sets
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BuiltinDataset:
    """A data set made in the package: ``make(key, samples, noise) -> (x, y)``."""

    make: Callable[[Any, int, float], tuple[Any, Any]] | None
    samples: int | None
    noise: float | None
    description: str


def _builtin_datasets() -> dict[str, BuiltinDataset]:
    from . import datasets as ds

    return {
        "moons": BuiltinDataset(
            lambda k, n, s: ds.make_moons(k, n, noise=s), 1000, 0.2, "two interleaved half circles (binary)"
        ),
        "circles": BuiltinDataset(
            lambda k, n, s: ds.make_circles(k, n, noise=s), 1000, 0.1, "a circle inside a ring (binary)"
        ),
        "spirals": BuiltinDataset(
            lambda k, n, s: ds.make_spirals(k, n, n_classes=3, noise=s), 900, 0.2, "three spiral arms"
        ),
        "blobs": BuiltinDataset(
            lambda k, n, s: ds.make_blobs(k, n, n_classes=3, cluster_std=s), 600, 1.5, "three Gaussian blobs"
        ),
        "regression": BuiltinDataset(
            lambda k, n, s: ds.make_regression(k, n, n_features=4, noise=s), 1000, 0.1, "linear, 4 features"
        ),
        "iris": BuiltinDataset(None, None, None, "Fisher's iris flowers, 150 rows (real data, offline)"),
    }


DATASET_NAMES = ("moons", "circles", "spirals", "blobs", "regression", "iris")

TRAIN_DEFAULTS: dict[str, Any] = {
    "dataset": "moons",
    "samples": None,
    "noise": None,
    "csv": None,
    "target": None,
    "task": None,
    "hidden": [64, 32],
    "activation": "relu",
    "dropout": 0.0,
    "epochs": 100,
    "lr": 1e-3,
    "batch_size": 32,
    "schedule": "constant",
    "l1": 0.0,
    "l2": 0.0,
    "val_fraction": 0.2,
    "patience": None,
    "seed": 0,
}
DATA_KEYS = ("dataset", "samples", "noise", "csv", "target", "task", "val_fraction", "seed")


# ----------------------------------------------------------------------------------------------
# Argument types (errors become one-line usage errors, exit status 2)
# ----------------------------------------------------------------------------------------------
def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def positive_float(text: str) -> float:
    """A number > 0 (e.g. a learning rate)."""
    v = _number(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def nonnegative_float(text: str) -> float:
    """A number >= 0 (e.g. a penalty weight)."""
    v = _number(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return v


def rate(text: str) -> float:
    """A dropout probability in [0, 1)."""
    v = _number(text)
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"must be a drop probability in [0, 1), got {text}")
    return v


def fraction(text: str) -> float:
    """A fraction in (0, 1) (the validation share)."""
    v = _number(text)
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1), got {text}")
    return v


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return v


def seed_int(text: str) -> int:
    """An integer >= 0."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return v


def layer_list(text: str) -> list[int]:
    """Hidden layer sizes ``"64,32"`` -> ``[64, 32]`` (``""`` or ``"none"``: no hidden layer)."""
    t = text.strip()
    if t.lower() in ("", "none"):
        return []
    sizes = []
    for part in t.split(","):
        try:
            v = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated layer sizes like 64,32, got {text!r}"
            ) from None
        if v < 1:
            raise argparse.ArgumentTypeError(f"layer sizes must be positive integers, got {text!r}")
        sizes.append(v)
    return sizes


def _grid_of(item: Callable[[str], Any], sep: str = ",") -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        parts = [p for p in text.split(sep)] if text.strip() else []
        if not parts:
            raise argparse.ArgumentTypeError("expected at least one value")
        return [item(p.strip()) for p in parts]

    return parse


# ----------------------------------------------------------------------------------------------
# Parser
# ----------------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (raised as :class:`CLIError`)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _activations() -> tuple[str, ...]:
    from .activations import ACTIVATIONS

    return tuple(ACTIVATIONS)


def _add_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument(
        "--dataset",
        choices=DATASET_NAMES,
        help="built-in data set (default: moons); iris is real data shipped with the package",
    )
    g.add_argument("--csv", metavar="FILE", help="train on a CSV file with a header row (needs --target)")
    g.add_argument("--target", metavar="COL", help="the CSV column to predict (numbers or class names)")
    g.add_argument(
        "--task",
        choices=TASKS,
        help="binary, multiclass or regression (default: inferred from the target: numbers that are not "
        "all integers -> regression, 2 classes -> binary, more -> multiclass)",
    )
    g.add_argument("--samples", type=positive_int, metavar="N", help="size of a generated data set")
    g.add_argument(
        "--noise", type=nonnegative_float, metavar="X", help="noise of a generated data set (blobs: spread)"
    )
    g.add_argument(
        "--val-fraction",
        type=fraction,
        metavar="F",
        help="share of rows held out for validation (default: 0.2)",
    )
    g.add_argument(
        "--seed", type=seed_int, help="random seed for data, split, init, dropout, shuffle (default: 0)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``jnnbasics`` command (every subcommand has ``--help``)."""
    parser = _Parser(
        prog=PROG,
        description="Neural-network basics in JAX: train, evaluate and use small MLPs from the command line.",
        epilog="Start with 'jnnbasics train' (two-moons data, under a minute on a laptop); "
        "'jnnbasics COMMAND --help' describes each command.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # train --------------------------------------------------------------------------------
    t = sub.add_parser(
        "train",
        help="train an MLP and write a run folder",
        description="Train an MLP with Adam on a built-in data set or a CSV file. Features are standardised "
        "(fitted on the training split only); regression targets too. Writes a run folder with config.json, "
        "history.csv/json, metrics.json, checkpoint.ckpt, model.ckpt, scaler.json, labels.json and "
        "pictures. Ctrl-C keeps the last checkpoint; --resume continues it.",
        epilog="examples: jnnbasics train | jnnbasics train --dataset spirals --dropout 0.1 --schedule cosine | "
        "jnnbasics train --csv data.csv --target label --out runs/mine",
    )
    _add_data_options(t)
    m = t.add_argument_group("model and training")
    m.add_argument("--hidden", type=layer_list, metavar="SIZES", help="hidden layer sizes (default: 64,32)")
    m.add_argument("--activation", choices=_activations(), help="hidden activation (default: relu)")
    m.add_argument(
        "--dropout", type=rate, metavar="P", help="drop probability after hidden layers (default: 0)"
    )
    m.add_argument("--epochs", type=positive_int, help="number of epochs (default: 100)")
    m.add_argument("--lr", type=positive_float, metavar="LR", help="Adam learning rate (default: 0.001)")
    m.add_argument("--batch-size", type=positive_int, metavar="N", help="mini-batch size (default: 32)")
    m.add_argument(
        "--schedule",
        choices=SCHEDULES,
        help="learning-rate schedule per epoch: constant, step (x0.1 every 30 epochs), cosine (over all epochs)",
    )
    m.add_argument("--l1", type=nonnegative_float, metavar="X", help="L1 penalty weight (default: 0)")
    m.add_argument("--l2", type=nonnegative_float, metavar="X", help="L2 penalty weight (default: 0)")
    m.add_argument(
        "--patience", type=positive_int, metavar="N", help="stop when the validation loss stalls N epochs"
    )
    r = t.add_argument_group("run folder")
    r.add_argument("--out", metavar="DIR", help="run folder (default: runs/<data>-<date>-<time>)")
    r.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    r.add_argument("--force", action="store_true", help="overwrite the run files in an existing --out folder")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--no-plots", action="store_true", help="do not draw the PNG pictures")
    t.set_defaults(func=cmd_train)

    # evaluate ------------------------------------------------------------------------------
    e = sub.add_parser(
        "evaluate",
        help="evaluate a trained run",
        description="Evaluate the model of a run folder: by default on the run's own training and validation "
        "data (regenerated from config.json), or on a CSV file that has the run's feature and target columns "
        "(config.json lists them as 'features' and 'target_column'; for built-in data sets: x1, x2, ... and "
        "target, or the iris names and species).",
    )
    e.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by 'jnnbasics train'")
    e.add_argument("--csv", metavar="FILE", help="evaluate on this CSV file instead")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.set_defaults(func=cmd_evaluate)

    # predict -------------------------------------------------------------------------------
    p = sub.add_parser(
        "predict",
        help="predict with a trained run",
        description="Predict the rows of a CSV file with the model of a run folder. The CSV needs the run's "
        "feature columns (any order; a target column and other columns are kept but not used). Output: "
        "the input columns plus 'prediction' (class names for classification, numbers for regression) "
        "and, for classification, one probability column per class.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by 'jnnbasics train'")
    p.add_argument("--csv", metavar="FILE", required=True, help="rows to predict")
    p.add_argument("--out", metavar="FILE", help="write the CSV here (default: standard output)")
    p.set_defaults(func=cmd_predict)

    # tune ----------------------------------------------------------------------------------
    u = sub.add_parser(
        "tune",
        help="grid search over hyperparameters",
        description="Train every combination of the given values (models that differ only in numbers train "
        "together, vectorised) and rank them by final validation loss. Grid flags take comma-separated values; "
        "--hidden takes ';'-separated layer lists. Or give --grid FILE.json (or .toml) mapping names (lr, l1, "
        "l2, dropout, hidden, activation, batch_size, seed, schedule) to lists.",
        epilog="example: jnnbasics tune --lr 1e-3,1e-2 --l2 0,1e-3 --hidden '32;64,32' --dropout 0,0.2",
    )
    _add_data_options(u)
    g = u.add_argument_group("grid")
    g.add_argument("--grid", metavar="FILE", help="JSON or TOML file: name -> list of values")
    g.add_argument("--lr", type=_grid_of(positive_float), metavar="LIST", help="learning rates")
    g.add_argument("--l1", type=_grid_of(nonnegative_float), metavar="LIST", help="L1 weights")
    g.add_argument("--l2", type=_grid_of(nonnegative_float), metavar="LIST", help="L2 weights")
    g.add_argument("--dropout", type=_grid_of(rate), metavar="LIST", help="drop probabilities")
    g.add_argument("--hidden", type=_grid_of(layer_list, ";"), metavar="LISTS", help="e.g. '32;64,32'")
    g.add_argument("--activation", type=_grid_of(str), metavar="LIST", help="hidden activations")
    g.add_argument("--batch-size", type=_grid_of(positive_int), metavar="LIST", help="batch sizes")
    g.add_argument("--seeds", type=_grid_of(seed_int), metavar="LIST", help="model seeds (repeats)")
    g.add_argument("--epochs", type=positive_int, help="epochs per setting (default: 100)")
    g.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (default: constant)")
    o = u.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="results folder (default: runs/tune-<date>-<time>)")
    o.add_argument("--force", action="store_true", help="overwrite the result files in an existing --out")
    o.add_argument("--top", type=positive_int, default=20, help="rows of the table printed (default: 20)")
    o.add_argument("--no-plots", action="store_true", help="do not draw tune.png")
    u.set_defaults(func=cmd_tune)

    # bench ---------------------------------------------------------------------------------
    b = sub.add_parser(
        "bench",
        help="framework benchmark (PyTorch vs jnnbasics vs Flax); 'jnnbasics bench --help' for its options",
        add_help=False,
        description="Run the benchmark of jnnbasics.bench; every argument is passed on to it.",
    )
    b.add_argument("bench_args", nargs=argparse.REMAINDER)
    b.set_defaults(func=cmd_bench)
    return parser


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------
def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _error(message: str) -> int:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jnnbasics`` command line.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 2 for a user error (one line on stderr, no traceback),
        130 when interrupted with Ctrl-C.

    Example:
        >>> main(["train", "--epochs", "5", "--quiet", "--out", "runs/demo"])  # doctest: +SKIP
        0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":  # everything after "bench" belongs to the benchmark
        return _guard(lambda: _run_bench(argv[1:]))
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except CLIError as e:
        return _error(str(e))
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return _guard(lambda: args.func(args))


def _guard(run: Callable[[], int]) -> int:
    try:
        return int(run() or 0)
    except CLIError as e:
        return _error(str(e))
    except (ValueError, TypeError) as e:
        if os.environ.get("JNNBASICS_TRACEBACK"):  # for developers: show where a library error came from
            raise
        return _error(str(e))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `jnnbasics predict ... | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        except OSError:
            pass
        return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """``jnnbasics bench``: forward the arguments to ``jnnbasics.bench.main``."""
    return _run_bench(list(args.bench_args))


def _run_bench(argv: list[str]) -> int:
    try:
        import importlib

        bench = importlib.import_module("jnnbasics.bench")
    except ModuleNotFoundError as e:
        if e.name != "jnnbasics.bench":
            raise CLIError(f"the benchmark needs the package {e.name!r}, which is not installed") from None
        raise CLIError("the benchmark module jnnbasics.bench is not available in this installation") from None
    try:
        return int(bench.main(argv) or 0)
    except SystemExit as e:  # the benchmark's own argparse (--help, a bad option)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)


# ----------------------------------------------------------------------------------------------
# JSON / CSV helpers
# ----------------------------------------------------------------------------------------------
def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically (NaN/inf written as null)."""
    _write_text_atomic(path, json.dumps(_jsonable(obj), indent=2) + "\n")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def read_json(path: Path, what: str) -> Any:
    """Load a JSON file of a run folder; a CLIError naming ``what`` if missing or invalid."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CLIError(f"{path} is missing ({what})") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CLIError(f"cannot read {path} ({what}): {e}") from None


def write_history_csv(path: Path, history: dict[str, list[float]]) -> None:
    """One row per epoch: ``epoch`` and every history series."""
    keys = [k for k in history if isinstance(history[k], list)]
    n = max((len(history[k]) for k in keys), default=0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", *keys])
    for i in range(n):
        w.writerow([i + 1, *(repr(float(history[k][i])) if i < len(history[k]) else "" for k in keys)])
    _write_text_atomic(path, buf.getvalue())


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------
# Data of a run
# ----------------------------------------------------------------------------------------------
@dataclass
class RunData:
    """The data of a run: raw arrays, the split, labels."""

    x: np.ndarray  # (n, features) float32, original units
    y: np.ndarray  # (n,) int32 class indices or float64 targets
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: str
    class_names: list[str] | None
    features: list[str]


def run_keys(seed: int):
    """``(data_key, split_key, train_key)`` of a run from its seed (the one fixed recipe)."""
    import jax

    k = jax.random.split(jax.random.key(int(seed)), 3)
    return k[0], k[1], k[2]


def load_run_data(cfg: dict[str, Any]) -> RunData:
    """Make or read the data described by a (resolved) config, label it and split it.

    Raises:
        CLIError / ValueError: a bad CSV, a target that does not fit the task, too few rows to split.
    """
    from .csvdata import load_csv, make_labels

    data_key, split_key, _ = run_keys(cfg["seed"])
    lines = None
    if cfg.get("csv"):
        if not cfg.get("target"):
            raise CLIError("--csv needs --target COL (the column to predict)")
        x, raw, features, lines = load_csv(cfg["csv"], cfg["target"])
        features = list(features)
    elif cfg["dataset"] == "iris":
        from .datasets import load_iris

        xj, yj, feats, classes = load_iris()
        x, features = np.asarray(xj), list(feats)
        raw = [classes[int(i)] for i in np.asarray(yj)]
    else:
        spec = _builtin_datasets()[cfg["dataset"]]
        xj, yj = spec.make(data_key, int(cfg["samples"]), float(cfg["noise"]))
        x = np.asarray(xj)
        raw = np.asarray(yj).tolist()
        features = [f"x{i + 1}" for i in range(x.shape[1])]
    labels = make_labels(raw, cfg.get("task"), lines=lines)
    if len(labels.y) < 2:
        raise CLIError(
            f"the data has {len(labels.y)} row(s); at least 2 are needed (a training and a validation row)"
        )
    x = np.asarray(x, dtype=np.float32)
    y = labels.y
    xt, yt, xv, yv = (np.asarray(a) for a in _split(split_key, x, y, cfg["val_fraction"]))
    return RunData(
        x, y, xt, yt, xv, yv, labels.task, list(labels.class_names) if labels.class_names else None, features
    )


def _split(key, x, y, val_fraction):
    from .data import train_val_split

    try:
        return train_val_split(key, x, y, val_fraction)
    except ValueError as e:
        raise CLIError(f"cannot split {x.shape[0]} rows with --val-fraction {val_fraction}: {e}") from None


@dataclass
class Scaler:
    """Feature scaler (and target scaler for regression) of a run, as saved in scaler.json."""

    mean: np.ndarray
    scale: np.ndarray
    target_mean: float | None = None
    target_scale: float | None = None

    def state(self):
        """The :class:`jnnbasics.data.ScalerState` of the features."""
        import jax.numpy as jnp

        from .data import ScalerState

        return ScalerState(
            mean=jnp.asarray(self.mean, jnp.float32), scale=jnp.asarray(self.scale, jnp.float32)
        )

    def x(self, x: np.ndarray) -> np.ndarray:
        """Standardise features (n, features)."""
        from .data import transform

        return np.asarray(transform(self.state(), np.asarray(x, np.float32)))

    def y(self, y: np.ndarray) -> np.ndarray:
        """Standardise regression targets (n,) (identity for classification)."""
        if self.target_mean is None:
            return y
        return ((np.asarray(y, np.float64) - self.target_mean) / self.target_scale).astype(np.float32)

    def y_back(self, y: np.ndarray) -> np.ndarray:
        """Undo :meth:`y` (model outputs back to target units)."""
        if self.target_mean is None:
            return y
        return np.asarray(y, np.float64) * self.target_scale + self.target_mean

    def to_json(self, features: list[str]) -> dict[str, Any]:
        """The scaler.json content."""
        return {
            "features": features,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "target_mean": self.target_mean,
            "target_scale": self.target_scale,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Scaler:
        """Read scaler.json content."""
        try:
            return cls(
                np.asarray(d["mean"], np.float64),
                np.asarray(d["scale"], np.float64),
                d.get("target_mean"),
                d.get("target_scale"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise CLIError(f"scaler.json is not a valid scaler: {e}") from None


def fit_run_scaler(data: RunData) -> Scaler:
    """Fit the feature scaler (and, for regression, the target's) on the training split only."""
    from .data import fit_scaler

    s = fit_scaler(data.x_train)
    sc = Scaler(np.asarray(s.mean, np.float64), np.asarray(s.scale, np.float64))
    if data.task == "regression":
        t = fit_scaler(np.asarray(data.y_train, np.float64).reshape(-1, 1))
        sc.target_mean, sc.target_scale = float(t.mean[0]), float(t.scale[0])
    return sc


def build_model(cfg: dict[str, Any]):
    """The MLP of a run config (the same object for the same architecture, so compiled code is reused)."""
    return _cached_mlp(
        tuple(int(s) for s in cfg["layer_sizes"]), cfg["activation"], float(cfg["dropout"]), cfg["loss_type"]
    )


@functools.lru_cache(maxsize=32)
def _cached_mlp(layer_sizes: tuple[int, ...], activation: str, dropout: float, loss_type: str):
    from .models import mlp

    return mlp(layer_sizes, activation=activation, dropout_rate=dropout, loss_type=loss_type)


def _targets_for_loss(task: str, y: np.ndarray) -> np.ndarray:
    if task == "multiclass":
        return np.asarray(y, np.int32)
    return np.asarray(y, np.float32).reshape(-1, 1)


# ----------------------------------------------------------------------------------------------
# Checkpoints (jnnbasics.checkpoint)
# ----------------------------------------------------------------------------------------------
def _save(path: Path, tree: Any, metadata: dict[str, Any]) -> None:
    from .checkpoint import save_checkpoint

    save_checkpoint(path, tree, metadata=_jsonable(metadata))


def _load(path: Path, target: Any, what: str) -> Any:
    from .checkpoint import load_checkpoint

    if not path.exists():
        raise CLIError(f"{path} is missing ({what})")
    out = load_checkpoint(path, target)
    return out[0] if isinstance(out, tuple) else out


def _read_meta(path: Path) -> dict[str, Any]:
    from .checkpoint import read_checkpoint_metadata

    return dict(read_checkpoint_metadata(path) or {})


def _state_target(model, cfg: dict[str, Any]):
    """A TrainState of the run's structure (what train_model creates) to load a checkpoint into."""
    from .optim import make_optimizer
    from .state import create_train_state
    from .training import split_run_key

    _, _, train_key = run_keys(cfg["seed"])
    init_key, dropout_key, _ = split_run_key(train_key)
    return create_train_state(model.init(init_key), make_optimizer(cfg["lr"]), key=dropout_key)


def _params_target(model, cfg: dict[str, Any]):
    import jax

    return model.init(jax.random.key(0))


# ----------------------------------------------------------------------------------------------
# Run folders
# ----------------------------------------------------------------------------------------------
def _default_out(stem: str) -> Path:
    now = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{stem}-{now}"
    out, i = base, 2
    while out.exists():
        out, i = Path(f"{base}-{i}"), i + 1
    return out


def _prepare_out(out: Path, *, force: bool, ours: Sequence[str], flag: str) -> None:
    """Create ``out``; refuse an existing non-empty folder unless ``force`` (then remove only our files)."""
    if out.exists() and not out.is_dir():
        raise CLIError(f"{out} exists and is not a folder; choose another {flag}")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            hint = "use --resume to continue the run, " if CONFIG in ours else ""
            raise CLIError(
                f"{flag} folder {out} exists and is not empty; {hint}--force to overwrite its "
                f"{'run' if CONFIG in ours else 'result'} files, or choose another {flag}"
            )
        for name in ours:
            f = out / name
            if f.is_file():
                f.unlink()
    out.mkdir(parents=True, exist_ok=True)


def load_run(run_dir: str) -> tuple[Path, dict[str, Any]]:
    """Check that ``run_dir`` is a run folder and return ``(path, config)``."""
    path = Path(run_dir)
    if not path.is_dir():
        raise CLIError(f"run folder {run_dir} does not exist")
    cfg_path = path / CONFIG
    if not cfg_path.is_file():
        raise CLIError(
            f"{run_dir} is not a jnnbasics run folder (no {CONFIG}); make one with 'jnnbasics train --out DIR'"
        )
    cfg = read_json(cfg_path, "the run's configuration")
    if not isinstance(cfg, dict) or cfg.get("format") != RUN_FORMAT:
        raise CLIError(
            f"{run_dir} is not a jnnbasics run folder ({CONFIG} was not written by 'jnnbasics train')"
        )
    if cfg.get("version", 0) > RUN_VERSION:
        raise CLIError(f"{run_dir} was written by a newer jnnbasics (run format {cfg.get('version')})")
    missing = [k for k in ("layer_sizes", "task", "loss_type", "features", "seed") if k not in cfg]
    if missing:
        raise CLIError(f"{cfg_path} lacks {', '.join(missing)}; it is not a complete run configuration")
    return path, cfg


# ----------------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------------
def _flags_given(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k, None) is not None}


def _resolve_config(given: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults into the training flags (data source and generated-data options)."""
    cfg = dict(TRAIN_DEFAULTS)
    cfg.update(given)
    if given.get("csv"):
        if given.get("dataset"):
            raise CLIError("give either --dataset or --csv, not both")
        if not given.get("target"):
            raise CLIError("--csv needs --target COL (the column to predict)")
        for flag in ("samples", "noise"):
            if given.get(flag) is not None:
                raise CLIError(f"--{flag} is for generated data sets, not --csv")
        cfg["dataset"] = None
        cfg["csv"] = str(Path(given["csv"]).resolve())
        if not Path(cfg["csv"]).is_file():
            raise CLIError(f"CSV file {given['csv']!r} does not exist")
        cfg["csv_sha256"] = _sha256(cfg["csv"])
    else:
        if given.get("target"):
            raise CLIError("--target is for --csv data")
        spec = _builtin_datasets()[cfg["dataset"]]
        if spec.make is None:
            for flag in ("samples", "noise"):
                if given.get(flag) is not None:
                    raise CLIError(f"--{flag} is for generated data sets, not --dataset {cfg['dataset']}")
        else:
            cfg["samples"] = given.get("samples") or spec.samples
            cfg["noise"] = given.get("noise") if given.get("noise") is not None else spec.noise
    cfg["hidden"] = list(cfg["hidden"])
    return cfg


def _check_resume_flags(given: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Flags given with --resume must agree with the saved config (``--epochs`` may grow it)."""
    for k, v in given.items():
        saved = cfg.get(k)
        if k == "epochs":
            continue
        if k == "csv":
            v = str(Path(v).resolve())
        if k == "hidden":
            v = list(v)
        if k in ("lr", "dropout", "l1", "l2", "val_fraction", "noise") and saved is not None:
            same = math.isclose(float(v), float(saved), rel_tol=1e-12, abs_tol=0.0)
        else:
            same = v == saved
        if not same:
            flag = "--" + k.replace("_", "-")
            shown = ",".join(map(str, v)) if isinstance(v, list) else v
            saved_shown = ",".join(map(str, saved)) if isinstance(saved, list) else saved
            raise CLIError(
                f"{flag} {shown} conflicts with the run's saved {k} = {saved_shown} ({CONFIG}); "
                "drop the flag to resume, or start a new run with another --out"
            )
    return cfg


def _config_from_data(cfg: dict[str, Any], data: RunData) -> dict[str, Any]:
    n_out = len(data.class_names) if data.task == "multiclass" else 1
    cfg = dict(cfg)
    cfg.update(
        task=data.task,
        loss_type=LOSS_OF_TASK[data.task],
        features=data.features,
        class_names=data.class_names,
        n_outputs=n_out,
        target_column=cfg.get("target") or ("species" if cfg.get("dataset") == "iris" else "target"),
        layer_sizes=[len(data.features), *cfg["hidden"], n_out],
        n_train=int(data.x_train.shape[0]),
        n_val=int(data.x_val.shape[0]),
    )
    if cfg["schedule"] == "cosine":
        cfg["schedule_options"] = {"t_max": cfg["epochs"]}
    elif cfg["schedule"] == "step":
        cfg["schedule_options"] = {"step_size": 30, "gamma": 0.1}
    else:
        cfg["schedule_options"] = {}
    return cfg


class Checkpointer:
    """A ``train_model`` callback that keeps the latest state and writes it to the run folder.

    After every epoch it keeps a copy of the state (the next epoch donates the original's buffers)
    and of the history, and writes ``checkpoint.ckpt`` at most every ``interval`` seconds (a write
    with fsync costs about 10 ms, many epochs of a small MLP). :meth:`flush` writes whatever is not
    written yet: ``cmd_train`` calls it on Ctrl-C and at the end, so no finished epoch is lost.
    With ``--patience`` it also keeps the best parameters so far (``best.ckpt``), which an early
    stop after a resume needs.
    """

    def __init__(
        self, out: Path, cfg: dict[str, Any], history: dict[str, list[float]], *, interval: float = 1.0
    ):
        self.out, self.cfg, self.history, self.interval = out, cfg, history, interval
        self.best_loss = min(history.get("val_loss") or [math.inf])
        self.epoch = self.saved_epoch = None
        self.state = self.best_params = None
        self.snapshot: dict[str, list[float]] = {}
        self.best_dirty = False
        self.saved_at = -math.inf

    def __call__(self, epoch: int, logs: dict[str, Any], state) -> None:
        import jax

        self.epoch = epoch
        self.state = jax.tree_util.tree_map(lambda a: a.copy(), state)
        self.snapshot = {k: list(v) for k, v in self.history.items()}
        if self.cfg.get("patience") is not None and logs.get("val_loss", math.inf) < self.best_loss:
            self.best_loss = logs["val_loss"]
            self.best_params, self.best_dirty = self.state.params, True
        if time.monotonic() - self.saved_at >= self.interval:
            self.flush()

    def flush(self) -> int:
        """Write the latest epoch's state if not written yet; return the epoch on disk (0: none)."""
        if self.state is not None and self.saved_epoch != self.epoch:
            meta = _model_meta(self.cfg, epoch=self.epoch, history=self.snapshot)
            _save(self.out / CHECKPOINT, self.state, meta)
            if self.best_dirty:
                _save(self.out / BEST, self.best_params, meta)
                self.best_dirty = False
            self.saved_epoch, self.saved_at = self.epoch, time.monotonic()
        return self.saved_epoch or 0


def _model_meta(cfg: dict[str, Any], **extra: Any) -> dict[str, Any]:
    keys = ("layer_sizes", "activation", "dropout", "loss_type", "task", "class_names", "features", "epochs")
    meta = {k: cfg.get(k) for k in keys}
    meta["format"] = RUN_FORMAT
    meta.update(extra)
    return meta


def cmd_train(args: argparse.Namespace) -> int:
    """``jnnbasics train``."""
    from .training import train_model

    given = _flags_given(args)
    if args.resume and args.force:
        raise CLIError("--resume and --force contradict each other (continue the run, or overwrite it)")
    if args.resume:
        if not args.out:
            raise CLIError("--resume needs --out RUN_DIR (the run folder to continue)")
        out, cfg = load_run(args.out)
        cfg = _check_resume_flags(given, cfg)
        if cfg.get("csv") and cfg.get("csv_sha256") and Path(cfg["csv"]).is_file():
            if _sha256(cfg["csv"]) != cfg["csv_sha256"]:
                raise CLIError(f"the CSV file {cfg['csv']} changed since the run started; start a new run")
    else:
        cfg = _resolve_config(given)
        stem = cfg["dataset"] or Path(cfg["csv"]).stem
        out = Path(args.out) if args.out else _default_out(stem)
    data = load_run_data(cfg)  # read before the folder is made: bad input leaves nothing behind
    if not args.resume:
        from . import __version__

        cfg = _config_from_data(cfg, data)
        _prepare_out(out, force=args.force, ours=RUN_FILES, flag="--out")
        cfg.update(
            format=RUN_FORMAT,
            version=RUN_VERSION,
            jnnbasics_version=__version__,
            created=datetime.datetime.now().isoformat(timespec="seconds"),
        )
        cfg["command"] = _repeat_command(cfg)

    scaler = (
        fit_run_scaler(data)
        if not args.resume
        else Scaler.from_json(read_json(out / "scaler.json", "scaler"))
    )
    model = build_model(cfg)
    xs_tr, xs_val = scaler.x(data.x_train), scaler.x(data.x_val)
    ys_tr = _targets_for_loss(data.task, scaler.y(data.y_train))
    ys_val = _targets_for_loss(data.task, scaler.y(data.y_val))

    state, start_epoch, history = None, 0, {}
    if args.resume:
        ckpt = out / CHECKPOINT
        if ckpt.exists():
            meta = _read_meta(ckpt)
            start_epoch = int(meta.get("epoch", 0))
            history = {k: list(v) for k, v in (meta.get("history") or {}).items()}
            state = _load(ckpt, _state_target(model, cfg), "the training checkpoint")
        new_epochs = given.get("epochs", cfg["epochs"])
        if new_epochs < start_epoch:
            raise CLIError(f"--epochs {new_epochs} is less than the {start_epoch} epochs this run has done")
        model_epoch = _read_meta(out / MODEL).get("epoch") if (out / MODEL).exists() else None
        if model_epoch == start_epoch and new_epochs <= cfg["epochs"]:
            print(
                f"{out}: this run is finished ({start_epoch} epochs); give --epochs above {cfg['epochs']} "
                "to train it further"
            )
            return 0
        if new_epochs != cfg["epochs"]:
            cfg["epochs"] = new_epochs
            cfg["command"] = _repeat_command(cfg)
    write_json(out / CONFIG, cfg)
    write_json(out / "scaler.json", scaler.to_json(data.features))
    write_json(
        out / "labels.json",
        {"task": data.task, "target_column": cfg.get("target_column"), "class_names": data.class_names},
    )

    _, _, train_key = run_keys(cfg["seed"])
    checkpointer = Checkpointer(out, cfg, history)
    callbacks = [checkpointer]
    if start_epoch and not args.quiet:
        print(f"resuming {out} from epoch {start_epoch}/{cfg['epochs']}", file=sys.stderr)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            result = train_model(
                model,
                (xs_tr, ys_tr),
                (xs_val, ys_val),
                key=train_key,
                epochs=cfg["epochs"],
                learning_rate=cfg["lr"],
                batch_size=cfg["batch_size"],
                loss_type=cfg["loss_type"],
                schedule=cfg["schedule"],
                schedule_options=cfg["schedule_options"] or None,
                lambda_l1=cfg["l1"],
                lambda_l2=cfg["l2"],
                patience=cfg["patience"],
                callbacks=callbacks,
                progress=not args.quiet,
                state=state,
                start_epoch=start_epoch,
                history=history,
            )
    except KeyboardInterrupt:
        done = checkpointer.flush() or start_epoch
        if checkpointer.saved_epoch:
            write_json(out / "history.json", checkpointer.snapshot)
            write_history_csv(out / "history.csv", checkpointer.snapshot)
        if not args.quiet and sys.stderr.isatty():
            print(file=sys.stderr)  # end the progress bar's line
        print(
            f"{PROG}: interrupted; the checkpoint in {out} holds epoch {done}/{cfg['epochs']}. "
            f"Continue with: {PROG} train --resume --out {shlex.quote(str(out))}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    for w in caught:
        print(f"{PROG}: warning: {_one_line(str(w.message))}", file=sys.stderr)

    checkpointer.flush()
    epochs_run = len(history.get("train_loss", []))
    meta = _model_meta(cfg, epoch=epochs_run, history=history)
    _save(out / CHECKPOINT, result.state, meta)
    params = result.params
    if result.stop_reason == "early_stopping" and (out / BEST).exists():
        params = _load(out / BEST, _params_target(model, cfg), "the best parameters")
    _save(out / MODEL, params, {**meta, "stop_reason": result.stop_reason, "best_epoch": result.best_epoch})
    write_json(out / "history.json", history)
    write_history_csv(out / "history.csv", history)

    metrics = {
        "task": data.task,
        "epochs_run": epochs_run,
        "stop_reason": result.stop_reason,
        "best_epoch": result.best_epoch,
    }
    split, val_out = data_metrics(model, params, cfg, scaler, data)
    metrics.update(split)
    metrics["note"] = METRICS_NOTE[data.task]
    write_json(out / "metrics.json", metrics)
    pictures = (
        [] if args.no_plots else draw_run_pictures(out, model, params, cfg, scaler, data, history, val_out)
    )
    _print_summary(out, cfg, metrics, pictures)
    return 0


def _repeat_command(cfg: dict[str, Any]) -> str:
    """A ``jnnbasics train`` command line that repeats the run."""
    parts = [PROG, "train"]
    if cfg.get("csv"):
        parts += ["--csv", cfg["csv"], "--target", cfg["target"]]
    else:
        parts += ["--dataset", cfg["dataset"]]
        if cfg.get("samples") is not None:
            parts += ["--samples", str(cfg["samples"]), "--noise", repr(cfg["noise"])]
    parts += ["--task", cfg["task"], "--hidden", ",".join(map(str, cfg["hidden"])) or "none"]
    for k in ("activation", "dropout", "epochs", "lr", "batch_size", "schedule", "l1", "l2", "val_fraction"):
        parts += ["--" + k.replace("_", "-"), str(cfg[k])]
    if cfg.get("patience") is not None:
        parts += ["--patience", str(cfg["patience"])]
    parts += ["--seed", str(cfg["seed"])]
    return " ".join(shlex.quote(p) for p in parts)


def predict_outputs(model, params, x_scaled: np.ndarray) -> np.ndarray:
    """Model outputs in eval mode (no dropout), shape (n, outputs), in one compiled call."""
    from .training import eval_step

    return np.asarray(eval_step(model.apply, params, np.asarray(x_scaled, np.float32)))


def _class_of(task: str, out: np.ndarray) -> np.ndarray:
    return (out[:, 0] > 0).astype(np.int32) if task == "binary" else np.argmax(out, axis=1).astype(np.int32)


def metrics_from_outputs(
    cfg: dict[str, Any], scaler: Scaler, out: np.ndarray, y: np.ndarray
) -> dict[str, Any]:
    """Loss and accuracy, or R²/RMSE/MAE in target units, from model outputs.

    The loss is averaged as the training history's ``val_loss`` is (the tutorial's convention): the
    mean over consecutive batches of ``batch_size`` rows of each batch's mean loss.

    Args:
        cfg: the run config (task, loss type).
        scaler: the run's scaler (regression targets are standardised for the loss).
        out: model outputs of shape (n, outputs).
        y: class indices or raw regression targets, shape (n,).
    """
    from .losses import compute_loss

    task = cfg["task"]
    per_row = np.asarray(
        compute_loss(out, _targets_for_loss(task, scaler.y(y)), cfg["loss_type"], reduction="none")
    )
    per_row = per_row.reshape(len(y), -1).mean(axis=1).astype(np.float64)
    bs = int(cfg["batch_size"])
    loss = np.mean([per_row[i : i + bs].mean() for i in range(0, len(per_row), bs)])
    m: dict[str, Any] = {"n": int(len(y)), "loss": float(loss)}
    if task == "regression":
        from .viz import regression_metrics

        m.update(regression_metrics(np.asarray(y, np.float64), scaler.y_back(out[:, 0])))
    else:
        m["accuracy"] = float(np.mean(_class_of(task, out) == np.asarray(y)))
    return m


def data_metrics(model, params, cfg, scaler: Scaler, data: RunData) -> tuple[dict[str, Any], np.ndarray]:
    """Train and validation metrics of a run, and the validation outputs (one forward pass)."""
    n_tr = len(data.y_train)
    out = predict_outputs(model, params, scaler.x(np.concatenate([data.x_train, data.x_val])))
    metrics = {
        "train": metrics_from_outputs(cfg, scaler, out[:n_tr], data.y_train),
        "val": metrics_from_outputs(cfg, scaler, out[n_tr:], data.y_val),
    }
    return metrics, out[n_tr:]


def draw_run_pictures(
    out: Path, model, params, cfg, scaler: Scaler, data: RunData, history, val_out: np.ndarray
) -> list[str]:
    """history.png; decision_boundary.png (2 features), confusion_matrix.png or predictions.png."""
    from . import viz

    names = ["history.png"]
    fig = viz.plot_training_history(history, title=f"Training history ({_data_name(cfg)})")
    viz.save_figure(fig, out / "history.png")
    if data.task != "regression":
        if len(data.features) == 2:
            fig = viz.plot_decision_boundary(
                _raw_input_apply(model), (params, scaler.state()), data.x, data.y, output="logits"
            )
            ax = fig.axes[0]
            ax.set_xlabel(data.features[0])
            ax.set_ylabel(data.features[1])
            ax.set_title(f"Decision boundary ({_data_name(cfg)}, all {len(data.y)} points)")
            viz.save_figure(fig, out / "decision_boundary.png")
            names.append("decision_boundary.png")
        pred = _class_of(data.task, val_out)
        fig = viz.plot_confusion_matrix(data.y_val, pred, class_names=data.class_names)
        fig.axes[0].set_title(f"Confusion matrix (validation, {len(pred)} rows)")
        viz.save_figure(fig, out / "confusion_matrix.png")
        names.append("confusion_matrix.png")
    else:
        pred = scaler.y_back(val_out[:, 0])
        fig = viz.plot_predictions(data.y_val, pred)
        viz.save_figure(fig, out / "predictions.png")
        names.append("predictions.png")
    return names


@functools.lru_cache(maxsize=32)
def _raw_input_apply(model) -> Callable[[Any, Any], Any]:
    """``apply((params, scaler_state), x_raw)``: the model on unscaled inputs (one function per model)."""
    from .data import transform

    def apply(p, x):
        params, state = p
        return model.apply(params, transform(state, x))

    return apply


def _data_name(cfg: dict[str, Any]) -> str:
    return cfg.get("dataset") or Path(cfg.get("csv") or "data").name


def _fmt_metrics(m: dict[str, Any]) -> str:
    keys = ("loss", "accuracy", "r2", "rmse", "mae")
    return "  ".join(f"{k} {m[k]:.4g}" for k in keys if m.get(k) is not None)


def _print_summary(out: Path, cfg: dict[str, Any], metrics: dict[str, Any], pictures: list[str]) -> None:
    stop = {
        "completed": "",
        "early_stopping": f", early stop (best epoch {metrics['best_epoch']})",
        "diverged": ", stopped: the loss diverged",
        "callback": ", stopped by a callback",
    }.get(metrics["stop_reason"], "")
    lines = [
        f"run folder: {out}",
        f"data: {_data_name(cfg)} ({cfg['task']}, {cfg['n_train']} train / {cfg['n_val']} validation rows, "
        f"{len(cfg['features'])} features)  model: {'-'.join(map(str, cfg['layer_sizes']))} {cfg['activation']}",
        f"epochs: {metrics['epochs_run']}/{cfg['epochs']}{stop}",
        f"train: {_fmt_metrics(metrics['train'])}",
        f"val:   {_fmt_metrics(metrics['val'])}",
    ]
    if pictures:
        lines.append("pictures: " + ", ".join(pictures))
    print("\n".join(lines))


# ----------------------------------------------------------------------------------------------
# evaluate / predict
# ----------------------------------------------------------------------------------------------
def _load_model(path: Path, cfg: dict[str, Any]):
    model = build_model(cfg)
    if not (path / MODEL).exists():
        done = 0
        if (path / CHECKPOINT).exists():
            done = int(_read_meta(path / CHECKPOINT).get("epoch", 0))
        raise CLIError(
            f"run {path} has no trained model yet (its checkpoint holds epoch {done}/{cfg.get('epochs')}); "
            f"finish it with '{PROG} train --resume --out {path}'"
        )
    params = _load(path / MODEL, _params_target(model, cfg), "the trained model")
    scaler = Scaler.from_json(read_json(path / "scaler.json", "the feature scaler"))
    if scaler.mean.shape != (len(cfg["features"]),):
        raise CLIError(f"{path / 'scaler.json'} does not match the run's {len(cfg['features'])} features")
    return model, params, scaler


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``jnnbasics evaluate``."""
    path, cfg = load_run(args.run_dir)
    model, params, scaler = _load_model(path, cfg)
    if args.csv:
        from .csvdata import encode_labels, feature_matrix, read_table

        target = cfg.get("target_column") or cfg.get("target") or "target"
        table = read_table(args.csv)
        x = feature_matrix(table, cfg["features"])
        from .csvdata import column_index

        t = column_index(table, target, role="target column")
        raw = [row[t] for row in table.rows]
        if cfg["task"] == "regression":
            from .csvdata import make_labels

            y = make_labels(raw, "regression", lines=table.lines).y
        else:
            y = encode_labels(raw, cfg["class_names"], lines=table.lines)
        out = predict_outputs(model, params, scaler.x(x))
        results = {"csv": metrics_from_outputs(cfg, scaler, out, y)}
    else:
        results, _ = data_metrics(model, params, cfg, scaler, load_run_data(cfg))
    if args.json:
        print(json.dumps(_jsonable(results), indent=2))
    else:
        print(f"run: {path} ({cfg['task']}, model {'-'.join(map(str, cfg['layer_sizes']))})")
        for name, m in results.items():
            print(f"{name + ':':6} n {m['n']}  {_fmt_metrics(m)}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``jnnbasics predict``."""
    from .csvdata import feature_matrix, read_table

    path, cfg = load_run(args.run_dir)
    model, params, scaler = _load_model(path, cfg)
    table = read_table(args.csv)
    if args.out and Path(args.out).resolve() == Path(args.csv).resolve():
        raise CLIError("--out would overwrite the input CSV; choose another file")
    x = feature_matrix(table, cfg["features"])
    out = predict_outputs(model, params, scaler.x(x))
    task = cfg["task"]
    extra_cols: list[str]
    if task == "regression":
        values = scaler.y_back(out[:, 0])
        extra_cols = ["prediction"]
        extra = [[repr(float(v))] for v in values]
    else:
        import jax

        names = cfg["class_names"]
        if task == "binary":
            p1 = np.asarray(jax.nn.sigmoid(out[:, 0]), np.float64)
            probs = np.stack([1.0 - p1, p1], axis=1)
        else:
            probs = np.asarray(jax.nn.softmax(out, axis=1), np.float64)
        cls = _class_of(task, out)
        extra_cols = ["prediction", *(f"prob_{n}" for n in names)]
        extra = [[names[c], *(f"{p:.6g}" for p in row)] for c, row in zip(cls, probs)]
    clash = [c for c in extra_cols if c in table.columns]
    if clash:
        extra_cols = [c if c not in table.columns else f"{c}_predicted" for c in extra_cols]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*table.columns, *extra_cols])
    for row, e in zip(table.rows, extra):
        w.writerow([*row, *e])
    if args.out:
        dest = Path(args.out)
        if dest.parent and not dest.parent.exists():
            raise CLIError(f"the folder of --out {args.out} does not exist")
        _write_text_atomic(dest, buf.getvalue())
        print(f"wrote {len(table.rows)} predictions to {dest}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
        sys.stdout.flush()
    return 0


# ----------------------------------------------------------------------------------------------
# tune
# ----------------------------------------------------------------------------------------------
GRID_NAMES = {
    # CLI / grid-file name -> tune_hyperparameters name
    "lr": "learning_rate",
    "learning_rate": "learning_rate",
    "l1": "lambda_l1",
    "lambda_l1": "lambda_l1",
    "l2": "lambda_l2",
    "lambda_l2": "lambda_l2",
    "weight_decay": "weight_decay",
    "dropout": "dropout_rate",
    "dropout_rate": "dropout_rate",
    "hidden": "hidden",
    "activation": "activation",
    "batch_size": "batch_size",
    "seed": "seed",
    "seeds": "seed",
    "schedule": "schedule",
}
SHORT_NAMES = {
    "learning_rate": "lr",
    "lambda_l1": "l1",
    "lambda_l2": "l2",
    "dropout_rate": "dropout",
    "weight_decay": "weight_decay",
    "hidden": "hidden",
    "activation": "activation",
    "batch_size": "batch_size",
    "seed": "seed",
    "schedule": "schedule",
}


def _read_grid_file(path: str) -> dict[str, list[Any]]:
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"grid file {path!r} does not exist")
    try:
        if p.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python < 3.11
                raise CLIError("TOML grid files need Python 3.11 or newer; use JSON") from None
            grid = tomllib.loads(p.read_text(encoding="utf-8"))
        else:
            grid = json.loads(p.read_text(encoding="utf-8"))
    except CLIError:
        raise
    except Exception as e:  # noqa: BLE001 - any parse error becomes a one-line message
        raise CLIError(f"cannot read grid file {path}: {_one_line(str(e))}") from None
    if not isinstance(grid, dict) or not grid:
        raise CLIError(f"grid file {path} must map hyperparameter names to lists of values")
    return grid


def _check_grid_values(name: str, values: list[Any]) -> list[Any]:
    checks: dict[str, Callable[[str], Any]] = {
        "learning_rate": positive_float,
        "lambda_l1": nonnegative_float,
        "lambda_l2": nonnegative_float,
        "weight_decay": nonnegative_float,
        "dropout_rate": rate,
        "batch_size": positive_int,
        "seed": seed_int,
    }
    out = []
    for v in values:
        if name == "hidden":
            if isinstance(v, str):
                v = layer_list(v)
            if not isinstance(v, (list, tuple)) or not all(isinstance(s, int) and s > 0 for s in v):
                raise CLIError(f"grid: hidden values must be lists of positive layer sizes, got {v!r}")
            out.append(tuple(v))
        elif name == "activation":
            if v not in _activations():
                raise CLIError(f"grid: activation must be one of {', '.join(_activations())}, got {v!r}")
            out.append(v)
        elif name == "schedule":
            if v not in SCHEDULES:
                raise CLIError(f"grid: schedule must be one of {', '.join(SCHEDULES)}, got {v!r}")
            out.append(v)
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise CLIError(f"grid: {SHORT_NAMES[name]} values must be numbers, got {v!r}")
            try:
                out.append(checks[name](str(v)))
            except argparse.ArgumentTypeError as e:
                raise CLIError(f"grid: {SHORT_NAMES[name]} {e}") from None
    if not out:
        raise CLIError(f"grid: {SHORT_NAMES[name]} has no values")
    return out


def build_grid(args: argparse.Namespace) -> dict[str, list[Any]]:
    """The grid (tune_hyperparameters names -> values) from --grid FILE and the grid flags."""
    grid: dict[str, list[Any]] = {}
    if args.grid:
        for name, values in _read_grid_file(args.grid).items():
            if name not in GRID_NAMES:
                raise CLIError(
                    f"grid file {args.grid}: unknown hyperparameter {name!r}; "
                    f"use {', '.join(sorted(set(SHORT_NAMES.values())))}"
                )
            values = values if isinstance(values, list) else [values]
            grid[GRID_NAMES[name]] = _check_grid_values(GRID_NAMES[name], values)
    flags = {
        "lr": args.lr,
        "l1": args.l1,
        "l2": args.l2,
        "dropout": args.dropout,
        "hidden": args.hidden,
        "activation": args.activation,
        "batch_size": args.batch_size,
        "seeds": args.seeds,
    }
    for flag, values in flags.items():
        if values is None:
            continue
        name = GRID_NAMES[flag]
        if name in grid:
            raise CLIError(f"--{flag.replace('_', '-')} is also in the grid file; give it once")
        grid[name] = _check_grid_values(name, list(values))
    if args.schedule is not None:
        if "schedule" in grid:
            raise CLIError("--schedule is also in the grid file; give it once")
        grid["schedule"] = [args.schedule]
    if not grid:
        raise CLIError(
            "no grid: give values to try, e.g. --lr 1e-3,1e-2 --hidden '32;64,32', or --grid FILE.json"
        )
    grid.setdefault("hidden", [tuple(TRAIN_DEFAULTS["hidden"])])
    grid.setdefault("activation", [TRAIN_DEFAULTS["activation"]])
    return grid


def cmd_tune(args: argparse.Namespace) -> int:
    """``jnnbasics tune``."""
    from .models import mlp
    from .parallel import expand_grid, tune_hyperparameters

    given = _flags_given(args)
    for k in ("lr", "l1", "l2", "dropout", "hidden", "activation", "batch_size", "epochs", "schedule"):
        given.pop(k, None)
    grid = build_grid(args)
    cfg = _resolve_config(given)
    epochs = args.epochs or TRAIN_DEFAULTS["epochs"]
    data = load_run_data(cfg)
    stem = cfg["dataset"] or Path(cfg["csv"]).stem
    out = Path(args.out) if args.out else _default_out(f"tune-{stem}")
    _prepare_out(out, force=args.force, ours=TUNE_FILES, flag="--out")
    scaler = fit_run_scaler(data)
    n_out = len(data.class_names) if data.task == "multiclass" else 1
    loss_type = LOSS_OF_TASK[data.task]
    train = (scaler.x(data.x_train), _targets_for_loss(data.task, scaler.y(data.y_train)))
    val = (scaler.x(data.x_val), _targets_for_loss(data.task, scaler.y(data.y_val)))
    n_features = len(data.features)

    def model_fn(hidden=tuple(TRAIN_DEFAULTS["hidden"]), activation="relu"):
        return mlp([n_features, *hidden, n_out], activation=activation, loss_type=loss_type)

    settings = expand_grid(grid)
    print(
        f"tuning {len(settings)} settings on {_data_name(cfg)} ({data.task}, {len(data.y_train)} train / "
        f"{len(data.y_val)} validation rows), {epochs} epochs each ...",
        file=sys.stderr,
    )
    _, _, train_key = run_keys(cfg["seed"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        results = tune_hyperparameters(
            model_fn,
            settings,
            train,
            val,
            key=train_key,
            epochs=epochs,
            batch_size=TRAIN_DEFAULTS["batch_size"],
            loss_type=loss_type,
        )
    varied = [n for n, v in grid.items() if len(v) > 1]
    shown = [n for n in grid if n in varied] or list(grid)
    rows = []
    for rank, r in enumerate(results, 1):
        h = r["history"]
        row = {"rank": rank}
        for n in grid:
            row[SHORT_NAMES[n]] = _show_value(r["params"].get(n))
        row["val_loss"] = r["final_loss"]
        row["train_loss"] = h["train_loss"][-1] if h.get("train_loss") else math.nan
        if h.get("val_accuracy"):
            row["val_accuracy"] = h["val_accuracy"][-1]
        row["epochs"] = len(h.get("train_loss", []))
        rows.append(row)
    write_json(
        out / "results.json",
        {
            "data": {k: cfg.get(k) for k in DATA_KEYS},
            "task": data.task,
            "epochs": epochs,
            "grid": {SHORT_NAMES[n]: [_show_value(v) for v in vals] for n, vals in grid.items()},
            "results": [
                {
                    "rank": i + 1,
                    "params": {SHORT_NAMES[n]: _show_value(v) for n, v in r["params"].items()},
                    "val_loss": r["final_loss"],
                    "history": r["history"],
                }
                for i, r in enumerate(results)
            ],
        },
    )
    _write_rows_csv(out / "results.csv", rows)
    _print_table(rows, [SHORT_NAMES[n] for n in shown], args.top)
    if not args.no_plots:
        draw_tune_plot(
            out / "tune.png",
            rows,
            {SHORT_NAMES[n]: [_show_value(v) for v in vals] for n, vals in grid.items()},
        )
    print(
        f"results: {out / 'results.csv'}, {out / 'results.json'}"
        + ("" if args.no_plots else f", {out / 'tune.png'}")
    )
    return 0


def _show_value(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v)) or "none"
    return v


def _write_rows_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    _write_text_atomic(path, buf.getvalue())


def _fmt_cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _print_table(rows: list[dict[str, Any]], params: list[str], top: int) -> None:
    cols = ["rank", *params, "val_loss", "train_loss"] + (
        ["val_accuracy"] if "val_accuracy" in rows[0] else []
    )
    cells = [[_fmt_cell(r.get(c, "")) for c in cols] for r in rows[:top]]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    if len(rows) > top:
        print(f"... {len(rows) - top} more rows in results.csv")


def draw_tune_plot(path: Path, rows: list[dict[str, Any]], grid: dict[str, list[Any]]) -> None:
    """Final validation loss against each varied hyperparameter (one panel each), as a PNG.

    Each panel puts the hyperparameter's values at evenly spaced positions (numbers sorted, other
    values in grid order), draws every setting as a point and joins the best loss of each value.

    Args:
        path: the PNG to write.
        rows: one dict per setting with the short hyperparameter names and ``val_loss``.
        grid: short name -> the values tried, in the user's order.
    """
    from matplotlib.figure import Figure

    from .viz import save_figure

    names = [n for n, v in grid.items() if len(v) > 1] or list(grid)[:1]
    ncols = min(len(names), 3)
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(4.2 * ncols + 0.6, 3.4 * nrows + 0.5), layout="constrained")
    best_row = min(range(len(rows)), key=lambda j: rows[j]["val_loss"])
    for i, name in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        values = [str(v) for v in grid[name]]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in grid[name]):
            values = [str(v) for v in sorted(grid[name])]
        pos = {v: k for k, v in enumerate(values)}
        xs = np.asarray([pos[str(r[name])] for r in rows], np.float64)
        ys = np.asarray([r["val_loss"] for r in rows], np.float64)
        ok = np.isfinite(ys)
        ax.scatter(xs[ok], ys[ok], alpha=0.6, label="setting")
        best = [np.min(ys[ok & (xs == k)]) if np.any(ok & (xs == k)) else np.nan for k in range(len(values))]
        ax.plot(range(len(values)), best, color="tab:gray", lw=1, label="best per value")
        if ok[best_row]:
            ax.scatter([xs[best_row]], [ys[best_row]], color="tab:red", zorder=3, label="best overall")
        ax.set_xticks(range(len(values)), values)
        ax.set_xlim(-0.5, len(values) - 0.5)
        ax.set_xlabel(name)
        ax.set_ylabel("final validation loss")
        ax.grid(True, alpha=0.3)
        if i == 0:
            ax.legend(loc="best", fontsize="small")
    fig.suptitle(f"Validation loss of {len(rows)} settings against each hyperparameter")
    save_figure(fig, path)
