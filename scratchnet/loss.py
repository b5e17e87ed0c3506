"""Losses as modules, like ``torch.nn.MSELoss`` and ``torch.nn.BCEWithLogitsLoss``.

``loss = criterion(prediction, target)`` returns the loss value (a NumPy
scalar of the prediction's dtype); ``criterion.backward()`` then returns
``dL/dprediction``, to hand to ``net.backward``::

    loss = criterion(net(x), target)
    net.backward(criterion.backward())
"""

import numpy as np

from . import functional as F
from .checks import FLOAT_DTYPES, as_array
from .module import Module

__all__ = ["MSELoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F.check_reduction(reduction)

    def _check(self, input, target):
        """A floating prediction, and a target of its dtype and shape."""
        name = type(self).__name__
        kind = np.asarray(input).dtype
        dtype = kind if kind in FLOAT_DTYPES else np.dtype(np.float64)
        prediction = as_array(input, dtype, name)
        target = as_array(target, dtype, name, what="target", differentiable=False)
        if prediction.shape != target.shape:
            raise ValueError(
                f"{name} needs input and target of the same shape; got {prediction.shape} and {target.shape}"
            )
        return prediction, target


class MSELoss(_Loss):
    """Mean squared error ``mean((x - t)^2)`` over every element (``reduction="sum"``: the sum).

    Shape: input and target ``(*)``, the same; output a scalar.
    Backward: ``dL/dx = 2 (x - t) / N`` (mean over N elements) or ``2 (x - t)``.
    """

    def forward(self, input, target):
        return F.mse_loss(*self._check(input, target), self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(x)`` against ``t`` in [0, 1], computed stably from the logits ``x``.

    ``mean(max(x, 0) - x t + log(1 + exp(-|x|)))`` (``reduction="sum"``: the sum).
    Shape: input (logits) and target ``(*)``, the same; output a scalar.
    Backward: ``dL/dx = (sigmoid(x) - t) / N`` or ``sigmoid(x) - t``.
    """

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(*self._check(input, target), self.reduction)
