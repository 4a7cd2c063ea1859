"""Move ``nn.Linear`` stacks between PyTorch and jnnbasics parameters (torch imported on call).

Torch stores a Linear layer's weight as ``(out, in)``; jnnbasics stores ``w`` as ``(in, out)``, so
weights are transposed on the way in and out. Dtypes are kept (a float64 torch model gives float64
arrays when ``jax_enable_x64`` is on; otherwise JAX stores them as float32).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from ._checks import fail
from ._types import Params
from .models import check_params


def _state_dict(func: str, arg: str, obj: Any) -> Mapping[str, Any]:
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        return obj.state_dict()
    if isinstance(obj, Mapping):
        return obj
    fail(func, arg, "a torch.nn.Module or a state dict", type(obj).__name__, exc=TypeError)


def params_from_torch(module_or_state_dict: Any) -> Params:
    """Convert a stack of ``nn.Linear`` layers to ``[{"w": (in, out), "b": (out,)}, ...]``.

    Entries are read in ``state_dict`` order: each 2-D ``*weight`` starts a layer and the following
    1-D ``*bias`` completes it, so ``nn.Sequential`` stacks (with activations or ``Dropout`` between
    the Linear layers) and modules with named layers (the tutorial's ``SimpleNN``, ``MLP``) work.

    Args:
        module_or_state_dict: a ``torch.nn.Module`` or its ``state_dict()``; every entry must be a
            Linear weight ``(out, in)`` or bias ``(out,)``.

    Returns:
        jnnbasics parameters with weights transposed to ``(in, out)``, dtypes preserved.

    Raises:
        ValueError: an entry that is not a Linear weight/bias, a layer without bias, or layers whose
            sizes do not chain (``in`` of one layer != ``out`` of the previous).
        TypeError: the argument is neither a module nor a mapping.

    Example:
        >>> params = params_from_torch(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
        ...                                                torch.nn.Linear(8, 2)))
        >>> [p["w"].shape for p in params]
        [(4, 8), (8, 2)]
    """
    func = "params_from_torch"
    state = _state_dict(func, "module_or_state_dict", module_or_state_dict)
    params: list[dict[str, Any]] = []
    pending: tuple[str, np.ndarray] | None = None
    for name, tensor in state.items():
        arr = tensor.detach().cpu().numpy() if hasattr(tensor, "detach") else np.asarray(tensor)
        if name.endswith("weight") and arr.ndim == 2:
            if pending is not None:
                fail(
                    func,
                    f"entry {pending[0]!r}",
                    "followed by its bias (layers need a bias)",
                    f"{name!r} next",
                )
            pending = (name, arr)
        elif name.endswith("bias") and arr.ndim == 1 and pending is not None:
            wname, w = pending
            if arr.shape != (w.shape[0],):
                fail(
                    func,
                    f"entry {name!r}",
                    f"of shape ({w.shape[0]},) to match {wname!r} {w.shape}",
                    arr.shape,
                )
            if params and params[-1]["w"].shape[1] != w.shape[1]:
                fail(
                    func,
                    f"entry {wname!r}",
                    f"of shape (out, {params[-1]['w'].shape[1]}) to follow the previous layer",
                    w.shape,
                )
            params.append({"w": jnp.asarray(w.T), "b": jnp.asarray(arr)})
            pending = None
        else:
            fail(
                func,
                f"entry {name!r}",
                "a Linear weight (out, in) or its bias (out,)",
                f"shape {arr.shape}",
                hint="only stacks of nn.Linear layers are supported",
            )
    if pending is not None:
        fail(func, f"entry {pending[0]!r}", "followed by its bias (layers need a bias)", "end of state dict")
    if not params:
        fail(func, "module_or_state_dict", "a stack of at least one nn.Linear layer", "no parameters")
    return params


def params_to_torch(params: Params, *, template: Any = None) -> dict[str, Any]:
    """Convert jnnbasics parameters to a torch ``state_dict`` (weights transposed to ``(out, in)``).

    Without ``template`` the keys are those of an ``nn.Sequential`` of Linear layers with one
    activation between them: ``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ``"2.bias"``, ...
    With ``template`` (a state dict or module, e.g. with named layers or Dropout in between), its
    keys are used in order, and its shapes must match.

    Args:
        params: ``[{"w": (in, out), "b": (out,)}, ...]``.
        template: optional torch module or state dict whose keys and shapes to follow.

    Returns:
        A ``dict[str, torch.Tensor]`` ready for ``module.load_state_dict``, dtypes preserved.

    Raises:
        ValueError: ``template`` has a different number of entries or different shapes.
        TypeError: malformed ``params`` or ``template``.

    Example:
        >>> _ = net.load_state_dict(params_to_torch(params, template=net))
    """
    import torch

    func = "params_to_torch"
    check_params(func, params)
    tensors = []
    for layer in params:
        tensors.append(torch.from_numpy(np.array(layer["w"]).T.copy()))
        tensors.append(torch.from_numpy(np.array(layer["b"]).copy()))
    if template is None:
        keys = [f"{2 * i}.{kind}" for i in range(len(params)) for kind in ("weight", "bias")]
        return dict(zip(keys, tensors, strict=True))
    state = _state_dict(func, "template", template)
    if len(state) != len(tensors):
        fail(
            func,
            "template",
            f"a state dict with {len(tensors)} entries (weight and bias of {len(params)} layers)",
            f"{len(state)} entries: {list(state)}",
        )
    out = {}
    for (name, ref), t in zip(state.items(), tensors, strict=True):
        if tuple(ref.shape) != tuple(t.shape):
            fail(
                func, f"template entry {name!r}", f"of shape {tuple(t.shape)} (from params)", tuple(ref.shape)
            )
        out[name] = t
    return out
