"""``jnnbasics train``: train an MLP and write a run folder; ``--resume`` continues one.

The command is a thin layer over the library: ``train_model(checkpoint_dir=...)`` trains, saves
and resumes (one mechanism, the same as from Python), :func:`jnnbasics.save_run` writes the
trained parameters, and :class:`jnnbasics.Run` computes the reported metrics.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

from .. import runs
from .._keys import seed_keys
from ..checkpoint import read_checkpoint_metadata
from ..distributed import is_primary
from ..run import Run, loss_targets, model_of, save_run
from ..schedules import SCHEDULES
from ..tasks import LOSS_OF_TASK
from ..training import Callback
from .common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    PROG,
    CLIError,
    activations,
    default_out,
    error,
    flags_given,
    layer_list,
    make_folder,
    nonnegative_float,
    one_line,
    positive_float,
    positive_int,
    prepare_out,
    rate,
)
from .launch import add_process_options, agree, data_mesh, join_processes, on_process_0
from .report import METRICS_NOTE, print_plan, print_summary, split_metrics
from .rundata import (
    DATA_DEFAULTS,
    RunData,
    add_data_options,
    check_csv_unchanged,
    check_data_recorded,
    fit_scalers,
    flag_name,
    load_run_data,
    resolve_data,
)

TRAIN_DEFAULTS: dict[str, Any] = {
    **DATA_DEFAULTS,
    "hidden": [64, 32],
    "activation": "relu",
    "dropout": 0.0,
    "epochs": 100,
    "lr": 1e-3,
    "batch_size": 32,
    "schedule": "constant",
    "l1": 0.0,
    "l2": 0.0,
    "patience": None,
}
SCHEDULE_OPTIONS = {"step": {"step_size": 30, "gamma": 0.1}, "constant": {}}  # cosine: t_max = epochs


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train`` and its flags."""
    t = sub.add_parser(
        "train",
        help="train an MLP and write a run folder",
        description="Train an MLP with Adam on a built-in data set or a CSV file. Features are standardised "
        "(fitted on the training split only); regression targets too. Writes a run folder with config.json, "
        "history.csv/json, metrics.json, checkpoint.ckpt, best.ckpt (the best validation epoch), last.ckpt, "
        "scaler.json, labels.json and pictures. Ctrl-C keeps the last checkpoint; --resume continues it.",
        epilog="examples: jnnbasics train | jnnbasics train --dataset spirals --dropout 0.1 --schedule cosine | "
        "jnnbasics train --csv data.csv --target label --out runs/mine | "
        "jnnbasics train --csv data.csv --target label --ignore id --impute mean",
    )
    add_data_options(t)
    m = t.add_argument_group("model and training")
    m.add_argument(
        "--hidden",
        type=layer_list,
        metavar="SIZES",
        help="hidden layer sizes (default: 64,32; none: a linear model)",
    )
    m.add_argument("--activation", choices=activations(), help="hidden activation (default: relu)")
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
    add_process_options(t)
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``jnnbasics train``."""
    if join_processes(args) and not args.out:
        raise CLIError("a multi-process run needs --out DIR (the same folder for every process)")
    given = flags_given(args, TRAIN_DEFAULTS)
    if args.resume and args.force:
        raise CLIError("--resume and --force contradict each other (continue the run, or overwrite it)")
    if args.resume:
        if not args.out:
            raise CLIError("--resume needs --out RUN_DIR (the run folder to continue)")
        out, cfg = Path(args.out), _resumed_config(Path(args.out), given)
        data = load_run_data(cfg)
    else:
        cfg = resolve_data(given, {**TRAIN_DEFAULTS, **given, "hidden": list(given.get("hidden", [64, 32]))})
        out = Path(args.out) if args.out else default_out(cfg["dataset"] or Path(cfg["csv"]).stem)
        data = load_run_data(cfg)  # read before the folder is made: bad input leaves nothing behind
        cfg = _new_config(cfg, data)
        if out.exists() and not out.is_dir():
            raise CLIError(f"{out} exists and is not a folder; choose another --out")
        on_process_0("create the run folder", lambda: make_folder(out, "--out"))
    with runs.run_lock(out) if is_primary() else contextlib.nullcontext():  # one writer: process 0
        prepared = _prepare(args, out, cfg, data, given)
        if prepared is None:
            return 0
        cfg, x_scaler, y_scaler = prepared
        if is_primary():
            print_plan(cfg, resumed_at=runs.checkpoint_epoch(out) if args.resume else 0)
        return _train_and_report(args, out, cfg, data, x_scaler, y_scaler)


def _prepare(args, out: Path, cfg: dict[str, Any], data: RunData, given: dict[str, Any]):
    """The folder made ready (process 0) and the scalers: ``(cfg, x_scaler, y_scaler)``, or None
    when a resumed run is already finished. Every process learns whether process 0 succeeded."""
    ok = False
    try:
        if args.resume:
            if _finished(out, cfg, given.get("epochs")):
                ok = True
                return None
            x_scaler, y_scaler = _saved_scalers(out, cfg)
            cfg = _extended(cfg, given.get("epochs"))
        else:
            x_scaler, y_scaler = fit_scalers(data)
            if is_primary():
                prepare_out(out, force=args.force, ours=runs.RUN_FILES, flag="--out", resumable=True)
                runs.write_scaler_and_labels(out, cfg, x_scaler, y_scaler)
                runs.write_json(out / runs.CONFIG, cfg)  # a resumed run's: once its checkpoint is accepted
        ok = True
        return cfg, x_scaler, y_scaler
    finally:
        agree(ok, "prepare the run folder")


def _resumed_config(out: Path, given: dict[str, Any]) -> dict[str, Any]:
    """The saved config of the run in ``out``; flags given with --resume must agree (``--epochs`` may grow)."""
    cfg = runs.read_config(out)
    check_data_recorded(cfg, out, "--resume")
    if cfg.get("version", 1) < 2:
        raise CLIError(
            f"{out} was written by an older jnnbasics (run format 1); its checkpoint cannot be resumed, "
            "but evaluate and predict still read it — train a new run to continue"
        )
    for k, v in given.items():
        saved = cfg.get(k)
        if k == "epochs":
            continue
        v = str(Path(v).resolve()) if k == "csv" else (list(v) if k == "hidden" else v)
        if isinstance(v, float) and saved is not None:
            same = math.isclose(float(v), float(saved), rel_tol=1e-12, abs_tol=0.0)
        else:
            same = v == saved
        if not same:
            shown, saved_shown = (",".join(map(str, x)) if isinstance(x, list) else x for x in (v, saved))
            raise CLIError(
                f"{flag_name(k)} {shown} conflicts with the run's saved {k} = {saved_shown} "
                f"({runs.CONFIG}); drop the flag to resume, or start a new run with another --out"
            )
    check_csv_unchanged(cfg, "--resume")
    return cfg


def _new_config(cfg: dict[str, Any], data: RunData) -> dict[str, Any]:
    """The config of a new run: the flags, the data's task/features/classes, the model, provenance."""
    from .. import __version__

    n_out = len(data.class_names) if data.task == "multiclass" else 1
    cfg = dict(cfg)
    cfg.update(
        format=runs.RUN_FORMAT,
        version=runs.RUN_VERSION,
        task=data.task,
        loss_type=LOSS_OF_TASK[data.task],
        features=data.features,
        categories=data.categories,
        class_names=data.class_names,
        n_outputs=n_out,
        target_column=cfg.get("target") or ("species" if cfg.get("dataset") == "iris" else "target"),
        layer_sizes=[len(data.features), *cfg["hidden"], n_out],
        n_train=int(data.x_train.shape[0]),
        n_val=int(data.x_val.shape[0]),
        schedule_options=SCHEDULE_OPTIONS.get(cfg["schedule"], {"t_max": cfg["epochs"]}),
        jnnbasics_version=__version__,
        created=datetime.datetime.now().isoformat(timespec="seconds"),
    )
    cfg["command"] = repeat_command(cfg)
    return cfg


def _finished(out: Path, cfg: dict[str, Any], epochs: int | None) -> bool:
    """True (and say so) when the run is complete and no larger ``--epochs`` asks for more."""
    done = runs.checkpoint_epoch(out)
    if epochs is not None and epochs < done:
        raise CLIError(f"--epochs {epochs} is less than the {done} epochs this run has done")
    last = runs.params_file(out, "last")
    last_epoch = runs.params_epoch(last) if last is not None else None
    if last_epoch and not (out / runs.CHECKPOINT).is_file():
        raise CLIError(
            f"{out} has no {runs.CHECKPOINT} (its {last.name} holds epoch {last_epoch}), so it cannot be "
            "resumed; train a new run with --force or another --out"
        )
    if last is not None and read_checkpoint_metadata(last).get("stop_reason") == "diverged":
        raise CLIError(
            f"the run in {out} diverged after epoch {last_epoch}; resuming would diverge again: train a "
            f"new run with a lower --lr (it was {cfg['lr']:g}), with --force or another --out"
        )
    if last_epoch == done and done > 0 and _saved(out, done) and (epochs or cfg["epochs"]) <= cfg["epochs"]:
        print(
            f"{out}: this run is finished ({done} epochs); give --epochs above {cfg['epochs']} to train it further"
        )
        return True
    return False


def _saved(out: Path, done: int) -> bool:
    """Whether the run's files were all written after epoch ``done`` (metrics.json is written last)."""
    try:
        return runs.read_json(out / runs.METRICS, "the run's metrics").get("epochs_run") == done
    except (runs.RunFolderError, AttributeError):
        return False


def _extended(cfg: dict[str, Any], epochs: int | None) -> dict[str, Any]:
    if epochs is None or epochs == cfg["epochs"]:
        return cfg
    cfg = {**cfg, "epochs": epochs}
    cfg["command"] = repeat_command(cfg)
    return cfg


def _saved_scalers(out: Path, cfg: dict[str, Any]):
    d = runs.read_json(out / runs.SCALER, "the feature scaler")
    return runs.scalers_from_json(d, len(cfg["features"]), str(out / runs.SCALER))


def _train_and_report(args, out: Path, cfg: dict[str, Any], data: RunData, x_scaler, y_scaler) -> int:
    """Train (resuming the folder's checkpoint if any), save the run, report its metrics."""
    model = model_of(cfg)
    try:
        result = _train(args, out, cfg, model, data, x_scaler, y_scaler)
        return _save_and_report(args, out, cfg, data, model, result, x_scaler, y_scaler)
    except KeyboardInterrupt:  # in training or while saving: the checkpoint holds the last epoch
        return _interrupted(out, cfg)


def _save_and_report(
    args, out: Path, cfg: dict[str, Any], data: RunData, model, result, x_scaler, y_scaler
) -> int:
    """The run's files (metrics.json last: it marks a complete save), the summary, a divergence error."""
    if not is_primary():  # process 0 writes and reports
        return EXIT_FAILURE if result.stop_reason == "diverged" else 0
    save_run(
        out,
        result,
        model,
        x_scaler=x_scaler,
        y_scaler=y_scaler,
        class_names=data.class_names,
        features=data.features,
        batch_size=cfg["batch_size"],
        config=cfg,
    )
    run = Run.from_result(result, model, cfg, x_scaler=x_scaler, y_scaler=y_scaler, path=out)
    metrics = _metrics(run, result, data)
    runs.write_json(out / runs.METRICS, metrics)
    pictures = [] if args.no_plots or not result.history.get("train_loss") else _pictures(out, run, data)
    print_summary(out, cfg, metrics, pictures)
    if result.stop_reason == "diverged":
        return error(diverged_message(out, cfg, result), EXIT_FAILURE)
    return 0


def diverged_message(out: Path, cfg: dict[str, Any], result) -> str:
    """What a diverged run says: the epoch, what the folder keeps, what to do."""
    good = runs.checkpoint_epoch(out)
    epoch = result.diverged_epoch or len(result.history.get("train_loss", [])) or 1
    fix = f"lower --lr (it is {cfg['lr']:g}) and train again with --force or another --out"
    if not good:
        return (
            f"training diverged in epoch {epoch}: no epoch finished with a usable loss, so {out} holds no "
            f"trained parameters (last.ckpt keeps the initial ones, epoch 0); {fix}"
        )
    best = f"best epoch {result.best_epoch}, " if result.best_epoch else ""
    return (
        f"training diverged in epoch {epoch}; {out} keeps the {good} epoch(s) before it (checkpoint, "
        f"history, {best}last epoch {good}); {fix}"
    )


def _train(args, out: Path, cfg: dict[str, Any], model, data: RunData, x_scaler, y_scaler):
    """``train_model`` on the run's scaled data with the folder as its checkpoint; warnings as lines."""
    import jax

    from ..data import transform
    from ..training import train_model

    train, val = (
        (transform(x_scaler, x), loss_targets(data.task, y, y_scaler))
        for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val))
    )
    start = runs.checkpoint_epoch(out)
    if start and not args.quiet:
        print(f"resuming {out} from epoch {start}/{cfg['epochs']}", file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        result = train_model(
            model,
            train,
            val,
            key=seed_keys(cfg["seed"])[2],
            epochs=cfg["epochs"],
            learning_rate=cfg["lr"],
            batch_size=cfg["batch_size"],
            loss_type=cfg["loss_type"],
            schedule=cfg["schedule"],
            schedule_options=cfg["schedule_options"] or None,
            lambda_l1=cfg["l1"],
            lambda_l2=cfg["l2"],
            patience=cfg["patience"],
            progress=not args.quiet,
            checkpoint_dir=out,
            checkpoint_interval=1.0,
            callbacks=[_ConfigWriter(out, cfg)] if args.resume and is_primary() else (),
            mesh=data_mesh() if jax.process_count() > 1 else None,
        )
    for w in caught:
        print(f"{PROG}: warning: {one_line(str(w.message))}", file=sys.stderr)
    return result


class _ConfigWriter(Callback):
    """Write a resumed run's config (e.g. more ``--epochs``) once its checkpoint has been accepted.

    Runs after the run checkpoint's ``on_train_begin``, which refuses another run's checkpoint:
    a refused ``--resume`` leaves ``config.json`` as it was.
    """

    def __init__(self, out: Path, cfg: dict[str, Any]):
        self.out, self.cfg = out, cfg

    def on_train_begin(self, loop) -> None:
        runs.write_json(self.out / runs.CONFIG, self.cfg)


def _metrics(run: Run, result, data: RunData) -> dict[str, Any]:
    return {
        "task": data.task,
        "epochs_run": len(result.history.get("train_loss", [])),
        "stop_reason": result.stop_reason,
        "best_epoch": result.best_epoch,
        "params": run.which,
        "reported_epoch": run.epoch,
        **split_metrics(run, data),
        "note": METRICS_NOTE[data.task],
    }


def _pictures(out: Path, run: Run, data: RunData) -> list[str]:
    from .pictures import draw_run_pictures

    return draw_run_pictures(out, run, data)


def _interrupted(out: Path, cfg: dict[str, Any]) -> int:
    """Ctrl-C: the checkpoint holds the last finished epoch (train_model saved it); say how to go on."""
    done = runs.checkpoint_epoch(out)
    if done:
        runs.write_history(out, read_checkpoint_metadata(out / runs.CHECKPOINT)["history"])
    print(
        f"{PROG}: interrupted; the checkpoint in {out} holds epoch {done}/{cfg['epochs']}. "
        f"Continue with: {PROG} train --resume --out {shlex.quote(str(out))}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def repeat_command(cfg: dict[str, Any]) -> str:
    """A ``jnnbasics train`` command line that repeats the run."""
    parts = [PROG, "train"]
    if cfg.get("csv"):
        parts += ["--csv", cfg["csv"], "--target", cfg["target"]]
        parts += ["--drop-missing"] if cfg.get("drop_missing") else []
        parts += ["--impute", cfg["impute"]] if cfg.get("impute") else []
        for flag, key in (("--features", "feature_columns"), ("--ignore", "ignore")):
            parts += [flag, ",".join(cfg[key])] if cfg.get(key) else []
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
