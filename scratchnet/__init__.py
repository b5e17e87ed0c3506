"""scratchnet: PyTorch's ``nn.Linear`` networks written by hand in NumPy.

Read it in this order: ``functional`` (the activations), ``module`` (how
parameters are registered and named), ``linear`` (``y = x @ W.T + b``),
``nets`` (the article's ``Net`` and ``MLP``). Only NumPy is needed.
"""

from . import functional
from ._checks import ACTIVATION_NAMES
from .activation import Heaviside, Identity, ReLU, Sigmoid, Tanh
from .linear import Linear
from .module import IncompatibleKeys, Module, Parameter, StateDictError
from .nets import MLP, Net

__all__ = [
    "ACTIVATION_NAMES",
    "Heaviside",
    "Identity",
    "IncompatibleKeys",
    "Linear",
    "MLP",
    "Module",
    "Net",
    "Parameter",
    "ReLU",
    "Sigmoid",
    "StateDictError",
    "Tanh",
    "functional",
]
