"""The data of a command-line run: built-in data sets or a CSV file, labelled, split and scaled.

A run's config names its data (``dataset``/``samples``/``noise`` or ``csv``/``target``, ``task``,
``val_fraction``, ``seed``); :func:`load_run_data` makes or reads exactly those rows again, so
``evaluate`` and ``--resume`` see the data the run was trained on — and a CSV file that changed
since (its SHA-256 is in the config) is refused instead of silently used.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._keys import seed_keys
from ..tasks import TASKS
from .common import CLIError, fraction, nonnegative_float, positive_int, seed_int


@dataclass(frozen=True)
class BuiltinDataset:
    """A data set made in the package: ``make(key, samples, noise) -> (x, y)``."""

    make: Callable[[Any, int, float], tuple[Any, Any]] | None
    samples: int | None
    noise: float | None
    description: str


def builtin_datasets() -> dict[str, BuiltinDataset]:
    """The data sets ``--dataset`` accepts."""
    from .. import datasets as ds

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
DATA_DEFAULTS: dict[str, Any] = {
    "dataset": "moons",
    "samples": None,
    "noise": None,
    "csv": None,
    "target": None,
    "task": None,
    "val_fraction": 0.2,
    "seed": 0,
}
DATA_KEYS = tuple(DATA_DEFAULTS)


def add_data_options(p: argparse.ArgumentParser) -> None:
    """The data flags shared by ``train`` and ``tune``."""
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


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_data(given: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Fill the data source into ``cfg`` from the flags ``given`` (a CSV's path resolved and hashed)."""
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
        cfg["csv_sha256"] = file_sha256(cfg["csv"])
        return cfg
    if given.get("target"):
        raise CLIError("--target is for --csv data")
    spec = builtin_datasets()[cfg["dataset"]]
    if spec.make is None:
        for flag in ("samples", "noise"):
            if given.get(flag) is not None:
                raise CLIError(f"--{flag} is for generated data sets, not --dataset {cfg['dataset']}")
    else:
        cfg["samples"] = given.get("samples") or spec.samples
        cfg["noise"] = given.get("noise") if given.get("noise") is not None else spec.noise
    return cfg


def check_csv_unchanged(cfg: dict[str, Any], action: str) -> None:
    """Refuse a run whose CSV file changed since training (its SHA-256 is in the config)."""
    if not cfg.get("csv") or not cfg.get("csv_sha256"):
        return
    if not Path(cfg["csv"]).is_file():
        raise CLIError(f"the run's CSV file {cfg['csv']} no longer exists; {action} needs it (or give --csv)")
    if file_sha256(cfg["csv"]) != cfg["csv_sha256"]:
        raise CLIError(
            f"the CSV file {cfg['csv']} changed since the run was trained (its SHA-256 differs from "
            f"config.json's); {action} would use other data — restore the file, or give --csv FILE"
        )


@dataclass
class RunData:
    """The data of a run: raw arrays (original units), the split, labels."""

    x: np.ndarray  # (n, features) float32
    y: np.ndarray  # (n,) int32 class indices or float64 targets
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: str
    class_names: list[str] | None
    features: list[str]


def _raw_data(cfg: dict[str, Any], data_key) -> tuple[np.ndarray, list, list[str], Any]:
    """``(x, raw targets, feature names, file lines)`` of the run's data source."""
    if cfg.get("csv"):
        from ..csvdata import load_csv

        if not cfg.get("target"):
            raise CLIError("--csv needs --target COL (the column to predict)")
        x, raw, features, lines = load_csv(cfg["csv"], cfg["target"])
        return np.asarray(x), raw, list(features), lines
    if cfg["dataset"] == "iris":
        from ..datasets import load_iris

        xj, yj, feats, classes = load_iris()
        return np.asarray(xj), [classes[int(i)] for i in np.asarray(yj)], list(feats), None
    xj, yj = builtin_datasets()[cfg["dataset"]].make(data_key, int(cfg["samples"]), float(cfg["noise"]))
    x = np.asarray(xj)
    return x, np.asarray(yj).tolist(), [f"x{i + 1}" for i in range(x.shape[1])], None


def load_run_data(cfg: dict[str, Any]) -> RunData:
    """Make or read the data described by a (resolved) config, label it and split it.

    Raises:
        CLIError / ValueError: a bad CSV, a target that does not fit the task, too few rows to split.
    """
    from ..csvdata import make_labels
    from ..data import train_val_split

    data_key, split_key, _ = seed_keys(cfg["seed"])
    x, raw, features, lines = _raw_data(cfg, data_key)
    labels = make_labels(raw, cfg.get("task"), lines=lines)
    if len(labels.y) < 2:
        raise CLIError(
            f"the data has {len(labels.y)} row(s); at least 2 are needed (a training and a validation row)"
        )
    x = np.asarray(x, dtype=np.float32)
    try:
        parts = train_val_split(split_key, x, labels.y, cfg["val_fraction"])
    except ValueError as e:
        raise CLIError(
            f"cannot split {x.shape[0]} rows with --val-fraction {cfg['val_fraction']}: {e}"
        ) from None
    xt, yt, xv, yv = (np.asarray(a) for a in parts)
    names = list(labels.class_names) if labels.class_names else None
    return RunData(x, labels.y, xt, yt, xv, yv, labels.task, names, features)


def fit_scalers(data: RunData):
    """``(x_scaler, y_scaler)`` fitted on the training split only (``y_scaler``: regression, else None)."""
    from ..data import fit_scaler

    y_scaler = None
    if data.task == "regression":
        y_scaler = fit_scaler(np.asarray(data.y_train, np.float64).reshape(-1, 1))
    return fit_scaler(data.x_train), y_scaler
