"""``Linear``: the fully connected layer, ``torch.nn.Linear`` in NumPy."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import functional as F
from .architecture import Architecture, Layer
from .checks import RandomLike, as_input, check_count, check_float_dtype
from .module import Module, Parameter

__all__ = ["Linear"]


class Linear(Module):
    r"""Applies an affine map to the last dimension: ``y = x @ W.T + b``.

    Each output is a weighted sum of the inputs plus an intercept:
    ``y[j] = sum_i x[i] * W[j, i] + b[j]``. ``W[j, i]`` is how much input ``i``
    matters to output ``j``; ``b[j]`` is the output when every input is 0 (the
    "3" in ``2x + 3``).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: if False, the layer has no ``b`` (``bias`` is None).
        dtype: float32 (default, as in torch) or float64.
        rng: a ``numpy.random.Generator``, or a seed for one, for reproducible
            initial weights; None draws fresh entropy.

    Shape:
        - Input: ``(*, in_features)``, where ``*`` is any number of leading
          dimensions, including none (a single 1-D sample) and empty batches.
        - Output: ``(*, out_features)``.

    Attributes:
        weight: ``Parameter`` of shape ``(out_features, in_features)``, drawn
            from ``U(-sqrt(k), sqrt(k))`` with ``k = 1 / in_features``.
        bias: ``Parameter`` of shape ``(out_features,)``, drawn from the same
            distribution, or None.

    Input: Python numbers and lists, integer and boolean arrays are converted
    to the layer's dtype; a floating array of another dtype raises
    ``TypeError`` (convert it yourself: no silent change of precision). A last
    dimension other than ``in_features`` raises ``ValueError``. NaN and inf
    propagate as in torch (NumPy may warn about them; torch does not).

    Example::

        >>> layer = Linear(2, 4, rng=0)
        >>> layer(np.ones((3, 2), np.float32)).shape
        (3, 4)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: DTypeLike = np.float32,
        rng: RandomLike = None,
    ) -> None:
        super().__init__()
        self.in_features = check_count(in_features, "in_features")
        self.out_features = check_count(out_features, "out_features")
        dtype = check_float_dtype(dtype)
        rng = np.random.default_rng(rng)
        # torch draws weight with kaiming_uniform_(a=sqrt(5)), which is exactly
        # U(-1/sqrt(in), 1/sqrt(in)), and the bias with the same bound.
        bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        self.weight = Parameter(rng.uniform(-bound, bound, (self.out_features, self.in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, self.out_features).astype(dtype)) if bias else None

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the weights, which inputs must have."""
        return self.weight.dtype

    def forward(self, input: ArrayLike) -> NDArray[np.floating]:
        return F.linear(as_input(input, self.weight.dtype, self.in_features, self), self.weight, self.bias)

    @property
    def architecture(self) -> Architecture:
        """One ``Layer`` without an activation, named ``"linear"`` (its weights are ``weight`` and ``bias``)."""
        return Architecture((Layer(self.in_features, self.out_features, self.bias is not None),), "linear")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
