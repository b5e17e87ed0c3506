"""The article's ``Net`` and an ``MLP`` of any depth, in PyTorch."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from scratchnet._checks import check_activation, check_sizes

__all__ = ["Net", "MLP", "Heaviside", "make_activation"]


class Net(nn.Module):
    """The article's network: 2 -> 4 -> 4 -> 1, ReLU after fc1 and fc2.

    The article names the method ``forword``. ``nn.Module`` then has no
    ``forward`` of its own, so ``net(x)`` raises ``NotImplementedError: Module
    [Net] is missing the required "forward" function`` (checked with torch
    2.13; ``tests/test_article.py`` keeps checking it). ``net.forword(x)``
    would compute the right values but skip ``__call__`` and its hooks. Here
    the method is spelled ``forward``.
    """

    sizes = (2, 4, 4, 1)
    activation_name = "relu"

    def __init__(self):
        super(Net, self).__init__()

        self.fc1 = nn.Linear(2, 4)
        self.fc2 = nn.Linear(4, 4)
        self.fc3 = nn.Linear(4, 1)

    @property
    def layers(self):
        """The Linear layers in order: ``[fc1, fc2, fc3]``."""
        return [self.fc1, self.fc2, self.fc3]

    def forward(self, x):
        y = F.relu(self.fc1(x))
        y = F.relu(self.fc2(y))
        y = self.fc3(y)
        return y


class _Step(torch.autograd.Function):
    """``torch.heaviside`` with a zero gradient (torch has none: "derivative for aten::heaviside is not
    implemented")."""

    @staticmethod
    def forward(x, value):
        return torch.heaviside(x, torch.tensor(value, dtype=x.dtype, device=x.device))

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, grad_output):
        return torch.zeros_like(grad_output), None


class Heaviside(nn.Module):
    """Step: 0 for x < 0, ``value`` at x == 0, 1 for x > 0, via ``torch.heaviside`` (0 at NaN).

    Its gradient is zero everywhere (the step's derivative is 0 wherever it
    exists), the same documented choice as ``scratchnet.functional.heaviside_backward``.
    """

    def __init__(self, value=0.5):
        super().__init__()
        self.value = float(value)

    def forward(self, x):
        return _Step.apply(x, self.value)

    def extra_repr(self):
        return f"value={self.value}"


_BY_NAME = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "heaviside": Heaviside, "identity": nn.Identity}


def make_activation(name):
    """Return a new activation module from its name, as ``scratchnet.activation.make_activation``."""
    return _BY_NAME[check_activation(name)]()


class MLP(nn.Module):
    """Linear layers ``fc1 ... fcN`` with an activation between them; the twin of ``scratchnet.MLP``.

    Args:
        sizes: widths ``(in_features, hidden..., out_features)``, at least two.
        activation: ``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"heaviside"`` or
            ``"identity"``; applied after every layer but the last.
        bias: whether the layers have biases.
        device, dtype: passed to every ``nn.Linear``.
    """

    def __init__(self, sizes, activation="relu", *, bias=True, device=None, dtype=None):
        super().__init__()
        self.sizes = check_sizes(sizes)
        self.activation_name = check_activation(activation)
        for number, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            setattr(self, f"fc{number}", nn.Linear(n_in, n_out, bias=bias, device=device, dtype=dtype))
        self.activation = make_activation(activation)

    @property
    def layers(self):
        """The Linear layers in order: ``[fc1, ..., fcN]``."""
        return [getattr(self, f"fc{number}") for number in range(1, len(self.sizes))]

    def forward(self, x):
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
        return last(x)
