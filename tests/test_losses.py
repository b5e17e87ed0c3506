"""Losses: values and gradients as torch's, stable at large logits, clear about bad input."""

import warnings

import numpy as np
import pytest
import torch

import scratchnet
from scratchnet import BCEWithLogitsLoss, MSELoss

PAIRS = [(MSELoss, torch.nn.MSELoss), (BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("ours, theirs", PAIRS, ids=["mse", "bce"])
@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_value_and_gradient_match_torch(ours, theirs, reduction, dtype, scale):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, 3)) * scale).astype(dtype)
    target = rng.random((5, 3)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # logits of +-1000: no overflow
        criterion = ours(reduction=reduction)
        loss = criterion(x, target)
        grad = criterion.backward()
    x_t = torch.tensor(x, requires_grad=True)
    loss_t = theirs(reduction=reduction)(x_t, torch.tensor(target))
    loss_t.backward()
    eps = np.finfo(dtype).eps
    assert np.isfinite(loss) and loss.dtype == dtype
    np.testing.assert_allclose(loss, loss_t.item(), rtol=20 * x.size * eps)
    np.testing.assert_allclose(grad, x_t.grad.numpy(), rtol=20 * eps, atol=20 * eps * np.abs(x_t.grad.numpy()).max())


def test_bce_at_huge_logits_is_exact():
    criterion = BCEWithLogitsLoss(reduction="sum")
    assert criterion(np.array([1000.0, -1000.0]), [1.0, 0.0]) == 0.0
    assert criterion(np.array([1000.0]), [0.0]) == 1000.0
    np.testing.assert_array_equal(criterion.backward(), [1.0])


def test_training_chain_through_a_network():
    net = scratchnet.Net(rng=0)
    criterion = MSELoss()
    x, target = np.ones((4, 2), np.float32), np.zeros((4, 1))
    loss = criterion(net(x), target.tolist())
    grad_y = criterion.backward()
    assert grad_y.shape == (4, 1)
    dx = net.backward(grad_y)
    assert dx.shape == (4, 2) and net.fc1.weight.grad is not None and loss > 0


def test_empty_mean_is_nan_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(MSELoss()(np.zeros((0, 1)), np.zeros((0, 1))))


@pytest.mark.parametrize("criterion", [MSELoss(), BCEWithLogitsLoss()])
def test_shape_and_dtype_errors(criterion):
    with pytest.raises(ValueError, match=r"same shape; got \(3, 1\) and \(3,\)"):
        criterion(np.zeros((3, 1), np.float32), np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="target"):
        criterion(np.zeros(3, np.float32), np.zeros(3, np.float64))


def test_reduction_is_checked():
    with pytest.raises(ValueError, match="reduction must be one of"):
        MSELoss(reduction="none")
