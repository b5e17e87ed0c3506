"""Activation functions, elementwise, in NumPy (``torch.nn.functional`` in miniature).

Every function takes an array of any shape ``(*)`` and returns a new array of
the same shape and, for floating input, the same dtype. None of them writes
into its input, and none emits NumPy warnings (no overflow at +-1000, no
invalid-value warning at NaN). Values at 0, -0, +-inf and NaN are those of
torch, and the tests check them against torch.
"""

import numpy as np

__all__ = ["relu", "sigmoid", "tanh", "heaviside", "identity"]


def relu(input):
    """ReLU(x) = max(0, x).

    Shape: ``(*)`` -> ``(*)``. NaN stays NaN and -0.0 stays -0.0, as in torch
    (``np.maximum(-0.0, 0)`` would give +0.0).
    """
    x = np.asarray(input)
    return np.where(x < 0, 0, x)


def sigmoid(input):
    """sigmoid(x) = 1 / (1 + exp(-x)), in (0, 1).

    Shape: ``(*)`` -> ``(*)``. Written with ``e = exp(-|x|)``, which lies in
    (0, 1] and never overflows: ``1 / (1 + e)`` for x >= 0 and ``e / (1 + e)``
    for x < 0 are the same function. sigmoid(+-1000) is exactly 1 and 0.
    """
    x = np.asarray(input)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(input):
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), in (-1, 1).

    Shape: ``(*)`` -> ``(*)``. NumPy's tanh is already stable at any magnitude.
    """
    return np.tanh(input)


def heaviside(input, values):
    """Step function: 0 where x < 0, ``values`` where x == 0, 1 where x > 0.

    Shape: ``(*)`` and ``values`` broadcastable to it -> ``(*)``, in the dtype
    of ``input`` (``values`` is converted to it). At NaN the result is 0, as in
    ``torch.heaviside`` (NaN > 0 is false); ``np.heaviside`` returns NaN there.
    """
    x = np.asarray(input)
    return np.where(x == 0, np.asarray(values, dtype=x.dtype), x > 0).astype(x.dtype, copy=False)


def identity(input):
    """identity(x) = x, returned as it is (no copy), like ``torch.nn.Identity``."""
    return input
