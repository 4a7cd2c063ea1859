"""Checkpoints: round trips (typed / raw / no key), corrupt files, mismatches, interrupted saves."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jnnbasics import create_train_state, make_optimizer
from jnnbasics.checkpoint import (
    CheckpointCorruptError,
    CheckpointError,
    CheckpointMismatchError,
    CheckpointNotFoundError,
    load_checkpoint,
    read_checkpoint_metadata,
    save_checkpoint,
)


def make_params(sizes=(2, 4, 1), seed=0):
    rng = np.random.default_rng(seed)
    return [
        {
            "w": jnp.asarray(rng.normal(size=(m, n)), jnp.float32),
            "b": jnp.asarray(rng.normal(size=n), jnp.float32),
        }
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


OPT = make_optimizer(1e-2, weight_decay=1e-3)


@jax.jit
def adam_step(state, grads):
    updates, opt_state = OPT.update(grads, state.opt_state, state.params)
    return state.replace(
        params=optax.apply_updates(state.params, updates), opt_state=opt_state, step=state.step + 1
    )


def trained_state(key, sizes=(2, 4, 1)):
    """A state after a few real Adam steps, so moments and counts are non-trivial."""
    state = create_train_state(make_params(sizes), OPT, key=key)
    for _ in range(3):
        state = adam_step(state, make_params(sizes, seed=1))
    return state


def fresh_target(key, sizes=(2, 4, 1)):
    return create_train_state(make_params(sizes, seed=5), OPT, key=key)


def assert_trees_equal(a, b):
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            assert jax.dtypes.issubdtype(y.dtype, jax.dtypes.prng_key)
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize(
    "make_key",
    [lambda: jax.random.key(3), lambda: jax.random.PRNGKey(3), lambda: None],
    ids=["typed", "raw", "none"],
)
def test_round_trip(tmp_path, make_key):
    state = trained_state(make_key())
    meta = {"layer_sizes": [2, 4, 1], "loss_type": "bce", "history": {"train_loss": [np.float32(0.5), 0.25]}}
    path = save_checkpoint(tmp_path / "run" / "model.ckpt", state, metadata=meta)
    assert path == tmp_path / "run" / "model.ckpt" and path.exists()
    restored, got_meta = load_checkpoint(path, fresh_target(make_key()))
    assert_trees_equal(restored, state)
    assert isinstance(restored.params[0]["w"], jax.Array)
    assert got_meta == {"layer_sizes": [2, 4, 1], "loss_type": "bce", "history": {"train_loss": [0.5, 0.25]}}
    assert read_checkpoint_metadata(path) == got_meta
    if make_key() is not None:  # the restored key draws the same numbers as the saved one
        np.testing.assert_array_equal(
            jax.random.normal(restored.key, (3,)), jax.random.normal(state.key, (3,))
        )


def test_restored_state_continues_training_identically(tmp_path):
    state = trained_state(jax.random.key(0))
    restored, _ = load_checkpoint(
        save_checkpoint(tmp_path / "a.ckpt", state), fresh_target(jax.random.key(0))
    )
    grads = make_params(seed=2)
    assert_trees_equal(adam_step(restored, grads), adam_step(state, grads))


def test_any_pytree_and_no_metadata(tmp_path):
    tree = {"a": jnp.arange(3), "b": (np.ones((2, 2)), None), "c": [jnp.float32(2.5)]}
    path = save_checkpoint(str(tmp_path / "t.ckpt"), tree)
    out, meta = load_checkpoint(
        path, {"a": jnp.zeros(3, jnp.int32), "b": (np.zeros((2, 2)), None), "c": [jnp.float32(0)]}
    )
    assert meta == {} and read_checkpoint_metadata(path) == {}
    assert isinstance(out["b"][0], np.ndarray) and out["b"][1] is None
    np.testing.assert_array_equal(out["a"], np.arange(3))
    np.testing.assert_array_equal(out["b"][0], np.ones((2, 2)))


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="load_checkpoint: no checkpoint file at") as info:
        load_checkpoint(tmp_path / "nope.ckpt", {"a": jnp.zeros(1)})
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)
    with pytest.raises(CheckpointNotFoundError, match="read_checkpoint_metadata: no checkpoint file"):
        read_checkpoint_metadata(tmp_path / "nope.ckpt")


def test_truncated_file(tmp_path):
    state = trained_state(jax.random.key(0))
    path = save_checkpoint(tmp_path / "m.ckpt", state)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 17])
    with pytest.raises(CheckpointCorruptError, match="is truncated or corrupt: the header announces"):
        load_checkpoint(path, fresh_target(jax.random.key(0)))
    path.write_bytes(raw[:20])  # cut inside the header
    with pytest.raises(CheckpointCorruptError, match="is not a jnnbasics checkpoint"):
        load_checkpoint(path, fresh_target(jax.random.key(0)))


def test_flipped_byte_and_random_bytes(tmp_path):
    state = trained_state(jax.random.key(0))
    path = save_checkpoint(tmp_path / "m.ckpt", state)
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointCorruptError, match="is corrupt: its data do not match the stored checksum"):
        load_checkpoint(path, fresh_target(jax.random.key(0)))
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointCorruptError, match="is not a jnnbasics checkpoint"):
        load_checkpoint(path, fresh_target(jax.random.key(0)))
    with pytest.raises(CheckpointError, match="read_checkpoint_metadata: .* is not a jnnbasics checkpoint"):
        read_checkpoint_metadata(path)


def test_tree_mismatch(tmp_path):
    state = trained_state(jax.random.key(0), sizes=(2, 4, 1))
    path = save_checkpoint(tmp_path / "m.ckpt", state)
    # one more layer in the target: its paths are missing from the file
    with pytest.raises(
        CheckpointMismatchError, match=r"the target has \.params\[2\]\['b'\] .* but the file does not"
    ):
        load_checkpoint(path, fresh_target(jax.random.key(0), sizes=(2, 4, 4, 1)))
    # the file has a key, the target has none
    with pytest.raises(
        CheckpointMismatchError, match=r"the file has \.key \(a typed PRNG key .*\) but the target does not"
    ):
        load_checkpoint(path, fresh_target(None))
    # a typed key saved, a raw key expected
    with pytest.raises(
        CheckpointMismatchError, match=r"at \.key: a typed PRNG key .* in the file, shape \(2,\) uint32"
    ):
        load_checkpoint(path, fresh_target(jax.random.PRNGKey(0)))
    # a different optimizer layout
    other = create_train_state(make_params(seed=5), optax.sgd(0.1), key=jax.random.key(0))
    with pytest.raises(CheckpointMismatchError, match="does not match the target"):
        load_checkpoint(path, other)


def test_shape_and_dtype_mismatch(tmp_path):
    state = trained_state(jax.random.key(0), sizes=(2, 4, 1))
    path = save_checkpoint(tmp_path / "m.ckpt", state)
    with pytest.raises(
        CheckpointMismatchError,
        match=r"at \.params\[0\]\['b'\]: shape \(4,\) float32 in the file, shape \(5,\) float32 in the target",
    ):
        load_checkpoint(path, fresh_target(jax.random.key(0), sizes=(2, 5, 1)))
    target = fresh_target(jax.random.key(0))
    target = target.replace(step=jnp.zeros((), jnp.float32))
    with pytest.raises(
        CheckpointMismatchError, match=r"at \.step: shape \(\) int32 in the file, shape \(\) float32"
    ):
        load_checkpoint(path, target)


def test_interrupted_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    old_state = trained_state(jax.random.key(0))
    path = save_checkpoint(tmp_path / "m.ckpt", old_state, metadata={"epoch": 1})
    new_state = old_state.replace(step=old_state.step + 100)

    def crash_before_the_rename(fd):
        raise KeyboardInterrupt("simulated crash during the write")

    monkeypatch.setattr(os, "fsync", crash_before_the_rename)  # the bytes are written, not yet renamed
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, new_state, metadata={"epoch": 2})
    assert sorted(os.listdir(tmp_path)) == ["m.ckpt"]  # no temporary file left behind
    restored, meta = load_checkpoint(path, fresh_target(jax.random.key(0)))
    assert meta == {"epoch": 1}
    assert_trees_equal(restored, old_state)
    monkeypatch.undo()
    save_checkpoint(path, new_state, metadata={"epoch": 2})
    assert read_checkpoint_metadata(path) == {"epoch": 2}
    assert sorted(os.listdir(tmp_path)) == ["m.ckpt"]


def test_save_errors(tmp_path):
    state = trained_state(None)
    with pytest.raises(TypeError, match="save_checkpoint: metadata must be a dict or None, got list"):
        save_checkpoint(tmp_path / "m.ckpt", state, metadata=[1, 2])
    with pytest.raises(TypeError, match="save_checkpoint: metadata must be JSON-serialisable"):
        save_checkpoint(tmp_path / "m.ckpt", state, metadata={"f": object()})
    assert os.listdir(tmp_path) == []
