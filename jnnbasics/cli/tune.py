"""``jnnbasics tune``: a hyperparameter grid, trained together where it can be (``tune_hyperparameters``).

The best setting is then trained once more by ``jnnbasics train`` (in-process, the same command the
user can run) into ``OUT/best/``, a run folder that ``evaluate`` and ``predict`` read; the command
is printed and stored in results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import shlex
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import write_text_atomic
from .._keys import seed_keys
from ..devices import use_cpu_cores
from ..run import loss_targets
from ..runs import write_json
from ..schedules import SCHEDULES
from ..tasks import LOSS_OF_TASK
from .common import (
    CLIError,
    activations,
    default_out,
    flags_given,
    grid_of,
    layer_list,
    nonnegative_float,
    one_line,
    positive_float,
    positive_int,
    prepare_out,
    rate,
    seed_int,
)
from .report import data_name
from .rundata import DATA_DEFAULTS, DATA_KEYS, add_data_options, fit_scalers, load_run_data, resolve_data

TUNE_FILES = ("results.json", "results.csv", "tune.png")
BEST_DIR = "best"
DEFAULT_HIDDEN, DEFAULT_ACTIVATION, DEFAULT_EPOCHS, DEFAULT_BATCH = (64, 32), "relu", 100, 32


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``tune`` and its flags."""
    u = sub.add_parser(
        "tune",
        help="grid search over hyperparameters",
        description="Train every combination of the given values (models that differ only in numbers train "
        "together, vectorised) and rank them by final validation loss. Grid flags take comma-separated values; "
        "--hidden takes ';'-separated layer lists. Or give --grid FILE.json (or .toml) mapping names (lr, l1, "
        "l2, dropout, hidden, activation, batch_size, seed, schedule) to lists.",
        epilog="example: jnnbasics tune --lr 1e-3,1e-2 --l2 0,1e-3 --hidden '32;64,32' --dropout 0,0.2",
    )
    add_data_options(u)
    g = u.add_argument_group("grid")
    g.add_argument("--grid", metavar="FILE", help="JSON or TOML file: name -> list of values")
    g.add_argument("--lr", type=grid_of(positive_float), metavar="LIST", help="learning rates")
    g.add_argument("--l1", type=grid_of(nonnegative_float), metavar="LIST", help="L1 weights")
    g.add_argument("--l2", type=grid_of(nonnegative_float), metavar="LIST", help="L2 weights")
    g.add_argument("--dropout", type=grid_of(rate), metavar="LIST", help="drop probabilities")
    g.add_argument("--hidden", type=grid_of(layer_list, ";"), metavar="LISTS", help="e.g. '32;64,32'")
    g.add_argument("--activation", type=grid_of(str), metavar="LIST", help="hidden activations")
    g.add_argument("--batch-size", type=grid_of(positive_int), metavar="LIST", help="batch sizes")
    g.add_argument("--seeds", type=grid_of(seed_int), metavar="LIST", help="model seeds (repeats)")
    g.add_argument("--epochs", type=positive_int, help="epochs per setting (default: 100)")
    g.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (default: constant)")
    o = u.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="results folder (default: runs/tune-<date>-<time>)")
    o.add_argument("--force", action="store_true", help="overwrite the result files in an existing --out")
    o.add_argument("--top", type=positive_int, default=20, help="rows of the table printed (default: 20)")
    o.add_argument("--no-plots", action="store_true", help="do not draw tune.png (nor best/'s pictures)")
    o.add_argument(
        "--no-best", action="store_true", help=f"do not train the best setting into OUT/{BEST_DIR}/"
    )
    u.set_defaults(func=run)


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
        raise CLIError(f"cannot read grid file {path}: {one_line(str(e))}") from None
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
            if v not in activations():
                raise CLIError(f"grid: activation must be one of {', '.join(activations())}, got {v!r}")
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
    grid.setdefault("hidden", [DEFAULT_HIDDEN])
    grid.setdefault("activation", [DEFAULT_ACTIVATION])
    return grid


def run(args: argparse.Namespace) -> int:
    """``jnnbasics tune``: one CPU device per core (before JAX starts), then the grid, spread over them."""
    use_cpu_cores()
    from ..parallel import expand_grid, tune_hyperparameters

    grid = build_grid(args)
    cfg = resolve_data(flags_given(args, DATA_KEYS), {**DATA_DEFAULTS, **flags_given(args, DATA_KEYS)})
    epochs = args.epochs or DEFAULT_EPOCHS
    data = load_run_data(cfg)
    out = Path(args.out) if args.out else default_out(f"tune-{cfg['dataset'] or Path(cfg['csv']).stem}")
    prepare_out(out, force=args.force, ours=TUNE_FILES, flag="--out")
    train, val, model_fn, loss_type = _problem(data)
    settings = expand_grid(grid)
    print(
        f"tuning {len(settings)} settings on {data_name(cfg)} ({data.task}, {len(data.y_train)} train / "
        f"{len(data.y_val)} validation rows), {epochs} epochs each, on {_devices_text(available_devices())} ...",
        file=sys.stderr,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        results = tune_hyperparameters(
            model_fn,
            settings,
            train,
            val,
            key=seed_keys(cfg["seed"])[2],
            epochs=epochs,
            batch_size=DEFAULT_BATCH,
            loss_type=loss_type,
        )
    rows = result_rows(results, grid)
    shown = [n for n, v in grid.items() if len(v) > 1] or list(grid)
    short_grid = {SHORT_NAMES[n]: [_show_value(v) for v in vals] for n, vals in grid.items()}
    devices = {**available_devices(), "used": max(r["devices"] for r in results)}
    best = None if args.no_best else train_best(args, out, results[0], epochs)
    _write_results(out, cfg, data.task, epochs, short_grid, results, devices, best)
    _write_rows_csv(out / "results.csv", rows)
    _print_table(rows, [SHORT_NAMES[n] for n in shown], args.top)
    if not args.no_plots:
        draw_tune_plot(out / "tune.png", rows, short_grid)
    print(
        f"results: {out / 'results.csv'}, {out / 'results.json'}"
        + ("" if args.no_plots else f", {out / 'tune.png'}")
    )
    if best:  # on stderr with the progress lines: stdout keeps the table and the result files
        print(f"best setting trained again: {best['run_dir']}; the command:", file=sys.stderr)
        print(f"  {best['command']}", file=sys.stderr)
        for note in best["notes"]:
            print(f"  note: {note}", file=sys.stderr)
    return 0


TRAIN_FLAGS = {  # tune_hyperparameters name -> jnnbasics train flag
    "learning_rate": "--lr",
    "lambda_l1": "--l1",
    "lambda_l2": "--l2",
    "dropout_rate": "--dropout",
    "hidden": "--hidden",
    "activation": "--activation",
    "batch_size": "--batch-size",
    "schedule": "--schedule",
}


def train_arguments(
    args: argparse.Namespace, setting: dict[str, Any], epochs: int
) -> tuple[list[str], list[str]]:
    """``(argv, notes)``: the ``jnnbasics train`` arguments of a setting (the tune's data flags,
    its epochs) and what that command cannot reproduce."""
    argv: list[str] = []
    for key, value in flags_given(args, DATA_KEYS).items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is not False:
            argv += [flag, ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)]
    notes = []
    for name, value in setting.items():
        if name in TRAIN_FLAGS:
            shown = (",".join(map(str, value)) or "none") if isinstance(value, (list, tuple)) else str(value)
            argv += [TRAIN_FLAGS[name], shown]
        elif name == "seed" and value:
            notes.append(
                f"'jnnbasics train' has no model seed: trained with seed 0's initial weights, not {value}'s"
            )
        elif value not in (0, 0.0, None):
            notes.append(
                f"'jnnbasics train' has no flag for {SHORT_NAMES.get(name, name)}={value}; trained without it"
            )
    if setting.get("schedule") == "cosine" and epochs != 100:
        notes.append(f"tune's cosine schedule has t_max=100 epochs, train's t_max={epochs} (all epochs)")
    return [*argv, "--epochs", str(epochs)], notes


def train_best(
    args: argparse.Namespace, out: Path, best: dict[str, Any], epochs: int
) -> dict[str, Any] | None:
    """Train the best setting with ``jnnbasics train`` into ``out/best``; None when every setting diverged."""
    from . import main

    if not math.isfinite(best["final_loss"]):
        print("no setting trained without diverging: no best run folder", file=sys.stderr)
        return None
    argv, notes = train_arguments(args, best["params"], epochs)
    run_dir = out / BEST_DIR
    extra = ["--quiet", *(["--force"] if args.force else []), *(["--no-plots"] if args.no_plots else [])]
    print(f"training the best setting again into {run_dir} ...", file=sys.stderr)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["train", *argv, "--out", str(run_dir), *extra])
    if code != 0:
        raise CLIError(f"training the best setting into {run_dir} failed: {one_line(err.getvalue().strip())}")
    history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
    return {
        "run_dir": str(run_dir),
        "command": "jnnbasics train " + shlex.join(argv),
        "val_loss": float(history["val_loss"][-1]),
        "notes": notes,
    }


def _problem(data):
    """``(train, val, model_fn, loss_type)``: scaled data, targets for the loss, the MLP per setting."""
    from ..data import transform
    from ..models import mlp

    x_scaler, y_scaler = fit_scalers(data)
    n_out = len(data.class_names) if data.task == "multiclass" else 1
    loss_type = LOSS_OF_TASK[data.task]
    train, val = (
        (transform(x_scaler, x), loss_targets(data.task, y, y_scaler))
        for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val))
    )
    n_features = len(data.features)

    def model_fn(hidden=DEFAULT_HIDDEN, activation=DEFAULT_ACTIVATION):
        return mlp([n_features, *hidden, n_out], activation=activation, loss_type=loss_type)

    return train, val, model_fn, loss_type


def result_rows(results: list[dict[str, Any]], grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """One table row per setting, best first: rank, the grid's values, losses, accuracy, epochs run."""
    rows = []
    for rank, r in enumerate(results, 1):
        h = r["history"]
        row: dict[str, Any] = {"rank": rank}
        for n in grid:
            row[SHORT_NAMES[n]] = _show_value(r["params"].get(n))
        row["val_loss"] = r["final_loss"]
        row["train_loss"] = h["train_loss"][-1] if h.get("train_loss") else math.nan
        if h.get("val_accuracy"):
            row["val_accuracy"] = h["val_accuracy"][-1]
        row["epochs"] = len(h.get("train_loss", []))
        rows.append(row)
    return rows


def available_devices() -> dict[str, Any]:
    """``{"platform": "cpu", "count": n}``: the devices this process trains on."""
    import jax

    return {"platform": jax.default_backend(), "count": jax.local_device_count()}


def _devices_text(devices: dict[str, Any]) -> str:
    n = devices["count"]
    return f"{n} {devices['platform'].upper()} device{'s' if n > 1 else ''}"


def _write_results(out: Path, cfg, task: str, epochs: int, short_grid, results, devices, best) -> None:
    ranked = [
        {
            "rank": i + 1,
            "params": {SHORT_NAMES[n]: _show_value(v) for n, v in r["params"].items()},
            "val_loss": r["final_loss"],
            "devices": r["devices"],
            "history": r["history"],
        }
        for i, r in enumerate(results)
    ]
    data = {k: cfg.get(k) for k in DATA_KEYS}
    write_json(
        out / "results.json",
        {
            "data": data,
            "task": task,
            "epochs": epochs,
            "grid": short_grid,
            "devices": devices,
            "results": ranked,
            "best": best,
        },
    )


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
    write_text_atomic(path, buf.getvalue())


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

    from ..viz import save_figure

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
