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
    "activation_bound",
    "activation_error",
    "activation_gradient_bound",
    "ActivationError",
    "LayerTrace",
    "LayerValues",
    "backward_bounds",
    "forward_trace",
    "gamma",
    "linear_chain",
    "local_slope",
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
    """How an elementwise activation passes on and adds error::

        e_out = lipschitz * e_in + u * (relative_u |out| + input_u |z| + absolute_u)  (+ tiny)

    ``lipschitz`` bounds ``|f'|``; the ``u`` terms bound one evaluation of ``f``
    in floating point (each term's derivation is in ``activation_error``).
    """

    lipschitz: float
    relative_u: float
    why: str
    input_u: float = 0.0
    absolute_u: float = 0.0


ACTIVATION_ERRORS = {
    "identity": ActivationError(1.0, 0.0, "identity: exact"),
    "relu": ActivationError(1.0, 0.0, "relu: Lipschitz 1, evaluated exactly (a comparison)"),
    # e = exp(-|z|) has relative error <= 2u (libm and SLEEF exp: <= 1 ulp); 1 + e adds u,
    # the division u, and e / (1 + e) carries e's error too: 5u at most, relative. onnxruntime's kernels
    # (the third witness) err absolutely: float32 (MLAS) evaluates a rational approximation + 0.5 on z
    # clamped to [-18, 18] (measured 2.6u), float64 (Eigen) 1 - 1/(1 + exp(-|z|)) for z < 0, which
    # cancels (2u, and 0 below -37): 3u absolute on top.
    "sigmoid": ActivationError(0.25, 5.0, "sigmoid: Lipschitz 1/4, evaluation <= 5u relative + 3u", absolute_u=3.0),
    # glibc's tanh is within 2 ulp (4u) for both float32 and float64, SLEEF's within 1 ulp; onnxruntime's
    # float32 rational approximation overshoots 1 by 2 ulp (4.53u) and Eigen's float64 tanh errs 9u near
    # |z| = 14 (measured over 263 000 points, tests/test_onnx.py): 10u.
    "tanh": ActivationError(1.0, 10.0, "tanh: Lipschitz 1, evaluation <= 10u relative (5 ulp)"),
    "heaviside": ActivationError(math.inf, 0.0, "heaviside: exact, but may step either way where |z| <= its bound"),
}

#: exp and log are taken to be within 2 ulp (4u) wherever they are used below: glibc's are within 1 ulp,
#: SLEEF's u10 within 1.0 and torch's own exp_u20 within 2.0. An error function within ERF_ERROR * u (absolute):
#: torch's float32 CPU kernel uses Abramowitz and Stegun's 7.1.26 (absolute error <= 1.5e-7 = 2.5u of float32)
#: evaluated in float32 (a reciprocal, a degree-5 polynomial, exp: about 8u more); float64 uses SLEEF (1 ulp).
EXP_U = 4.0
ERF_ERROR = 12.0
#: The largest slopes: GELU' peaks at 1.1289 (z = 2.4...), its tanh form likewise; SiLU' at 1.0998 (z = 2.4).
GELU_LIPSCHITZ = 1.13
SILU_LIPSCHITZ = 1.1


def activation_error(activation):
    """The ``ActivationError`` of an ``Activation`` (or None: the identity), its settings taken into account.

    Settings such as a slope are rounded to the dtype first (0.01 is not a float32): ``u`` relative more.

    - leaky_relu (slope s): Lipschitz max(1, |s|); ``s`` and ``s z`` round once each: ``2u |out|``.
    - elu (alpha a): Lipschitz max(1, |a|); ``a (exp(z) - 1)`` for z <= 0: exp within 4u of ``exp(z) <= 1``,
      the subtraction u, so ``5 |a| u`` absolute, and ``a`` and the product ``2u |out|``.
    - gelu: ``z/2 (1 + erf(z / sqrt 2))``: an absolute error ``E`` in erf (``ERF_ERROR``), or in tanh (4u)
      plus its argument's (tanh' |arg| <= 0.45, 4u relative: 2u), becomes ``|z|/2 (E + 2u)`` (with the
      rounding of ``1 + erf``, at most ``2u``), and cancels nothing: ``input_u = (E + 2) / 2``; the products
      round ``3u |out|``; the argument's rounding passes through erf' <= 1.13 as ``u |z|`` times
      ``|z| exp(-z^2/2)`` <= 0.61: ``u`` absolute.
    - silu: ``z sigmoid(z)`` (sigmoid 5u, product u) or ``z / (1 + exp(-z))`` (exp 4u, sum u, quotient u):
      ``7u |out|``; onnxruntime's ``z * Sigmoid(z)`` carries its sigmoid's 3u absolute times ``|z|``.
      Lipschitz 1.1.
    - softplus (beta b, threshold t): ``log1p(exp(b z)) / b``: the relative error ``d`` of ``exp(b z)``
      (4u, plus ``u |b z|`` from rounding ``b z``) changes ``log1p(y)`` by at most ``d y / (1 + y)``,
      which is at most ``d log1p(y) = d b out``; log1p adds 4u, the division u. With ``|b z| <= |t|``
      where this branch is taken, and ``b`` rounded: ``(10 + |t|) u |out|``; for ``b z < -|t|``,
      ``u |b z| out <= u / (e |b|)``.
      Lipschitz 1. The branch may differ where ``b z`` is within its bound of ``t``: see ``branch_jump``.
    """
    if activation is None:
        return ACTIVATION_ERRORS["identity"]
    name, settings = activation.name, activation.kwargs
    if name in ACTIVATION_ERRORS:
        return ACTIVATION_ERRORS[name]
    if name == "leaky_relu":
        slope = abs(settings["negative_slope"])
        return ActivationError(
            max(1.0, slope), 2.0, f"leaky_relu: Lipschitz {max(1.0, slope):g}, slope and product round: 2u relative"
        )
    if name == "elu":
        alpha = abs(settings["alpha"])
        return ActivationError(
            max(1.0, alpha), 2.0, f"elu: Lipschitz {max(1.0, alpha):g}, exp-1 within 5u|alpha|", absolute_u=5 * alpha
        )
    if name == "gelu":
        carried = ERF_ERROR if settings["approximate"] == "none" else EXP_U + 2.0
        return ActivationError(
            GELU_LIPSCHITZ,
            3.0,
            f"gelu: Lipschitz 1.13, evaluation <= {(carried + 2) / 2:g}u|z| + 3u|out| + u",
            input_u=(carried + 2.0) / 2.0,
            absolute_u=1.0,
        )
    if name == "silu":
        return ActivationError(
            SILU_LIPSCHITZ, 7.0, "silu: Lipschitz 1.1, evaluation <= 7u relative + 3u|z|", input_u=3.0
        )
    if name == "softplus":
        beta, threshold = abs(settings["beta"]), abs(settings["threshold"])
        return ActivationError(
            1.0,
            10.0 + threshold,
            f"softplus: Lipschitz 1, evaluation <= {10 + threshold:g}u relative + u/(e beta)",
            absolute_u=1.0 / (math.e * beta),
        )
    if name in ROW_ACTIVATIONS:
        return ActivationError(math.nan, math.nan, ROW_WHY[name])
    raise ValueError(f"no error bound for activation {name!r}")


#: Activations over the last dimension, bounded row by row (``row_activation_bound``).
ROW_ACTIVATIONS = ("softmax", "log_softmax")
ROW_WHY = {
    "softmax": "softmax: |ds_i| <= s_i (exp(2 max e_z) - 1), evaluation <= (|z_i - max z| + n + 8)u s_i",
    "log_softmax": "log_softmax: 2 max e_z, evaluation <= (|z_i - max z| + |out| + n + 2 ln n + 8)u",
}


def row_activation_bound(name, z, out, e_z, u):
    """The error bound of softmax or log-softmax over the last dimension, elementwise, from ``e_z`` per element.

    With ``m`` the largest ``e_z`` of a row, the exact softmax of ``z + d`` (``|d| <= m``) is within a factor
    ``exp(+-2m)`` of ``s``: ``s_i(z + d) / s_i(z) = exp(d_i) / sum_j s_j exp(d_j)``. So ``|ds_i| <= s_i
    (exp(2m) - 1)`` (and 1: both lie in [0, 1]), and ``log s`` moves by at most ``2m``. Evaluating
    ``exp(z_i - max) / sum``: the subtraction rounds ``u |z_i - max|`` (exp passes it on relatively), exp
    ``4u``, the sum of ``n`` terms ``gamma(n)``, the division ``u``: with margin, ``(|z_i - max| + n + 8) u``
    relative. log-softmax adds ``log`` of a sum in ``[1, n]`` (its relative error, plus ``2u ln n``) and the
    last subtraction ``u |out|``.
    """
    n = z.shape[-1]
    if z.size == 0:
        return np.zeros_like(z)
    m = np.max(e_z, axis=-1, keepdims=True)
    spread = np.abs(z - np.max(z, axis=-1, keepdims=True))
    if name == "softmax":
        moved = np.minimum(out * np.expm1(2 * m), 1.0)
        return moved + u * out * (spread + n + 8.0)
    return 2 * m + u * (spread + np.abs(out) + n + 2 * math.log(n) + 8.0)


def activation_bound(activation, z, out, e_z, u):
    """A bound on ``|computed f(z + d) - f(z)|`` elementwise, for ``|d| <= e_z``, computed in unit roundoff ``u``.

    ``z`` and ``out = f(z)`` are the float64 reference's. Heaviside: its jump where ``|z| <= e_z`` (where
    ``e_z`` is 0, z is exact on both sides and both step the same way); softmax and log-softmax: row by
    row (``row_activation_bound``); the others: ``L e_z`` + their evaluation error (``activation_error``)
    + a branch jump (softplus's threshold) + what underflow may lose.
    """
    name = "identity" if activation is None else activation.name
    with np.errstate(all="ignore"):
        if name == "heaviside":
            value = activation.kwargs["value"]
            jump = max(1.0, abs(value), abs(1.0 - value))
            return np.where((np.abs(z) <= e_z) & (e_z > 0), jump, 0.0)
        if name in ROW_ACTIVATIONS:
            return row_activation_bound(name, z, out, e_z, u) + np.finfo(_dtype_of(u)).tiny
        rule = activation_error(activation)
        bound = local_slope(activation, z, e_z, rule.lipschitz) * e_z + branch_jump(activation, z, e_z, u)
        terms = [(rule.relative_u, np.abs(out)), (rule.input_u, np.abs(z)), (rule.absolute_u, 1.0)]
        if any(coefficient for coefficient, _ in terms):  # (a zero coefficient must not meet an infinite value)
            evaluated = u * sum(coefficient * size for coefficient, size in terms if coefficient)
            bound = bound + evaluated + underflow(z, u, times_z=name in _TIMES_Z)
        return bound


def local_slope(activation, z, e_z, lipschitz):
    """The largest ``|f'|`` over ``[z - e_z, z + e_z]``, elementwise, where it has a closed form; else ``lipschitz``.

    sigmoid and tanh: ``f'`` peaks at 0 and falls with ``|t|``, so its largest value on the interval is at the
    point nearest 0, ``max(|z| - e_z, 0)``: a saturated unit (``z`` = 1e6, or 3e38) passes on no error, where the
    global 1/4 or 1 would let a large ``e_z`` through as an absurd bound. (``z`` is the float64 reference's, within
    ``n 2**-53`` relative of the exact one: the interval is widened by ``2**-30 |z|``, and the slope, evaluated in
    float64, raised by ``2**-40`` relative.) relu: 0 where the whole interval is negative (both sides give 0), else 1;
    leaky_relu likewise with its slope. Where ``e_z`` is not finite, the global constant.
    """
    name = "identity" if activation is None else activation.name
    if name not in ("sigmoid", "tanh", "relu", "leaky_relu"):
        return lipschitz
    if name in ("sigmoid", "tanh"):
        nearest = np.maximum(np.abs(z) * (1.0 - 2.0**-30) - e_z, 0.0)  # z is the float64 reference's: a margin
        if name == "sigmoid":
            e = np.exp(-nearest)
            slope = e / ((1.0 + e) * (1.0 + e))  # s (1 - s) at t >= 0, with e = exp(-t) in (0, 1]
        else:
            slope = 1.0 / np.cosh(nearest) ** 2  # 1 - tanh(t)^2, without the cancellation
        slope = np.minimum(slope * (1.0 + 2.0**-40), lipschitz)
    else:
        negative = abs(activation.kwargs["negative_slope"]) if name == "leaky_relu" else 0.0
        slope = np.where(z + e_z < 0, negative, np.where(z - e_z > 0, 1.0, max(1.0, negative)))
    return np.where(np.isfinite(e_z), slope, lipschitz)


def activation_gradient_bound(activation, z, upstream, u):
    """``d/dz sum(upstream * f(z))`` in float64 at exactly known ``z``, and a bound on a computed one's error.

    The single-activation case of ``backward_bounds`` (for tests of one function, such as PyTorch's OpInfo
    samples): the output's error is ``activation_bound`` with ``e_z = 0``, the upstream gradient exact.
    """
    z = np.asarray(z, dtype=np.float64)
    out = reference_activation(activation, z)
    exact = np.zeros_like(z)
    step = LayerTrace(z, z, out, [exact], [exact], [activation_bound(activation, z, out, exact, u)])
    upstream = np.asarray(upstream, dtype=np.float64)
    gradient, (bound,) = _through_activation(activation, step, upstream, [np.zeros_like(upstream)], [u])
    return gradient, bound


def underflow(z, u, times_z=True):
    """What results below the normal range may lose: ``tiny (1 + |z|)``, ``tiny`` the dtype's smallest normal.

    A result that underflows to a subnormal or to 0 loses up to ``tiny``; one that is ``z`` times such a
    result (``times_z``: SiLU's ``z / (1 + exp(-z))``, where ``exp(-z)`` overflows to inf below z = -88.7 in
    float32 and gives 0 instead of about ``-2.6e-37``; GELU's ``z Phi(z)``) loses up to ``|z| tiny``.
    """
    tiny = np.finfo(_dtype_of(u)).tiny
    if not times_z:
        return tiny
    with np.errstate(all="ignore"):  # an infinite z gives an exact result (the same infinity, or 0, or NaN)
        return tiny * (1.0 + np.where(np.isinf(z), 0.0, np.abs(z)))


#: The activations whose value is ``z`` times a factor that may underflow (``underflow``).
_TIMES_Z = ("silu", "gelu")


def branch_jump(activation, z, e_z, u):
    """Where two computations may take different branches of a piecewise rule, how far apart they can land.

    Softplus is ``z`` where ``b z > t``, else ``log1p(exp(b z)) / b``: the two differ at the threshold by
    ``|log1p(exp(t)) - t| / |b|``, and ``b z`` (rounded: ``u |b z|``) may fall on either side where
    ``|b z - t| <= |b| e_z + u |b z|``. Zero for the other activations.
    """
    if activation is None or activation.name != "softplus":
        return 0.0
    beta, threshold = activation.kwargs["beta"], activation.kwargs["threshold"]
    jump = abs(math.log1p(math.exp(threshold)) - threshold) / abs(beta) if threshold < 700 else 0.0
    scaled = beta * z
    near = np.abs(scaled - threshold) <= abs(beta) * e_z + 2 * u * np.abs(scaled)
    return np.where(near, jump, 0.0)


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


_erfc = np.frompyfunc(math.erfc, 1, 1)


def reference_activation(activation, z):
    """The activation (an ``Activation`` or None) of float64 ``z``, the plainest way, written apart from scratchnet.

    torch's conventions: ReLU keeps NaN; Heaviside is ``value`` at 0 and 0 at NaN;
    GELU and SiLU are NaN at -inf (``-inf * 0``); softmax rows holding NaN or +inf are NaN.
    GELU uses ``Phi(z) = erfc(-z / sqrt 2) / 2``, which does not cancel for negative z.
    """
    name = "identity" if activation is None else activation.name
    settings = {} if activation is None else activation.kwargs
    if name == "identity":
        return z
    with np.errstate(all="ignore"):
        if name == "relu":
            return np.where((z > 0) | np.isnan(z), z, 0.0)
        if name == "sigmoid":
            return reference_sigmoid(z)
        if name == "tanh":
            return np.tanh(z)
        if name == "heaviside":
            return np.where(z > 0, 1.0, np.where(z == 0, settings["value"], 0.0))
        if name == "leaky_relu":
            return np.where(z > 0, z, z * settings["negative_slope"])
        if name == "elu":
            return np.where(z > 0, z, settings["alpha"] * np.expm1(z))
        if name == "gelu" and settings["approximate"] == "none":
            return z * (np.asarray(_erfc(-z / math.sqrt(2.0)), dtype=np.float64) / 2.0)
        if name == "gelu":
            return 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3)))
        if name == "silu":
            return z * reference_sigmoid(z)
        if name == "softplus":
            beta, threshold = settings["beta"], settings["threshold"]
            return np.where(beta * z > threshold, z, np.log1p(np.exp(beta * z)) / beta)
        if name in ROW_ACTIVATIONS:
            if z.size == 0:
                return z.copy()
            shifted = z - np.max(z, axis=-1, keepdims=True)
            if name == "softmax":
                return np.exp(shifted) / np.sum(np.exp(shifted), axis=-1, keepdims=True)
            return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
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
            z_errors, out_errors = [], []
            # A z that is infinite because one of its terms is (an infinite input, weight or bias) is that same
            # infinity in every order of summation, as long as its finite terms cannot overflow the other way
            # (then NaN in some orders): exact, where the bound's arithmetic would say inf and allow anything.
            infinite_terms = (~np.isfinite(h)).astype(np.float64) @ (abs_w.T != 0) + ~np.isfinite(abs_b)
            infinite = np.isinf(z) & ((infinite_terms > 0) | ~np.isfinite(abs_w).all(axis=1))
            finite_h, finite_w = np.where(np.isfinite(h), np.abs(h), 0.0), np.where(np.isfinite(abs_w), abs_w, 0.0)
            finite_b = np.where(np.isfinite(abs_b), abs_b, 0.0)
            finite_sum = finite_h @ finite_w.T + finite_b  # the terms that are numbers: may they overflow?
            for u, e in zip(unit_roundoffs, errors):
                magnitude = (np.abs(h) + e) @ abs_w.T + abs_b
                e_z = e @ abs_w.T + gamma(n_roundings, u) * magnitude
                # each product or sum below the normal range may lose tiny u more (none where all terms are 0)
                e_z = e_z + np.where(magnitude > 0, 2 * n_roundings * float(np.finfo(_dtype_of(u)).tiny) * u, 0.0)
                largest = float(np.finfo(_dtype_of(u)).max) / (1 + gamma(n_roundings, u))
                e_z = np.where(infinite & (finite_sum + e @ abs_w.T <= largest), 0.0, e_z)
                # where a partial sum may overflow the dtype, the rounding model does not hold: no bound
                e_z = np.where(~infinite & (np.abs(z) + e_z > largest), np.inf, e_z)
                z_errors.append(e_z)
                out_errors.append(activation_bound(layer.activation, z, out, e_z, u))
            trace.append(LayerTrace(h, z, out, errors, z_errors, out_errors))
            h, errors = out, out_errors
    return trace


def reference_with_bounds(chain, x, unit_roundoffs):
    """The float64 output of ``chain`` on ``x`` and, per ``u``, a bound on ``|computed - exact|`` elementwise."""
    last = forward_trace(chain, x, unit_roundoffs)[-1]
    return last.h_out, last.e_out


def _derivative_and_error(activation, layer_trace, index, u):
    """``f'(z)`` of an elementwise activation and a bound on how far a computed ``f'`` may be from it.

    relu: 0 or 1, exact, but it may flip where ``|z|`` is within its bound;
    sigmoid ``s(1 - s)`` and tanh ``1 - t^2`` are computed from the computed
    output ``s + e`` (``|e| <= e_h``): ``|(s+e)(1-s-e) - s(1-s)| <= |1 - 2s| e_h + e_h^2``
    and ``|1 - (t+e)^2 - (1 - t^2)| <= 2|t| e_h + e_h^2``, plus two roundings;
    heaviside: 0 by definition on both sides. The others are computed from
    ``z`` (error ``e_z``): ``|f''| e_z`` (``|f''|`` at most 0.8 for GELU, 0.5
    for SiLU, ``|b|/4`` for softplus, ``|a| exp(z)`` for ELU), a flip of
    ``|1 - slope|`` where a kink's side is uncertain, and their evaluation:
    ELU ``5u |a| exp(z)``; GELU ``Phi + z phi`` (erf's error over 2, the
    density's exp, products: ``ERF_ERROR/2 + 6`` u); SiLU ``s (1 + z (1 - s))``
    (``(10 + 6|z|) u``); softplus a sigmoid (6u), with softplus's threshold
    jump ``1 - sigmoid(t)``.
    """
    derivative, error = _derivative_and_its_error(activation, layer_trace, index, u)
    if activation is None or activation.name in ("identity", "heaviside", "relu"):
        return derivative, error
    return derivative, error + np.finfo(_dtype_of(u)).tiny  # a derivative below the normal range (ELU's exp(-200))


def _derivative_and_its_error(activation, layer_trace, index, u):
    activation_name = "identity" if activation is None else activation.name
    settings = {} if activation is None else activation.kwargs
    out, e_h, z, e_z = layer_trace.h_out, layer_trace.e_out[index], layer_trace.z, layer_trace.e_z[index]
    uncertain_side = (np.abs(z) <= e_z) & (e_z > 0)
    if activation_name == "identity":
        return np.ones_like(out), np.zeros_like(out)
    if activation_name == "heaviside":
        return np.zeros_like(out), np.zeros_like(out)
    if activation_name == "relu":  # 0 where z <= 0, else 1, NaN included: torch's threshold_backward passes it
        return np.where(z <= 0, 0.0, 1.0), np.where(uncertain_side, 1.0, 0.0)
    if activation_name == "sigmoid":
        derivative = out * (1 - out)
        return derivative, np.abs(1 - 2 * out) * e_h + e_h**2 + 2 * u * derivative
    if activation_name == "tanh":
        derivative = 1 - out**2
        return derivative, 2 * np.abs(out) * e_h + e_h**2 + 2 * u
    if activation_name == "leaky_relu":
        slope = settings["negative_slope"]
        derivative = np.where(z > 0, 1.0, slope)
        return derivative, np.where(uncertain_side, abs(1 - slope), 0.0) + u * abs(slope)
    if activation_name == "elu":
        alpha = settings["alpha"]
        left = abs(alpha) * np.exp(np.minimum(z, 0.0))
        derivative = np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))  # NaN at NaN
        error = np.where(z <= e_z, left * (np.expm1(e_z) + 6 * u), 0.0) + np.where(uncertain_side, abs(1 - alpha), 0.0)
        return derivative, error
    if activation_name == "gelu":
        derivative = _gelu_derivative(z, settings["approximate"])
        return derivative, 0.8 * e_z + (ERF_ERROR / 2 + 6) * u
    if activation_name == "silu":
        s = reference_sigmoid(z)
        derivative = s * (1 + z * (1 - s))
        return derivative, 0.5 * e_z + (10 + 6 * np.abs(z)) * u
    if activation_name == "softplus":
        beta, threshold = settings["beta"], settings["threshold"]
        derivative = np.where(beta * z > threshold, 1.0, reference_sigmoid(beta * z))
        jump = np.where(
            np.abs(beta * z - threshold) <= abs(beta) * e_z + 2 * u * np.abs(beta * z),
            1 - reference_sigmoid(np.asarray(threshold, dtype=np.float64)),
            0.0,
        )
        return derivative, abs(beta) / 4 * e_z + 6 * u + jump
    raise ValueError(f"no derivative bound for activation {activation_name!r}")


def _gelu_derivative(z, approximate):
    """GELU'(z) in float64: ``Phi(z) + z phi(z)``, or the derivative of torch's tanh form."""
    if approximate == "none":
        cdf = np.asarray(_erfc(-z / math.sqrt(2.0)), dtype=np.float64) / 2.0
        return cdf + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    k, c = math.sqrt(2.0 / math.pi), 0.044715
    t = np.tanh(k * (z + c * z**3))
    return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * k * (1 + 3 * c * z * z)


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
                g, g_errors = _through_activation(layer.activation, step, g, g_errors, unit_roundoffs)
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
                lost = float(np.finfo(_dtype_of(u)).tiny) * u  # what a product or sum below the normal range loses
                bounds[index][layer.parameter_name("weight")] = (
                    e_g.T @ (np.abs(h_rows) + e_in)
                    + np.abs(g_rows).T @ e_in
                    + gamma(batch, u) * np.abs(g_rows).T @ np.abs(h_rows)
                    + 2 * batch * lost
                )
                if layer.bias is not None:
                    bounds[index][layer.parameter_name("bias")] = (
                        e_g.sum(axis=0) + gamma(batch, u) * np.abs(g_rows).sum(axis=0) + batch * lost
                    )
                new_errors.append(
                    g_errors[index] @ abs_w + gamma(n_out, u) * (np.abs(g) + g_errors[index]) @ abs_w + 2 * n_out * lost
                )
            g, g_errors = g @ layer.weight, new_errors
    gradients["input"] = g
    for index in range(len(unit_roundoffs)):
        bounds[index]["input"] = g_errors[index]
    return gradients, bounds


def _through_activation(activation, step, g, g_errors, unit_roundoffs):
    """``dL/dz`` from ``dL/dh = g`` through the layer's activation, and per ``u`` a bound on its error.

    Elementwise: ``g * f'(z)``, error ``|f'| e_g + (|g| + e_g) e_f' + 3u |g f'|`` (``e_f'``: the
    derivative's error). Softmax and log-softmax mix a row: see ``_through_row_activation``.
    """
    if activation.name in ROW_ACTIVATIONS:
        return _through_row_activation(activation.name, step, g, g_errors, unit_roundoffs)
    errors = []
    with np.errstate(all="ignore"):
        for index, u in enumerate(unit_roundoffs):
            derivative, e_derivative = _derivative_and_error(activation, step, index, u)
            errors.append(
                np.abs(derivative) * g_errors[index]
                + (np.abs(g) + g_errors[index]) * e_derivative
                + 3 * u * np.abs(g * derivative)
            )
        derivative, _ = _derivative_and_error(activation, step, 0, 0.0)
    return g * derivative, errors


def _through_row_activation(name, step, g, g_errors, unit_roundoffs):
    r"""Back through softmax (``g_z = s (g - c)``, ``c = sum_j g_j s_j``) or log-softmax (``g_z = g - p sum_j g_j``,
    ``p = exp(y)``), rows over the last dimension, from the computed output (error ``e_s``) as torch does.

    softmax:      ``e_c <= sum (e_g (s + e_s) + |g| e_s) + gamma(n) sum |g s|``,
                  ``|err| <= (s + e_s)(e_g + e_c) + e_s |g - c| + 3u |s (g - c)| + u s (|g| + |c|)``;
    log-softmax:  ``e_p <= p (exp(e_y) - 1) + 4u p`` (exp of the computed output),
                  ``e_S <= sum e_g + gamma(n) sum |g|``,
                  ``|err| <= e_g + (p + e_p) e_S + e_p |S| + 2u (|g| + p |S|)``.
    """
    out, n = step.h_out, step.h_out.shape[-1]
    errors = []
    with np.errstate(all="ignore"):
        if name == "softmax":
            c = np.sum(g * out, axis=-1, keepdims=True)
            gradient = out * (g - c)
            for index, u in enumerate(unit_roundoffs):
                e_s, e_g = step.e_out[index], g_errors[index]
                e_c = np.sum(e_g * (out + e_s) + np.abs(g) * e_s, axis=-1, keepdims=True) + gamma(n, u) * np.sum(
                    np.abs(g * out), axis=-1, keepdims=True
                )
                errors.append(
                    (out + e_s) * (e_g + e_c)
                    + e_s * np.abs(g - c)
                    + 3 * u * np.abs(gradient)
                    + u * out * (np.abs(g) + np.abs(c))
                )
            return gradient, errors
        p = np.exp(out)
        total = np.sum(g, axis=-1, keepdims=True)
        gradient = g - p * total
        for index, u in enumerate(unit_roundoffs):
            e_y, e_g = step.e_out[index], g_errors[index]
            e_p = np.fmin(p * np.expm1(e_y), 1.0) + EXP_U * u * p  # both p lie in [0, 1]: at most 1 apart (0 inf too)
            e_total = np.sum(e_g, axis=-1, keepdims=True) + gamma(n, u) * np.sum(np.abs(g), axis=-1, keepdims=True)
            errors.append(e_g + (p + e_p) * e_total + e_p * np.abs(total) + 2 * u * (np.abs(g) + p * np.abs(total)))
        return gradient, errors


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
