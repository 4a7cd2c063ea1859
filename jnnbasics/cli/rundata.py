"""The data of a command-line run: built-in data sets or a CSV file, labelled, split and scaled.

A run's config names its data (``dataset``/``samples``/``noise`` or ``csv``/``target``/
``drop_missing``/``impute``/``feature_columns``/``ignore``, ``task``, ``val_fraction``, ``seed``);
:func:`load_run_data` makes or reads exactly those rows again, so ``evaluate`` and ``--resume`` see the data the run was trained on — and a CSV
file that changed since (its SHA-256 is in the config) is refused instead of silently used.

Too little data is refused before anything is trained: the split must leave a validation row and,
for classification, at least one training row of every class (the message says how many rows
are needed). The validation split need not hold every class (a rare class may miss it).

CSV features: the chosen columns (``--features``/``--ignore``); a text column is one-hot encoded
here, in the CSV layer, as ``COL=VALUE`` features (categories: the training file's values,
sorted), so :class:`jnnbasics.Run` always takes the encoded numeric matrix. A trained run's config
keeps the encoded names in ``features`` (and ``categories`` for reading): ``evaluate``, ``predict``
and ``--resume`` encode a file with exactly those categories, and an unseen one is an error.
``--impute mean`` fills a numeric column's missing cells with its mean over the whole file (not
only the training split, so the split does not change what is filled).
"""

from __future__ import annotations

import argparse
import hashlib
import math
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
        "blobs": BuiltinDataset(  # seed 0's nearest centres are 1.97 apart: std 0.5 keeps them apart
            lambda k, n, s: ds.make_blobs(k, n, n_classes=3, cluster_std=s), 600, 0.5, "three Gaussian blobs"
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
    "drop_missing": None,
    "feature_columns": None,
    "ignore": None,
    "impute": None,
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
        "--drop-missing",
        action="store_true",
        default=None,
        help="skip CSV rows with a missing value (empty, NA, nan, ?, ...) in the target or a feature column; by "
        "default such a row is an error",
    )
    g.add_argument(
        "--features",
        dest="feature_columns",
        type=column_list,
        metavar="COL,COL",
        help="the CSV columns to use as features, in this order (default: every column but the target); a "
        "text column is one-hot encoded (COL=VALUE, categories from the training file, kept in the run)",
    )
    g.add_argument(
        "--ignore", type=column_list, metavar="COL,COL", help="CSV columns that are not features (an id, ...)"
    )
    g.add_argument(
        "--impute",
        choices=("mean",),
        help="fill missing cells of numeric CSV feature columns with the column's mean over the whole file "
        "(says how many); text columns are one-hot encoded and cannot be imputed",
    )
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
        help="share of rows held out for validation (default: 0.2); the rest, the training split, must hold "
        "a row of every class",
    )
    g.add_argument(
        "--seed", type=seed_int, help="random seed for data, split, init, dropout, shuffle (default: 0)"
    )


def column_list(text: str) -> list[str]:
    """``a,b`` -> ``["a", "b"]`` (spaces stripped); an empty name is an error."""
    names = [c.strip() for c in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, got {text!r}")
    return names


def flag_name(key: str) -> str:
    """The command-line flag of a config key: ``drop_missing`` -> ``--drop-missing``."""
    return "--features" if key == "feature_columns" else "--" + key.replace("_", "-")


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
        if given.get("feature_columns") and given.get("ignore"):
            raise CLIError("give either --features or --ignore, not both")
        if given.get("drop_missing") and given.get("impute"):
            raise CLIError("give either --drop-missing or --impute mean, not both")
        cfg["dataset"] = None
        cfg["drop_missing"] = bool(given.get("drop_missing"))
        cfg["csv"] = str(Path(given["csv"]).resolve())
        if Path(cfg["csv"]).is_dir():
            raise CLIError(f"CSV path {given['csv']!r} is a folder, not a file")
        if not Path(cfg["csv"]).is_file():
            raise CLIError(f"CSV file {given['csv']!r} does not exist")
        cfg["csv_sha256"] = file_sha256(cfg["csv"])
        return cfg
    for flag in ("target", "drop_missing", "feature_columns", "ignore", "impute"):
        if given.get(flag):
            raise CLIError(f"{flag_name(flag)} is for --csv data")
    spec = builtin_datasets()[cfg["dataset"]]
    if spec.make is None:
        for flag in ("samples", "noise"):
            if given.get(flag) is not None:
                raise CLIError(f"--{flag} is for generated data sets, not --dataset {cfg['dataset']}")
    else:
        cfg["samples"] = given.get("samples") or spec.samples
        cfg["noise"] = given.get("noise") if given.get("noise") is not None else spec.noise
    return cfg


def check_data_recorded(cfg: dict[str, Any], folder: Path | str, action: str) -> None:
    """Refuse a run whose config does not say which data it was trained on (saved from Python)."""
    if not (cfg.get("csv") or cfg.get("dataset")) or "seed" not in cfg or "val_fraction" not in cfg:
        hint = (
            "give --csv FILE with its feature and target columns"
            if action == "evaluate"
            else "train a new run"
        )
        raise CLIError(
            f"{folder} was saved from Python and does not say which data it was trained on; {hint}"
        )


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
    categories: dict[str, list[str]] | None = None  # a CSV's one-hot text columns: their categories


def _raw_data(cfg: dict[str, Any], data_key) -> tuple[np.ndarray, list, list[str], Any]:
    """``(x, raw targets, feature names, file lines)`` of the run's data source."""
    if cfg.get("csv"):
        from ..csvcolumns import load_csv

        if not cfg.get("target"):
            raise CLIError("--csv needs --target COL (the column to predict)")
        x, raw, features, lines = load_csv(
            cfg["csv"],
            cfg["target"],
            drop_missing=bool(cfg.get("drop_missing")),
            features=cfg.get("feature_columns"),
            ignore=cfg.get("ignore"),
            impute=cfg.get("impute"),
            encoded=cfg.get("features"),  # a trained run's (one-hot) feature names: the same encoding
        )
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
        CLIError / ValueError: a bad CSV, a target that does not fit the task, too few rows to split
            or to have every class in the training split (the message says how many are needed).
    """
    from ..csvdata import make_labels
    from ..data import train_val_split

    data_key, split_key, _ = seed_keys(cfg["seed"])
    x, raw, features, lines = _raw_data(cfg, data_key)
    labels = make_labels(raw, cfg.get("task"), lines=lines)
    n_classes = len(labels.class_names) if labels.class_names else 0
    check_enough_rows(len(labels.y), cfg["val_fraction"], n_classes)
    x = np.asarray(x, dtype=np.float32)
    parts = train_val_split(split_key, x, labels.y, cfg["val_fraction"])
    xt, yt, xv, yv = (np.asarray(a) for a in parts)
    names = list(labels.class_names) if labels.class_names else None
    if names:
        _check_every_class_trains(labels.y, yt, names, cfg)
    cats = _categories(cfg, features)
    return RunData(x, labels.y, xt, yt, xv, yv, labels.task, names, features, cats)


def _categories(cfg: dict[str, Any], features: list[str]) -> dict[str, list[str]] | None:
    """The categories of a CSV's one-hot encoded text columns (None for built-in data)."""
    if not cfg.get("csv"):
        return None
    from ..csvcolumns import categories
    from ..csvdata import read_table

    return categories(features, read_table(cfg["csv"]).columns)


def split_sizes(n: int, val_fraction: float) -> tuple[int, int]:
    """``(training rows, validation rows)`` of ``n`` rows: ``ceil(val_fraction * n)`` validate."""
    n_val = math.ceil(val_fraction * n)
    return n - n_val, n_val


def check_enough_rows(n: int, val_fraction: float, n_classes: int) -> None:
    """Refuse ``n`` rows that cannot leave a validation row and a training row per class (or one).

    Raises:
        CLIError: saying how many rows are needed with this ``val_fraction``.
    """
    need_train = max(n_classes, 1)
    n_train, n_val = split_sizes(n, val_fraction)
    if n_train >= need_train and n_val >= 1:
        return
    need = max(2, math.ceil(need_train / (1.0 - val_fraction)) - 2)  # then step over rounding
    while split_sizes(need, val_fraction)[0] < need_train:
        need += 1
    why = (
        f"each of the {n_classes} classes needs a row in the training split"
        if n_classes
        else "training needs a row"
    )
    raise CLIError(
        f"too little data: {n} row(s) with --val-fraction {val_fraction} leave {max(n_train, 0)} training "
        f"and {n_val} validation row(s); {why}, so at least {need} rows are needed (or a smaller "
        "--val-fraction)"
    )


def _check_every_class_trains(
    y: np.ndarray, y_train: np.ndarray, names: list[str], cfg: dict[str, Any]
) -> None:
    """Refuse a split whose training part lacks a class (it could never be learned)."""
    counts, seen = np.bincount(y, minlength=len(names)), set(np.unique(y_train).tolist())
    for c, name in enumerate(names):
        if c not in seen:
            raise CLIError(
                f"the training split has no row of class {name!r} (the data has {counts[c]} row(s) of it; "
                f"--val-fraction {cfg['val_fraction']}, --seed {cfg['seed']}); every class needs a training "
                "row: add rows of it, or lower --val-fraction, or try another --seed"
            )


def fit_scalers(data: RunData):
    """``(x_scaler, y_scaler)`` fitted on the training split only (``y_scaler``: regression, else None)."""
    from ..data import fit_scaler

    y_scaler = None
    if data.task == "regression":
        y_scaler = fit_scaler(np.asarray(data.y_train, np.float64).reshape(-1, 1))
    return fit_scaler(data.x_train), y_scaler
