"""jnnbasics: neural-network basics in JAX, as pure functions over parameter pytrees.

Import the functional API from here; plotting lives in ``jnnbasics.viz`` (imports matplotlib
when used) and the command line in ``jnnbasics.cli``. Importing this package never imports
torch, scikit-learn or matplotlib.
"""

from ._lockfile import LockedError
from .activations import (
    ACTIVATIONS,
    gelu,
    get_activation,
    identity,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .checkpoint import CheckpointError, load_checkpoint, read_checkpoint_metadata, save_checkpoint
from .data import (
    ScalerState,
    batches,
    epoch_permutation,
    fit_scaler,
    inverse_transform,
    prepare_data_for_nn,
    train_val_split,
    transform,
)
from .datasets import load_iris, make_blobs, make_circles, make_moons, make_regression, make_spirals
from .initializers import (
    kaiming_normal,
    kaiming_uniform,
    torch_linear_default,
    xavier_normal,
    xavier_uniform,
    zeros,
)
from .interop import params_from_torch, params_to_torch
from .losses import (
    LOSS_TYPES,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    compute_loss,
    cross_entropy,
    mse,
)
from .models import Model, dropout, dropout_mlp, init_mlp, mlp, mlp_apply, select_architecture, simple_nn
from .optim import make_optimizer
from .parallel import ManyResult, train_many, tune_hyperparameters
from .penalties import add_regularization, l1_penalty, l2_penalty, l2_squared_penalty
from .run import Run, load_run, save_run
from .schedules import constant, cosine_annealing, create_lr_scheduler, lr_at_epoch, step_lr
from .state import TrainState, create_train_state
from .training import (
    TrainResult,
    eval_step,
    evaluate_loss,
    evaluate_model,
    make_train_step,
    train_model,
)

__version__ = "0.1.0"

__all__ = [
    "LockedError",
    "Run",
    "load_run",
    "save_run",
    "params_from_torch",
    "params_to_torch",
    "add_regularization",
    "l1_penalty",
    "l2_penalty",
    "l2_squared_penalty",
    "Model",
    "dropout",
    "dropout_mlp",
    "init_mlp",
    "mlp",
    "mlp_apply",
    "select_architecture",
    "simple_nn",
    "LOSS_TYPES",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "compute_loss",
    "cross_entropy",
    "mse",
    "kaiming_normal",
    "kaiming_uniform",
    "torch_linear_default",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
    "ACTIVATIONS",
    "gelu",
    "get_activation",
    "identity",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "TrainState",
    "create_train_state",
    "TrainResult",
    "eval_step",
    "evaluate_loss",
    "evaluate_model",
    "make_train_step",
    "train_model",
    "ManyResult",
    "train_many",
    "tune_hyperparameters",
    "make_optimizer",
    "constant",
    "cosine_annealing",
    "create_lr_scheduler",
    "lr_at_epoch",
    "step_lr",
    "ScalerState",
    "batches",
    "epoch_permutation",
    "fit_scaler",
    "inverse_transform",
    "prepare_data_for_nn",
    "train_val_split",
    "transform",
    "load_iris",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_regression",
    "make_spirals",
    "CheckpointError",
    "load_checkpoint",
    "read_checkpoint_metadata",
    "save_checkpoint",
]
