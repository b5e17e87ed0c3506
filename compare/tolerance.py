r"""Tolerances derived from the computation, not guessed.

A network here is a chain: ``h_0 = x``, ``z_l = W_l h_{l-1} + b_l``,
``h_l = f_l(z_l)`` (``f_l`` the activation after layer l; identity where there is none). In
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

The reference is written here, independently: its activations are a few
lines of float64 NumPy each (``reference_activation``), never
``scratchnet.functional``, so a bug in the code being judged cannot pass
into the judge. What the network computes comes from its ``Architecture``.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch

from .weights import architecture_of

__all__ = [
    "ACTIVATION_ERRORS",
    "ActivationError",
    "LayerTrace",
    "LayerValues",
    "backward_bounds",
    "forward_trace",
    "gamma",
    "linear_chain",
    "loss_gradient_and_errors",
    "reference_activation",
    "reference_sigmoid",
    "reference_with_bounds",
    "unit_roundoff",
]


@dataclass(frozen=True)
class LayerValues:
    """One layer of a chain with its numbers: ``h = activation(h @ weight.T + bias)`` in float64.

    ``name`` prefixes its parameters (``fc1``, ``0``, or ``""`` for a Linear
    alone); ``activation`` is the ``Activation`` after it, or None.
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray
    activation: object

    @property
    def activation_name(self):
        return "identity" if self.activation is None else self.activation.name

    def parameter_name(self, which):
        return f"{self.name}.{which}" if self.name else which


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
    """``net`` as a list of ``LayerValues``: its ``Architecture``, with float64 copies of its weights.

    Works for any scratchnet or torch network that states its architecture
    (``Linear``, ``Net``, ``MLP``, ``Sequential`` and their torch twins).
    """
    architecture = architecture_of(net, "deriving a tolerance")
    chain = []
    for name, spec in zip(architecture.layer_names, architecture.layers):
        layer = net.get_submodule(name)
        chain.append(LayerValues(name, _as_float64(layer.weight), _as_float64(layer.bias), spec.activation))
    return chain


def reference_sigmoid(z):
    """``1 / (1 + exp(-z))`` in float64, in the branch that cannot overflow for each sign of ``z``."""
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z)))


def reference_activation(activation, z):
    """The activation (an ``Activation`` or None) of float64 ``z``, the plainest way, written apart from scratchnet.

    torch's conventions: ReLU keeps NaN; Heaviside is ``value`` at 0 and 0 at NaN.
    """
    name = "identity" if activation is None else activation.name
    if name == "identity":
        return z
    if name == "relu":
        return np.where((z > 0) | np.isnan(z), z, 0.0)
    if name == "sigmoid":
        return reference_sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "heaviside":
        return np.where(z > 0, 1.0, np.where(z == 0, activation.kwargs["value"], 0.0))
    raise ValueError(f"no reference for activation {name!r}")


@dataclass
class LayerTrace:
    """One layer's forward pass in float64 (``h_in -> z -> h_out``) and, per ``u``, bounds on each quantity's error."""

    h_in: np.ndarray
    z: np.ndarray
    h_out: np.ndarray
    e_in: list
    e_z: list
    e_out: list


def forward_trace(chain, x, unit_roundoffs):
    """Run ``chain`` on ``x`` in float64, bounding each implementation's error layer by layer.

    Args:
        chain: list of ``LayerValues``.
        x: input of shape ``(*, in_features)``; widened to float64 exactly (both
            implementations receive the same array, so its error is 0).
        unit_roundoffs: one ``u`` per implementation to bound.

    Returns:
        A list of ``LayerTrace``, one per layer.
    """
    h = np.asarray(x, dtype=np.float64)
    errors = [np.zeros_like(h) for _ in unit_roundoffs]
    trace = []
    with np.errstate(all="ignore"):  # NaN and inf in weights or inputs propagate into the bounds
        for layer in chain:
            abs_w = np.abs(layer.weight)
            abs_b = 0 if layer.bias is None else np.abs(layer.bias)
            z = h @ layer.weight.T + (0 if layer.bias is None else layer.bias)
            n_roundings = layer.weight.shape[1] + (layer.bias is not None)
            out = reference_activation(layer.activation, z)
            rule = ACTIVATION_ERRORS[layer.activation_name]
            z_errors, out_errors = [], []
            for u, e in zip(unit_roundoffs, errors):
                e_z = e @ abs_w.T + gamma(n_roundings, u) * ((np.abs(h) + e) @ abs_w.T + abs_b)
                if layer.activation_name == "heaviside":
                    value = layer.activation.kwargs["value"]
                    jump = max(1.0, abs(value), abs(1.0 - value))
                    # Where e_z is 0, z is exact on both sides and both step the same way: no jump allowed.
                    e_h = np.where((np.abs(z) <= e_z) & (e_z > 0), jump, 0.0)
                else:
                    e_h = rule.lipschitz * e_z
                    if rule.relative_u:
                        e_h = e_h + rule.relative_u * u * np.abs(out) + np.finfo(_dtype_of(u)).tiny
                z_errors.append(e_z)
                out_errors.append(e_h)
            trace.append(LayerTrace(h, z, out, errors, z_errors, out_errors))
            h, errors = out, out_errors
    return trace


def reference_with_bounds(chain, x, unit_roundoffs):
    """The float64 output of ``chain`` on ``x`` and, per ``u``, a bound on ``|computed - exact|`` elementwise."""
    last = forward_trace(chain, x, unit_roundoffs)[-1]
    return last.h_out, last.e_out


def _derivative_and_error(activation, layer_trace, index, u):
    """``f'(z)`` of an activation and a bound on how far a computed ``f'`` may be from it.

    relu: 0 or 1, exact, but it may flip where ``|z|`` is within its bound;
    sigmoid ``s(1 - s)`` and tanh ``1 - t^2`` are computed from the computed
    output ``s + e`` (``|e| <= e_h``): ``|(s+e)(1-s-e) - s(1-s)| <= |1 - 2s| e_h + e_h^2``
    and ``|1 - (t+e)^2 - (1 - t^2)| <= 2|t| e_h + e_h^2``, plus two roundings;
    heaviside: 0 by definition on both sides.
    """
    out, e_h, z, e_z = layer_trace.h_out, layer_trace.e_out[index], layer_trace.z, layer_trace.e_z[index]
    if activation == "identity":
        return np.ones_like(out), np.zeros_like(out)
    if activation == "heaviside":
        return np.zeros_like(out), np.zeros_like(out)
    if activation == "relu":
        return (z > 0).astype(np.float64), np.where((np.abs(z) <= e_z) & (e_z > 0), 1.0, 0.0)
    if activation == "sigmoid":
        derivative = out * (1 - out)
        return derivative, np.abs(1 - 2 * out) * e_h + e_h**2 + 2 * u * derivative
    derivative = 1 - out**2  # tanh
    return derivative, 2 * np.abs(out) * e_h + e_h**2 + 2 * u


def backward_bounds(chain, trace, upstream, upstream_errors, unit_roundoffs):
    r"""Gradients of ``sum(upstream * chain(x))`` in float64 and, per ``u``, bounds on their errors.

    The backward pass of each layer, with ``g = dL/dz`` of shape ``(B, out)``
    after flattening leading dimensions, is three products whose rounding
    Higham's bound covers, plus the errors already in their operands::

        dW = g^T h:   |dW err| <= e_g^T (|h| + e_h) + |g|^T e_h + gamma(B) |g|^T |h|
        db = sum g:   |db err| <= sum e_g + gamma(B) sum |g|
        dh = g W:     |dh err| <= e_g |W| + gamma(out) (|g| + e_g) |W|

    and, first, through the layer's own activation (if any), ``g = dL/dh * f'(z)``::

        |g err| <= |f'| e_dh + (|dh| + e_dh) e_f' + 3u |dh f'|

    where ``e_f'`` bounds the error of the computed derivative (see
    ``_derivative_and_error``: a ReLU's slope may flip where ``|z|`` is within
    its bound).

    Args:
        chain, trace: the network and its ``forward_trace``.
        upstream: ``dL/dy``, shaped like the output.
        upstream_errors: per ``u``, a bound on the error of ``upstream`` (0
            when both implementations receive the very same array).
        unit_roundoffs: the same list as given to ``forward_trace``.

    Returns:
        ``(gradients, bounds)``: a dict from ``"input"`` and parameter names to
        float64 gradients, and per ``u`` a dict of the same keys to bounds.
    """
    g = np.asarray(upstream, dtype=np.float64)
    g_errors = [np.broadcast_to(np.asarray(e, dtype=np.float64), g.shape) for e in upstream_errors]
    gradients, bounds = {}, [{} for _ in unit_roundoffs]
    with np.errstate(all="ignore"):
        for position in range(len(chain) - 1, -1, -1):
            layer, step = chain[position], trace[position]
            if layer.activation is not None:  # through this layer's activation: dL/dz = dL/dh * f'(z)
                g, g_errors = _through_activation(layer.activation_name, step, g, g_errors, unit_roundoffs)
            n_out, n_in = layer.weight.shape
            g_rows, h_rows = g.reshape(-1, n_out), step.h_in.reshape(-1, n_in)
            batch = g_rows.shape[0]
            abs_w = np.abs(layer.weight)
            gradients[layer.parameter_name("weight")] = g_rows.T @ h_rows
            if layer.bias is not None:
                gradients[layer.parameter_name("bias")] = g_rows.sum(axis=0)
            new_errors = []
            for index, u in enumerate(unit_roundoffs):
                e_g = g_errors[index].reshape(-1, n_out)
                e_in = step.e_in[index].reshape(-1, n_in)
                bounds[index][layer.parameter_name("weight")] = (
                    e_g.T @ (np.abs(h_rows) + e_in)
                    + np.abs(g_rows).T @ e_in
                    + gamma(batch, u) * np.abs(g_rows).T @ np.abs(h_rows)
                )
                if layer.bias is not None:
                    bounds[index][layer.parameter_name("bias")] = e_g.sum(axis=0) + gamma(batch, u) * np.abs(
                        g_rows
                    ).sum(axis=0)
                new_errors.append(g_errors[index] @ abs_w + gamma(n_out, u) * (np.abs(g) + g_errors[index]) @ abs_w)
            g, g_errors = g @ layer.weight, new_errors
    gradients["input"] = g
    for index in range(len(unit_roundoffs)):
        bounds[index]["input"] = g_errors[index]
    return gradients, bounds


def _through_activation(activation_name, step, g, g_errors, unit_roundoffs):
    """``g * f'(z)`` and, per ``u``, ``|f'| e_g + (|g| + e_g) e_f' + 3u |g f'|`` (``e_f'``: the derivative's error)."""
    errors = []
    for index, u in enumerate(unit_roundoffs):
        derivative, e_derivative = _derivative_and_error(activation_name, step, index, u)
        errors.append(
            np.abs(derivative) * g_errors[index]
            + (np.abs(g) + g_errors[index]) * e_derivative
            + 3 * u * np.abs(g * derivative)
        )
    derivative, _ = _derivative_and_error(activation_name, step, 0, 0.0)
    return g * derivative, errors


def _dtype_of(u):
    """The dtype whose unit roundoff is ``u`` (for its ``tiny``); float32 for coarser formats such as TF32."""
    return np.float64 if u <= unit_roundoff(np.float64) else np.float32


def loss_gradient_and_errors(loss, y, y_errors, target, reduction, unit_roundoffs):
    """``dL/dy`` of a loss at the float64 output ``y``, and per ``u`` a bound on a computed one's error.

    MSE: ``G = s (y - t)`` with ``s = 2/N`` (mean) or 2 (sum): the output's
    error ``e_y`` passes scaled by ``s``, plus roundings of the difference and
    the products. BCE with logits: ``G = s (sigmoid(y) - t)`` with ``s = 1/N``
    or 1: sigmoid passes ``e_y / 4`` (its Lipschitz constant) and adds its own
    ``5u`` evaluation error.
    """
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if loss == "mse":
        scale = 2.0 if reduction == "sum" else 2.0 / max(y.size, 1)
        diff = y - t
        gradient = scale * diff
        errors = [scale * (e + u * np.abs(diff)) + 2 * u * np.abs(gradient) for u, e in zip(unit_roundoffs, y_errors)]
    elif loss == "bce":
        scale = 1.0 if reduction == "sum" else 1.0 / max(y.size, 1)
        probability = reference_sigmoid(y)
        gradient = scale * (probability - t)
        errors = [
            scale * (e / 4 + 5 * u * probability + np.finfo(_dtype_of(u)).tiny + u * np.abs(probability - t))
            + 2 * u * np.abs(gradient)
            for u, e in zip(unit_roundoffs, y_errors)
        ]
    else:
        raise ValueError(f"loss must be 'mse' or 'bce'; got {loss!r}")
    return gradient, errors
