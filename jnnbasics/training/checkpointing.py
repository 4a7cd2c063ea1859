"""The run checkpoint: the one save/resume mechanism (``train_model(checkpoint_dir=...)``, the CLI).

``checkpoint.ckpt`` in the run folder holds the ``TrainState``, the best parameters so far, the
number of epochs done, the history of exactly those epochs, the stop reason and the run's
*fingerprint*: everything that determines the trajectory (model, loss, batch size, schedule,
hyperparameters, shuffle, the key, and hashes of the training and validation data and of given
initial parameters). Resuming compares fingerprints and refuses another run's checkpoint, saying
what differs, without touching it. The epoch label is always the epoch of the state beside it:
the callback saves snapshots taken at the end of an epoch, whenever the loop is left.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .._checks import fail
from ..checkpoint import CheckpointCorruptError, load_checkpoint, read_checkpoint_metadata, save_checkpoint
from ..data import key_bits
from ..distributed import is_primary
from ..runs import CHECKPOINT, jsonable
from .callbacks import Callback
from .history import Loop

FINGERPRINT_VERSION = 2


def data_hash(*arrays: Any) -> str | None:
    """SHA-256 of arrays' shapes, dtypes and bytes (None if every array is None)."""
    if all(a is None for a in arrays):
        return None
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a))
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def fingerprint(model, setup, hp: dict, params: Any) -> dict[str, Any]:
    """What a checkpoint must share with the run that resumes it, keyed by ``train_model``'s arguments."""
    cfg = setup.cfg
    apply_name = getattr(model.apply, "__qualname__", type(model.apply).__name__)
    init_name = getattr(model.init, "init", getattr(model.init, "__qualname__", type(model.init).__name__))
    return {
        "version": FINGERPRINT_VERSION,
        "model": {
            "layer_sizes": list(model.layer_sizes),
            "activation": model.activation,
            "dropout_rate": float(model.dropout_rate),
            "apply": apply_name,
            "init": init_name,
        },
        "loss_type": cfg.loss_type,
        "batch_size": cfg.batch_size,
        "schedule": cfg.schedule if isinstance(cfg.schedule, str) else "custom",
        "schedule_options": [list(kv) for kv in cfg.schedule_options],
        "shuffle": cfg.shuffle,
        "key": data_hash(*(key_bits(k) for k in (setup.init_key, setup.dropout_key, setup.shuffle_key))),
        "train_data": data_hash(setup.x, setup.y),
        "val_data": data_hash(setup.xv, setup.yv),
        "params": None if params is None else data_hash(*jax.tree_util.tree_leaves(params)),
        **{k: float(v) for k, v in hp.items()},
    }


def _label(snapshot: tuple | None) -> tuple | None:
    """What identifies a snapshot on disk: its epoch and stop reason."""
    return None if snapshot is None else (snapshot[0], snapshot[4])


class RunCheckpoint(Callback):
    """Save the run to ``folder/checkpoint.ckpt`` and resume from it (a :class:`Callback`).

    Args:
        folder: the run folder.
        fingerprint: this run's :func:`fingerprint`.
        every: save every this many epochs; the last epoch is always saved when the loop ends.
        interval: at least this many seconds between saves during training (a save with fsync costs
            milliseconds, many epochs of a small MLP); 0 saves every ``every`` epochs.
    """

    def __init__(self, folder: str | Path, fingerprint: dict, *, every: int = 1, interval: float = 0.0):
        self.path = Path(folder) / CHECKPOINT
        self.fingerprint = jsonable(fingerprint)
        self.every, self.interval = every, interval
        self.snapshot: tuple | None = None
        self.saved: tuple | None = None
        self.saved_at = -float("inf")

    def on_train_begin(self, loop: Loop) -> None:
        """Resume ``loop`` from the checkpoint, if there is one (after checking it is this run's)."""
        if not self.path.exists():
            return
        self._check(read_checkpoint_metadata(self.path), loop.epochs)  # before the tree: say what differs
        tree, meta = load_checkpoint(self.path, {"state": loop.state, "best": loop.state.params})
        epoch = int(meta["epoch"])
        loop.state, loop.epoch = tree["state"], epoch
        loop.history.clear()
        loop.history.update({k: list(v) for k, v in meta["history"].items()})
        loop.best_from_history()
        loop.best_params = tree["best"] if meta.get("has_best") else None
        if meta.get("stop_reason") in ("early_stopping", "diverged"):
            loop.stop(meta["stop_reason"])
            loop.diverged_epoch = meta.get("diverged_epoch")
        self.saved = self._take(loop)

    def _check(self, meta: dict, epochs: int) -> None:
        saved = meta.get("run", {})
        if saved.get("version") != FINGERPRINT_VERSION:
            fail(
                "train_model",
                "checkpoint_dir",
                "a folder whose checkpoint this version of jnnbasics can resume",
                f"{str(self.path)!r}, written by an older jnnbasics",
                hint="use another checkpoint_dir (the old checkpoint was left as it is)",
            )
        diff = sorted(
            k for k in set(saved) | set(self.fingerprint) if saved.get(k) != self.fingerprint.get(k)
        )
        if diff:
            fail(
                "train_model",
                "checkpoint_dir",
                f"a folder whose checkpoint was made by this run (it differs in {', '.join(diff)})",
                repr(str(self.path.parent)),
                hint="use another checkpoint_dir, or move the old checkpoint away (it was left as it is)",
            )
        epoch, n = int(meta.get("epoch", -1)), len(meta.get("history", {}).get("train_loss", []))
        if epoch != n:
            raise CheckpointCorruptError(
                f"{self.path}: labelled epoch {epoch} but holds a history of {n} epochs"
            )
        if epochs < epoch:
            fail(
                "train_model",
                "epochs",
                f"at least the {epoch} epochs that {self.path} holds",
                epochs,
                hint="ask for as many epochs or more, or use another checkpoint_dir",
            )

    def _take(self, loop: Loop) -> tuple:
        return (
            loop.epoch,
            loop.state,
            loop.best_params,
            loop.best_epoch,
            loop.stop_reason,
            loop.diverged_epoch,
        )

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> None:
        self.snapshot = self._take(loop)  # consistent: taken at one moment, between epochs
        due = loop.epoch % self.every == 0 and time.monotonic() - self.saved_at >= self.interval
        if due:
            self._save(loop.history)

    def on_train_end(self, loop: Loop) -> None:
        if self.snapshot is None:
            return
        if self.snapshot[0] == loop.epoch:  # the final stop reason, with the snapshot's own state
            self.snapshot = (*self.snapshot[:4], loop.stop_reason, loop.diverged_epoch)
        if _label(self.snapshot) != _label(self.saved):
            self._save(loop.history)

    def _save(self, history: dict[str, list[float]]) -> None:
        if not is_primary():  # one writer in a multi-process run; the others only remember the label
            self.saved, self.saved_at = self.snapshot, time.monotonic()
            return
        epoch, state, best, best_epoch, stop_reason, diverged = self.snapshot
        meta = {
            "epoch": epoch,
            "history": {k: list(v[:epoch]) for k, v in history.items()},
            "run": self.fingerprint,
            "has_best": best is not None,
            "best_epoch": best_epoch,
            "stop_reason": stop_reason,
            "diverged_epoch": diverged,
        }
        tree = {"state": state, "best": best if best is not None else state.params}
        save_checkpoint(self.path, tree, metadata=jsonable(meta))
        self.saved, self.saved_at = self.snapshot, time.monotonic()
