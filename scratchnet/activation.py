"""Activation layers: the functions of ``scratchnet.functional`` as modules, like ``torch.nn.ReLU``.

``make_activation`` builds the module an ``Activation`` names, and
``activation_of`` reads one back, so a network's modules and its
``Architecture`` always say the same thing.
"""

from . import functional as F
from .architecture import Activation, activation_of_module, make_module
from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh", "Heaviside", "Identity", "activation_of", "make_activation"]


class ReLU(Module):
    """``ReLU(x) = max(0, x)``, elementwise. Shape: ``(*)`` -> ``(*)``."""

    def forward(self, input):
        return F.relu(input)


class Sigmoid(Module):
    """``sigmoid(x) = 1 / (1 + exp(-x))``, elementwise. Shape: ``(*)`` -> ``(*)``."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)``, elementwise. Shape: ``(*)`` -> ``(*)``."""

    def forward(self, input):
        return F.tanh(input)


class Heaviside(Module):
    """Step: 0 for x < 0, ``value`` at x == 0, 1 for x > 0 (0 at NaN, as torch). Shape: ``(*)`` -> ``(*)``.

    torch has no Heaviside layer; ``torchnet.Heaviside`` is its twin. ``value``
    defaults to 0.5, the half-maximum convention.
    """

    def __init__(self, value: float = 0.5) -> None:
        super().__init__()
        self.value = Activation("heaviside", value=value).kwargs["value"]

    def forward(self, input):
        return F.heaviside(input, self.value)

    def extra_repr(self):
        return f"value={self.value}"


class Identity(Module):
    """``identity(x) = x``, returned as it is. Shape: ``(*)`` -> ``(*)``."""

    def forward(self, input):
        return F.identity(input)


#: Each activation name's module class.
MODULES = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "heaviside": Heaviside, "identity": Identity}


def make_activation(activation: Activation | str) -> Module:
    """A new module computing ``activation`` (an ``Activation`` or a name such as ``"relu"``)."""
    return make_module(activation, MODULES)


def activation_of(module: Module) -> Activation:
    """The ``Activation`` an activation module computes, or ``TypeError`` naming a module that is not one."""
    return activation_of_module(module, MODULES)
