"""Checkpoints: a TrainState (or any pytree) plus JSON metadata in one file, written atomically.

File layout: a 52-byte header — the magic ``b"JNNBCKPT"``, the format version (uint32, little
endian), the body length (uint64) and the body's SHA-256 — followed by the body, a
``flax.serialization`` msgpack map ``{"format", "version", "metadata" (JSON text), "leaves"}``.
``leaves`` maps each leaf's key path in the pytree (``jax.tree_util.keystr``, e.g.
``.params[0]['w']``) to its array; typed PRNG keys are stored as their key data and implementation
name, and a ``None`` subtree (e.g. ``TrainState.key=None``) has no leaves.

Loading restores into the *target*'s tree structure and refuses, with a :class:`CheckpointError`
that says which, a missing file, a truncated or corrupt one, and any difference in key paths, shapes
or dtypes (naming the first differing path) — never a silent partial load.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from ._atomic import write_bytes_atomic
from ._checks import fail

_MAGIC = b"JNNBCKPT"
_VERSION = 1
_HEADER = struct.Struct("<8sIQ32s")  # magic, version, body length, sha256(body)
_FORMAT = "jnnbasics.checkpoint"
_TYPED_KEY = "__typed_prng_key__"


class CheckpointError(ValueError):
    """A checkpoint could not be loaded; the subclass says why."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """There is no checkpoint file at the given path."""


class CheckpointCorruptError(CheckpointError):
    """The file is not a jnnbasics checkpoint, or it is truncated or corrupt."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint's tree, shapes or dtypes differ from the target's."""


def _is_typed_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _encode_leaf(leaf: Any) -> Any:
    if _is_typed_key(leaf):
        return {_TYPED_KEY: str(jax.random.key_impl(leaf)), "data": np.asarray(jax.random.key_data(leaf))}
    if isinstance(leaf, jax.Array):
        return np.asarray(leaf)
    return leaf


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy / jax arrays and scalars
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def save_checkpoint(path: str | os.PathLike, state: Any, *, metadata: dict | None = None) -> Path:
    """Save ``state`` and ``metadata`` to ``path`` atomically.

    The bytes go to a temporary file in the same directory, which is flushed, ``fsync``-ed and then
    renamed over ``path`` with ``os.replace`` (``jnnbasics._atomic.write_bytes_atomic``): a crash or
    an exception mid-save leaves the previous checkpoint at ``path`` intact, and the temporary file is
    removed. Missing parent directories are created; the file gets mode ``0o644`` under the umask.

    Args:
        path: file to write (conventionally ``*.ckpt``).
        state: a :class:`jnnbasics.TrainState` or any pytree of arrays; leaves may be typed PRNG keys
            (``jax.random.key``), raw uint32 keys, and subtrees may be ``None``.
        metadata: a JSON-serialisable dict stored in the same file (e.g. layer sizes, loss type,
            history); NumPy/JAX arrays and scalars in it are stored as (nested) lists/numbers.

    Returns:
        The path written, as a ``Path``.

    Raises:
        TypeError: if ``metadata`` is not a dict or not JSON-serialisable, or a leaf of ``state``
            cannot be stored.

    Example:
        >>> save_checkpoint("run/model.ckpt", state, metadata={"layer_sizes": [2, 16, 1]})
    """
    path = Path(path)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        fail("save_checkpoint", "metadata", "a dict or None", type(metadata).__name__, exc=TypeError)
    try:
        meta_text = json.dumps(metadata, default=_json_default, allow_nan=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"save_checkpoint: metadata must be JSON-serialisable, got {err}") from err
    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    leaves = {jax.tree_util.keystr(p): _encode_leaf(leaf) for p, leaf in flat}
    payload = {"format": _FORMAT, "version": _VERSION, "metadata": meta_text, "leaves": leaves}
    try:
        body = serialization.msgpack_serialize(payload)
    except Exception as err:  # msgpack raises its own TypeError-like errors for unknown objects
        raise TypeError(f"save_checkpoint: state has a leaf that cannot be stored: {err}") from err
    header = _HEADER.pack(_MAGIC, _VERSION, len(body), hashlib.sha256(body).digest())

    return write_bytes_atomic(path, header + body)


def _read_payload(func: str, path: str | os.PathLike) -> dict:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointNotFoundError(f"{func}: no checkpoint file at {str(path)!r}") from None
    if len(raw) < _HEADER.size or raw[: len(_MAGIC)] != _MAGIC:
        raise CheckpointCorruptError(
            f"{func}: {str(path)!r} is not a jnnbasics checkpoint (its first bytes are not the "
            f"{_MAGIC!r} header; {len(raw)} bytes in all)"
        )
    _, version, length, digest = _HEADER.unpack_from(raw)
    if version != _VERSION:
        raise CheckpointCorruptError(
            f"{func}: {str(path)!r} has checkpoint format version {version}; this jnnbasics reads "
            f"version {_VERSION}"
        )
    body = raw[_HEADER.size :]
    if len(body) != length:
        raise CheckpointCorruptError(
            f"{func}: {str(path)!r} is truncated or corrupt: the header announces {length} bytes of "
            f"data but the file holds {len(body)}"
        )
    if hashlib.sha256(body).digest() != digest:
        raise CheckpointCorruptError(
            f"{func}: {str(path)!r} is corrupt: its data do not match the stored checksum"
        )
    try:
        payload = serialization.msgpack_restore(body)
        metadata = json.loads(payload["metadata"])
        if payload.get("format") != _FORMAT or not isinstance(payload.get("leaves"), dict):
            raise ValueError("missing format marker or leaves")
    except Exception as err:
        raise CheckpointCorruptError(
            f"{func}: {str(path)!r} is corrupt: cannot decode its data ({err})"
        ) from err
    payload["metadata"] = metadata
    return payload


def read_checkpoint_metadata(path: str | os.PathLike) -> dict:
    """The metadata dict saved with a checkpoint, without needing a target state.

    Args:
        path: checkpoint file written by :func:`save_checkpoint`.

    Returns:
        The metadata dict (``{}`` if none was saved).

    Raises:
        CheckpointNotFoundError: if there is no file at ``path``.
        CheckpointCorruptError: if the file is not a checkpoint, truncated or corrupt.

    Example:
        >>> sizes = read_checkpoint_metadata("run/model.ckpt")["layer_sizes"]
    """
    return _read_payload("read_checkpoint_metadata", path)["metadata"]


def _describe(leaf: Any) -> str:
    if isinstance(leaf, dict) and _TYPED_KEY in leaf:
        return f"a typed PRNG key ({leaf[_TYPED_KEY]}) of shape {tuple(np.shape(leaf['data']))[:-1]}"
    if _is_typed_key(leaf):
        return f"a typed PRNG key ({jax.random.key_impl(leaf)}) of shape {tuple(leaf.shape)}"
    if hasattr(leaf, "dtype"):
        return f"shape {tuple(np.shape(leaf))} {np.dtype(leaf.dtype).name}"
    return f"a {type(leaf).__name__} ({leaf!r})"


def _restore_leaf(path_str: str, stored: Any, target: Any, mismatch: Any) -> Any:
    if _is_typed_key(target):
        if not (isinstance(stored, dict) and _TYPED_KEY in stored):
            mismatch(path_str, stored, target)
        key = jax.random.wrap_key_data(jnp.asarray(stored["data"]), impl=stored[_TYPED_KEY])
        if key.shape != target.shape or str(jax.random.key_impl(key)) != str(jax.random.key_impl(target)):
            mismatch(path_str, stored, target)
        return key
    if isinstance(stored, dict):
        mismatch(path_str, stored, target)
    if hasattr(target, "dtype"):
        if not hasattr(stored, "dtype"):
            stored = np.asarray(stored)
        if np.shape(stored) != np.shape(target) or np.dtype(stored.dtype) != np.dtype(target.dtype):
            mismatch(path_str, stored, target)
        return jnp.asarray(stored) if isinstance(target, jax.Array) else np.asarray(stored)
    if hasattr(stored, "dtype") and np.shape(stored) != ():
        mismatch(path_str, stored, target)
    return stored.item() if hasattr(stored, "item") else stored


def load_checkpoint(path: str | os.PathLike, target: Any) -> tuple[Any, dict]:
    """Load a checkpoint into the structure of ``target``.

    ``target`` supplies the tree structure, shapes and dtypes (e.g. a freshly created
    ``TrainState`` for the same model and optimizer); its values are not used. Every leaf must match:
    the same key paths, shapes and dtypes, typed keys where the target has typed keys.

    Args:
        path: checkpoint file written by :func:`save_checkpoint`.
        target: a pytree with the structure to restore into.

    Returns:
        ``(state, metadata)``: a pytree like ``target`` with the saved values (JAX arrays where
        ``target`` has JAX arrays), and the metadata dict.

    Raises:
        CheckpointNotFoundError: if there is no file at ``path`` (also a ``FileNotFoundError``).
        CheckpointCorruptError: if the file is not a checkpoint, or is truncated or corrupt.
        CheckpointMismatchError: if the saved tree differs from ``target`` — a path missing from
            the file or not in the target, or a different shape or dtype; the message names the
            first such path and both descriptions.

    Example:
        >>> target = create_train_state(model.init(jax.random.key(0)), optimizer, key=jax.random.key(1))
        >>> state, meta = load_checkpoint("run/model.ckpt", target)
    """
    payload = _read_payload("load_checkpoint", path)
    stored = payload["leaves"]
    flat, treedef = jax.tree_util.tree_flatten_with_path(target)
    names = [jax.tree_util.keystr(p) for p, _ in flat]
    where = f"load_checkpoint: checkpoint {str(path)!r} does not match the target"

    missing = [n for n in names if n not in stored]
    if missing:
        raise CheckpointMismatchError(
            f"{where}: the target has {missing[0]} ({_describe(flat[names.index(missing[0])][1])}) but the file "
            f"does not ({len(missing)} target leaves missing from the file)"
        )
    known = set(names)
    extra = [n for n in stored if n not in known]
    if extra:
        raise CheckpointMismatchError(
            f"{where}: the file has {extra[0]} ({_describe(stored[extra[0]])}) but the target does not "
            f"({len(extra)} file leaves not in the target)"
        )

    def mismatch(name: str, s: Any, t: Any) -> None:
        raise CheckpointMismatchError(
            f"{where} at {name}: {_describe(s)} in the file, {_describe(t)} in the target"
        )

    leaves = [_restore_leaf(n, stored[n], leaf, mismatch) for n, (_, leaf) in zip(names, flat)]
    return jax.tree_util.tree_unflatten(treedef, leaves), payload["metadata"]
