"""Losses: values and gradients as torch's, stable at large logits, clear about bad input."""

import warnings

import numpy as np
import pytest

import scratchnet
from scratchnet import BCEWithLogitsLoss, MSELoss

from .optional import optional

torch = optional("torch")


PAIRS = [(MSELoss, torch.nn.MSELoss), (BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
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
        upstream = rng.standard_normal(np.shape(loss)).astype(dtype) if reduction == "none" else None
        grad = criterion.backward(upstream)
    x_t = torch.tensor(x, requires_grad=True)
    loss_t = theirs(reduction=reduction)(x_t, torch.tensor(target))
    loss_t.backward(None if upstream is None else torch.tensor(upstream))
    u = np.finfo(dtype).eps / 2
    n = x.size
    assert np.all(np.isfinite(loss)) and loss.dtype == dtype and np.shape(loss) == tuple(loss_t.shape)
    # The loss: n positive terms, each within about 8 roundings, summed (n - 1 additions) and divided:
    # each side within (n + 8) u of the exact value, so the two within 2 (n + 8) u, relatively.
    if reduction != "none":
        np.testing.assert_allclose(loss, loss_t.detach().numpy(), rtol=2 * (n + 8) * u, atol=0)
    else:  # each element on its own: a few roundings of its operands (BCE's max(x, 0) - x t may cancel)
        terms = (x - target) ** 2 if ours is MSELoss else np.abs(x) * (1 + np.abs(target)) + 1
        assert np.all(np.abs(loss.astype(np.float64) - loss_t.detach().numpy()) <= 2 * 8 * u * terms)
    # The gradient, elementwise: s (a - t) with a = x (MSE) or sigmoid(x) (BCE), s the scale: the
    # difference a - t may cancel, so bound it by its operands, 8 roundings on each side.
    a = x if ours is MSELoss else scratchnet.functional.sigmoid(x.astype(np.float64))
    s = (2.0 if ours is MSELoss else 1.0) / (n if reduction == "mean" else 1)
    s = s * (np.abs(upstream) if upstream is not None else 1)
    bound = 2 * 8 * u * s * (np.abs(a) + np.abs(target))
    assert np.all(np.abs(grad.astype(np.float64) - x_t.grad.numpy()) <= bound)


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


@pytest.mark.parametrize("reduction", ["avg", "Mean", None, 0, ""])
def test_reduction_is_checked_everywhere(reduction):
    """A typo was silently a mean; torch refuses it, and so does every function that takes a reduction."""
    x, t, g = np.ones(3), np.zeros(3), np.ones(())
    F = scratchnet.functional
    for call in (
        lambda: MSELoss(reduction=reduction),
        lambda: BCEWithLogitsLoss(reduction=reduction),
        lambda: F.mse_loss(x, t, reduction),
        lambda: F.binary_cross_entropy_with_logits(x, t, reduction),
        lambda: F.mse_loss_backward(g, x - t, reduction),
        lambda: F.binary_cross_entropy_with_logits_backward(g, x, t, reduction),
    ):
        with pytest.raises(ValueError, match="is not a valid value for reduction"):
            call()
