"""The command line's fault catalogue (issue 9): every option, file and data fault, tested end to end.

``CASES`` is one table of :class:`faults.CliFault` records — a malformed option, a damaged or
changed file of a run folder, a bad CSV, an output that cannot be written, a diverging run — each
with the exit status it must end with and a fragment of its one line ``jnnbasics: error: ...``.
One test runs them all in-process through ``jnnbasics.cli.main`` and checks, for every case: the
exit status, no traceback, every stderr line a ``jnnbasics:`` line with exactly one error line
(the last), the message fragment, no temporary file left, and — nothing lost — every file present
before a failed command byte-for-byte unchanged after it, and nothing added. ``docs/errors.md`` is
generated from this table and the API's (``python tests/faults.py``); a test below keeps it in sync.

The oracles are the files themselves (their bytes before and after), the independent readers of the
formats (``json``, ``struct``/``hashlib``/``flax.serialization`` for a checkpoint's header and body)
and, for divergence, the run folder's own files against the checkpoint's label.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from faults import (
    DOC_PATH,
    REGENERATE,
    CliFault,
    catalogue_cases,
    check_unique_ids,
    count_by_layer,
    render_markdown,
)

from jnnbasics.cli import main

EPOCHS = 3  # of the trained run every run-folder case starts from
ROWS = 120


# ---------------------------------------------------------------------------------------------
# the trained runs every case copies, and the case's workspace
# ---------------------------------------------------------------------------------------------
def write_moons_csv(path: Path, n: int = ROWS, seed: int = 3) -> None:
    """Two-moons rows with class names: ``width, shape, height`` (the target in the middle)."""
    import jax

    from jnnbasics.datasets import make_moons

    x, y = make_moons(jax.random.key(seed), n, noise=0.15)
    lines = ["width,shape,height"]
    for (a, b), c in zip(np.asarray(x, np.float64), np.asarray(y)):
        lines.append(f"{float(a)!r},{'round' if c else 'pointy'},{float(b)!r}")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """``(data.csv, run, other)``: a binary CSV run of EPOCHS epochs, and another run's folder (seed 1)."""
    d = tmp_path_factory.mktemp("faults_base")
    write_moons_csv(d / "data.csv")
    common = ["--csv", d / "data.csv", "--target", "shape", "--epochs", EPOCHS, "--quiet", "--no-plots"]
    for name, seed in (("run", 0), ("other", 1)):
        assert main([str(a) for a in ["train", *common, "--seed", seed, "--out", d / name]]) == 0
    return d / "data.csv", d / "run", d / "other"


@dataclass
class Workspace:
    """A case's files: ``tmp`` (its folder), ``run`` (a copy of the trained run, whose config points
    at ``csv``, a copy of its CSV), ``other`` (another run's folder) and pytest's ``monkeypatch``."""

    tmp: Path
    run: Path
    csv: Path
    other: Path
    monkeypatch: pytest.MonkeyPatch


def workspace(base, tmp: Path, monkeypatch) -> Workspace:
    csv_file, run, other = base
    ws = Workspace(tmp, tmp / "run", tmp / "data.csv", other, monkeypatch)
    shutil.copyfile(csv_file, ws.csv)
    shutil.copytree(run, ws.run)
    cfg = json.loads((ws.run / "config.json").read_text())
    cfg["csv"] = str(ws.csv)  # same bytes, same SHA-256: the run's data, in the case's folder
    (ws.run / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    return ws


# ---------------------------------------------------------------------------------------------
# setups: the bad file or state of a case
# ---------------------------------------------------------------------------------------------
def write(name: str, content: str | bytes):
    """Write ``{tmp}/name``."""

    def setup(ws: Workspace) -> None:
        p = ws.tmp / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode())

    return setup


def run_file(name: str, content: str | bytes | None):
    """Replace the run's file ``name`` (None: delete it)."""

    def setup(ws: Workspace) -> None:
        p = ws.run / name
        if content is None:
            p.unlink()
        else:
            p.write_bytes(content if isinstance(content, bytes) else content.encode())

    return setup


def truncated(name: str):
    """Cut the run's file ``name`` to half its length (a write that stopped part-way)."""

    def setup(ws: Workspace) -> None:
        p = ws.run / name
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])

    return setup


def flipped(name: str):
    """Flip one bit in the last byte of the run's file ``name`` (a disk or copy error)."""

    def setup(ws: Workspace) -> None:
        p = ws.run / name
        b = bytearray(p.read_bytes())
        b[-1] ^= 1
        p.write_bytes(bytes(b))

    return setup


def edit_json(name: str, change):
    """Change the run's JSON file ``name`` with ``change(d)`` (in place)."""

    def setup(ws: Workspace) -> None:
        p = ws.run / name
        d = json.loads(p.read_text())
        change(d)
        p.write_text(json.dumps(d, indent=2) + "\n")

    return setup


def edit_checkpoint_metadata(name: str, change):
    """Change a checkpoint's metadata with ``change(meta)``, re-sealing header and checksum.

    Written with the documented layout (``jnnbasics/checkpoint.py``: magic, version, body length,
    SHA-256, then a msgpack body whose ``metadata`` is JSON text), independently of our writer.
    """

    def setup(ws: Workspace) -> None:
        from flax import serialization

        p = ws.run / name
        raw = p.read_bytes()
        head = struct.Struct("<8sIQ32s")
        magic, version, _, _ = head.unpack_from(raw)
        payload = serialization.msgpack_restore(raw[head.size :])
        meta = json.loads(payload["metadata"])
        change(meta)
        payload["metadata"] = json.dumps(meta)
        body = serialization.msgpack_serialize(payload)
        p.write_bytes(head.pack(magic, version, len(body), hashlib.sha256(body).digest()) + body)

    return setup


def other_runs(name: str):
    """Put another run's file ``name`` (trained with another seed) into the run folder."""

    def setup(ws: Workspace) -> None:
        shutil.copyfile(ws.other / name, ws.run / name)

    return setup


def params_of_another_model(name: str):
    """Write ``name`` holding the parameters of a 2-8-1 MLP (the run's model is 2-64-32-1)."""

    def setup(ws: Workspace) -> None:
        import jax

        from jnnbasics.models import init_mlp
        from jnnbasics.runs import save_params

        save_params(ws.tmp / "elsewhere", "best", init_mlp(jax.random.key(0), [2, 8, 1]), epoch=1)
        shutil.copyfile(ws.tmp / "elsewhere" / "best.ckpt", ws.run / name)
        shutil.rmtree(ws.tmp / "elsewhere")

    return setup


def changed_csv(ws: Workspace) -> None:
    """Swap two class names in the run's CSV (it changed since training)."""
    text = ws.csv.read_text()
    ws.csv.write_text(text.replace("pointy", "tmp").replace("round", "pointy").replace("tmp", "round"))


def deleted_csv(ws: Workspace) -> None:
    ws.csv.unlink()


def lock(pid_of):
    """A ``.lock`` in the run folder held by ``pid_of()`` on this host (text: written as it is)."""

    def setup(ws: Workspace) -> None:
        import socket

        pid = pid_of()
        text = pid if isinstance(pid, str) else json.dumps({"pid": pid, "host": socket.gethostname()})
        (ws.run / ".lock").write_text(text)

    return setup


def ended_process() -> int:
    import subprocess

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=60)
    return gone.pid


def read_only(name: str):
    """Make ``{tmp}/name`` a read-only folder (for root, who ignores modes, refuse writes there too)."""

    def setup(ws: Workspace) -> None:
        folder = ws.tmp / name
        folder.mkdir()
        folder.chmod(0o555)
        if os.geteuid() == 0:
            for fn in ("mkdir", "open"):
                ws.monkeypatch.setattr(os, fn, _refused_in(getattr(os, fn), folder))

    return setup


def _refused_in(real, folder: Path):
    def call(path, *args, **kwargs):
        if Path(os.fsdecode(path)).absolute().parent == folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))
        return real(path, *args, **kwargs)

    return call


def both(*setups):
    def setup(ws: Workspace) -> None:
        for s in setups:
            s(ws)

    return setup


# ---------------------------------------------------------------------------------------------
# the catalogue
# ---------------------------------------------------------------------------------------------
def F(id, topic, what, argv, exit_code, message, setup=None, changes=False):  # noqa: N802 - a table row
    return CliFault(id, topic, what, tuple(str(a) for a in argv), exit_code, message, setup, changes)


NEW = ["--out", "{tmp}/new", "--quiet", "--no-plots"]  # where a train case would write (it must not)
TRAIN_CSV = ["train", "--csv", "{tmp}/bad.csv", "--target", "y", *NEW]
RESUME = ["train", "--resume", "--out", "{run}", "--epochs", EPOCHS + 2, "--quiet", "--no-plots"]
REG = "a,b,y\n1,2,0.5\n3,4,1.5\n5,6,2.25\n7,8,{cell}\n9,1,3.75\n2,3,0.125\n"  # line 5: the bad target


def opt(id, argv, message, what=None):
    """An option case: ``jnnbasics ARGV`` is refused with exit 2 before anything is read or written."""
    words = " ".join(argv[1:]).replace(" ".join(NEW), "").strip()
    return F(id, "options", what or words, argv, 2, message)


OPTION_CASES = [
    opt("train-lr-word", ["train", "--lr", "fast", *NEW], "argument --lr: expected a number, got 'fast'"),
    opt(
        "train-lr-negative",
        ["train", "--lr", "-0.1", *NEW],
        "argument --lr: must be a positive number, got -0.1",
    ),
    opt("train-lr-zero", ["train", "--lr", "0", *NEW], "argument --lr: must be a positive number, got 0"),
    opt("train-lr-nan", ["train", "--lr", "nan", *NEW], "argument --lr: expected a finite number, got 'nan'"),
    opt("train-lr-inf", ["train", "--lr", "inf", *NEW], "argument --lr: expected a finite number, got 'inf'"),
    opt(
        "train-lr-no-value",
        ["train", *NEW, "--lr"],
        "argument --lr: expected one argument",
        "--lr at the end",
    ),
    opt(
        "train-epochs-zero",
        ["train", "--epochs", "0", *NEW],
        "argument --epochs: must be a positive integer, got 0",
    ),
    opt(
        "train-epochs-fraction",
        ["train", "--epochs", "2.5", *NEW],
        "argument --epochs: expected a positive integer, got '2.5'",
    ),
    opt(
        "train-batch-size-zero",
        ["train", "--batch-size", "0", *NEW],
        "argument --batch-size: must be a positive integer, got 0",
    ),
    opt(
        "train-batch-size-word",
        ["train", "--batch-size", "all", *NEW],
        "argument --batch-size: expected a positive integer, got 'all'",
    ),
    opt(
        "train-dropout-one", ["train", "--dropout", "1", *NEW], "must be a drop probability in [0, 1), got 1"
    ),
    opt(
        "train-dropout-negative", ["train", "--dropout", "-0.2", *NEW], "must be a drop probability in [0, 1)"
    ),
    opt(
        "train-val-fraction-zero",
        ["train", "--val-fraction", "0", *NEW],
        "must be a fraction in (0, 1), got 0",
    ),
    opt(
        "train-val-fraction-one",
        ["train", "--val-fraction", "1", *NEW],
        "must be a fraction in (0, 1), got 1",
    ),
    opt(
        "train-hidden-word",
        ["train", "--hidden", "64,x", *NEW],
        "expected comma-separated layer sizes like 64,32",
    ),
    opt(
        "train-hidden-zero",
        ["train", "--hidden", "0", *NEW],
        "layer sizes must be positive integers, got '0'",
    ),
    opt("train-hidden-negative", ["train", "--hidden", "-8", *NEW], "layer sizes must be positive integers"),
    opt(
        "train-hidden-empty",
        ["train", "--hidden", "", *NEW],
        "or none for a linear model (no hidden layer), got an empty value",
        "--hidden '' (an unset variable; --hidden none asks for a linear model)",
    ),
    opt(
        "train-hidden-double-comma",
        ["train", "--hidden", "64,,32", *NEW],
        "expected comma-separated layer sizes",
    ),
    opt("train-l1-negative", ["train", "--l1", "-1", *NEW], "argument --l1: must be a number >= 0, got -1"),
    opt("train-l2-word", ["train", "--l2", "lots", *NEW], "argument --l2: expected a number, got 'lots'"),
    opt(
        "train-patience-zero",
        ["train", "--patience", "0", *NEW],
        "argument --patience: must be a positive integer",
    ),
    opt(
        "train-seed-negative",
        ["train", "--seed", "-1", *NEW],
        "argument --seed: must be an integer >= 0, got -1",
    ),
    opt("train-seed-fraction", ["train", "--seed", "0.5", *NEW], "argument --seed: expected an integer >= 0"),
    opt(
        "train-samples-zero",
        ["train", "--samples", "0", *NEW],
        "argument --samples: must be a positive integer",
    ),
    opt("train-samples-one", ["train", "--samples", "1", *NEW], "n_samples must be at least 2"),
    opt(
        "train-noise-negative", ["train", "--noise", "-0.1", *NEW], "argument --noise: must be a number >= 0"
    ),
    opt("train-activation-unknown", ["train", "--activation", "swish", *NEW], "invalid choice: 'swish'"),
    opt("train-schedule-unknown", ["train", "--schedule", "linear", *NEW], "invalid choice: 'linear'"),
    opt("train-task-unknown", ["train", "--task", "ranking", *NEW], "invalid choice: 'ranking'"),
    opt("train-dataset-unknown", ["train", "--dataset", "mnist", *NEW], "invalid choice: 'mnist'"),
    opt(
        "train-unknown-option",
        ["train", "--bogus", *NEW],
        "unrecognized arguments: --bogus (see 'jnnbasics train --help')",
    ),
    opt(
        "train-csv-and-dataset",
        ["train", "--csv", "{csv}", "--target", "shape", "--dataset", "moons", *NEW],
        "either --dataset or --csv",
    ),
    opt("train-csv-without-target", ["train", "--csv", "{csv}", *NEW], "--csv needs --target COL"),
    opt("train-target-without-csv", ["train", "--target", "shape", *NEW], "--target is for --csv data"),
    opt(
        "train-drop-missing-without-csv",
        ["train", "--drop-missing", *NEW],
        "--drop-missing is for --csv data",
    ),
    opt(
        "train-samples-with-iris",
        ["train", "--dataset", "iris", "--samples", "10", *NEW],
        "--samples is for generated data sets",
    ),
    opt(
        "train-noise-with-csv",
        ["train", "--csv", "{csv}", "--target", "shape", "--noise", "0.1", *NEW],
        "--noise is for generated data sets, not --csv",
    ),
    opt("train-resume-without-out", ["train", "--resume"], "--resume needs --out RUN_DIR"),
    opt(
        "train-resume-and-force",
        ["train", "--resume", "--force", "--out", "{run}"],
        "--resume and --force contradict each other",
    ),
    opt(
        "no-command",
        [],
        "a command is required, one of: train, evaluate, predict, tune, bench",
        "jnnbasics alone",
    ),
    opt("unknown-command", ["fly"], "invalid choice: 'fly'", "a command that does not exist"),
    opt(
        "top-level-unknown-option",
        ["--bogus"],
        "unrecognized arguments: --bogus (see 'jnnbasics --help')",
        "an unknown option before the command",
    ),
    opt(
        "evaluate-no-run-dir",
        ["evaluate"],
        "the following arguments are required: RUN_DIR (see 'jnnbasics evaluate --help')",
        "evaluate without a run folder",
    ),
    opt("evaluate-params-unknown", ["evaluate", "{run}", "--params", "middle"], "invalid choice: 'middle'"),
    opt(
        "evaluate-unknown-option",
        ["evaluate", "{run}", "--bogus"],
        "unrecognized arguments: --bogus (see 'jnnbasics evaluate --help')",
    ),
    opt(
        "predict-no-csv",
        ["predict", "{run}"],
        "the following arguments are required: --csv",
        "predict without --csv",
    ),
    opt(
        "tune-lr-negative",
        ["tune", "--lr", "0.1,-1", "--out", "{tmp}/t"],
        "must be a positive number, got -1",
    ),
    opt("tune-hidden-empty-item", ["tune", "--hidden", "32;;64", "--out", "{tmp}/t"], "got an empty value"),
    opt("tune-no-grid", ["tune", "--epochs", "2", "--out", "{tmp}/t"], "no grid: give values to try"),
    opt(
        "bench-unknown-option",
        ["bench", "--bogus"],
        "unrecognized arguments: --bogus (see 'jnnbasics bench --help')",
    ),
    opt(
        "bench-bad-workload",
        ["bench", "--workloads", "nope"],
        "--workloads must be a comma-separated subset of tiny,seed,wide",
    ),
]


def data(id, what, text, message, *, extra=(), target="y"):
    """A ``train --csv`` case: the CSV ``{tmp}/bad.csv`` holds ``text``; refused before a folder is made."""
    argv = ["train", "--csv", "{tmp}/bad.csv", "--target", target, *extra, *NEW]
    return F(id, "data", what, argv, 2, message, write("bad.csv", text))


DATA_CASES = [
    F("csv-missing-file", "data", "--csv names no file", TRAIN_CSV, 2, "bad.csv' does not exist"),
    F(
        "csv-is-a-folder",
        "data",
        "--csv names a folder",
        ["train", "--csv", "{tmp}", "--target", "y", *NEW],
        2,
        "is a folder, not a file",
    ),
    data("csv-empty", "an empty file", "", "is empty: expected a header row and data rows"),
    data("csv-header-only", "a header and no rows", "a,b,y\n", "has a header but no data rows"),
    data(
        "csv-ragged",
        "a row with a field too few",
        "a,b,y\n1,2,x\n3,4\n",
        "line 3 has 2 field(s) but the header has 3",
    ),
    data("csv-not-utf8", "bytes that are not UTF-8 text", b"a,b,y\n\xff\xfe,1,x\n", "cannot read CSV file"),
    data(
        "csv-header-gap", "a header with an empty name", "a,,y\n1,2,x\n", "column 2 of the header has no name"
    ),
    data(
        "csv-duplicate-column",
        "a header that repeats a name",
        "a,a,y\n1,2,x\n",
        "repeats the column name(s) a",
    ),
    data(
        "csv-no-target-column",
        "--target names no column",
        "a,b,label\n1,2,x\n",
        "has no target column 'y'; its columns are: a, b, label",
    ),
    data("csv-only-target", "no feature column", "y\nx\nz\n", "no feature columns"),
    data(
        "csv-feature-word",
        "a word in a feature column",
        "a,b,y\n1,2,x\n3,oops,z\n",
        "feature column 'b' must hold finite numbers, but line 3 holds 'oops'",
    ),
    data(
        "csv-feature-missing",
        "NA in a feature column",
        "a,b,y\n1,2,x\n3,NA,z\n",
        "line 3 holds 'NA' (a missing value); fill it in, fill such cells with the column's mean (jnnbasics train "
        "--impute mean), or drop such rows (jnnbasics train --drop-missing)",
    ),
    data(
        "csv-feature-overflow",
        "1e39 in a feature column (beyond float32)",
        "a,b,y\n1,2,x\n5,1e39,z\n6,7,x\n",
        "feature column 'b' must hold finite numbers, but line 3 holds '1e39', which overflows float32",
    ),
    data(
        "csv-feature-inf",
        "inf in a feature column",
        "a,b,y\n1,2,x\n5,inf,z\n",
        "line 3 holds 'inf', which is not a finite number",
    ),
    data(
        "csv-target-nan",
        "nan in a regression target",
        REG.format(cell="nan"),
        "the target value in line 5 is 'nan', a missing value",
    ),
    data(
        "csv-target-na",
        "NA in a regression target",
        REG.format(cell="NA"),
        "the target value in line 5 is 'NA', a missing value",
    ),
    data(
        "csv-target-question-mark",
        "? in a regression target",
        REG.format(cell="?"),
        "the target value in line 5 is '?', a missing value",
    ),
    data(
        "csv-target-empty",
        "an empty regression target",
        REG.format(cell=""),
        "the target value in line 5 is empty, a missing value",
    ),
    data(
        "csv-target-null",
        "null as a class name",
        "a,y\n1,cat\n2,null\n3,dog\n",
        "the target value in line 3 is 'null', a missing value (a missing target is never a class of its own)",
    ),
    data(
        "csv-target-inf",
        "inf in a regression target",
        REG.format(cell="inf"),
        "the target in line 5 holds 'inf', which is not a finite number",
    ),
    data(
        "csv-target-overflow",
        "1e39 in a regression target",
        REG.format(cell="1e39"),
        "the target in line 5 holds '1e39', which overflows float32",
    ),
    data(
        "csv-single-class",
        "one class only",
        "a,b,y\n1,2,x\n3,4,x\n5,6,x\n",
        "needs at least 2 classes, but the target holds the single class 'x'",
    ),
    data(
        "csv-binary-three-classes",
        "--task binary with three classes",
        "a,y\n1,x\n2,z\n3,w\n4,x\n",
        "task 'binary' needs exactly 2 classes, the target has 3",
        extra=["--task", "binary"],
    ),
    data(
        "csv-regression-names",
        "--task regression with class names",
        "a,y\n1,x\n2,z\n",
        "task 'regression' needs a numeric target, but line 2 holds 'x'",
        extra=["--task", "regression"],
    ),
    data(
        "csv-classes-not-integers",
        "--task binary with 0.5 as a label",
        "a,y\n1,0.5\n2,1.5\n3,0.5\n",
        "non-integer value '0.5' in line 2",
        extra=["--task", "binary"],
    ),
    data(
        "csv-two-rows",
        "two rows, one per class",
        "a,b,y\n1,2,x\n3,4,z\n",
        "too little data: 2 row(s) with --val-fraction 0.2 leave 1 training and 1 validation row(s); each of the 2 classes needs a row in the training split, so at least 3 rows are needed",
    ),
    data(
        "csv-one-row",
        "one row",
        "a,y\n1,2.5\n",
        "too little data: 1 row(s) with --val-fraction 0.2 leave 0 training and 1 validation row(s); training needs a row, so at least 2 rows are needed",
    ),
    data(
        "csv-class-only-in-validation",
        "a class whose one row falls in the validation split",
        "a,y\n1,x\n2,x\n3,x\n4,x\n5,z\n",
        "the training split has no row of class 'z' (the data has 1 row(s) of it; --val-fraction 0.2, --seed 1)",
        extra=["--seed", "1"],
    ),
    data(
        "csv-all-rows-missing",
        "--drop-missing with a missing value in every row",
        "a,y\nNA,1\n2,?\n",
        "every data row has a missing value; no rows are left",
        extra=["--drop-missing"],
    ),
    F(
        "iris-val-fraction-huge",
        "data",
        "--val-fraction 0.999 on the 150 iris rows",
        ["train", "--dataset", "iris", "--val-fraction", "0.999", *NEW],
        2,
        "at least 3000 rows are needed (or a smaller --val-fraction)",
    ),
]


def folder(id, what, argv, message, setup=None, exit_code=2):
    return F(id, "run folder", what, argv, exit_code, message, setup)


EVAL = ["evaluate", "{run}"]
BAD_CKPT = "is not a jnnbasics checkpoint"
RUN_FOLDER_CASES = [
    folder(
        "run-folder-missing",
        "a run folder that does not exist",
        ["evaluate", "{tmp}/nope"],
        "run folder {tmp}/nope does not exist",
    ),
    folder(
        "run-folder-is-a-file",
        "a file given as the run folder",
        ["evaluate", "{csv}"],
        "data.csv is a file, not a run folder",
    ),
    # config.json
    folder(
        "config-missing",
        "config.json deleted",
        EVAL,
        "is not a jnnbasics run folder (no config.json)",
        run_file("config.json", None),
    ),
    folder("config-empty", "config.json empty", EVAL, "cannot read", run_file("config.json", "")),
    folder("config-truncated", "config.json cut in half", EVAL, "cannot read", truncated("config.json")),
    folder(
        "config-foreign",
        "config.json of another program",
        EVAL,
        "config.json was not written by jnnbasics",
        run_file("config.json", '{"name": "something else"}'),
    ),
    folder(
        "config-a-list",
        "config.json holding a list",
        EVAL,
        "config.json was not written by jnnbasics",
        run_file("config.json", "[1, 2]"),
    ),
    folder(
        "config-newer-format",
        "config.json of a newer format version",
        EVAL,
        "was written by a newer jnnbasics (run format 99)",
        edit_json("config.json", lambda d: d.update(version=99)),
    ),
    folder(
        "config-incomplete",
        "config.json without layer_sizes",
        EVAL,
        "lacks layer_sizes; it is not a complete run configuration",
        edit_json("config.json", lambda d: d.pop("layer_sizes")),
    ),
    folder(
        "config-changed-model",
        "config.json's layer sizes edited (2-8-1)",
        EVAL,
        "does not match the target",
        edit_json("config.json", lambda d: d.update(layer_sizes=[2, 8, 1], hidden=[8])),
    ),
    folder(
        "config-changed-lr-resume",
        "config.json's learning rate edited, then --resume",
        RESUME,
        "a folder whose checkpoint was made by this run (it differs in learning_rate)",
        edit_json("config.json", lambda d: d.update(lr=0.5)),
    ),
    folder(
        "config-no-data-resume",
        "--resume of a run saved from Python (its data is not recorded)",
        RESUME,
        "was saved from Python and does not say which data it was trained on; train a new run",
        edit_json("config.json", lambda d: d.pop("seed")),
    ),
    folder(
        "config-no-data-evaluate",
        "evaluate of a run saved from Python, without --csv",
        EVAL,
        "does not say which data it was trained on; give --csv FILE",
        edit_json("config.json", lambda d: d.pop("seed")),
    ),
    folder(
        "config-format-1-resume",
        "--resume of a run folder of format version 1",
        RESUME,
        "(run format 1); its checkpoint cannot be resumed",
        edit_json("config.json", lambda d: d.update(version=1)),
    ),
    # scaler.json
    folder(
        "scaler-missing",
        "scaler.json deleted",
        EVAL,
        "scaler.json is missing (the feature scaler)",
        run_file("scaler.json", None),
    ),
    folder("scaler-empty", "scaler.json empty", EVAL, "cannot read", run_file("scaler.json", "")),
    folder("scaler-truncated", "scaler.json cut in half", EVAL, "cannot read", truncated("scaler.json")),
    folder(
        "scaler-wrong-format",
        "scaler.json with a word for the means",
        EVAL,
        "scaler.json is not a valid scaler",
        edit_json("scaler.json", lambda d: d.update(mean="wide")),
    ),
    folder(
        "scaler-changed-features",
        "scaler.json of three features (the run has two)",
        EVAL,
        "does not match the run's 2 features",
        edit_json("scaler.json", lambda d: d.update(mean=[0, 0, 0], scale=[1, 1, 1])),
    ),
    folder(
        "scaler-missing-resume",
        "scaler.json deleted, then --resume",
        RESUME,
        "scaler.json is missing (the feature scaler)",
        run_file("scaler.json", None),
    ),
    # labels.json: a record for people; config.json holds the classes
    folder(
        "labels-missing",
        "labels.json deleted (a record for people: config.json holds the classes)",
        EVAL,
        "val:",
        run_file("labels.json", None),
        exit_code=0,
    ),
    folder(
        "labels-garbage",
        "labels.json overwritten with text (not read back)",
        EVAL,
        "val:",
        run_file("labels.json", "garbage"),
        exit_code=0,
    ),
    # history.json
    folder(
        "history-missing",
        "history.json deleted (evaluate does not need it)",
        EVAL,
        "val:",
        run_file("history.json", None),
        exit_code=0,
    ),
    folder("history-empty", "history.json empty", EVAL, "cannot read", run_file("history.json", "")),
    folder("history-truncated", "history.json cut in half", EVAL, "cannot read", truncated("history.json")),
    folder(
        "history-wrong-format",
        "history.json holding a list",
        EVAL,
        "history.json is not a run history",
        run_file("history.json", "[1, 2, 3]"),
    ),
    folder(
        "history-words",
        "history.json with a word for a loss",
        EVAL,
        "history.json is not a run history",
        edit_json("history.json", lambda d: d["train_loss"].__setitem__(0, "low")),
    ),
    # checkpoint.ckpt: what --resume reads
    folder(
        "checkpoint-missing",
        "checkpoint.ckpt deleted, then --resume",
        RESUME,
        "has no checkpoint.ckpt (its last.ckpt holds epoch 3), so it cannot be resumed",
        run_file("checkpoint.ckpt", None),
    ),
    folder("checkpoint-empty", "checkpoint.ckpt empty", RESUME, BAD_CKPT, run_file("checkpoint.ckpt", b"")),
    folder(
        "checkpoint-truncated",
        "checkpoint.ckpt cut in half",
        RESUME,
        "is truncated or corrupt: the header announces",
        truncated("checkpoint.ckpt"),
    ),
    folder(
        "checkpoint-bit-flip",
        "checkpoint.ckpt with one bit flipped",
        RESUME,
        "is corrupt: its data do not match the stored checksum",
        flipped("checkpoint.ckpt"),
    ),
    folder(
        "checkpoint-wrong-format",
        "checkpoint.ckpt holding JSON text",
        RESUME,
        BAD_CKPT,
        run_file("checkpoint.ckpt", '{"epoch": 3}'),
    ),
    folder(
        "checkpoint-of-another-run",
        "checkpoint.ckpt of another run (another seed)",
        RESUME,
        "a folder whose checkpoint was made by this run (it differs in key, train_data, val_data)",
        other_runs("checkpoint.ckpt"),
    ),
    folder(
        "checkpoint-label-mismatch",
        "checkpoint.ckpt labelled epoch 2 with 3 epochs of history",
        RESUME,
        "labelled epoch 2 but holds a history of 3 epochs",
        edit_checkpoint_metadata("checkpoint.ckpt", lambda m: m.update(epoch=2)),
    ),
    folder(
        "checkpoint-fewer-epochs",
        "--resume --epochs 2 on a run of 3 epochs",
        ["train", "--resume", "--out", "{run}", "--epochs", "2", "--quiet"],
        "--epochs 2 is less than the 3 epochs this run has done",
    ),
    folder(
        "resume-conflicting-flag",
        "--resume with another --lr than the run's",
        ["train", "--resume", "--out", "{run}", "--lr", "0.1"],
        "--lr 0.1 conflicts with the run's saved lr = 0.001",
    ),
    folder(
        "resume-finished",
        "--resume of a finished run without more --epochs",
        ["train", "--resume", "--out", "{run}", "--quiet"],
        "this run is finished (3 epochs); give --epochs above 3",
        exit_code=0,
    ),
    folder(
        "resume-diverged",
        "--resume of a run that diverged",
        RESUME,
        "diverged after epoch 3; resuming would diverge again",
        edit_checkpoint_metadata("last.ckpt", lambda m: m.update(stop_reason="diverged")),
    ),
    # best.ckpt / last.ckpt: what evaluate and predict read
    folder(
        "best-missing",
        "best.ckpt deleted (the last epoch's parameters are used)",
        EVAL,
        "last epoch 3",
        run_file("best.ckpt", None),
        exit_code=0,
    ),
    folder("best-empty", "best.ckpt empty", EVAL, BAD_CKPT, run_file("best.ckpt", b"")),
    folder(
        "best-truncated", "best.ckpt cut in half", EVAL, "is truncated or corrupt", truncated("best.ckpt")
    ),
    folder(
        "best-bit-flip",
        "best.ckpt with one bit flipped",
        EVAL,
        "do not match the stored checksum",
        flipped("best.ckpt"),
    ),
    folder("best-wrong-format", "best.ckpt holding text", EVAL, BAD_CKPT, run_file("best.ckpt", "weights")),
    folder(
        "best-of-another-model",
        "best.ckpt of a 2-8-1 model (the run's is 2-64-32-1)",
        EVAL,
        "does not match the target",
        params_of_another_model("best.ckpt"),
    ),
    folder(
        "last-missing",
        "last.ckpt deleted",
        ["evaluate", "{run}", "--params", "last"],
        "has no trained model yet (its checkpoint holds epoch 3/3); finish it with 'jnnbasics train --resume",
        run_file("last.ckpt", None),
    ),
    folder(
        "last-empty",
        "last.ckpt empty",
        ["evaluate", "{run}", "--params", "last"],
        BAD_CKPT,
        run_file("last.ckpt", b""),
    ),
    folder(
        "last-truncated",
        "last.ckpt cut in half",
        ["predict", "{run}", "--csv", "{csv}"],
        "is truncated or corrupt",
        truncated("last.ckpt"),
    ),
    folder(
        "last-of-another-run",
        "last.ckpt of another run (same model: accepted, it is a parameter file)",
        ["evaluate", "{run}", "--params", "last"],
        "val:",
        other_runs("last.ckpt"),
        exit_code=0,
    ),
    # the run's CSV
    folder(
        "run-csv-deleted",
        "the CSV the run was trained on deleted",
        EVAL,
        "no longer exists; evaluate needs it (or give --csv)",
        deleted_csv,
    ),
    folder(
        "run-csv-changed",
        "the CSV the run was trained on changed",
        EVAL,
        "changed since the run was trained (its SHA-256 differs from config.json's)",
        changed_csv,
    ),
    folder(
        "run-csv-changed-resume",
        "the CSV changed, then --resume",
        RESUME,
        "changed since the run was trained",
        changed_csv,
    ),
    # the lock
    folder(
        "lock-live-process",
        "--resume while another live process holds the run's lock",
        RESUME,
        "is in use by process 1 on",
        lock(lambda: 1),
    ),
    folder(
        "lock-garbage",
        "a .lock file with text in it",
        RESUME,
        "is in use by another process (lock file",
        lock(lambda: "garbage"),
    ),
]


def inputs(id, what, command, text, message):
    argv = [command, "{run}", "--csv", "{tmp}/in.csv"]
    return F(id, "inputs", what, argv, 2, message, write("in.csv", text))


INPUT_CASES = [
    F(
        "predict-csv-missing",
        "inputs",
        "predict --csv names no file",
        ["predict", "{run}", "--csv", "{tmp}/in.csv"],
        2,
        "in.csv' does not exist",
    ),
    inputs(
        "predict-csv-no-feature",
        "predict: the CSV lacks a feature column",
        "predict",
        "width,depth\n1,2\n",
        "has no feature column 'height'; its columns are: width, depth",
    ),
    inputs(
        "predict-csv-missing-value",
        "predict: nan in a feature",
        "predict",
        "width,height\n1,nan\n",
        "feature column 'height' must hold finite numbers, but line 2 holds 'nan' (a missing value)",
    ),
    inputs(
        "predict-csv-overflow",
        "predict: 1e39 in a feature",
        "predict",
        "width,height\n1,1e39\n",
        "holds '1e39', which overflows float32",
    ),
    inputs(
        "predict-csv-header-only",
        "predict: a header and no rows",
        "predict",
        "width,height\n",
        "has a header but no data rows",
    ),
    inputs(
        "evaluate-csv-no-target",
        "evaluate --csv without the target column",
        "evaluate",
        "width,height\n1,2\n",
        "has no target column 'shape'",
    ),
    inputs(
        "evaluate-csv-unknown-class",
        "evaluate --csv with a class the run does not know",
        "evaluate",
        "width,shape,height\n1,square,2\n",
        "target value 'square' in line 2 is not one of the run's classes: pointy, round",
    ),
    inputs(
        "evaluate-csv-missing-target",
        "evaluate --csv with ? as a target",
        "evaluate",
        "width,shape,height\n1,?,2\n",
        "the target value in line 2 is missing ('?')",
    ),
]


def output(id, what, argv, message, setup=None):
    return F(id, "output", what, argv, 2, message, setup)


OUTPUT_CASES = [
    output(
        "train-out-is-a-file",
        "train --out names a file",
        ["train", "--out", "{csv}", "--quiet"],
        "exists and is not a folder; choose another --out",
    ),
    output(
        "train-out-not-empty",
        "train --out names a run folder (no --resume, no --force)",
        ["train", "--out", "{run}", "--quiet"],
        "exists and is not empty; use --resume to continue the run, --force to overwrite",
    ),
    output(
        "train-out-under-a-file",
        "train --out inside a file",
        ["train", "--out", "{csv}/run", "--quiet"],
        "cannot create the --out folder",
    ),
    output(
        "train-out-read-only",
        "train --out in a read-only folder",
        ["train", "--out", "{tmp}/ro/run", "--quiet"],
        "cannot create the --out folder {tmp}/ro/run",
        read_only("ro"),
    ),
    output(
        "train-force-read-only",
        "train --force --out into a read-only run folder",
        ["train", "--force", "--out", "{tmp}/ro", "--quiet"],
        "permission denied",
        read_only("ro"),
    ),
    output(
        "predict-out-folder",
        "predict --out names a folder",
        ["predict", "{run}", "--csv", "{csv}", "--out", "{tmp}"],
        "must be a file in an existing folder",
    ),
    output(
        "predict-out-no-folder",
        "predict --out in a folder that does not exist",
        ["predict", "{run}", "--csv", "{csv}", "--out", "{tmp}/no/p.csv"],
        "must be a file in an existing folder",
    ),
    output(
        "predict-out-is-input",
        "predict --out names the input CSV",
        ["predict", "{run}", "--csv", "{csv}", "--out", "{csv}"],
        "--out would overwrite the input CSV",
    ),
    output(
        "predict-out-read-only",
        "predict --out in a read-only folder",
        ["predict", "{run}", "--csv", "{csv}", "--out", "{tmp}/ro/p.csv"],
        "cannot write --out {tmp}/ro/p.csv",
        read_only("ro"),
    ),
    output(
        "tune-out-not-empty",
        "tune --out names a non-empty folder",
        ["tune", "--lr", "0.01", "--out", "{run}"],
        "exists and is not empty",
    ),
]

TRAINING_CASES = [
    F(
        "train-lr-1e30",
        "training",
        "train --lr 1e30 (the loss is NaN in epoch 1)",
        ["train", "--lr", "1e30", "--samples", "120", "--epochs", "3", *NEW],
        1,
        "training diverged in epoch 1: no epoch finished with a usable loss",
        changes=True,
    ),
    F(
        "train-lr-1e5-regression",
        "training",
        "train --lr 1e5 on regression (the loss stays finite but grows past 1e4 times its start)",
        ["train", "--lr", "1e5", "--dataset", "regression", "--samples", "100", "--epochs", "3", *NEW],
        1,
        "training diverged in epoch 1",
        changes=True,
    ),
    F(
        "resume-save-cut-short",
        "run folder",
        "--resume of a finished run whose last save was cut short (metrics.json, history.json missing)",
        ["train", "--resume", "--out", "{run}", "--quiet", "--no-plots"],
        0,
        "epochs: 3/3",
        both(run_file("metrics.json", None), run_file("history.json", None)),
        changes=True,
    ),
    F(
        "train-hidden-none",
        "training",
        "train --hidden none: a linear model (no hidden layer), as documented",
        ["train", "--hidden", "none", "--samples", "100", "--epochs", "2", *NEW],
        0,
        "model: 2-1 relu",
        changes=True,
    ),
    F(
        "train-drop-missing",
        "training",
        "train --drop-missing on a CSV with a missing target",
        ["train", "--csv", "{tmp}/bad.csv", "--target", "y", "--drop-missing", "--epochs", "2", *NEW],
        0,
        "warning: CSV file",
        write("bad.csv", REG.format(cell="NA")),
        changes=True,
    ),
    F(
        "lock-stale-resume",
        "training",
        "--resume after a crash left the run's lock (its process has ended)",
        RESUME,
        0,
        "epochs: 5/5",
        lock(ended_process),
        changes=True,
    ),
]

CASES = OPTION_CASES + DATA_CASES + RUN_FOLDER_CASES + INPUT_CASES + OUTPUT_CASES + TRAINING_CASES


# ---------------------------------------------------------------------------------------------
# the one test that runs them
# ---------------------------------------------------------------------------------------------
def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (lock and hidden files included) by relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def fill(arg: str, ws: Workspace) -> str:
    return arg.replace("{tmp}", str(ws.tmp)).replace("{run}", str(ws.run)).replace("{csv}", str(ws.csv))


def check_output(case: CliFault, code: int, out: str, err: str, ws: Workspace) -> None:
    """Exit status, no traceback, one error line (the last), every stderr line ours, the fragment."""
    message = fill(case.message, ws)
    assert code == case.exit_code, f"exit {code}, expected {case.exit_code}:\n{err}"
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert all(line.startswith("jnnbasics: ") for line in lines), err
    errors = [line for line in lines if line.startswith("jnnbasics: error: ")]
    if case.exit_code == 0:
        assert not errors, err
        assert message in out + err, out + err
        return
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert message in errors[0], f"{message!r} not in {errors[0]!r}"


SLOW = {"train-hidden-none", "train-lr-1e5-regression", "train-drop-missing"}  # models of their own


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.id in SLOW else []) for c in CASES]
)
def test_cli_fault(case, base, tmp_path, capsys, monkeypatch):
    ws = workspace(base, tmp_path, monkeypatch)
    monkeypatch.delenv("JNNBASICS_TRACEBACK", raising=False)
    try:
        if case.setup is not None:
            case.setup(ws)
        before = snapshot(tmp_path)
        capsys.readouterr()
        code = main([fill(a, ws) for a in case.argv])
        out, err = capsys.readouterr()
        monkeypatch.undo()  # the read-only simulation ends before the checks read the files
        check_output(case, code, out, err, ws)
        assert not [p for p in tmp_path.rglob("*.tmp")], "a temporary file was left behind"
        if case.changes:  # a command that ran released its lock (a stale one included)
            assert not list(tmp_path.rglob(".lock"))
        else:  # nothing lost, nothing added
            assert snapshot(tmp_path) == before
    finally:
        for d in [tmp_path, *tmp_path.rglob("*")]:
            if d.is_dir():
                d.chmod(0o755)


def test_catalogue_is_large_unique_and_documented():
    check_unique_ids(CASES)
    assert count_by_layer(CASES) == {"cli": len(CASES)} and len(CASES) >= 50
    assert {c.topic for c in CASES} <= set(__import__("faults").CLI_TOPICS)
    assert all(c.message and c.what for c in CASES)


def test_docs_errors_md_is_the_rendered_catalogue():
    """docs/errors.md is generated from the API and CLI catalogues; it must not drift from them."""
    path = Path(__file__).parents[1] / DOC_PATH
    expected = render_markdown(*catalogue_cases())
    assert path.is_file() and path.read_text(encoding="utf-8") == expected, (
        f"{DOC_PATH} differs from the catalogue; regenerate it with: {REGENERATE}"
    )


# ---------------------------------------------------------------------------------------------
# divergence: one error line, exit 1, a usable run folder
# ---------------------------------------------------------------------------------------------
def train(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in ["train", *argv]])
    out, err = capsys.readouterr()
    return code, out, err


def assert_diverged(code: int, err: str, fragment: str) -> None:
    """Exit 1; a warning line from train_model, then the one error line, last; no traceback."""
    lines = err.strip().splitlines()
    assert code == 1, err
    assert "Traceback" not in err and all(line.startswith("jnnbasics: ") for line in lines), err
    assert [line for line in lines if line.startswith("jnnbasics: error: ")] == [lines[-1]], err
    assert any(line.startswith("jnnbasics: warning: train_model:") for line in lines[:-1]), err
    assert fragment in lines[-1], err


def checkpoint_label(path: Path) -> tuple[int, str | None]:
    from jnnbasics.checkpoint import read_checkpoint_metadata

    meta = read_checkpoint_metadata(path)
    return int(meta["epoch"]), meta.get("stop_reason")


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(["--lr", "1e30", "--samples", ROWS], id="nan"),  # the base run's compiled epoch
        pytest.param(  # finite, but it grows past 1e20 (a model of its own: compiled anew)
            ["--lr", "1e5", "--dataset", "regression", "--samples", "100"],
            id="finite-growth",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_divergence_in_epoch_1_ends_with_one_error_and_a_usable_folder(capsys, tmp_path, flags):
    d = tmp_path / "d"
    code, out, err = train(capsys, *flags, "--epochs", 3, "--quiet", "--out", d)  # pictures asked for
    assert_diverged(code, err, f"training diverged in epoch 1: no epoch finished with a usable loss, so {d}")
    assert "epochs: 0/3, stopped: the loss diverged" in out
    assert (d / "config.json").is_file() and not (d / "checkpoint.ckpt").exists()
    assert checkpoint_label(d / "last.ckpt") == (0, "diverged")
    history = json.loads((d / "history.json").read_text())
    assert all(v == [] for v in history.values())  # no epoch recorded: no picture of an empty history
    metrics = json.loads((d / "metrics.json").read_text())
    assert (metrics["stop_reason"], metrics["epochs_run"], metrics["reported_epoch"]) == ("diverged", 0, 0)
    assert not list(d.glob("*.png")) and not list(d.glob(".*.tmp")) and not (d / ".lock").exists()
    before = snapshot(d)
    code = main(["evaluate", str(d)])
    out, _ = capsys.readouterr()
    assert code == 0 and "last epoch 0" in out  # the folder is readable
    code, _, err = train(capsys, "--resume", "--out", d, "--epochs", 5, "--quiet")
    assert code == 2 and "diverged after epoch 0; resuming would diverge again" in err
    assert snapshot(d) == before  # nothing changed by either


def test_divergence_after_good_epochs_keeps_them(capsys, tmp_path, monkeypatch):
    """However training diverged (here a callback says so after epoch 3), the CLI reports it and keeps epochs 1-3."""
    import jnnbasics.training as training
    from jnnbasics.training import Callback

    class DivergesInEpoch4(Callback):
        def on_epoch_end(self, loop, logs):
            if loop.epoch == 3:
                loop.diverged_epoch = 4
                loop.stop("diverged")
                return True
            return None

    real = training.train_model
    monkeypatch.setattr(
        training,
        "train_model",
        lambda *a, callbacks=(), **k: real(*a, callbacks=[*callbacks, DivergesInEpoch4()], **k),
    )
    d = tmp_path / "d"
    code, out, err = train(capsys, "--samples", ROWS, "--epochs", 10, "--quiet", "--out", d)
    lines = err.strip().splitlines()
    assert code == 1 and lines == [lines[-1]] and lines[0].startswith("jnnbasics: error: "), err
    assert f"training diverged in epoch 4; {d} keeps the 3 epoch(s) before it" in lines[0]
    assert "epochs: 3/10, stopped: the loss diverged" in out
    from jnnbasics.checkpoint import read_checkpoint_metadata

    meta = read_checkpoint_metadata(d / "checkpoint.ckpt")
    history = json.loads((d / "history.json").read_text())
    assert meta["epoch"] == len(meta["history"]["train_loss"]) == len(history["train_loss"]) == 3
    assert meta["stop_reason"] == "diverged" and checkpoint_label(d / "last.ckpt") == (3, "diverged")
    assert (d / "best.ckpt").is_file() and (d / "history.png").is_file()  # pictures of the good epochs


# ---------------------------------------------------------------------------------------------
# tracebacks: only when asked for; an unexpected error is one line too (exit 1)
# ---------------------------------------------------------------------------------------------
def test_jnnbasics_traceback_shows_where_an_error_came_from(tmp_path, monkeypatch):
    from jnnbasics.runs import RunFolderError

    monkeypatch.setenv("JNNBASICS_TRACEBACK", "1")
    with pytest.raises(RunFolderError, match="does not exist"):
        main(["evaluate", str(tmp_path / "nope")])


def test_an_internal_error_is_one_line_with_exit_1(base, tmp_path, capsys, monkeypatch):
    import jnnbasics.cli.evaluate as evaluate

    def broken(*args, **kwargs):
        raise KeyError("task")  # a bug, not bad input

    monkeypatch.setattr(evaluate, "split_metrics", broken)
    monkeypatch.delenv("JNNBASICS_TRACEBACK", raising=False)
    ws = workspace(base, tmp_path, monkeypatch)
    code = main(["evaluate", str(ws.run)])
    _, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("jnnbasics: error: internal error (KeyError: 'task'); set JNNBASICS_TRACEBACK=1")


@pytest.mark.slow
def test_a_real_process_prints_one_line_and_no_traceback(tmp_path):
    """``python -m jnnbasics``: nothing else reaches stderr (no JAX or NumPy warning, no usage block)."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    env.pop("JNNBASICS_TRACEBACK", None)
    (tmp_path / "big.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,1e39,x\n6,7,y\n")
    for argv, fragment in [
        (["train", "--csv", "big.csv", "--target", "label"], "line 4 holds '1e39', which overflows float32"),
        (["bench", "--bogus"], "unrecognized arguments: --bogus (see 'jnnbasics bench --help')"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "jnnbasics", *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("jnnbasics: error: "), proc.stderr
        assert fragment in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]  # nothing left behind
