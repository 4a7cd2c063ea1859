"""The one fixed recipe for a run's keys: which key drives which part of a run.

A run's key (``train_model(key=...)``) is split once into ``(init, dropout, shuffle)``; a command-line
run's seed is split once into ``(data, split, train)``, and ``train`` is the key given to
``train_model``. Every caller goes through these two functions, so the same seed always gives the
same run, from Python and from the command line alike.
"""

from __future__ import annotations

import jax

from ._types import PRNGKey


def split_run_key(key: PRNGKey) -> tuple[PRNGKey, PRNGKey, PRNGKey]:
    """Split a run's key into ``(init_key, dropout_key, shuffle_key)``.

    Args:
        key: a typed PRNG key (``jax.random.key(seed)``).

    Returns:
        Three keys: parameter initialisation, dropout masks (split once per step), data shuffling.
    """
    k = jax.random.split(key, 3)
    return k[0], k[1], k[2]


def seed_keys(seed: int) -> tuple[PRNGKey, PRNGKey, PRNGKey]:
    """``(data_key, split_key, train_key)`` of a command-line run from its integer seed.

    Args:
        seed: the run's ``--seed``.

    Returns:
        Keys for generating a built-in data set, for the train/validation split, and the key
        given to ``train_model`` (which :func:`split_run_key` splits further).
    """
    k = jax.random.split(jax.random.key(int(seed)), 3)
    return k[0], k[1], k[2]
