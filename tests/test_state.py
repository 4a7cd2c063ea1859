"""TrainState: a pytree with params, opt_state, step and key."""

import jax
import jax.numpy as jnp
import optax

from jnnbasics import TrainState, create_train_state


def test_create_train_state_is_a_pytree_at_step_zero():
    params = [{"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}]
    opt = optax.adam(1e-3)
    state = create_train_state(params, opt, key=jax.random.key(0))
    assert isinstance(state, TrainState)
    assert int(state.step) == 0
    leaves = jax.tree_util.tree_leaves(state)
    # w, b, adam count, mu (w, b), nu (w, b), step, key
    assert len(leaves) == 9
    moved = jax.tree_util.tree_map(lambda x: x, state)
    assert int(moved.step) == 0 and moved.key is not None


def test_create_train_state_without_key():
    state = create_train_state([{"w": jnp.ones((1, 1)), "b": jnp.zeros(1)}], optax.sgd(0.1))
    assert state.key is None
