"""API edges found by PyTorch's test databases and by hand: each refused clearly, or done as torch does."""

import numpy as np
import pytest

import scratchnet
from scratchnet import optim
from scratchnet.gates import gate_data

from .optional import optional, optional_names

torch = optional("torch")
compare_forward, compare_gradients, compare_training, twin = optional_names(
    "compare", "compare_forward", "compare_gradients", "compare_training", "twin"
)


def test_linear_takes_its_input_by_name_and_backward_follows_it():
    layer = scratchnet.Linear(3, 2, dtype=np.float64, rng=0)
    x = np.random.default_rng(0).standard_normal((4, 3))
    g = np.random.default_rng(1).standard_normal((4, 2))
    y = layer(input=x)
    assert np.array_equal(y, layer(x))
    layer(input=x)
    grad = layer.backward(g)
    theirs = twin(layer)
    x_t = torch.tensor(x, requires_grad=True)
    theirs(input=x_t).backward(torch.tensor(g))
    np.testing.assert_allclose(grad, x_t.grad.numpy(), rtol=1e-13)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"lr": np.array(0.1)}, TypeError, "lr must be a number"),
        ({"lr": torch.tensor(0.1)}, TypeError, "tensors are not supported"),
        ({"lr": float("inf")}, ValueError, "lr must be finite"),
        ({"lr": True}, TypeError, "lr must be a number"),
        ({"momentum": float("nan")}, ValueError, "momentum must be finite"),
        ({"nesterov": "yes"}, TypeError, "nesterov must be True or False"),
        ({"foreach": False}, TypeError, "foreach"),
    ],
)
def test_optimizer_options_are_checked_when_made_not_at_step(options, error, message):
    with pytest.raises(error, match=message):
        optim.SGD([scratchnet.Parameter(np.ones(2))], **options)


def test_adam_betas_are_checked():
    p = scratchnet.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="betas must be a pair"):
        optim.Adam([p], betas=(0.9,))
    with pytest.raises(TypeError, match=r"betas\[1\] must be a number"):
        optim.Adam([p], betas=(0.9, torch.tensor(0.99)))


def test_compare_training_needs_at_least_one_step():
    x, target = gate_data("xor")
    net = scratchnet.Net(rng=0)
    for steps in (0, -3):
        with pytest.raises(ValueError, match="steps must be >= 1"):
            compare_training(net, twin(net), x, target, steps=steps)
    with pytest.raises(ValueError, match=r"target must have shape \(4, 1\)"):
        compare_training(net, twin(net), x, target.ravel(), steps=1)


@pytest.mark.parametrize(
    "x, error",
    [("abc", TypeError), (None, TypeError), (np.ones((2, 2), complex), TypeError), ([[1, "a"]], TypeError),
     (np.ones((2, 3)), ValueError), (np.float32(1), ValueError)],
)  # fmt: skip
def test_the_comparisons_take_the_inputs_linear_takes(x, error):
    net = scratchnet.Net(rng=0)
    for compare in (compare_forward, compare_gradients):
        with pytest.raises(error):
            compare(net, twin(net), x)
