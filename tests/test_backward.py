"""Backward by hand against torch autograd: every gradient, every architecture, and the rules around it."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchnet
from scratchnet import BackwardError
from scratchnet import functional as F

from .optional import optional, optional_names
from .strategies import architectures, batch_shapes, seeds, unsaturated_inputs

torch = optional("torch")
torchnet = optional("torchnet")
compare_gradients, twin = optional_names("compare", "compare_gradients", "twin")


@given(architectures(), batch_shapes, seeds)
def test_gradients_equal_autograd_within_derived_tolerance(arch, batch_shape, seed):
    mine = scratchnet.build(arch.architecture, dtype=arch.dtype, rng=seed)
    theirs = twin(mine)
    x = unsaturated_inputs(seed, batch_shape + (arch.sizes[0],), arch.dtype)
    report = compare_gradients(mine, theirs, x, rng=seed)
    assert report.passed, str(report)
    assert report.values["input"]["scratchnet"].shape == x.shape


def test_article_net_gradients():
    mine = scratchnet.Net(rng=0)
    report = compare_gradients(mine, twin(mine), np.random.default_rng(1).standard_normal((8, 2)), rng=2)
    assert report.passed, str(report)
    assert [c.name for c in report.comparisons] == [
        "input",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
        "fc3.weight",
        "fc3.bias",
    ]


def test_relu_slope_at_zero_is_zero_inside_a_network():
    """Zero first-layer weights and biases put every hidden pre-activation exactly at the kink."""
    mine = scratchnet.Net(dtype=np.float64, rng=0)
    state = mine.state_dict()
    state["fc1.weight"][:] = 0
    state["fc1.bias"][:] = 0
    mine.load_state_dict(state)
    report = compare_gradients(mine, twin(mine), np.ones((3, 2)), rng=0)
    assert report.passed, str(report)
    np.testing.assert_array_equal(mine.fc1.weight.grad, 0)


EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1000.0, -1000.0, 1.0, -1.0, 1e-3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activation_derivatives_at_edges_match_torch(name, dtype):
    x = EDGES.astype(dtype)
    upstream = np.linspace(-2, 2, x.size).astype(dtype)
    t = torch.tensor(x, requires_grad=True)
    getattr(torch, name)(t).backward(torch.tensor(upstream))
    output = getattr(F, name)(x)
    mine = getattr(F, f"{name}_backward")(upstream, output)
    assert mine.dtype == dtype
    np.testing.assert_allclose(mine, t.grad.numpy(), rtol=4 * np.finfo(dtype).eps, atol=0, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(mine), np.isnan(t.grad.numpy()))


def test_relu_backward_at_zero_is_zero_not_one_half():
    assert F.relu_backward(np.array([5.0]), F.relu(np.array([0.0])))[0] == 0.0


def test_heaviside_backward_is_zero_in_both_frameworks():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(F.heaviside_backward(np.array([1.0, 2.0, 3.0])), 0)
    t = torch.tensor(x, requires_grad=True)
    torchnet.Heaviside()(t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), 0)


def test_linear_backward_formulas_with_leading_dimensions():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4))
    g = rng.standard_normal((2, 3, 5))  # random, not ones: a transposed dW would show
    dx, dw, db = F.linear_backward(g, x, w)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == (5,)
    np.testing.assert_allclose(dw, sum(g[i].T @ x[i] for i in range(2)))
    np.testing.assert_allclose(db, g.sum(axis=(0, 1)))
    np.testing.assert_allclose(dx, g @ w)


@pytest.mark.parametrize("shape", [(2,), (4, 2), (2, 3, 2), (0, 2)])
def test_backward_returns_input_shaped_gradient(shape):
    net = scratchnet.Net(rng=0)
    x = np.ones(shape, np.float32)
    y = net(x)
    dx = net.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == np.float32
    if x.size == 0:
        for _, param in net.named_parameters():
            np.testing.assert_array_equal(param.grad, 0)


def test_list_input_gets_a_gradient():
    net = scratchnet.Linear(2, 1, rng=0)
    net([[1, 2], [3, 4]])
    dx = net.backward([[1.0], [1.0]])
    np.testing.assert_array_equal(dx, np.broadcast_to(net.weight.data, (2, 2)))


def test_backward_modifies_neither_gradient_nor_input():
    net = scratchnet.MLP((3, 4, 2), "sigmoid", rng=0)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    g = np.random.default_rng(1).standard_normal((5, 2)).astype(np.float32)
    x_before, g_before = x.copy(), g.copy()
    net(x)
    net.backward(g)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(g, g_before)


def test_gradients_accumulate_and_zero_grad_clears():
    net = scratchnet.Net(rng=0)
    x, g = np.ones((3, 2), np.float32), np.ones((3, 1), np.float32)
    assert all(p.grad is None for p in net.parameters())
    net(x)
    net.backward(g)
    first = {name: p.grad.copy() for name, p in net.named_parameters()}
    net(x)
    net.backward(g)
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * first[name], rtol=1e-6)
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_torch_accumulates_the_same_way():
    net = torchnet.Net()
    x = torch.ones(3, 2)
    net(x).sum().backward()
    first = net.fc1.weight.grad.clone()
    net(x).sum().backward()
    torch.testing.assert_close(net.fc1.weight.grad, 2 * first)


def test_backward_without_forward_or_twice_or_under_no_grad():
    net = scratchnet.Net(rng=0)
    with pytest.raises(BackwardError, match="needs a recorded forward pass"):
        net.backward(np.ones((1, 1), np.float32))
    net(np.ones((1, 2), np.float32))
    net.backward(np.ones((1, 1), np.float32))
    with pytest.raises(BackwardError, match="one backward"):
        net.backward(np.ones((1, 1), np.float32))
    with scratchnet.no_grad():
        net(np.ones((1, 2), np.float32))
    with pytest.raises(BackwardError):
        net.backward(np.ones((1, 1), np.float32))


def test_bad_upstream_gradient_changes_nothing():
    net = scratchnet.Net(rng=0)
    net(np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"output's shape \(3, 1\); got \(3,\)"):
        net.backward(np.ones(3, np.float32))
    with pytest.raises(TypeError, match="float32"):
        net.backward(np.ones((3, 1), np.float64))
    with pytest.raises(ValueError, match="omitted only for a scalar"):
        net.backward()
    assert all(p.grad is None for p in net.parameters())
    assert net.backward(np.ones((3, 1), np.float32)).shape == (3, 2)  # the forward is still there


def test_an_unrecorded_operation_is_refused_not_silently_wrong():
    class Scaled(scratchnet.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = scratchnet.Linear(2, 3, rng=0), scratchnet.Linear(3, 1, rng=1)

        def forward(self, x):
            return self.fc2(self.fc1(x) * 2)  # NumPy's *, not recorded

    net = Scaled()
    net(np.ones((1, 2), np.float32))
    with pytest.raises(BackwardError, match="does not record"):
        net.backward(np.ones((1, 1), np.float32))
    assert all(p.grad is None for p in net.parameters())


def test_no_grad_keeps_nothing_and_restores():
    net = scratchnet.Net(rng=0)
    with scratchnet.no_grad():
        assert not scratchnet.is_grad_enabled()
        net(np.ones((2, 2), np.float32))
    assert scratchnet.is_grad_enabled()
    with pytest.raises(scratchnet.BackwardError, match="needs a recorded forward pass"):
        net.backward(np.ones((2, 1), np.float32))  # nothing was recorded


@given(st.sampled_from(["relu", "sigmoid", "tanh", "identity"]), seeds)
def test_gradcheck_passes_on_correct_networks(activation, seed):
    net = scratchnet.MLP((3, 5, 2), activation, rng=seed)
    x = unsaturated_inputs(seed, (4, 3), np.float64)
    report = scratchnet.gradcheck(net, x, rng=seed, max_checks=50)
    assert report.passed, str(report)


def test_gradcheck_catches_a_wrong_backward(monkeypatch):
    def transposed_dw(grad_output, input, weight):
        dx, dw, db = linear_backward(grad_output, input, weight)
        return dx, dw[::-1], db  # rows in the wrong order

    linear_backward = F.linear_backward
    monkeypatch.setattr(F, "linear_backward", transposed_dw)
    report = scratchnet.gradcheck(scratchnet.MLP((3, 4, 2), "tanh", rng=0), np.ones((2, 3)), rng=0)
    assert not report.passed
    assert "FAIL" in str(report)


def test_gradcheck_report_and_arguments():
    net = scratchnet.Net(rng=0)
    report = scratchnet.gradcheck(net, np.ones((2, 2)), rng=0)
    assert [c.name for c in report.checks][:2] == ["input", "fc1.weight"]
    assert "verdict: PASS" in str(report)
    assert net.fc1.weight.grad is None  # the network itself is not touched
    big = scratchnet.Linear(50, 50, rng=0)
    assert scratchnet.gradcheck(big, np.ones(50), max_checks=30, rng=0).checks[1].checked == 30
    with pytest.raises(ValueError, match="output's shape"):
        scratchnet.gradcheck(net, np.ones((2, 2)), grad_output=np.ones(3))


def test_db_from_the_kept_ones_at_any_batch_and_dtype():
    """``db`` is summed as ``ones @ g`` from one kept, read-only vector of ones: right after a longer batch, a
    shorter one, another dtype; and nobody can write into the kept vector."""
    from scratchnet import functional as F

    rng = np.random.default_rng(0)
    for rows, dtype in [(3000, np.float64), (20, np.float64), (5000, np.float32), (17, np.float32), (2, np.float64)]:
        g = rng.standard_normal((rows, 3)).astype(dtype)
        x = rng.standard_normal((rows, 2)).astype(dtype)
        _, _, db = F.linear_backward(g, x, np.ones((3, 2), dtype))
        assert db.dtype == dtype
        np.testing.assert_allclose(db, g.sum(axis=0, dtype=np.float64), rtol=1e-4 if dtype == np.float32 else 1e-12)
    with pytest.raises(ValueError, match="read-only"):
        F._ones(4, np.dtype(np.float32))[0] = 2
