"""Activation layers: the functions of ``scratchnet.functional`` as modules, like ``torch.nn.ReLU``.

``make_activation`` builds the module an ``Activation`` names, and
``activation_of`` reads one back, so a network's modules and its
``Architecture`` always say the same thing.
"""

from . import functional as F
from .architecture import Activation, activation_of_module, make_module
from .module import Module

__all__ = [
    "ELU",
    "GELU",
    "Heaviside",
    "Identity",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "activation_of",
    "make_activation",
]


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


class _Configured(Module):
    """An activation module whose settings (checked by ``Activation``) are attributes named as in torch."""

    name = ""

    def __init__(self, **settings):
        super().__init__()
        for key, value in Activation(self.name, **settings).kwargs.items():
            setattr(self, key, value)

    def extra_repr(self):
        return ", ".join(f"{key}={getattr(self, key)!r}" for key in Activation(self.name).kwargs)


class LeakyReLU(_Configured):
    """``x`` where x > 0, else ``negative_slope * x`` (default 0.01), elementwise. Shape: ``(*)`` -> ``(*)``."""

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__(negative_slope=negative_slope)

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)


class ELU(_Configured):
    """``x`` where x > 0, else ``alpha * (exp(x) - 1)`` (default alpha 1), elementwise. Shape: ``(*)`` -> ``(*)``."""

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(alpha=alpha)

    def forward(self, input):
        return F.elu(input, self.alpha)


class GELU(_Configured):
    """``x Phi(x)``, exact (``approximate="none"``) or torch's tanh approximation, elementwise. Shape: ``(*)``."""

    name = "gelu"

    def __init__(self, approximate: str = "none") -> None:
        super().__init__(approximate=approximate)

    def forward(self, input):
        return F.gelu(input, self.approximate)


class SiLU(Module):
    """``x sigmoid(x)``, elementwise. Shape: ``(*)`` -> ``(*)``."""

    def forward(self, input):
        return F.silu(input)


class Softplus(_Configured):
    """``log(1 + exp(beta x)) / beta``, and ``x`` where ``beta x > threshold`` (defaults 1, 20). Shape: ``(*)``."""

    name = "softplus"

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__(beta=beta, threshold=threshold)

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)


class _LastDimension(Module):
    """Over the last dimension only: ``dim=-1``, said as torch says it (``nn.Softmax(dim=-1)``)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        if dim != -1 or isinstance(dim, bool):
            raise ValueError(f"{type(self).__name__} works over the last dimension: dim=-1; got dim={dim!r}")
        self.dim = -1

    def extra_repr(self):
        return "dim=-1"


class Softmax(_LastDimension):
    """``exp(x_i) / sum_j exp(x_j)`` over the last dimension. Shape: ``(*, n)`` -> ``(*, n)``."""

    def forward(self, input):
        return F.softmax(input)


class LogSoftmax(_LastDimension):
    """``x_i - log(sum_j exp(x_j))`` over the last dimension. Shape: ``(*, n)`` -> ``(*, n)``."""

    def forward(self, input):
        return F.log_softmax(input)


#: Each activation name's module class.
MODULES = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "heaviside": Heaviside,
    "identity": Identity,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "silu": SiLU,
    "softplus": Softplus,
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
}


def make_activation(activation: Activation | str) -> Module:
    """A new module computing ``activation`` (an ``Activation`` or a name such as ``"relu"``)."""
    return make_module(activation, MODULES)


def activation_of(module: Module) -> Activation:
    """The ``Activation`` an activation module computes, or ``TypeError`` naming a module that is not one."""
    return activation_of_module(module, MODULES)
