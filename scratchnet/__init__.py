"""scratchnet: PyTorch's ``nn.Linear`` networks written by hand in NumPy.

Read it in this order: ``architecture`` (what a network is: its layers and
the activation after each, written down once), ``functional`` (each operation
and, beside it, its derivative), ``module`` (how parameters are registered and
named), ``autograd`` (the gradient story in one place: the tape a forward pass
records and how ``backward`` walks it), ``linear`` (``y = x @ W.T + b``),
``nets`` (the article's ``Net``, ``MLP``, ``Sequential``), ``loss`` and
``optim`` (training). Only NumPy is needed.
"""

from . import architecture, checkpoint, functional, optim
from .activation import (
    ELU,
    GELU,
    Heaviside,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .architecture import ACTIVATION_NAMES, Activation, Architecture, Layer
from .autograd import BackwardError, is_grad_enabled, no_grad
from .gradcheck import gradcheck
from .inference import get_num_threads, infer, set_num_threads
from .linear import Linear
from .loss import BCEWithLogitsLoss, MSELoss
from .module import IncompatibleKeys, Module, Parameter, StateDictError
from .nets import MLP, Chain, Net, Sequential, build

__version__ = "0.2.0"

__all__ = [
    "ACTIVATION_NAMES",
    "Activation",
    "Architecture",
    "BCEWithLogitsLoss",
    "BackwardError",
    "Chain",
    "ELU",
    "GELU",
    "Heaviside",
    "Identity",
    "IncompatibleKeys",
    "Layer",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MLP",
    "MSELoss",
    "Module",
    "Net",
    "Parameter",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "StateDictError",
    "Tanh",
    "architecture",
    "build",
    "checkpoint",
    "functional",
    "gradcheck",
    "get_num_threads",
    "infer",
    "is_grad_enabled",
    "no_grad",
    "optim",
    "set_num_threads",
]
