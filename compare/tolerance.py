r"""Tolerances derived from the computation, not guessed.

A network here is a chain: ``h_0 = x``, ``z_l = W_l h_{l-1} + b_l``,
``h_l = f_l(z_l)`` (``f`` the activation; identity after the last layer). In
floating point with unit roundoff ``u`` (``eps / 2``: ``2**-24`` for float32,
``2**-53`` for float64), a sum of ``n`` products plus a bias, added in *any*
order, with or without fused multiply-adds, satisfies (Higham, *Accuracy and
Stability of Numerical Algorithms*, 2nd ed., section 3.1)::

    |fl(z) - z| <= gamma(n + 1) * (|W| |h| + |b|),    gamma(k) = k u / (1 - k u)

Errors already in ``h`` pass through the layer as ``|W| e``, and through the
activation scaled by its Lipschitz constant, plus the activation's own
evaluation error (relative, a few ``u``). So, elementwise and per sample::

    e_z = |W| e + gamma(n + 1) (|W| (|h| + e) + |b|)
    e_h = L_f e_z + c_f u |f(z)| + tiny

``tiny`` (the dtype's smallest normal number) covers results that underflow to
subnormals or zero (torch's float32 sigmoid returns 0 below about -88.7).
Heaviside is not continuous: where ``|z| <= e_z`` the two sides may step
differently, so the bound there is the jump, elsewhere 0.

Two implementations that each satisfy their bound ``B`` around the exact value
differ by at most ``B_a + B_b``. The exact value is stood in for by a float64
reference computed from the same (exactly widened) weights and input, whose
own bound is added. The bound is a worst case: real errors are typically
about ``sqrt(n)`` times smaller, but a wrong transpose, a missing bias or a
different activation is off by far more than it.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

import scratchnet
from scratchnet import functional as F

from .weights import is_scratch, is_torch

__all__ = [
    "Layer",
    "ActivationError",
    "ACTIVATION_ERRORS",
    "linear_chain",
    "unit_roundoff",
    "gamma",
    "reference_with_bounds",
]


@dataclass(frozen=True)
class Layer:
    """One step of a chain: ``h = activation(h @ weight.T + bias)``, in float64."""

    weight: np.ndarray
    bias: np.ndarray
    activation: str
    heaviside_value: float = 0.5


@dataclass(frozen=True)
class ActivationError:
    """How an activation passes on and adds error: ``e_out = lipschitz * e_in + relative_u * u * |out|``."""

    lipschitz: float
    relative_u: float
    why: str


ACTIVATION_ERRORS = {
    "identity": ActivationError(1.0, 0.0, "identity: exact"),
    "relu": ActivationError(1.0, 0.0, "relu: Lipschitz 1, evaluated exactly (a comparison)"),
    # e = exp(-|z|) has relative error <= 2u (libm and SLEEF exp: <= 1 ulp); 1 + e adds u,
    # the division u, and e / (1 + e) carries e's error too: 5u at most.
    "sigmoid": ActivationError(0.25, 5.0, "sigmoid: Lipschitz 1/4, evaluation <= 5u relative"),
    # glibc's tanh is within 2 ulp (4u) for both float32 and float64; SLEEF's within 1 ulp.
    "tanh": ActivationError(1.0, 4.0, "tanh: Lipschitz 1, evaluation <= 4u relative (2 ulp)"),
    "heaviside": ActivationError(math.inf, 0.0, "heaviside: exact, but may step either way where |z| <= its bound"),
}


def unit_roundoff(dtype):
    """``u = eps / 2``, the largest relative error of one rounding in ``dtype``."""
    return float(np.finfo(dtype).eps) / 2


def gamma(k, u):
    """Higham's ``gamma_k = k u / (1 - k u)``: the relative error bound of ``k`` roundings."""
    return k * u / (1 - k * u) if k * u < 1 else math.inf


def _as_float64(values):
    """A float64 copy of a Parameter or tensor (None stays None); widening is exact."""
    if values is None:
        return None
    if torch.is_tensor(values):
        values = values.detach().cpu().numpy()
    return np.array(values, dtype=np.float64)


def linear_chain(net):
    """Describe ``net`` as a list of ``Layer`` (float64 copies of its weights).

    Knows ``Net``, ``MLP`` and ``Linear`` of both frameworks; every Net and MLP
    exposes ``layers`` and ``activation_name``.
    """
    if isinstance(net, (scratchnet.Linear, nn.Linear)):
        layers, activation, value = [net], "identity", 0.5
    elif (is_scratch(net) or is_torch(net)) and hasattr(net, "layers") and hasattr(net, "activation_name"):
        layers, activation = net.layers, net.activation_name
        value = getattr(getattr(net, "activation", None), "value", 0.5)
    else:
        raise TypeError(f"cannot derive a tolerance for {type(net).__name__}: expected a Net, an MLP or a Linear layer")
    chain = [Layer(_as_float64(layer.weight), _as_float64(layer.bias), activation, value) for layer in layers]
    last = chain[-1]
    chain[-1] = Layer(last.weight, last.bias, "identity", value)
    return chain


def _activate(name, z, heaviside_value):
    if name == "heaviside":
        return F.heaviside(z, heaviside_value)
    return getattr(F, name)(z)


def reference_with_bounds(chain, x, unit_roundoffs):
    """Run ``chain`` on ``x`` in float64 and bound each implementation's error.

    Args:
        chain: list of ``Layer``.
        x: input of shape ``(*, in_features)``; it is widened to float64 exactly.
        unit_roundoffs: one ``u`` per implementation to bound.

    Returns:
        ``(reference, bounds)``: the float64 output ``(*, out_features)`` and,
        for each ``u``, an array of the same shape bounding ``|computed - exact|``
        elementwise.
    """
    h = np.asarray(x, dtype=np.float64)
    errors = [np.zeros_like(h) for _ in unit_roundoffs]
    with np.errstate(all="ignore"):  # NaN and inf in weights or inputs propagate into the bounds
        for layer in chain:
            abs_w = np.abs(layer.weight)
            abs_b = 0 if layer.bias is None else np.abs(layer.bias)
            z = h @ layer.weight.T + (0 if layer.bias is None else layer.bias)
            n_roundings = layer.weight.shape[1] + (layer.bias is not None)
            out = _activate(layer.activation, z, layer.heaviside_value)
            rule = ACTIVATION_ERRORS[layer.activation]
            new_errors = []
            for u, e in zip(unit_roundoffs, errors):
                e_z = e @ abs_w.T + gamma(n_roundings, u) * ((np.abs(h) + e) @ abs_w.T + abs_b)
                if layer.activation == "heaviside":
                    jump = max(1.0, abs(layer.heaviside_value), abs(1.0 - layer.heaviside_value))
                    e_h = np.where(np.abs(z) <= e_z, jump, 0.0)
                else:
                    e_h = rule.lipschitz * e_z
                    if rule.relative_u:
                        e_h = e_h + rule.relative_u * u * np.abs(out) + np.finfo(_dtype_of(u)).tiny
                new_errors.append(e_h)
            h, errors = out, new_errors
    return h, errors


def _dtype_of(u):
    """The dtype whose unit roundoff is ``u`` (for its ``tiny``); float32 for coarser formats such as TF32."""
    return np.float64 if u <= unit_roundoff(np.float64) else np.float32
