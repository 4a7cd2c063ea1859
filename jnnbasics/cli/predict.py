"""``jnnbasics predict``: a CSV file's rows with the run's predictions (and class probabilities)."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from .._atomic import write_text_atomic
from ..run import load_run
from .common import CLIError, add_run_arguments, os_error_text


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``predict`` and its flags."""
    p = sub.add_parser(
        "predict",
        help="predict with a trained run",
        description="Predict the rows of a CSV file with the model of a run folder. The CSV needs the run's "
        "feature columns (any order; a target column and other columns are kept but not used). Output: "
        "the input columns plus 'prediction' (class names for classification, numbers for regression) "
        "and, for classification, one probability column per class.",
    )
    add_run_arguments(p)
    p.add_argument("--csv", metavar="FILE", required=True, help="rows to predict")
    p.add_argument("--out", metavar="FILE", help="write the CSV here (default: standard output)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``jnnbasics predict``."""
    from ..csvdata import feature_matrix, read_table

    r = load_run(args.run_dir, params=args.params)
    if args.out and Path(args.out).resolve() == Path(args.csv).resolve():
        raise CLIError("--out would overwrite the input CSV; choose another file")
    if args.out and (Path(args.out).is_dir() or not Path(args.out).parent.is_dir()):
        raise CLIError(f"--out {args.out} must be a file in an existing folder")
    table = read_table(args.csv)
    x = feature_matrix(table, r.features)
    if r.task == "regression":
        cols, extra = ["prediction"], [[repr(float(v))] for v in r.predict(x)]
    else:
        cols = ["prediction", *(f"prob_{n}" for n in r.class_names)]
        extra = [[c, *(f"{p:.6g}" for p in row)] for c, row in zip(r.predict(x), r.predict_proba(x))]
    cols = [c if c not in table.columns else f"{c}_predicted" for c in cols]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*table.columns, *cols])
    for row, e in zip(table.rows, extra):
        w.writerow([*row, *e])
    if args.out:
        try:
            write_text_atomic(Path(args.out), buf.getvalue())
        except OSError as e:
            raise CLIError(f"cannot write --out {args.out} ({os_error_text(e)})") from None
        print(f"wrote {len(table.rows)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
        sys.stdout.flush()
    return 0
