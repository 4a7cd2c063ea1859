"""``jnnbasics evaluate``: metrics of a run on its own data (checked unchanged) or on a CSV file."""

from __future__ import annotations

import argparse
import json

from ..run import Run, load_run, outputs_metrics
from ..runs import PARAMS_CHOICES, jsonable
from .report import fmt_metrics, split_metrics
from .rundata import check_csv_unchanged, check_data_recorded, load_run_data


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` and its flags."""
    e = sub.add_parser(
        "evaluate",
        help="evaluate a trained run",
        description="Evaluate the model of a run folder: by default on the run's own training and validation "
        "data (regenerated from config.json; a CSV file that changed since training is refused), or on a CSV "
        "file that has the run's feature and target columns (config.json lists them as 'features' and "
        "'target_column'; for built-in data sets: x1, x2, ... and target, or the iris names and species).",
    )
    e.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by 'jnnbasics train'")
    e.add_argument("--csv", metavar="FILE", help="evaluate on this CSV file instead")
    e.add_argument(
        "--params",
        choices=PARAMS_CHOICES,
        default="best",
        help="the best validation epoch's parameters (default) or the last epoch's",
    )
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.set_defaults(func=run)


def csv_metrics(run: Run, path: str) -> dict:
    """The run's metrics on a CSV file with its feature and target columns."""
    from ..csvdata import column_index, encode_labels, feature_matrix, make_labels, read_table

    table = read_table(path)
    x = feature_matrix(table, run.features)
    t = column_index(
        table, run.config.get("target_column") or run.config.get("target") or "target", role="target column"
    )
    raw = [row[t] for row in table.rows]
    if run.task == "regression":
        y = make_labels(raw, "regression", lines=table.lines).y
    else:
        y = encode_labels(raw, run.class_names, lines=table.lines)
    return outputs_metrics(run, run.outputs(x), y)


def run(args: argparse.Namespace) -> int:
    """``jnnbasics evaluate``."""
    r = load_run(args.run_dir, params=args.params)
    if args.csv:
        results = {"csv": csv_metrics(r, args.csv)}
    else:
        check_data_recorded(r.config, r.path, "evaluate")
        check_csv_unchanged(r.config, "evaluate")
        results = split_metrics(r, load_run_data(r.config))
    if args.json:
        print(json.dumps(jsonable({**results, "params": r.which, "epoch": r.epoch}), indent=2))
        return 0
    cfg = r.config
    print(
        f"run: {r.path} ({cfg['task']}, model {'-'.join(map(str, cfg['layer_sizes']))}, {r.which} epoch {r.epoch})"
    )
    for name, m in results.items():
        print(f"{name + ':':6} n {m['n']}  {fmt_metrics(m)}")
    return 0
