"""MLP models: forward and gradients against torch nn.Sequential, init distributions, dropout."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn as nn
from helpers import assert_close, assert_trees_close
from scipy import stats

import jnnbasics as jb

TORCH_ACT = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def torch_sequential(layer_sizes, activation="relu", dtype=np.float32, seed=0):
    torch.manual_seed(seed)
    layers = []
    for i, (m, n) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        layers.append(nn.Linear(m, n))
        if i < len(layer_sizes) - 2:
            layers.append(TORCH_ACT[activation]())
    return nn.Sequential(*layers).to(torch.float64 if dtype == np.float64 else torch.float32)


def torch_grads(net):
    return [
        {"w": lin.weight.grad.numpy().T, "b": lin.bias.grad.numpy()}
        for lin in net
        if isinstance(lin, nn.Linear)
    ]


# --- the tutorial's classes, verbatim apart from indentation --------------------------------------
class SimpleNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.layer1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.layer2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        x = self.layer1(x)
        x = self.relu(x)
        x = self.layer2(x)
        return x


class MLP(nn.Module):
    def __init__(self, layer_sizes):
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(len(layer_sizes) - 1):
            self.layers.append(nn.Linear(layer_sizes[i], layer_sizes[i + 1]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = nn.ReLU()(x)
        return x


# --- forward and gradient parity --------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer_sizes,activation",
    [
        ((5, 16, 3), "relu"),
        ((5, 32, 16, 8, 2), "relu"),
        ((4, 12, 12, 1), "tanh"),
        ((4, 12, 12, 3), "sigmoid"),
        ((6, 10, 10, 2), "gelu"),
        ((6, 10, 10, 2), "leaky_relu"),
    ],
)
def test_mlp_apply_matches_torch_sequential_values_and_grads(layer_sizes, activation, dtype):
    net = torch_sequential(layer_sizes, activation, dtype)
    params = jb.params_from_torch(net)
    assert params[0]["w"].dtype == dtype
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, layer_sizes[0])).astype(dtype)
    y = rng.standard_normal((7, layer_sizes[-1])).astype(dtype)

    xt = torch.tensor(x)
    out_t = net(xt)
    loss_t = nn.MSELoss()(out_t, torch.tensor(y))
    loss_t.backward()

    @jax.jit
    def forward_and_grads(p, x, y):
        def loss_fn(p):
            out = jb.mlp_apply(p, x, activation=activation)
            return jb.mse(out, y), out

        (loss, out), grads = jax.value_and_grad(loss_fn, has_aux=True)(p)
        return out, loss, grads

    out, loss, grads = forward_and_grads(params, x, y)
    assert_close(out, out_t.detach(), dtype)
    assert_close(loss, loss_t.detach(), dtype)
    assert_trees_close(grads, torch_grads(net), dtype, kind="grad")


def test_mlp_apply_single_sample_matches_batched_row(dtype):
    net = torch_sequential((3, 8, 2), dtype=dtype)
    params = jb.params_from_torch(net)
    x = np.random.default_rng(1).standard_normal(3).astype(dtype)
    out = jb.mlp_apply(params, x)
    assert out.shape == (2,)
    assert_close(out, net(torch.tensor(x)).detach(), dtype)


def test_tutorial_simple_nn_and_mlp_classes(dtype):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    for net, model in [
        (SimpleNN(6, 64, 1), jb.simple_nn(6, 64, 1)),
        (MLP([6, 128, 64, 3]), jb.mlp([6, 128, 64, 3])),
    ]:
        net = net.to(tdt)
        params = jb.params_from_torch(net)
        x = rng.standard_normal((5, 6)).astype(dtype)
        assert_close(jax.jit(model.apply)(params, x), net(torch.tensor(x)).detach(), dtype)


# --- init_mlp --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "init", ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "torch_default"]
)
def test_init_mlp_shapes_dtypes_and_biases(init, dtype):
    params = jb.init_mlp(jax.random.key(0), [7, 5, 3], init=init, dtype=dtype)
    assert [(p["w"].shape, p["b"].shape) for p in params] == [((7, 5), (5,)), ((5, 3), (3,))]
    assert all(leaf.dtype == dtype for leaf in jax.tree_util.tree_leaves(params))
    biases_zero = all(not np.any(np.asarray(p["b"])) for p in params)
    assert biases_zero == (init != "torch_default")


TORCH_INIT = {
    "xavier_uniform": torch.nn.init.xavier_uniform_,
    "xavier_normal": torch.nn.init.xavier_normal_,
    "kaiming_uniform": torch.nn.init.kaiming_uniform_,
    "kaiming_normal": torch.nn.init.kaiming_normal_,
}


@pytest.mark.parametrize("init", sorted(TORCH_INIT) + ["torch_default"])
def test_init_mlp_distributions_match_torch_per_layer(init):
    sizes = [300, 200, 50]
    params = jb.init_mlp(jax.random.key(1), sizes, init=init)
    torch.manual_seed(0)
    for layer, (m, n) in zip(params, zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(m, n, dtype=torch.float64)  # torch_default: nn.Linear's own draw
        if init != "torch_default":
            TORCH_INIT[init](lin.weight)
        assert stats.ks_2samp(np.ravel(layer["w"]), lin.weight.detach().numpy().ravel()).pvalue > 1e-3
    if init == "torch_default":  # biases: all layers pooled, against a wide nn.Linear's bias draw
        b = np.asarray(params[0]["b"]) * math.sqrt(sizes[0])  # scale to U(-1, 1)
        ref = nn.Linear(1, 5000, dtype=torch.float64).bias.detach().numpy()  # fan_in 1: U(-1, 1)
        assert stats.ks_2samp(b, ref).pvalue > 1e-3


def test_init_mlp_same_key_same_params_and_keys_differ():
    a = jb.init_mlp(jax.random.key(0), [4, 8, 2])
    b = jb.init_mlp(jax.random.key(0), (4, 8, 2))
    c = jb.init_mlp(jax.random.key(1), [4, 8, 2])
    assert_trees_close(a, b)
    assert not np.array_equal(a[0]["w"], c[0]["w"])
    assert not np.array_equal(a[0]["w"][:, :2], a[1]["w"][:4].T)  # layers are not copies
    raw = jb.init_mlp(jax.random.PRNGKey(0), [4, 8, 2])  # raw uint32 keys work too
    assert raw[0]["w"].shape == (4, 8)


def test_init_mlp_under_jit_and_vmap_gives_the_same_params():
    key = jax.random.key(0)
    eager = jb.init_mlp(key, [3, 4, 2])
    traced, stacked = jax.jit(
        lambda k, ks: (jb.init_mlp(k, [3, 4, 2]), jax.vmap(lambda k: jb.init_mlp(k, [3, 4, 2]))(ks))
    )(key, jnp.stack([key, key]))
    assert_trees_close(traced, eager)
    assert_trees_close(jax.tree_util.tree_map(lambda a: a[1], stacked), eager)
    assert_trees_close(jax.jit(lambda: jb.init_mlp(key, [3, 4, 2]))(), eager)  # concrete key, outer jit


_jit_dropout = jax.jit(jb.dropout)


# --- dropout -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_statistics(rate, dtype):
    n = 200_000
    x = np.ones((n,), dtype)
    # rate passed traced: one compile per dtype (the concrete-rate path is checked below)
    y = np.asarray(_jit_dropout(jax.random.key(0), x, rate), np.float64)
    zeros = np.mean(y == 0)
    # binomial bound on the fraction of dropped units (5 standard deviations)
    assert abs(zeros - rate) < 5 * math.sqrt(rate * (1 - rate) / n)
    # kept units are scaled by 1/(1-rate) (inverted dropout), so E[y] = x
    kept = y[y != 0]
    assert_close(kept, np.full(kept.shape, 1 / (1 - rate)), dtype)
    assert abs(y.mean() - 1.0) < 5 * math.sqrt(rate / (1 - rate) / n)
    assert _jit_dropout(jax.random.key(0), x, rate).dtype == dtype


def test_dropout_keys_and_modes():
    x = jnp.arange(1.0, 101.0)
    k0, k1 = jax.random.key(0), jax.random.key(1)
    a, b, c = jax.jit(
        lambda k0, k1: (jb.dropout(k0, x, 0.5), jb.dropout(k0, x, 0.5), jb.dropout(k1, x, 0.5))
    )(k0, k1)
    assert np.array_equal(a, b)
    assert set(np.unique(np.asarray(a) / np.asarray(x))) == {0.0, 2.0}
    assert not np.array_equal(np.asarray(a) == 0, np.asarray(c) == 0)
    # no randomness at all in eval mode or at rate 0: no key needed, input returned as is
    assert jb.dropout(None, x, 0.5, train=False) is x
    assert jb.dropout(None, x, 0.0) is x


def test_dropout_gradient_is_mask_over_keep_prob():
    x = jnp.linspace(1.0, 2.0, 50)
    drop = lambda v: jb.dropout(jax.random.key(3), v, 0.25)
    y, g = jax.jit(lambda v: (drop(v), jax.grad(lambda u: jnp.sum(drop(u)))(v)))(x)
    assert_close(g, np.where(np.asarray(y) != 0, 1 / 0.75, 0.0))


def test_dropout_with_traced_rate_zero_is_identity():
    x = jnp.linspace(-1.0, 1.0, 20)
    out, concrete = jax.jit(
        lambda rates: (
            jax.vmap(lambda r: jb.dropout(jax.random.key(0), x, r))(rates),
            jb.dropout(jax.random.key(0), x, 0.5),
        )
    )(jnp.array([0.0, 0.5]))
    assert np.array_equal(out[0], x)
    assert_close(out[1], concrete)


def test_mlp_apply_dropout_contract():
    sizes = [4, 16, 16, 3]
    params = jb.init_mlp(jax.random.key(0), sizes, init="torch_default")
    x = jnp.asarray(np.random.default_rng(0).standard_normal((6, 4)), jnp.float32)

    @jax.jit
    def run(params, x, key):
        plain = jb.mlp_apply(params, x)
        evals = jb.mlp_apply(params, x, dropout_rate=0.5)  # eval mode: no dropout
        rate0 = jb.mlp_apply(params, x, dropout_rate=0.0, train=True)  # rate 0: no dropout
        # train mode: one key per hidden layer, from jax.random.split(key, n_hidden)
        keys = jax.random.split(key, 2)
        h = x
        for i, layer in enumerate(params):
            h = h @ layer["w"] + layer["b"]
            if i < 2:
                h = jb.dropout(keys[i], jnp.maximum(h, 0), 0.5)
        trained = jb.mlp_apply(params, x, dropout_rate=0.5, key=key, train=True)
        # vmap over dropout rates (train_many)
        rows = jax.vmap(lambda r: jb.mlp_apply(params, x, dropout_rate=r, key=key, train=True))(
            jnp.array([0.0, 0.5])
        )
        return plain, evals, rate0, h, trained, rows

    plain, evals, rate0, manual, trained, rows = run(params, x, jax.random.key(7))
    assert_close(evals, plain)
    assert_close(rate0, plain)
    assert_close(trained, manual)
    assert not np.allclose(trained, plain)
    assert_close(rows[0], plain)
    assert_close(rows[1], trained)


def test_dropout_mlp_model_matches_torch_in_eval_mode(dtype):
    net = torch_sequential((5, 16, 8, 2), dtype=dtype)
    torch_dropout = nn.Sequential(
        net[0], net[1], nn.Dropout(0.3), net[2], net[3], nn.Dropout(0.3), net[4]
    ).eval()
    params = jb.params_from_torch(torch_dropout)
    model = jb.dropout_mlp([5, 16, 8, 2], dropout_rate=0.3)
    x = np.random.default_rng(3).standard_normal((4, 5)).astype(dtype)
    assert_close(model.apply(params, x), torch_dropout(torch.tensor(x)).detach(), dtype)


# --- constructors and metadata -----------------------------------------------------------------------
def test_model_constructors_and_metadata():
    m = jb.mlp([3, 5, 2], activation="tanh", dropout_rate=0.2, loss_type="cross_entropy")
    assert isinstance(m, jb.Model)
    assert (m.layer_sizes, m.activation, m.dropout_rate, m.loss_type) == (
        (3, 5, 2),
        "tanh",
        0.2,
        "cross_entropy",
    )
    params = m.init(jax.random.key(0))
    x = np.ones((2, 3))
    assert_close(m.apply(params, x), jb.mlp_apply(params, x, activation="tanh"))
    key = jax.random.key(1)
    assert_close(
        m.apply(params, x, key=key, train=True),
        jb.mlp_apply(params, x, activation="tanh", dropout_rate=0.2, key=key, train=True),
    )

    s = jb.simple_nn(4, 64, 1)
    assert (s.layer_sizes, s.activation, s.dropout_rate) == ((4, 64, 1), "relu", 0.0)
    sp = s.init(jax.random.key(0))
    assert not np.any(np.asarray(sp[0]["b"]))  # Xavier + zero bias (the tutorial's initialize_weights)
    assert np.any(np.asarray(jb.simple_nn(4, 64, 1, init="torch_default").init(jax.random.key(0))[0]["b"]))

    d = jb.dropout_mlp([4, 8, 2])
    assert (d.layer_sizes, d.dropout_rate) == ((4, 8, 2), 0.5)


@pytest.mark.parametrize(
    "problem,sizes,loss",
    [
        ("binary", (10, 64, 1), "bce_with_logits"),
        ("multiclass", (10, 128, 64, 4), "cross_entropy"),
        ("regression", (10, 64, 32, 1), "mse"),
    ],
)
def test_select_architecture(problem, sizes, loss):
    model, loss_type = jb.select_architecture(10, 4, problem)
    assert model.layer_sizes == sizes and loss_type == loss and model.loss_type == loss
    params = jax.eval_shape(model.init, jax.random.key(0))  # shapes only: no compilation
    assert [p["w"].shape for p in params] == list(zip(sizes[:-1], sizes[1:]))
    assert jax.eval_shape(model.apply, params, np.ones((3, 10))).shape == (3, sizes[-1])


# --- bad input ---------------------------------------------------------------------------------------
def test_input_feature_mismatch_is_a_clear_error():
    params = jb.init_mlp(jax.random.key(0), [4, 8, 2])
    with pytest.raises(ValueError, match=r"mlp_apply: x must have 4 features .* got x of shape \(5, 3\)"):
        jb.mlp_apply(params, np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"x must have 4 features"):
        jax.jit(jb.mlp([4, 8, 2]).apply)(params, np.ones((3,)))
    with pytest.raises(
        ValueError, match=r"mlp_apply: x must be an array with 1 or 2 dimensions, got shape \(2, 3, 4\)"
    ):
        jb.mlp_apply(params, np.ones((2, 3, 4)))


@pytest.mark.parametrize(
    "sizes,match",
    [
        ([4], r"at least 2 positive integers"),
        ([], r"at least 2"),
        ([4, 0, 2], r"layer_sizes\[1\] must be a positive integer, got 0"),
        ([4, -3], r"layer_sizes\[1\] must be a positive integer, got -3"),
        ([4, 2.5], r"layer_sizes\[1\] must be a positive integer, got 2.5"),
    ],
)
def test_bad_layer_sizes(sizes, match):
    with pytest.raises(ValueError, match=match):
        jb.mlp(sizes)
    with pytest.raises(ValueError, match=match):
        jb.init_mlp(jax.random.key(0), sizes)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_bad_dropout_rate(rate):
    match = r"dropout_rate must be in \[0, 1\) \(the probability of dropping a unit\)"
    with pytest.raises(ValueError, match="mlp: " + match):
        jb.mlp([2, 3, 1], dropout_rate=rate)
    with pytest.raises(ValueError, match="dropout_mlp|mlp: " + match):
        jb.dropout_mlp([2, 3, 1], dropout_rate=rate)
    params = jb.init_mlp(jax.random.key(0), [2, 3, 1])
    with pytest.raises(ValueError, match="mlp_apply: " + match):
        jb.mlp_apply(params, np.ones(2), dropout_rate=rate, key=jax.random.key(0), train=True)
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\)"):
        jb.dropout(jax.random.key(0), np.ones(3), rate)


def test_dropout_without_key_in_training():
    params = jb.init_mlp(jax.random.key(0), [2, 3, 1])
    with pytest.raises(
        ValueError, match="mlp_apply: key must be a PRNG key when train=True and dropout_rate > 0, got None"
    ):
        jb.mlp_apply(params, np.ones(2), dropout_rate=0.5, train=True)
    with pytest.raises(
        ValueError, match="dropout: key must be a PRNG key when train=True and rate > 0, got None"
    ):
        jb.dropout(None, np.ones(3), 0.5)
    with pytest.raises(ValueError, match="key must be a PRNG key"):
        jb.dropout_mlp([2, 3, 1]).apply(params, np.ones(2), train=True)


def test_other_bad_arguments():
    with pytest.raises(
        ValueError, match=r"init_mlp: init must be one of 'xavier_uniform'.*'torch_default', got 'he'"
    ):
        jb.init_mlp(jax.random.key(0), [2, 3], init="he")
    with pytest.raises(TypeError, match=r"init_mlp: dtype must be a floating dtype"):
        jb.init_mlp(jax.random.key(0), [2, 3], dtype=np.int32)
    with pytest.raises(ValueError, match=r"mlp: activation must be one of 'relu'.*got 'swish'"):
        jb.mlp([2, 3], activation="swish")
    with pytest.raises(ValueError, match=r"mlp: loss_type must be one of 'mse'.*got 'hinge'"):
        jb.mlp([2, 3], loss_type="hinge")
    with pytest.raises(
        ValueError,
        match=r"select_architecture: problem_type must be one of 'binary', 'multiclass', 'regression', got 'ranking'",
    ):
        jb.select_architecture(3, 2, "ranking")
    with pytest.raises(ValueError, match=r"simple_nn: hidden_size must be a positive integer, got 0"):
        jb.simple_nn(3, 0, 1)
    params = jb.init_mlp(jax.random.key(0), [2, 3])
    with pytest.raises(ValueError, match=r"mlp_apply: activation must be one of"):
        jb.mlp_apply(params, np.ones(2), activation="softmax")
    with pytest.raises(TypeError, match=r"mlp_apply: params\[0\] must be a dict with keys \"w\" and \"b\""):
        jb.mlp_apply([{"weight": params[0]["w"]}], np.ones(2))
    with pytest.raises(ValueError, match=r"mlp_apply: params\[1\]\['w'\] must be of shape \(3, ...\)"):
        jb.mlp_apply(params + [{"w": np.ones((4, 2)), "b": np.ones(2)}], np.ones(2))


# --- asking the model what it needs ------------------------------------------------------------------
def test_needs_key_asks_the_apply_function():
    assert jb.mlp([2, 8, 1]).needs_key() is False
    assert jb.simple_nn(2, 8, 1).needs_key() is False
    assert jb.mlp([2, 8, 1], dropout_rate=0.3).needs_key() is True
    assert jb.dropout_mlp([2, 8, 1]).needs_key() is True
    # a plain function declares nothing: it may need a key, so it gets one
    custom = jb.Model(lambda key: [], lambda params, x, *, key=None, train=False: x)
    assert custom.needs_key() is True

    class NoKeyApply:
        needs_key = False

        def __call__(self, params, x, *, key=None, train=False):
            return x

    assert jb.Model(lambda key: [], NoKeyApply()).needs_key() is False


def test_mlp_apply_stays_a_hashable_value_with_needs_key():
    from jnnbasics.models import MLPApply

    a, b = MLPApply("relu", 0.2), MLPApply("relu", 0.2)
    assert a == b and hash(a) == hash(b) and a.needs_key and not MLPApply("relu", 0.0).needs_key
    with pytest.raises(AttributeError):
        a.needs_key = False  # frozen, and a read-only property


def test_problem_types_and_losses_come_from_tasks():
    from jnnbasics.models import PROBLEM_TYPES
    from jnnbasics.tasks import LOSS_OF_TASK, TASKS

    assert PROBLEM_TYPES is TASKS
    for problem in TASKS:
        assert jb.select_architecture(3, 2, problem)[1] == LOSS_OF_TASK[problem]


def test_check_params_names_the_caller_and_the_layer():
    from jnnbasics.models import check_params

    params = jb.init_mlp(jax.random.key(0), [2, 3, 1])
    check_params("f", params)  # well-formed: no error
    with pytest.raises(
        TypeError, match=r"f: params must be a non-empty list of \{\"w\", \"b\"\} layers, got dict"
    ):
        check_params("f", params[0])
    with pytest.raises(ValueError, match=r"f: params\[1\] must be a layer with \"w\" of shape \(in, out\)"):
        check_params("f", [params[0], {"w": np.ones(3), "b": np.ones(1)}])
