"""torch <-> jnnbasics parameter conversion: round trips, key layouts, dtypes, errors."""

import subprocess
import sys
from collections import OrderedDict

import jax
import numpy as np
import pytest
import torch
import torch.nn as nn
from helpers import assert_close, assert_trees_close

import jnnbasics as jb


def _tdtype(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


def _sequential(dtype, dropout=False):
    torch.manual_seed(0)
    between = [nn.ReLU(), nn.Dropout(0.2)] if dropout else [nn.ReLU()]
    return nn.Sequential(nn.Linear(4, 6), *between, nn.Linear(6, 5), *between, nn.Linear(5, 2)).to(
        _tdtype(dtype)
    )


class Named(nn.Module):  # the tutorial's SimpleNN layout: named layers
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(3, 8)
        self.relu = nn.ReLU()
        self.layer2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.layer2(self.relu(self.layer1(x)))


def _assert_state_dicts_equal(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert torch.equal(a[k], b[k]), k


def test_round_trip_sequential(dtype):
    net = _sequential(dtype)
    params = jb.params_from_torch(net)
    assert [p["w"].shape for p in params] == [(4, 6), (6, 5), (5, 2)]
    assert all(leaf.dtype == dtype for leaf in jax.tree_util.tree_leaves(params))
    # weights are transposed, values unchanged
    assert np.array_equal(params[1]["w"], net[2].weight.detach().numpy().T)
    assert np.array_equal(params[1]["b"], net[2].bias.detach().numpy())
    _assert_state_dicts_equal(jb.params_to_torch(params), net.state_dict())  # keys 0, 2, 4
    _assert_state_dicts_equal(jb.params_to_torch(params, template=net), net.state_dict())


def test_round_trip_with_dropout_template(dtype):
    net = _sequential(dtype, dropout=True)  # keys 0, 3, 6
    params = jb.params_from_torch(net.state_dict())
    assert list(jb.params_to_torch(params)) == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "4.weight",
        "4.bias",
    ]
    out = jb.params_to_torch(params, template=net.state_dict())
    _assert_state_dicts_equal(out, net.state_dict())


def test_named_layers_and_load_state_dict(dtype):
    torch.manual_seed(1)
    net = Named().to(_tdtype(dtype))
    params = jb.params_from_torch(net)
    fresh = Named().to(_tdtype(dtype))
    fresh.load_state_dict(jb.params_to_torch(params, template=fresh))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(dtype)
    assert_close(fresh(torch.tensor(x)).detach(), net(torch.tensor(x)).detach(), dtype)
    assert_close(jb.simple_nn(3, 8, 2).apply(params, x), net(torch.tensor(x)).detach(), dtype)


def test_jnnbasics_params_round_trip(dtype):
    params = jb.init_mlp(jax.random.key(0), [3, 7, 2], init="torch_default", dtype=dtype)
    state = jb.params_to_torch(params)
    assert state["2.weight"].shape == (2, 7) and state["2.weight"].dtype == _tdtype(dtype)
    assert_trees_close(jb.params_from_torch(state), params, dtype)


def test_import_jnnbasics_does_not_import_torch():
    code = "import sys, jnnbasics; sys.exit(int(any(m in sys.modules for m in ('torch', 'sklearn', 'matplotlib'))))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- bad input ---------------------------------------------------------------------------------------
def test_template_that_does_not_fit():
    params = jb.params_from_torch(_sequential(np.float32))
    with pytest.raises(
        ValueError,
        match=r"params_to_torch: template must be a state dict with 6 entries \(weight and bias of 3 layers\), got 4 entries",
    ):
        jb.params_to_torch(params, template=Named())
    wrong = OrderedDict((k, v) for k, v in _sequential(np.float32).state_dict().items())
    wrong["2.weight"] = torch.zeros(5, 7)
    with pytest.raises(
        ValueError,
        match=r"params_to_torch: template entry '2.weight' must be of shape \(5, 6\) \(from params\), got \(5, 7\)",
    ):
        jb.params_to_torch(params, template=wrong)
    with pytest.raises(
        TypeError, match=r"params_to_torch: template must be a torch.nn.Module or a state dict, got list"
    ):
        jb.params_to_torch(params, template=[1, 2])
    with pytest.raises(
        TypeError, match=r"params_to_torch: params\[0\] must be a dict with keys \"w\" and \"b\""
    ):
        jb.params_to_torch([{"weight": 1}])


def test_state_dicts_that_are_not_linear_stacks():
    with pytest.raises(
        ValueError,
        match=r"params_from_torch: entry '1.weight' must be a Linear weight \(out, in\) or its bias \(out,\), got shape \(6,\); only stacks of nn.Linear",
    ):
        jb.params_from_torch(nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6)))
    with pytest.raises(ValueError, match=r"params_from_torch: entry '0.weight' must be followed by its bias"):
        jb.params_from_torch(nn.Sequential(nn.Linear(4, 6, bias=False), nn.Linear(6, 2)))
    with pytest.raises(
        ValueError,
        match=r"params_from_torch: entry '1.weight' must be of shape \(out, 6\) to follow the previous layer, got \(2, 5\)",
    ):
        jb.params_from_torch(nn.Sequential(nn.Linear(4, 6), nn.Linear(5, 2)))
    with pytest.raises(
        ValueError,
        match=r"params_from_torch: module_or_state_dict must be a stack of at least one nn.Linear layer",
    ):
        jb.params_from_torch(nn.Sequential(nn.ReLU()))
    with pytest.raises(
        TypeError,
        match=r"params_from_torch: module_or_state_dict must be a torch.nn.Module or a state dict, got int",
    ):
        jb.params_from_torch(3)
