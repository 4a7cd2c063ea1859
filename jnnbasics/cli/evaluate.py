"""``jnnbasics evaluate``: metrics of a run on its own data (checked unchanged) or on a CSV file.

For classification also a per-class report (precision, recall, F1, support) and a confusion matrix,
from :func:`jnnbasics.metrics.classification_report`.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..run import Run, load_run, outputs_metrics
from ..runs import jsonable
from .common import add_run_arguments
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
    add_run_arguments(e)
    e.add_argument("--csv", metavar="FILE", help="evaluate on this CSV file instead")
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
    out = run.outputs(x)
    return with_report(run, outputs_metrics(run, out, y), out, y)


def with_report(run: Run, m: dict, out: np.ndarray, y) -> dict:
    """Metrics ``m`` plus, for classification, ``"report"`` from outputs ``out`` and targets ``y``."""
    from ..metrics import classification_report, predicted_class

    if run.task != "regression":
        pred = np.asarray(predicted_class(out, run.loss_type))
        n = len(run.class_names)
        m["report"] = {"classes": list(run.class_names), **classification_report(y, pred, n)}
    return m


def report_lines(report: dict) -> list[str]:
    """``report`` as text: a table like scikit-learn's ``classification_report``, then the confusion matrix."""
    names = [str(c) for c in report["classes"]]
    w = max(12, *(len(n) for n in names))
    lines = [f"  {'':{w}}  precision  recall  f1-score  support"]
    for i, n in enumerate(names):
        lines.append(
            _report_row(
                n, w, report["precision"][i], report["recall"][i], report["f1"][i], report["support"][i]
            )
        )
    lines.append(
        f"  {'accuracy':{w}}  {'':9}  {'':6}  {report['accuracy']:8.4f}  {sum(report['support']):7d}"
    )
    for avg in ("macro avg", "weighted avg"):
        a = report[avg]
        lines.append(_report_row(avg, w, a["precision"], a["recall"], a["f1"], a["support"]))
    cw = max(6, *(len(n) for n in names), *(len(str(v)) for row in report["confusion_matrix"] for v in row))
    lines.append("  confusion matrix (rows: true class, columns: predicted class)")
    lines.append(f"  {'':{w}}  " + "  ".join(f"{n:>{cw}}" for n in names))
    for n, row in zip(names, report["confusion_matrix"]):
        lines.append(f"  {n:{w}}  " + "  ".join(f"{v:>{cw}d}" for v in row))
    return lines


def _report_row(name: str, w: int, p: float, r: float, f: float, s: int) -> str:
    return f"  {name:{w}}  {p:9.4f}  {r:6.4f}  {f:8.4f}  {s:7d}"


def run(args: argparse.Namespace) -> int:
    """``jnnbasics evaluate``."""
    r = load_run(args.run_dir, params=args.params)
    if args.csv:
        results = {"csv": csv_metrics(r, args.csv)}
    else:
        check_data_recorded(r.config, r.path, "evaluate")
        check_csv_unchanged(r.config, "evaluate")
        data = load_run_data(r.config)
        results = split_metrics(r, data)
        if r.task != "regression":  # a second pass for the predicted classes; small next to loading
            for name, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val)):
                with_report(r, results[name], r.outputs(x), y)
    if args.json:
        print(json.dumps(jsonable({**results, "params": r.which, "epoch": r.epoch}), indent=2))
        return 0
    cfg = r.config
    print(
        f"run: {r.path} ({cfg['task']}, model {'-'.join(map(str, cfg['layer_sizes']))}, {r.which} epoch {r.epoch})"
    )
    for name, m in results.items():
        print(f"{name + ':':6} n {m['n']}  {fmt_metrics(m)}")
        if "report" in m:
            print("\n".join(report_lines(m["report"])))
    return 0
