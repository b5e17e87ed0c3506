"""scratchnet: PyTorch's ``nn.Linear`` networks written by hand in NumPy.

Read it in this order: ``functional`` (each operation and, beside it, its
derivative), ``module`` (how parameters are registered and named, and
``backward``), ``autograd`` (the tape that backward walks), ``linear``
(``y = x @ W.T + b``), ``nets`` (the article's ``Net`` and ``MLP``),
``loss`` and ``optim`` (training). Only NumPy is needed.
"""

from . import checkpoint, functional, optim
from ._checks import ACTIVATION_NAMES
from .activation import Heaviside, Identity, ReLU, Sigmoid, Tanh
from .autograd import BackwardError, is_grad_enabled, no_grad
from .gradcheck import gradcheck
from .inference import infer
from .linear import Linear
from .loss import BCEWithLogitsLoss, MSELoss
from .module import IncompatibleKeys, Module, Parameter, StateDictError
from .nets import MLP, Net

__all__ = [
    "ACTIVATION_NAMES",
    "BCEWithLogitsLoss",
    "BackwardError",
    "MSELoss",
    "is_grad_enabled",
    "no_grad",
    "optim",
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
    "checkpoint",
    "functional",
    "gradcheck",
    "infer",
]
