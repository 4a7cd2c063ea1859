"""Initialisers: shapes/dtypes, and distributions against PyTorch's own draws (fixed seeds).

The oracle is torch itself: we draw from ``torch.nn.init.*`` (or ``nn.Linear``) on the transposed
``(out, in)`` tensor and compare the two samples with a two-sample Kolmogorov-Smirnov test; the
support of uniform draws is checked against torch's documented closed-form bound, computed with
torch's own fan and gain helpers.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from helpers import assert_close
from scipy import stats

import jnnbasics as jb

SHAPE = (400, 100)  # (in, out): fan_in != fan_out, so a transposed fan would be caught
P_MIN = 1e-3  # KS p-value threshold; fixed seeds make the test deterministic


def _torch_sample(init_fn, shape_in_out, **kw):
    torch.manual_seed(0)
    t = torch.empty(shape_in_out[1], shape_in_out[0], dtype=torch.float64)
    init_fn(t, **kw)
    return t.numpy().T


def _ks_same(ours, theirs):
    res = stats.ks_2samp(np.ravel(np.asarray(ours, np.float64)), np.ravel(theirs))
    assert res.pvalue > P_MIN, f"KS statistic {res.statistic:.4f}, p={res.pvalue:.2e}"


def _torch_fans(shape_in_out):
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape_in_out[1], shape_in_out[0]))


CASES = {
    "xavier_uniform": (jb.xavier_uniform, {}, torch.nn.init.xavier_uniform_, {}),
    "xavier_uniform_gain": (jb.xavier_uniform, {"gain": 2.0}, torch.nn.init.xavier_uniform_, {"gain": 2.0}),
    "xavier_normal": (jb.xavier_normal, {}, torch.nn.init.xavier_normal_, {}),
    "kaiming_uniform": (jb.kaiming_uniform, {}, torch.nn.init.kaiming_uniform_, {}),
    "kaiming_uniform_relu_fan_out": (
        jb.kaiming_uniform,
        {"mode": "fan_out", "nonlinearity": "relu"},
        torch.nn.init.kaiming_uniform_,
        {"mode": "fan_out", "nonlinearity": "relu"},
    ),
    "kaiming_normal": (jb.kaiming_normal, {}, torch.nn.init.kaiming_normal_, {}),
    "kaiming_normal_leaky": (
        jb.kaiming_normal,
        {"a": 0.2, "nonlinearity": "leaky_relu"},
        torch.nn.init.kaiming_normal_,
        {"a": 0.2, "nonlinearity": "leaky_relu"},
    ),
    "kaiming_normal_tanh": (
        jb.kaiming_normal,
        {"nonlinearity": "tanh"},
        torch.nn.init.kaiming_normal_,
        {"nonlinearity": "tanh"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_distribution_matches_torch(case, dtype):
    ours_fn, ours_kw, torch_fn, torch_kw = CASES[case]
    w = ours_fn(jax.random.key(1), SHAPE, dtype, **ours_kw)  # eager: shares jax.random's compiled draw
    assert w.shape == SHAPE and w.dtype == dtype
    _ks_same(w, _torch_sample(torch_fn, SHAPE, **torch_kw))


@pytest.mark.parametrize(
    "case", ["xavier_uniform", "xavier_uniform_gain", "kaiming_uniform", "kaiming_uniform_relu_fan_out"]
)
def test_uniform_support_matches_torch_documented_bound(case):
    ours_fn, ours_kw, _, _ = CASES[case]
    fan_in, fan_out = _torch_fans(SHAPE)
    if case.startswith("xavier"):
        bound = ours_kw.get("gain", 1.0) * math.sqrt(6.0 / (fan_in + fan_out))
    else:
        fan = fan_out if ours_kw.get("mode") == "fan_out" else fan_in
        gain = torch.nn.init.calculate_gain(ours_kw.get("nonlinearity", "leaky_relu"), 0)
        bound = gain * math.sqrt(3.0 / fan)
    w = np.asarray(ours_fn(jax.random.key(2), SHAPE, **ours_kw))
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    assert np.abs(w).max() > 0.99 * bound  # fills the support
    # and is uniform on it
    assert stats.kstest(w.ravel(), stats.uniform(-bound, 2 * bound).cdf).pvalue > P_MIN


def test_torch_linear_default_weight_and_bias_match_nn_linear():
    n_in, n_out = 400, 100
    torch.manual_seed(0)
    lin = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
    w = jb.torch_linear_default(jax.random.key(3), (n_in, n_out))
    assert w.shape == (n_in, n_out)
    _ks_same(w, lin.weight.detach().numpy().T)
    # biases: 100 per layer, so pool 40 layers' worth (a (4000,) bias with fan_in 400)
    b = jb.torch_linear_default(jax.random.key(4), (n_out * 40,), fan_in=n_in)
    ref = np.concatenate(
        [torch.nn.Linear(n_in, n_out, dtype=torch.float64).bias.detach().numpy() for _ in range(40)]
    )
    assert b.shape == ref.shape
    _ks_same(b, ref)
    bound = 1 / math.sqrt(n_in)  # the closed form in nn.Linear.reset_parameters
    assert np.abs(np.asarray(w)).max() <= bound and np.abs(np.asarray(b)).max() <= bound


def test_normal_moments_match_torch_closed_form(dtype):
    # xavier_normal std = sqrt(2/(fan_in+fan_out)); kaiming_normal std = sqrt(2/fan_in), torch's docs
    fan_in, fan_out = _torch_fans(SHAPE)
    n = SHAPE[0] * SHAPE[1]
    for fn, std in [
        (jb.xavier_normal, math.sqrt(2.0 / (fan_in + fan_out))),
        (jb.kaiming_normal, torch.nn.init.calculate_gain("relu") / math.sqrt(fan_in)),
    ]:
        w = np.asarray(fn(jax.random.key(4), SHAPE, dtype), np.float64)
        assert abs(w.mean()) < 5 * std / math.sqrt(n)
        assert abs(w.std() / std - 1) < 5 * math.sqrt(1 / (2 * n))


def test_same_key_same_draw_different_key_different_draw():
    a = jb.xavier_uniform(jax.random.key(0), SHAPE)
    b = jb.xavier_uniform(jax.random.key(0), SHAPE)
    c = jb.xavier_uniform(jax.random.key(1), SHAPE)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_zeros(dtype):
    z = jb.zeros(jax.random.key(0), (3, 4), dtype)
    assert z.dtype == dtype and np.array_equal(z, np.zeros((3, 4)))


def test_higher_rank_fans_follow_torch_receptive_field():
    # our (..., in, out) vs torch's (out, in, ...): fan_in = in * receptive field in both
    shape = (3, 3, 20, 40)  # (h, w, in, out), like jax.nn.initializers' conv layout
    torch.manual_seed(0)
    t = torch.empty(40, 20, 3, 3, dtype=torch.float64)
    torch.nn.init.kaiming_uniform_(t)
    _ks_same(jb.kaiming_uniform(jax.random.key(5), shape), t.numpy())


def test_initializers_under_jit_and_vmap():
    keys = jax.random.split(jax.random.key(0), 3)
    ws, w0 = jax.jit(
        lambda ks: (jax.vmap(lambda k: jb.xavier_uniform(k, (4, 5)))(ks), jb.xavier_uniform(ks[0], (4, 5)))
    )(keys)
    assert ws.shape == (3, 4, 5)
    assert not np.array_equal(ws[0], ws[1])
    assert np.array_equal(ws[0], w0)


@pytest.mark.parametrize("fn", [jb.xavier_uniform, jb.xavier_normal, jb.kaiming_uniform, jb.kaiming_normal])
def test_fan_initialisers_refuse_1d_shapes(fn):
    with pytest.raises(ValueError, match=r"shape must be at least 2-dimensional .* got \(5,\)"):
        fn(jax.random.key(0), (5,))


def test_torch_linear_default_bias_needs_fan_in():
    with pytest.raises(
        ValueError, match=r"torch_linear_default: fan_in must be given for a 1-D \(bias\) shape"
    ):
        jb.torch_linear_default(jax.random.key(0), (5,))
    with pytest.raises(ValueError, match="fan_in must be a positive integer, got 0"):
        jb.torch_linear_default(jax.random.key(0), (5,), fan_in=0)


def test_kaiming_bad_options():
    with pytest.raises(
        ValueError, match=r"kaiming_uniform: mode must be one of 'fan_in', 'fan_out', got 'fan_avg'"
    ):
        jb.kaiming_uniform(jax.random.key(0), (3, 4), mode="fan_avg")
    with pytest.raises(
        ValueError, match=r"kaiming_normal: nonlinearity must be one of .*'leaky_relu', got 'selu'"
    ):
        jb.kaiming_normal(jax.random.key(0), (3, 4), nonlinearity="selu")


def test_init_dtype_is_respected_under_x64(dtype):
    w = jb.kaiming_uniform(jax.random.key(0), (3, 4), dtype)
    assert w.dtype == jnp.dtype(dtype)


@pytest.mark.parametrize(
    "name, options, dist",
    [
        ("xavier_uniform", {"gain": 2.0}, "uniform"),
        ("xavier_normal", {}, "normal"),
        ("kaiming_uniform", {"mode": "fan_out", "nonlinearity": "relu"}, "uniform"),
        ("kaiming_normal", {"a": 0.2}, "normal"),
        ("torch_linear_default", {}, "uniform"),
    ],
)
def test_unit_and_scale_matches_torch_closed_forms(name, options, dist):
    from jnnbasics.initializers import unit_and_scale

    fan_in, fan_out = _torch_fans(SHAPE)
    gain = torch.nn.init.calculate_gain(options.get("nonlinearity", "leaky_relu"), options.get("a", 0.0))
    fan = fan_out if options.get("mode") == "fan_out" else fan_in
    expected = {
        "xavier_uniform": options.get("gain", 1.0) * math.sqrt(6.0 / (fan_in + fan_out)),
        "xavier_normal": math.sqrt(2.0 / (fan_in + fan_out)),
        "kaiming_uniform": gain * math.sqrt(3.0 / fan),
        "kaiming_normal": gain / math.sqrt(fan),
        "torch_linear_default": 1.0 / math.sqrt(fan_in),
    }[name]
    got_dist, scale = unit_and_scale(name, SHAPE, **options)
    assert got_dist == dist
    assert_close(scale, expected, np.float64)


def test_unit_and_scale_refuses_unknown_names():
    from jnnbasics.initializers import unit_and_scale

    with pytest.raises(ValueError, match="unit_and_scale: name must be the name of a fan-based initialiser"):
        unit_and_scale("zeros", SHAPE)
