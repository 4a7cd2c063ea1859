"""Type aliases shared across jnnbasics: parameters, keys, schedules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

Array = jax.Array
PRNGKey = jax.Array
"""A PRNG key from ``jax.random.key`` (typed) or ``jax.random.PRNGKey`` (raw uint32[2])."""

Layer = dict[str, jax.Array]
Params = list[Layer]
"""MLP parameters: one ``{"w": (in, out), "b": (out,)}`` dict per dense layer."""

PyTree = Any
Schedule = Callable[[Any], Any]
"""An ``optax.Schedule``: optimizer step count -> learning rate."""
