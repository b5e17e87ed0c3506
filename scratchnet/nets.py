"""Networks: the article's ``Net`` and an ``MLP`` of any depth."""

import numpy as np

from . import functional as F
from ._checks import check_activation, check_sizes
from .activation import make_activation
from .linear import Linear
from .module import Module

__all__ = ["Net", "MLP"]


class Net(Module):
    """The article's network: 2 -> 4 -> 4 -> 1, ReLU after fc1 and fc2.

    ``forward`` reads line for line like ``torchnet.Net.forward``, and
    ``print(Net())`` prints what the article prints for the torch net.

    Args:
        dtype: float32 (default) or float64.
        rng: a ``numpy.random.Generator`` or a seed, for reproducible weights.

    Shape:
        - Input: ``(*, 2)``.
        - Output: ``(*, 1)``.
    """

    sizes = (2, 4, 4, 1)
    activation_name = "relu"

    def __init__(self, *, dtype=np.float32, rng=None):
        super(Net, self).__init__()
        rng = np.random.default_rng(rng)
        self.fc1 = Linear(2, 4, dtype=dtype, rng=rng)
        self.fc2 = Linear(4, 4, dtype=dtype, rng=rng)
        self.fc3 = Linear(4, 1, dtype=dtype, rng=rng)

    @property
    def layers(self):
        """The Linear layers in order: ``[fc1, fc2, fc3]``."""
        return [self.fc1, self.fc2, self.fc3]

    def forward(self, x):
        y = F.relu(self.fc1(x))
        y = F.relu(self.fc2(y))
        y = self.fc3(y)
        return y


class MLP(Module):
    """A multilayer perceptron: Linear layers ``fc1 ... fcN`` with an activation between them.

    ``MLP((2, 4, 4, 1))`` has the article's architecture (and its weight
    names); its ``repr`` adds the line ``(activation): ReLU()``.

    Args:
        sizes: widths ``(in_features, hidden..., out_features)``, at least two.
        activation: ``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"heaviside"`` (0.5
            at 0) or ``"identity"``; applied after every layer but the last.
        bias: whether the layers have biases.
        dtype: float32 (default) or float64.
        rng: a ``numpy.random.Generator`` or a seed, for reproducible weights.

    Shape:
        - Input: ``(*, sizes[0])``.
        - Output: ``(*, sizes[-1])``.
    """

    def __init__(self, sizes, activation="relu", *, bias=True, dtype=np.float32, rng=None):
        super().__init__()
        self.sizes = check_sizes(sizes)
        self.activation_name = check_activation(activation)
        rng = np.random.default_rng(rng)
        for number, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            setattr(self, f"fc{number}", Linear(n_in, n_out, bias=bias, dtype=dtype, rng=rng))
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
