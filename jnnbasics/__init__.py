"""jnnbasics: neural-network basics in JAX, as pure functions over parameter pytrees.

Import the functional API from here; plotting lives in ``jnnbasics.viz`` (imports matplotlib
when used) and the command line in ``jnnbasics.cli``. Importing this package never imports
torch, scikit-learn or matplotlib.
"""

from .state import TrainState, create_train_state

__version__ = "0.1.0"

__all__ = [
    "TrainState",
    "create_train_state",
]
