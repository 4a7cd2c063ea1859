"""Multi-layer perceptrons as ``(init, apply)`` pairs over plain parameter pytrees.

Parameters are a list of dense layers ``[{"w": (in, out), "b": (out,)}, ...]`` (``w`` is the
transpose of ``torch.nn.Linear.weight``). :func:`mlp_apply` runs them; :class:`Model` bundles an
initialiser and an apply function with the metadata (layer sizes, activation, dropout rate,
default loss) that the training code uses to rebuild the apply function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import initializers
from ._checks import (
    as_array,
    check_choice,
    check_float_dtype,
    check_key,
    check_ndim,
    check_positive_int,
    check_rate,
    fail,
)
from ._types import Params, PRNGKey
from .activations import ACTIVATIONS, get_activation
from .losses import LOSS_TYPES
from .tasks import LOSS_OF_TASK, TASKS

Array = jax.Array

INITS: tuple[str, ...] = (
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "torch_default",
)
"""Names accepted by ``init_mlp(..., init=...)``."""

PROBLEM_TYPES: tuple[str, ...] = TASKS
"""Names accepted by :func:`select_architecture`: the tasks of :mod:`jnnbasics.tasks`."""


class Model(NamedTuple):
    """A network as a named pair of pure functions, plus the metadata that describes it.

    Attributes:
        init: ``init(key) -> params``.
        apply: ``apply(params, x, *, key=None, train=False) -> outputs``; ``x`` of shape
            ``(batch, layer_sizes[0])`` or ``(layer_sizes[0],)``.
        layer_sizes: ``(in, hidden..., out)``.
        activation: hidden activation name (see ``ACTIVATIONS``).
        dropout_rate: drop probability after each hidden activation in training.
        loss_type: default loss name for training (``None``: the caller must choose).

    Asking the model what it needs: code that runs a model (the training loop) calls
    :meth:`needs_key` instead of checking the apply function's type. An apply function declares
    that it never uses a PRNG key by having an attribute ``needs_key`` that is false (e.g. a
    property, as :class:`MLPApply` has: true only with dropout); a plain function has no such
    attribute and is assumed to need one, so it is always given a key in training.
    """

    init: Callable[[PRNGKey], Params]
    apply: Callable[..., Array]
    layer_sizes: tuple[int, ...] = ()
    activation: str = "relu"
    dropout_rate: float = 0.0
    loss_type: str | None = None

    def needs_key(self) -> bool:
        """Whether ``apply(..., train=True)`` needs a PRNG ``key`` (e.g. for dropout).

        Returns:
            ``self.apply.needs_key`` when the apply function declares it, otherwise ``True``.

        Example:
            >>> mlp([2, 8, 1]).needs_key(), mlp([2, 8, 1], dropout_rate=0.5).needs_key()
            (False, True)
        """
        return bool(getattr(self.apply, "needs_key", True))


def _check_layer_sizes(func: str, layer_sizes: Any) -> tuple[int, ...]:
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        fail(
            func,
            "layer_sizes",
            "a sequence of at least 2 positive integers",
            repr(layer_sizes),
            exc=TypeError,
        )
    if len(sizes) < 2:
        fail(
            func,
            "layer_sizes",
            "a sequence of at least 2 positive integers (inputs, ..., outputs)",
            repr(layer_sizes),
        )
    for i, s in enumerate(sizes):
        check_positive_int(func, f"layer_sizes[{i}]", s)
    return tuple(int(s) for s in sizes)


def _layer_segments(layer_sizes: tuple[int, ...], init: str) -> list[tuple[tuple[int, ...], float]]:
    """(shape, scale) of every randomly drawn array, in draw order: w1, [b1,] w2, [b2,] ..."""
    segments = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        if init == "torch_default":
            _, bound = initializers.unit_and_scale("torch_linear_default", (n_in, n_out))
            segments += [((n_in, n_out), bound), ((n_out,), bound)]
        else:
            segments.append(((n_in, n_out), initializers.unit_and_scale(init, (n_in, n_out))[1]))
    return segments


def _init_mlp_impl(key: PRNGKey, layer_sizes: tuple[int, ...], init: str, dtype: np.dtype) -> Params:
    # One random draw for the whole network, sliced per array: a single random kernel compiles
    # several times faster than one per layer (this dominates the first call's cost).
    segments = _layer_segments(layer_sizes, init)
    total = sum(math.prod(shape) for shape, _ in segments)
    if init in ("xavier_normal", "kaiming_normal"):
        unit = jax.random.normal(key, (total,), dtype)
    else:
        unit = jax.random.uniform(key, (total,), dtype, minval=-1.0, maxval=1.0)
    arrays, offset = [], 0
    for shape, scale in segments:
        size = math.prod(shape)
        arrays.append(scale * unit[offset : offset + size].reshape(shape))
        offset += size
    if init == "torch_default":
        return [{"w": w, "b": b} for w, b in zip(arrays[::2], arrays[1::2], strict=True)]
    return [{"w": w, "b": jnp.zeros((w.shape[1],), dtype)} for w in arrays]


_STATIC = ("layer_sizes", "init", "dtype")
_init_mlp_jit = jax.jit(_init_mlp_impl, static_argnames=_STATIC)
# On CPU, XLA's default LLVM optimisation makes compiling the random kernel cost ~0.25 s, more than
# everything else of a first init; at level 0 it compiles in a fraction of that and the (bit-exact,
# integer) random kernel still runs in about a millisecond.
# Above this size the level-0 kernel's run time (0.23 s for the 6.3M parameters of a
# [1024, 2048, 2048, 10] net) outweighs the compile time it saves.
_FAST_COMPILE_MAX_PARAMS = 1_000_000
_init_mlp_jit_cpu = jax.jit(
    _init_mlp_impl, static_argnames=_STATIC, compiler_options={"xla_backend_optimization_level": 0}
)


def init_mlp(
    key: PRNGKey, layer_sizes: Sequence[int], *, init: str = "xavier_uniform", dtype=jnp.float32
) -> Params:
    """Initialise MLP parameters ``[{"w": (in, out), "b": (out,)}, ...]``.

    Weights follow ``init``; biases are zero for Xavier/Kaiming (as the tutorial's
    ``initialize_weights``), and ``"torch_default"`` draws weight and bias from the distribution
    ``torch.nn.Linear`` uses (``U(-1/sqrt(in), 1/sqrt(in))`` for both). The whole initialiser is
    one compiled function (cached per sizes/init/dtype) that makes a single random draw for all
    layers and slices it, so even the first call is fast; the numbers therefore differ from calling
    the single-array initialisers layer by layer with split keys, but the distributions are the same
    and the same key gives the same parameters.

    Args:
        key: PRNG key.
        layer_sizes: ``(in, hidden..., out)``, at least 2 positive integers.
        init: one of ``"xavier_uniform"``, ``"xavier_normal"``, ``"kaiming_uniform"``,
            ``"kaiming_normal"`` (PyTorch's defaults: ``a=0``, ``fan_in``), ``"torch_default"``.
        dtype: floating dtype of the parameters (float64 needs ``jax_enable_x64``).

    Returns:
        A list with one ``{"w", "b"}`` dict per layer.

    Raises:
        ValueError: ``layer_sizes`` has fewer than 2 entries or a non-positive size; unknown ``init``.
        TypeError: ``dtype`` is not a floating dtype.

    Example:
        >>> params = init_mlp(jax.random.key(0), [784, 128, 10])
        >>> [p["w"].shape for p in params]
        [(784, 128), (128, 10)]
    """
    sizes = _check_layer_sizes("init_mlp", layer_sizes)
    check_choice("init_mlp", "init", init, INITS)
    np_dtype = check_float_dtype("init_mlp", "dtype", dtype)
    check_key("init_mlp", key)
    if isinstance(key, jax.core.Tracer):  # inside someone's jit/vmap: just trace the body
        return _init_mlp_impl(key, sizes, init, np_dtype)
    n_params = sum(m * n + n for m, n in zip(sizes[:-1], sizes[1:]))
    if jax.default_backend() == "cpu" and n_params <= _FAST_COMPILE_MAX_PARAMS:
        try:
            return _init_mlp_jit_cpu(key, sizes, init, np_dtype)
        except ValueError as err:  # called under an outer jit with a concrete key: no options there
            if "compiler_options" not in str(err):
                raise
    return _init_mlp_jit(key, sizes, init, np_dtype)


def dropout(key: PRNGKey | None, x: Array, rate: float | Array, *, train: bool = True) -> Array:
    """Inverted dropout: zero each entry with probability ``rate``, scale the rest by ``1/(1-rate)``.

    ``rate`` is the **drop** probability (as in ``torch.nn.Dropout(p)``), not the keep probability.
    The expected value of every entry is preserved. With ``train=False`` or ``rate == 0`` the input
    is returned unchanged and no randomness is used (``key`` may be ``None``). ``rate`` may be a
    traced scalar (e.g. under ``vmap`` over rates); a traced rate of 0 gives the identity.

    Args:
        key: PRNG key; required when ``train`` and ``rate > 0`` (or ``rate`` is traced).
        x: array of any shape, e.g. activations ``(batch, features)``.
        rate: drop probability in ``[0, 1)``; ``1.0`` is refused (it would drop everything).
        train: apply dropout only in training mode.

    Returns:
        Array of ``x``'s shape and dtype.

    Raises:
        ValueError: ``rate`` outside ``[0, 1)``, or no ``key`` when dropout is applied.

    Example:
        >>> y = dropout(jax.random.key(0), jnp.ones((2, 4)), 0.5)  # entries are 0 or 2
    """
    rate = check_rate("dropout", "rate", rate)
    traced = isinstance(rate, jax.core.Tracer)
    if not train or (not traced and rate == 0.0):
        return x
    if key is None:
        fail("dropout", "key", "a PRNG key when train=True and rate > 0", None)
    check_key("dropout", key)
    keep = jax.random.bernoulli(key, 1.0 - rate, jnp.shape(x))
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros((), jnp.result_type(x)))


def check_params(func: str, params: Any) -> None:
    """Raise, naming ``func``, unless ``params`` is a well-formed MLP parameter list.

    Well-formed: a non-empty list (or tuple) of ``{"w": (in, out), "b": (out,)}`` dicts in which each
    layer's ``in`` is the previous layer's ``out``. Only shapes are looked at (no tracing).

    Args:
        func: the calling function's name, for the message.
        params: the parameters to check.

    Raises:
        TypeError: ``params`` is not a non-empty list of dicts with keys ``"w"`` and ``"b"``.
        ValueError: a layer has badly shaped arrays or does not follow the previous one.
    """
    if not isinstance(params, (list, tuple)) or not params:
        fail(func, "params", 'a non-empty list of {"w", "b"} layers', type(params).__name__, exc=TypeError)
    for i, layer in enumerate(params):
        if not isinstance(layer, dict) or "w" not in layer or "b" not in layer:
            fail(func, f"params[{i}]", 'a dict with keys "w" and "b"', repr(layer)[:80], exc=TypeError)
        w, b = layer["w"], layer["b"]
        if np.ndim(w) != 2 or np.shape(b) != (np.shape(w)[1],):
            fail(
                func,
                f"params[{i}]",
                'a layer with "w" of shape (in, out) and "b" of shape (out,)',
                f"w {np.shape(w)}, b {np.shape(b)}",
            )
        if i and np.shape(w)[0] != np.shape(params[i - 1]["w"])[1]:
            fail(
                func,
                f"params[{i}]['w']",
                f"of shape ({np.shape(params[i - 1]['w'])[1]}, ...) to follow the previous layer",
                f"shape {np.shape(w)}",
            )


def mlp_apply(
    params: Params,
    x: Array,
    *,
    activation: str = "relu",
    dropout_rate: float | Array = 0.0,
    key: PRNGKey | None = None,
    train: bool = False,
) -> Array:
    """Run an MLP: ``x @ w + b`` per layer, ``activation`` after every layer but the last.

    In training (``train=True``) with ``dropout_rate > 0``, inverted :func:`dropout` follows each
    hidden activation (as the tutorial's ``DropoutMLP``); ``key`` is split once into one key per
    hidden layer (``jax.random.split(key, n_hidden)``). ``dropout_rate`` may be a traced scalar
    (``vmap`` over rates): then dropout is applied whenever ``train=True`` (rate 0 is the identity).

    Args:
        params: ``[{"w": (in, out), "b": (out,)}, ...]``, e.g. from :func:`init_mlp`.
        x: inputs of shape ``(batch, in)`` or ``(in,)``.
        activation: hidden activation name, one of ``ACTIVATIONS``.
        dropout_rate: drop probability in ``[0, 1)``.
        key: PRNG key; required when dropout is applied.
        train: training mode (dropout on).

    Returns:
        Outputs of shape ``(batch, out)`` or ``(out,)`` (raw, no final activation).

    Raises:
        ValueError: ``x``'s last dimension differs from the first layer's input size; ``x`` not 1-D
            or 2-D; bad ``activation``; ``dropout_rate`` outside ``[0, 1)``; dropout without ``key``.
        TypeError: malformed ``params``.

    Example:
        >>> params = init_mlp(jax.random.key(0), [3, 8, 2])
        >>> mlp_apply(params, jnp.ones((5, 3))).shape
        (5, 2)
    """
    func = "mlp_apply"
    check_params(func, params)
    x = as_array(func, "x", x)
    check_ndim(func, "x", x, (1, 2))
    n_in = np.shape(params[0]["w"])[0]
    if np.shape(x)[-1] != n_in:
        raise ValueError(
            f"{func}: x must have {n_in} features in its last dimension (the first layer's input size, "
            f"layer_sizes[0]), got x of shape {tuple(np.shape(x))}; reshape x or rebuild the model."
        )
    check_choice(func, "activation", activation, ACTIVATIONS)
    rate = check_rate(func, "dropout_rate", dropout_rate)
    traced = isinstance(rate, jax.core.Tracer)
    use_dropout = train and (traced or rate > 0.0)
    n_hidden = len(params) - 1
    if use_dropout and key is None:
        fail(func, "key", "a PRNG key when train=True and dropout_rate > 0", None)
    if use_dropout:
        check_key(func, key)
    after = hidden_maps(n_hidden, activation=activation, dropout_rate=rate, key=key if use_dropout else None)
    h = x
    for i, layer in enumerate(params):
        h = h @ layer["w"] + layer["b"]
        if i < n_hidden:
            h = after[i](h)
    return h


def hidden_maps(
    n_hidden: int, *, activation: str, dropout_rate: float | Array = 0.0, key: PRNGKey | None = None
) -> list[Callable[[Array], Array]]:
    """The elementwise map after each hidden layer's ``h @ w + b``: the activation, then dropout.

    The one definition of an MLP's hidden nonlinearity, shared by :func:`mlp_apply` and by the
    training step's closed-form backward of the dense stack (which differentiates each map with
    ``jax.vjp``). With a ``key``, inverted :func:`dropout` at ``dropout_rate`` follows the activation,
    each hidden layer with its own key (``jax.random.split(key, n_hidden)``); without one, no dropout.

    Args:
        n_hidden: number of hidden layers (``len(params) - 1``).
        activation: one of ``ACTIVATIONS``.
        dropout_rate: drop probability in ``[0, 1)``, possibly traced.
        key: PRNG key for dropout, or None (evaluation, or no dropout).

    Returns:
        ``n_hidden`` functions ``z (batch, width) -> h (batch, width)``.
    """
    act = get_activation(activation)
    if key is None or not n_hidden:
        return [act] * n_hidden
    keys = jax.random.split(key, n_hidden)
    return [lambda z, k=k: dropout(k, act(z), dropout_rate, train=True) for k in keys]


def mlp(
    layer_sizes: Sequence[int],
    *,
    activation: str = "relu",
    dropout_rate: float = 0.0,
    init: str = "xavier_uniform",
    loss_type: str | None = None,
) -> Model:
    """A multi-layer perceptron (the tutorial's ``MLP``; ``DropoutMLP`` when ``dropout_rate > 0``).

    Args:
        layer_sizes: ``(in, hidden..., out)``, at least 2 positive integers.
        activation: hidden activation, one of ``ACTIVATIONS``.
        dropout_rate: drop probability in ``[0, 1)`` after each hidden activation in training.
        init: weight initialiser for ``model.init`` (see :func:`init_mlp`); the default Xavier
            uniform with zero biases is the tutorial's ``initialize_weights``.
        loss_type: default loss for training, one of ``LOSS_TYPES`` or ``None``.

    Returns:
        A :class:`Model` with ``init(key)`` and ``apply(params, x, *, key=None, train=False)``.

    Raises:
        ValueError: bad ``layer_sizes``, ``activation``, ``dropout_rate``, ``init`` or ``loss_type``.

    Example:
        >>> model = mlp([4, 16, 3])
        >>> params = model.init(jax.random.key(0))
        >>> model.apply(params, jnp.ones((2, 4))).shape
        (2, 3)
    """
    sizes = _check_layer_sizes("mlp", layer_sizes)
    check_choice("mlp", "activation", activation, ACTIVATIONS)
    rate = check_rate("mlp", "dropout_rate", dropout_rate)
    check_choice("mlp", "init", init, INITS)
    if loss_type is not None:
        check_choice("mlp", "loss_type", loss_type, LOSS_TYPES)

    return Model(MLPInit(sizes, init), MLPApply(activation, rate), sizes, activation, rate, loss_type)


@dataclass(frozen=True)
class MLPInit:
    """``init(key) -> params`` of an MLP, as a value: two equal MLPs have equal (hashable) inits,
    so ``jax.jit`` caches keyed on them (``train_model``'s) compile once for both."""

    layer_sizes: tuple[int, ...]
    init: str = "xavier_uniform"

    def __call__(self, key: PRNGKey) -> Params:
        return init_mlp(key, self.layer_sizes, init=self.init)


@dataclass(frozen=True)
class MLPApply:
    """``apply(params, x, *, key=None, train=False)`` of an MLP, as a hashable value (see MLPInit)."""

    activation: str = "relu"
    dropout_rate: float = 0.0

    @property
    def needs_key(self) -> bool:
        """Only dropout uses a key: true when ``dropout_rate > 0`` (see :meth:`Model.needs_key`)."""
        return self.dropout_rate > 0

    def __call__(self, params: Params, x: Array, *, key: PRNGKey | None = None, train: bool = False) -> Array:
        return mlp_apply(
            params, x, activation=self.activation, dropout_rate=self.dropout_rate, key=key, train=train
        )


def simple_nn(input_size: int, hidden_size: int, output_size: int, *, init: str = "xavier_uniform") -> Model:
    """The tutorial's ``SimpleNN``: Linear → ReLU → Linear.

    Initialised like every jnnbasics model with the tutorial's ``initialize_weights`` (Xavier
    uniform weights, zero biases), so the models of :func:`select_architecture` all start alike.
    Pass ``init="torch_default"`` to draw exactly as a freshly constructed torch ``SimpleNN``.

    Args:
        input_size: number of input features.
        hidden_size: number of hidden units.
        output_size: number of outputs.
        init: weight initialiser (see :func:`init_mlp`).

    Returns:
        A :class:`Model` with layer sizes ``(input_size, hidden_size, output_size)``.

    Raises:
        ValueError: a size is not a positive integer, or ``init`` is unknown.

    Example:
        >>> model = simple_nn(10, 64, 1)
    """
    for name, value in (
        ("input_size", input_size),
        ("hidden_size", hidden_size),
        ("output_size", output_size),
    ):
        check_positive_int("simple_nn", name, value)
    return mlp([input_size, hidden_size, output_size], activation="relu", init=init)


def dropout_mlp(layer_sizes: Sequence[int], dropout_rate: float = 0.5) -> Model:
    """The tutorial's ``DropoutMLP``: ReLU MLP with dropout after each hidden activation.

    Args:
        layer_sizes: ``(in, hidden..., out)``.
        dropout_rate: drop probability in ``[0, 1)`` (PyTorch's ``nn.Dropout(p)``), default 0.5.

    Returns:
        A :class:`Model`; call ``apply(params, x, key=key, train=True)`` in training.

    Raises:
        ValueError: bad ``layer_sizes`` or ``dropout_rate``.

    Example:
        >>> model = dropout_mlp([4, 32, 2], dropout_rate=0.2)
    """
    return mlp(layer_sizes, activation="relu", dropout_rate=dropout_rate)


def select_architecture(input_size: int, output_size: int, problem_type: str) -> tuple[Model, str]:
    """The tutorial's ``select_architecture``, returning the model and its default loss name.

    * ``"binary"`` → ``simple_nn(input_size, 64, 1)`` and ``"bce_with_logits"``. The tutorial's
      network has no sigmoid yet is trained with ``BCELoss``; we keep the raw-logit output and use
      the stable logits form of BCE instead.
    * ``"multiclass"`` → ``mlp([input_size, 128, 64, output_size])`` and ``"cross_entropy"``.
    * ``"regression"`` → ``mlp([input_size, 64, 32, 1])`` and ``"mse"``.

    As in the tutorial, ``output_size`` is used only for ``"multiclass"`` (binary and regression
    have one output). The returned model's ``loss_type`` is set to the loss name.

    Args:
        input_size: number of input features.
        output_size: number of classes (multiclass); ignored otherwise.
        problem_type: ``"binary"``, ``"multiclass"`` or ``"regression"``.

    Returns:
        ``(model, loss_type)``.

    Raises:
        ValueError: unknown ``problem_type`` or non-positive sizes.

    Example:
        >>> model, loss_type = select_architecture(20, 3, "multiclass")
        >>> model.layer_sizes, loss_type
        ((20, 128, 64, 3), 'cross_entropy')
    """
    func = "select_architecture"
    check_positive_int(func, "input_size", input_size)
    check_positive_int(func, "output_size", output_size)
    check_choice(func, "problem_type", problem_type, PROBLEM_TYPES)
    if problem_type == "binary":
        model = simple_nn(input_size, 64, 1)
    elif problem_type == "multiclass":
        model = mlp([input_size, 128, 64, output_size])
    else:
        model = mlp([input_size, 64, 32, 1])
    loss = LOSS_OF_TASK[problem_type]
    return model._replace(loss_type=loss), loss
