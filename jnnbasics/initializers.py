"""Weight initialisers with PyTorch's formulas, for our ``(in, out)`` weight layout.

Each initialiser is ``f(key, shape, dtype=jnp.float32, *, ...) -> array``. Weights in jnnbasics
are stored as ``(in_features, out_features)`` — the transpose of ``torch.nn.Linear.weight``'s
``(out, in)`` — so fans are read as ``fan_in = shape[-2] * r`` and ``fan_out = shape[-1] * r`` with
``r = prod(shape[:-2])`` (the receptive field; 1 for dense weights). For a dense weight this gives
exactly the same distribution as the corresponding ``torch.nn.init`` function applied to the
transposed torch tensor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from ._checks import check_choice, check_float_dtype, check_key, check_number, check_shape, fail
from ._types import PRNGKey

Array = jax.Array

_NONLINEARITIES = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")


def _fans(func: str, shape: Sequence[int]) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` for a weight of shape ``(..., in, out)``."""
    shape = tuple(shape)
    if len(shape) < 2:
        fail(
            func,
            "shape",
            "at least 2-dimensional (in_features, out_features) to compute fans",
            shape,
            hint="biases have no fan; use zeros or torch_linear_default(..., fan_in=...)",
        )
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _gain(func: str, nonlinearity: str, a: float) -> float:
    """PyTorch's ``calculate_gain`` for the nonlinearities used with Kaiming init."""
    check_choice(func, "nonlinearity", nonlinearity, _NONLINEARITIES)
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    return math.sqrt(2.0 / (1.0 + a**2))


def _kaiming_fan(func: str, shape: Sequence[int], mode: str) -> int:
    check_choice(func, "mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = _fans(func, shape)
    return fan_in if mode == "fan_in" else fan_out


def unit_and_scale(name: str, shape: Sequence[int], **options) -> tuple[str, float]:
    """Describe initialiser ``name`` for a weight of ``shape`` as a unit draw times a scale.

    Returns ``("uniform", bound)`` for ``U(-bound, bound)`` = ``bound * U(-1, 1)``, or
    ``("normal", std)`` for ``std * N(0, 1)``. This is the one place where the formulas live; the
    public initialisers and ``models.init_mlp`` (which draws all layers at once) both use it.

    Args:
        name: ``"xavier_uniform"``, ``"xavier_normal"``, ``"kaiming_uniform"``,
            ``"kaiming_normal"`` or ``"torch_linear_default"``.
        shape: weight shape ``(..., in, out)``.
        **options: the keyword options of that initialiser (``gain``; ``a``, ``mode``,
            ``nonlinearity``; ``fan_in``).

    Returns:
        ``(distribution, scale)``: ``"uniform"`` or ``"normal"``, and a float.

    Raises:
        ValueError: unknown ``name``, a shape with too few dimensions, or a bad option.

    Example:
        >>> unit_and_scale("xavier_uniform", (3, 5))  # U(-sqrt(6 / 8), sqrt(6 / 8))
        ('uniform', 0.8660254037844386)
    """
    if name in ("xavier_uniform", "xavier_normal"):
        gain = options.get("gain", 1.0)
        fan_in, fan_out = _fans(name, shape)
        if name == "xavier_uniform":
            return "uniform", gain * math.sqrt(6.0 / (fan_in + fan_out))
        return "normal", gain * math.sqrt(2.0 / (fan_in + fan_out))
    if name in ("kaiming_uniform", "kaiming_normal"):
        fan = _kaiming_fan(name, shape, options.get("mode", "fan_in"))
        gain = _gain(name, options.get("nonlinearity", "leaky_relu"), options.get("a", 0.0))
        if name == "kaiming_uniform":
            return "uniform", gain * math.sqrt(3.0 / fan)
        return "normal", gain / math.sqrt(fan)
    if name == "torch_linear_default":
        fan_in = options.get("fan_in")
        if fan_in is None:
            if len(tuple(shape)) < 2:
                fail(name, "fan_in", "given for a 1-D (bias) shape", None, hint="pass fan_in=in_features")
            fan_in = _fans(name, shape)[0]
        if isinstance(fan_in, bool) or not isinstance(fan_in, int) or fan_in <= 0:
            fail(name, "fan_in", "a positive integer", repr(fan_in))
        return "uniform", 1.0 / math.sqrt(fan_in)
    fail("unit_and_scale", "name", "the name of a fan-based initialiser", repr(name))


def _draw(key: PRNGKey, shape: Sequence[int], dtype, name: str, **options) -> Array:
    """Check the arguments (naming the initialiser), then draw ``shape`` from ``name``'s distribution."""
    check_key(name, key)
    shape = check_shape(name, "shape", shape)
    dtype = check_float_dtype(name, "dtype", dtype)
    for opt in ("gain", "a"):
        if opt in options:
            options[opt] = check_number(name, opt, options[opt])
    dist, scale = unit_and_scale(name, shape, **options)
    if dist == "uniform":
        return scale * jax.random.uniform(key, tuple(shape), dtype, minval=-1.0, maxval=1.0)
    return scale * jax.random.normal(key, tuple(shape), dtype)


def xavier_uniform(key: PRNGKey, shape: Sequence[int], dtype=jnp.float32, *, gain: float = 1.0) -> Array:
    """Glorot/Xavier uniform: ``U(-b, b)`` with ``b = gain * sqrt(6 / (fan_in + fan_out))``.

    Same distribution as ``torch.nn.init.xavier_uniform_`` (the tutorial's ``initialize_weights``).

    Args:
        key: PRNG key.
        shape: weight shape ``(in_features, out_features)`` (or ``(..., in, out)``).
        dtype: floating dtype of the result.
        gain: scale factor (``torch.nn.init.calculate_gain``).

    Returns:
        Array of ``shape`` and ``dtype``.

    Raises:
        ValueError: if ``shape`` has fewer than 2 dimensions.

    Example:
        >>> w = xavier_uniform(jax.random.key(0), (784, 128))
    """
    return _draw(key, shape, dtype, "xavier_uniform", gain=gain)


def xavier_normal(key: PRNGKey, shape: Sequence[int], dtype=jnp.float32, *, gain: float = 1.0) -> Array:
    """Glorot/Xavier normal: ``N(0, std^2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Same distribution as ``torch.nn.init.xavier_normal_`` (not truncated).

    Args:
        key: PRNG key.
        shape: weight shape ``(in_features, out_features)`` (or ``(..., in, out)``).
        dtype: floating dtype of the result.
        gain: scale factor.

    Returns:
        Array of ``shape`` and ``dtype``.

    Raises:
        ValueError: if ``shape`` has fewer than 2 dimensions.

    Example:
        >>> w = xavier_normal(jax.random.key(0), (784, 128))
    """
    return _draw(key, shape, dtype, "xavier_normal", gain=gain)


def kaiming_uniform(
    key: PRNGKey,
    shape: Sequence[int],
    dtype=jnp.float32,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> Array:
    """He/Kaiming uniform: ``U(-b, b)`` with ``b = gain * sqrt(3 / fan)``.

    Same arguments and defaults as ``torch.nn.init.kaiming_uniform_`` (``a=0``, ``fan_in``,
    ``leaky_relu`` → ``gain = sqrt(2)``).

    Args:
        key: PRNG key.
        shape: weight shape ``(in_features, out_features)`` (or ``(..., in, out)``).
        dtype: floating dtype of the result.
        a: negative slope of the leaky ReLU (used only for ``nonlinearity="leaky_relu"``).
        mode: ``"fan_in"`` (preserve forward variance) or ``"fan_out"`` (backward).
        nonlinearity: one of ``"linear"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``.

    Returns:
        Array of ``shape`` and ``dtype``.

    Raises:
        ValueError: if ``shape`` has fewer than 2 dimensions or ``mode``/``nonlinearity`` is unknown.

    Example:
        >>> w = kaiming_uniform(jax.random.key(0), (784, 128))
    """
    return _draw(key, shape, dtype, "kaiming_uniform", a=a, mode=mode, nonlinearity=nonlinearity)


def kaiming_normal(
    key: PRNGKey,
    shape: Sequence[int],
    dtype=jnp.float32,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> Array:
    """He/Kaiming normal: ``N(0, std^2)`` with ``std = gain / sqrt(fan)`` (not truncated).

    Same arguments and defaults as ``torch.nn.init.kaiming_normal_``.

    Args:
        key: PRNG key.
        shape: weight shape ``(in_features, out_features)`` (or ``(..., in, out)``).
        dtype: floating dtype of the result.
        a: negative slope of the leaky ReLU (used only for ``nonlinearity="leaky_relu"``).
        mode: ``"fan_in"`` or ``"fan_out"``.
        nonlinearity: one of ``"linear"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``.

    Returns:
        Array of ``shape`` and ``dtype``.

    Raises:
        ValueError: if ``shape`` has fewer than 2 dimensions or ``mode``/``nonlinearity`` is unknown.

    Example:
        >>> w = kaiming_normal(jax.random.key(0), (784, 128))
    """
    return _draw(key, shape, dtype, "kaiming_normal", a=a, mode=mode, nonlinearity=nonlinearity)


def zeros(key: PRNGKey, shape: Sequence[int], dtype=jnp.float32) -> Array:
    """All zeros (``torch.nn.init.zeros_``); ``key`` is accepted for a uniform signature and ignored.

    Args:
        key: PRNG key (unused).
        shape: any shape, e.g. a bias ``(out_features,)``.
        dtype: dtype of the result.

    Returns:
        Zero array of ``shape`` and ``dtype``.

    Example:
        >>> zeros(None, (3,))
        Array([0., 0., 0.], dtype=float32)
    """
    del key
    return jnp.zeros(check_shape("zeros", "shape", shape, allow_zero=True), dtype)


def torch_linear_default(
    key: PRNGKey, shape: Sequence[int], dtype=jnp.float32, *, fan_in: int | None = None
) -> Array:
    """``torch.nn.Linear``'s default initialisation, for its weight or its bias.

    ``nn.Linear.reset_parameters`` draws the weight with ``kaiming_uniform_(a=sqrt(5))`` and the
    bias from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; both work out to the same distribution
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = in_features``.

    * Weight: pass a shape ``(in_features, out_features)``; ``fan_in`` defaults to ``shape[-2]``
      (times the receptive field for higher-rank shapes).
    * Bias: pass a shape ``(out_features,)`` **and** ``fan_in=in_features`` (a bias alone does not
      know its layer's input size).

    Args:
        key: PRNG key.
        shape: ``(in_features, out_features)`` for a weight or ``(out_features,)`` for a bias.
        dtype: floating dtype of the result.
        fan_in: number of inputs of the layer; required for 1-D (bias) shapes.

    Returns:
        Array of ``shape`` and ``dtype`` drawn from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    Raises:
        ValueError: if ``shape`` is 1-D without ``fan_in``, or ``fan_in`` is not a positive integer.

    Example:
        >>> kw, kb = jax.random.split(jax.random.key(0))
        >>> w = torch_linear_default(kw, (784, 128))
        >>> b = torch_linear_default(kb, (128,), fan_in=784)
    """
    return _draw(key, shape, dtype, "torch_linear_default", fan_in=fan_in)
