"""Training: the jitted train step, one compiled program per epoch, and ``train_model``'s loop.

The tutorial's loop — for each batch: forward, loss, backward, Adam step; then a validation pass;
record the mean batch losses — is reproduced number for number, but each epoch (all its batches,
the final partial batch included, and the validation pass) runs as one compiled XLA program.
Hyperparameters that only change numbers (learning rate, penalty strengths, weight decay, dropout
rate in ``train_many``) are traced arguments, so changing them does not recompile either, and
``jax.vmap`` can train many models at once (see ``jnnbasics.parallel``).

Modules: ``step`` (one optimizer step), ``epoch`` (one compiled epoch), ``setup`` (arguments
checked, data converted), ``history`` (the loop's record), ``callbacks`` (early stopping, progress),
``checkpointing`` (the one save/resume mechanism), ``evaluation``, ``loop`` (``train_model``),
``fastpath`` (the small-MLP fast path an epoch takes on the CPU).
"""

from .._keys import split_run_key
from ..inference import eval_step
from .callbacks import Callback, EarlyStopping, FunctionCallback, ProgressCallback, as_callback
from .epoch import (
    HYPERPARAMS,
    EpochConfig,
    MLPForward,
    ModelForward,
    build_optimizer,
    fresh_state,
    lr_for_epoch,
    run_epoch,
    run_epoch_jit,
    traced_hyperparams,
)
from .evaluation import evaluate_loss, evaluate_model
from .fastpath import CPU_COMPILER_OPTIONS, known_compiler_options
from .history import Loop, append_logs, epoch_logs
from .loop import TrainResult, train_model
from .setup import RunSetup, check_key, output_dim, prepare_run, prepare_xy
from .step import make_train_step, sgd_step

__all__ = [
    "HYPERPARAMS",
    "CPU_COMPILER_OPTIONS",
    "Callback",
    "EarlyStopping",
    "EpochConfig",
    "FunctionCallback",
    "Loop",
    "MLPForward",
    "ModelForward",
    "ProgressCallback",
    "RunSetup",
    "TrainResult",
    "append_logs",
    "as_callback",
    "build_optimizer",
    "check_key",
    "epoch_logs",
    "eval_step",
    "evaluate_loss",
    "evaluate_model",
    "fresh_state",
    "known_compiler_options",
    "traced_hyperparams",
    "lr_for_epoch",
    "make_train_step",
    "output_dim",
    "prepare_run",
    "prepare_xy",
    "run_epoch",
    "run_epoch_jit",
    "sgd_step",
    "split_run_key",
    "train_model",
]
