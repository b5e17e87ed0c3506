"""Activation layers: the functions of ``scratchnet.functional`` as modules, like ``torch.nn.ReLU``."""

from . import functional as F
from ._checks import check_activation
from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh", "Heaviside", "Identity", "make_activation"]


class ReLU(Module):
    """``ReLU(x) = max(0, x)``, elementwise. Shape: ``(*)`` -> ``(*)``."""

    def forward(self, x):
        return F.relu(x)


class Sigmoid(Module):
    """``sigmoid(x) = 1 / (1 + exp(-x))``, elementwise. Shape: ``(*)`` -> ``(*)``."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """``tanh(x)``, elementwise. Shape: ``(*)`` -> ``(*)``."""

    def forward(self, x):
        return F.tanh(x)


class Heaviside(Module):
    """Step: 0 for x < 0, ``value`` at x == 0, 1 for x > 0 (0 at NaN, as torch). Shape: ``(*)`` -> ``(*)``.

    torch has no Heaviside layer; ``torchnet.Heaviside`` is its twin. ``value``
    defaults to 0.5, the half-maximum convention.
    """

    def __init__(self, value=0.5):
        super().__init__()
        self.value = float(value)

    def forward(self, x):
        return F.heaviside(x, self.value)

    def extra_repr(self):
        return f"value={self.value}"


class Identity(Module):
    """``identity(x) = x``, returned as it is. Shape: ``(*)`` -> ``(*)``."""

    def forward(self, x):
        return F.identity(x)


_BY_NAME = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "heaviside": Heaviside, "identity": Identity}


def make_activation(name):
    """Return a new activation module from its name (see ``ACTIVATION_NAMES``)."""
    return _BY_NAME[check_activation(name)]()
