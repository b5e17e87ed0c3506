"""The operations of a network and their derivatives, in NumPy (``torch.nn.functional`` in miniature).

Each operation ``f`` is followed by ``f_backward``: given the gradient of the
loss with respect to ``f``'s output (``grad_output``, same shape as the
output), it returns the gradient with respect to ``f``'s input, by the chain
rule. When a module's forward pass is recording (see ``autograd``), each
operation also notes on the tape how to go back through it.

Conventions, all as in torch: elementwise functions take any shape ``(*)``
and return a new array of that shape and, for floating input, that dtype; no
function writes into an array it was given; no NumPy warnings at +-1000 or
NaN; values and slopes at 0, -0, +-inf and NaN are torch's (tests check them
against torch).
"""

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .autograd import record
from .module import Parameter

__all__ = [
    "binary_cross_entropy_with_logits",
    "check_reduction",
    "binary_cross_entropy_with_logits_backward",
    "elu",
    "elu_backward",
    "erf",
    "gelu",
    "gelu_backward",
    "heaviside",
    "heaviside_backward",
    "identity",
    "leaky_relu",
    "leaky_relu_backward",
    "linear",
    "linear_backward",
    "add_to_rows",
    "log_softmax",
    "log_softmax_backward",
    "mse_loss",
    "mse_loss_backward",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "silu",
    "silu_backward",
    "softmax",
    "softmax_backward",
    "softplus",
    "softplus_backward",
    "tanh",
    "tanh_backward",
]


# -- Linear ---------------------------------------------------------------------------------


def linear(input: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None) -> NDArray[Any]:
    """``y = x @ W.T + b``.

    Shapes: input ``(*, in)``, weight ``(out, in)``, bias ``(out,)`` or None;
    output ``(*, out)``. ``weight`` and ``bias`` may be arrays or
    ``Parameter``s; a backward pass adds ``dW`` and ``db`` to a Parameter's
    ``.grad``.
    """
    x = np.asarray(input)
    # The dot method for 2-D input: the same BLAS product as @, half its dispatch cost (which is the whole time
    # at a few rows); @ otherwise (dot of N-D arrays is another product).
    output = x.dot(_values(weight).T) if x.ndim == 2 else x @ _values(weight).T
    if bias is not None:
        add_to_rows(output, _values(bias))  # in place: output is a new array of our own
    record(output, input, lambda grad: _linear_backward_and_accumulate(grad, x, weight, bias))
    return output


#: From this many rows on, ``linear_backward`` sums ``db`` as ``ones @ g`` (below, allocating the ones costs more).
_SUM_ROWS = 16

#: Rows of bias added in one stretch by ``add_to_rows`` (16 KiB of float32 for the article's 4 features).
_TILE_VALUES = 4096


def add_to_rows(output, bias):
    """``output += bias`` on every row (the last dimension), in place, for a C-contiguous ``output`` of our own.

    The same sum as NumPy's broadcast ``output += bias``, faster: with few
    features per row, the broadcast loop restarts every row (4 values for the
    article's net), so the bias is tiled over many rows and added to the
    matching view of ``output`` in one long loop (5x faster at 65536 x 4).
    """
    width = bias.shape[0]
    per_tile = _TILE_VALUES // max(width, 1)
    if output.size < _TILE_VALUES or per_tile < 2:  # a few rows, or wide ones (or none): the plain sum is as fast
        output += bias
        return
    rows = output.reshape(-1, width)
    whole = rows.shape[0] // per_tile * per_tile
    if whole:
        rows[:whole].reshape(-1, per_tile * width).__iadd__(np.tile(bias, per_tile))
    rows[whole:] += bias


def linear_backward(
    grad_output: NDArray[Any], input: NDArray[Any], weight: ArrayLike
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Backward of ``y = x @ W.T + b``, with ``g = grad_output`` of shape ``(*, out)``.

    Returns ``(dx, dW, db)``::

        dx = g @ W                                        (*, in)
        dW = g^T x, summed over every leading dimension   (out, in)
        db = g, summed over every leading dimension       (out,)

    (Each sample adds its own ``g^T x`` to ``dW``: the weights are shared by all samples.)
    """
    w = _values(weight)
    g_rows, x_rows = grad_output, input  # (samples, out) and (samples, in): all leading dimensions as one
    if grad_output.ndim != 2 or input.ndim != 2:
        g_rows, x_rows = grad_output.reshape(-1, w.shape[0]), input.reshape(-1, w.shape[1])
    # db, beyond a few rows, as a product with ones: BLAS sums each column at once, where NumPy's sum(axis=0) walks
    # the rows (2.5x slower at 256 rows of 4 features, 20x at 65536); both sum the same terms, within the same bound.
    grad_input = grad_output.dot(w) if grad_output.ndim == 2 else grad_output @ w  # dot: as in ``linear``
    grad_weight = g_rows.T.dot(x_rows)
    if g_rows.shape[0] < _SUM_ROWS:
        return grad_input, grad_weight, g_rows.sum(axis=0)
    return grad_input, grad_weight, _ones(g_rows.shape[0], g_rows.dtype).dot(g_rows)


def _ones(count, dtype):
    """``count`` ones of ``dtype``, read-only, cut from one kept vector (``np.ones`` costs 1.5 us at 256 rows)."""
    kept = _ONES.get(dtype)
    if kept is None or kept.shape[0] < count:
        kept = np.ones(max(count, 1024), dtype)
        kept.flags.writeable = False
        _ONES[dtype] = kept
    return kept[:count]


#: The longest ones vector asked for so far, per dtype (a batch's worth: 512 KiB at 65536 rows of float64).
_ONES: dict = {}


def _linear_backward_and_accumulate(grad_output, input, weight, bias):
    grad_input, grad_weight, grad_bias = linear_backward(grad_output, input, weight)
    _accumulate(weight, grad_weight)
    if bias is not None:
        _accumulate(bias, grad_bias)
    return grad_input


def _values(array_or_parameter):
    return array_or_parameter.data if isinstance(array_or_parameter, Parameter) else np.asarray(array_or_parameter)


def _accumulate(param, grad):
    """Add ``grad`` to ``param.grad``, as torch accumulates across backward passes (a new array each time)."""
    if isinstance(param, Parameter):
        param.grad = grad if param.grad is None else param.grad + grad


# -- Activations ----------------------------------------------------------------------------


def relu(input: ArrayLike) -> NDArray[Any]:
    """ReLU(x) = max(0, x).

    Shape: ``(*)`` -> ``(*)``. NaN stays NaN and -0.0 stays -0.0, as in torch
    (``np.maximum(-0.0, 0)`` would give +0.0).
    """
    x = np.asarray(input)
    if x.dtype in _SIMD_MAXIMUM:
        # One branch-free pass (10x faster here than np.where on random signs). The zero comes first: NumPy's SIMD
        # maximum gives its second operand when the two are equal, so -0.0 stays -0.0 (max(x, 0) would give +0.0),
        # and it keeps NaN; tests/test_functional.py checks both at every size and stride (a NumPy change would show).
        output = np.asarray(np.maximum(x.dtype.type(0), x))
    else:  # other dtypes (float16, integers) take NumPy's plain loop, which gives +0.0: the zeros are put back
        output = np.asarray(np.maximum(x, 0))
        np.copyto(output, x, where=x == 0)
    record(output, input, lambda grad: relu_backward(grad, output))
    return output


#: The dtypes whose ``np.maximum(0, x)`` keeps -0.0 (NumPy's SIMD loops; checked by the tests).
_SIMD_MAXIMUM = (np.dtype(np.float32), np.dtype(np.float64))


def relu_backward(grad_output: NDArray[Any], output: NDArray[Any]) -> NDArray[Any]:
    """d relu(x)/dx = 1 where x > 0, else 0, **including at x = 0**, as in torch.

    Written from the output ``y = relu(x)`` (as torch does): the gradient
    passes where ``y > 0`` and also where ``y`` is NaN; it is 0 where ``y <= 0``,
    which for relu's output (never below 0) is ``y == 0``, either zero.
    (``np.maximum`` under a generic autodiff would give 1/2 at 0.)

    Computed as ``g * passes``, without branches (``np.where`` on a mask of
    random signs costs 10x more here, one mispredicted branch per value); an
    infinite or NaN ``g`` where the gradient stops would give ``inf * 0 = NaN``,
    so those are set to 0 afterwards, as ``np.where`` would have.
    """
    passes = output != 0  # one comparison where ~(y <= 0) takes two; NaN != 0 passes
    if np.isfinite(grad_output).all():  # checked first: then no inf * 0 can warn, and no errstate (1 us) is needed
        return grad_output * passes
    with np.errstate(invalid="ignore"):  # inf * 0, mended below
        grad_input = grad_output * passes
    np.copyto(grad_input, 0, where=~passes)
    return grad_input


def sigmoid(input: ArrayLike) -> NDArray[Any]:
    """sigmoid(x) = 1 / (1 + exp(-x)), in (0, 1).

    Shape: ``(*)`` -> ``(*)``. Written with ``e = exp(-|x|)``, which lies in
    (0, 1] and never overflows: ``1 / (1 + e)`` for x >= 0 and ``e / (1 + e)``
    for x < 0 are the same function. sigmoid(+-1000) is exactly 1 and 0.
    """
    output = _sigmoid_values(np.asarray(input))
    record(output, input, lambda grad: sigmoid_backward(grad, output))
    return output


def _sigmoid_values(x, e=None):
    # exp(min(x, 0)) / (1 + exp(-|x|)): 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, in one formula
    # without branches (np.where on random signs is slow), and with no exp that can overflow.
    # ``e = exp(-|x|)`` may be given by a caller that has it already (the logistic loss's forward).
    e = np.exp(-np.abs(x)) if e is None else e
    return np.exp(np.minimum(x, 0)) / (1 + e)


def sigmoid_backward(grad_output: NDArray[Any], output: NDArray[Any]) -> NDArray[Any]:
    """d sigmoid(x)/dx = s (1 - s) with ``s = sigmoid(x)`` (the output): 1/4 at 0, 0 at +-inf."""
    return grad_output * (1 - output) * output


def tanh(input: ArrayLike) -> NDArray[Any]:
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), in (-1, 1).

    Shape: ``(*)`` -> ``(*)``. NumPy's tanh is already stable at any magnitude.
    """
    output = np.tanh(input)
    record(output, input, lambda grad: tanh_backward(grad, output))
    return output


def tanh_backward(grad_output: NDArray[Any], output: NDArray[Any]) -> NDArray[Any]:
    """d tanh(x)/dx = 1 - t^2 with ``t = tanh(x)`` (the output): 1 at 0, 0 at +-inf."""
    return grad_output * (1 - output * output)


def heaviside(input: ArrayLike, values: ArrayLike) -> NDArray[Any]:
    """Step function: 0 where x < 0, ``values`` where x == 0, 1 where x > 0.

    Shape: ``(*)`` and ``values`` broadcastable to it -> ``(*)``, in the dtype
    of ``input`` (``values`` is converted to it). At NaN the result is 0, as in
    ``torch.heaviside`` (NaN > 0 is false); ``np.heaviside`` returns NaN there.
    """
    x = np.asarray(input)
    output = np.where(x == 0, np.asarray(values, dtype=x.dtype), x > 0).astype(x.dtype, copy=False)
    record(output, input, lambda grad: heaviside_backward(grad))
    return output


def heaviside_backward(grad_output: NDArray[Any]) -> NDArray[Any]:
    """The step has no useful derivative: 0 everywhere but at 0, where it does not exist.

    We return zeros everywhere, a documented choice (torch raises "derivative
    for aten::heaviside is not implemented"; ``torchnet.Heaviside`` makes the
    same choice). So nothing before a Heaviside layer can learn by gradient
    descent: that is why trainable networks use sigmoid, tanh or ReLU.
    """
    return np.zeros_like(grad_output)


def identity(input):
    """identity(x) = x, returned as it is (no copy), like ``torch.nn.Identity``.

    Its backward is the identity too, so nothing needs recording: the next
    operation receives the very same array and the gradient flows straight through.
    """
    return input


# -- The activations modern MLPs use --------------------------------------------------------


def leaky_relu(input: ArrayLike, negative_slope: float = 0.01) -> NDArray[Any]:
    """LeakyReLU(x) = x where x > 0, else ``negative_slope * x``.

    Shape: ``(*)`` -> ``(*)``. NaN stays NaN and -0.0 stays -0.0, as in torch.
    """
    x = np.asarray(input)
    output = np.where(x > 0, x, x * _like(x, negative_slope))
    record(output, input, lambda grad: leaky_relu_backward(grad, x, negative_slope))
    return output


def leaky_relu_backward(grad_output: NDArray[Any], input: NDArray[Any], negative_slope: float = 0.01) -> NDArray[Any]:
    """d/dx = 1 where x > 0, else ``negative_slope``: **at 0 and at NaN too**, as torch (the slope is read from x)."""
    return np.where(input > 0, grad_output, grad_output * _like(grad_output, negative_slope))


def elu(input: ArrayLike, alpha: float = 1.0) -> NDArray[Any]:
    """ELU(x) = x where x > 0, else ``alpha * (exp(x) - 1)``.

    Shape: ``(*)`` -> ``(*)``. ``exp(x) - 1`` is computed as ``expm1(x)``,
    which keeps its accuracy near 0 (torch subtracts; both are within the
    bound ``compare.tolerance`` derives). -0.0 stays -0.0, NaN stays NaN, -inf
    gives ``-alpha``.
    """
    x = np.asarray(input)
    with np.errstate(over="ignore"):  # expm1 of a large x is inf in the branch not taken
        output = np.where(x <= 0, np.expm1(x) * _like(x, alpha), x)
    record(output, input, lambda grad: elu_backward(grad, x, alpha))
    return output


def elu_backward(grad_output: NDArray[Any], input: NDArray[Any], alpha: float = 1.0) -> NDArray[Any]:
    """d/dx = 1 where x > 0, else ``alpha * exp(x)``: ``alpha`` **at 0** (torch's choice), 0 at -inf, NaN at NaN.

    (At NaN torch gives 1 or NaN depending on where the element falls in its vector loop; NaN in, NaN out.)
    """
    with np.errstate(over="ignore"):
        return np.where(input > 0, grad_output, grad_output * (np.exp(input) * _like(input, alpha)))


# NumPy has no error function: the standard library's (C's erf, correct to about 1 ulp), element by element.
_erf = np.frompyfunc(math.erf, 1, 1)


def erf(input: ArrayLike) -> NDArray[np.float64]:
    """The error function ``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt``, in float64, elementwise.

    ``math.erf`` applied element by element (NumPy has none); erf(+-inf) = +-1, erf(NaN) = NaN.
    """
    return np.asarray(_erf(np.asarray(input, dtype=np.float64)), dtype=np.float64)


_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_KAPPA = 0.044715


def gelu(input: ArrayLike, approximate: str = "none") -> NDArray[Any]:
    """GELU(x) = x Phi(x), Phi the standard normal's distribution function.

    - ``approximate="none"``: ``x/2 (1 + erf(x / sqrt 2))``, computed in
      float64 (with ``erf`` above) and rounded once to the input's dtype.
    - ``approximate="tanh"``: torch's approximation
      ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``, in the input's dtype.

    Shape: ``(*)`` -> ``(*)``. As torch: GELU(-inf) is NaN (``-inf * 0``),
    GELU(+inf) = inf, GELU(-1000) = -0.0.
    """
    x = np.asarray(input)
    _check_approximate(approximate)
    with np.errstate(invalid="ignore", over="ignore"):  # -inf * 0 is NaN, as in torch; x^3 may overflow to inf
        if approximate == "none":
            wide = x.astype(np.float64)
            output = (wide * 0.5 * (1.0 + erf(wide * _SQRT_HALF))).astype(_floating(x))
        else:
            half, one = _like(x, 0.5), _like(x, 1)
            inner = _like(x, _SQRT_2_OVER_PI) * (x + _like(x, _GELU_KAPPA) * x * x * x)
            output = half * x * (one + np.tanh(inner))
    record(output, input, lambda grad: gelu_backward(grad, x, approximate))
    return output


def gelu_backward(grad_output: NDArray[Any], input: NDArray[Any], approximate: str = "none") -> NDArray[Any]:
    """d GELU/dx: ``Phi(x) + x phi(x)`` (``phi`` the normal density) for ``"none"``; for ``"tanh"``, with
    ``t = tanh(k (x + c x^3))``: ``(1 + t)/2 + x/2 (1 - t^2) k (1 + 3 c x^2)``. 1/2 at 0; NaN at +-inf, as torch."""
    x = np.asarray(input)
    with np.errstate(invalid="ignore", over="ignore"):
        if _check_approximate(approximate) == "none":
            wide = x.astype(np.float64)
            cdf = 0.5 * (1.0 + erf(wide * _SQRT_HALF))
            pdf = np.exp(-0.5 * wide * wide) / math.sqrt(2 * math.pi)
            return grad_output * (cdf + wide * pdf).astype(_floating(x))
        k, c = _like(x, _SQRT_2_OVER_PI), _like(x, _GELU_KAPPA)
        t = np.tanh(k * (x + c * x * x * x))
        half, one, three = _like(x, 0.5), _like(x, 1), _like(x, 3)
        return grad_output * (half * (one + t) + half * x * (one - t * t) * k * (one + three * c * x * x))


def _like(array, value):
    """``value`` as a scalar of ``array``'s floating dtype: float32 stays float32 (integers promote as NumPy does)."""
    return array.dtype.type(value) if array.dtype.kind == "f" else value


def _floating(array):
    """``array``'s dtype when it is floating, else float64."""
    return array.dtype if array.dtype.kind == "f" else np.dtype(np.float64)


def _check_approximate(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate


def silu(input: ArrayLike) -> NDArray[Any]:
    """SiLU(x) = x sigmoid(x) (also called swish). Shape: ``(*)`` -> ``(*)``.

    With the stable ``sigmoid`` above: no overflow at any magnitude; SiLU(-inf)
    is NaN (``-inf * 0``) and SiLU(-1000) = -0.0, as in torch.
    """
    x = np.asarray(input)
    s = _sigmoid_values(x)
    with np.errstate(invalid="ignore"):
        output = x * s
    record(output, input, lambda grad: silu_backward(grad, x))
    return output


def silu_backward(grad_output: NDArray[Any], input: NDArray[Any]) -> NDArray[Any]:
    """d SiLU/dx = s (1 + x (1 - s)), ``s = sigmoid(x)``: 1/2 at 0, NaN at +-inf (as torch)."""
    s = _sigmoid_values(input)
    with np.errstate(invalid="ignore"):
        return grad_output * (s * (1 + input * (1 - s)))


def softplus(input: ArrayLike, beta: float = 1.0, threshold: float = 20.0) -> NDArray[Any]:
    """Softplus(x) = log(1 + exp(beta x)) / beta, and x itself where ``beta x > threshold`` (torch's rule).

    Shape: ``(*)`` -> ``(*)``. Above the threshold the two differ by less than
    ``exp(-threshold) / beta``; below it ``exp`` cannot overflow for the default
    threshold. Softplus(-inf) = 0, softplus(NaN) = NaN.
    """
    x = np.asarray(input)
    b = _like(x, beta)
    with np.errstate(over="ignore", invalid="ignore"):  # the branch not taken may overflow
        scaled = x * b
        output = np.where(scaled > threshold, x, np.log1p(np.exp(scaled)) / b)
    record(output, input, lambda grad: softplus_backward(grad, x, beta, threshold))
    return output


def softplus_backward(
    grad_output: NDArray[Any], input: NDArray[Any], beta: float = 1.0, threshold: float = 20.0
) -> NDArray[Any]:
    """d/dx = ``e / (1 + e)`` with ``e = exp(beta x)`` (a sigmoid), and 1 where ``beta x > threshold``: 1/2 at 0."""
    scaled = input * _like(input, beta)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(scaled)
        return np.where(scaled > threshold, grad_output, grad_output * (e / (e + 1)))


def softmax(input: ArrayLike, dim: int = -1) -> NDArray[Any]:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j), over the **last** dimension (torch's ``dim=-1``).

    Shape: ``(*, n)`` -> ``(*, n)``, each row summing to 1 (a 0-d input is one row
    of one). Computed as ``exp(x - max) / sum(exp(x - max))``, which cannot
    overflow. A row holding NaN or +inf, or only -inf, gives NaN, as in torch.
    ``dim`` may only name the last dimension (-1 or ``ndim - 1``).
    """
    x = _last_dimension(input, dim, "softmax")
    output = _softmax_values(x).reshape(np.shape(input))
    record(output, input, lambda grad: softmax_backward(grad, output))
    return output


def _last_dimension(input, dim, name):
    """``input`` as an array with at least one dimension, once ``dim`` is checked to be its last one."""
    x = np.asarray(input)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim not in (-1, max(x.ndim, 1) - 1):
        raise ValueError(f"{name} works over the last dimension (dim=-1); got dim={dim!r} for a {x.ndim}-D input")
    return x.reshape(1) if x.ndim == 0 else x


def _softmax_values(x):
    with np.errstate(invalid="ignore"):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True, initial=-np.inf))  # initial: empty rows too
        return e / np.sum(e, axis=-1, keepdims=True)


def softmax_backward(grad_output: NDArray[Any], output: NDArray[Any]) -> NDArray[Any]:
    """dL/dx = s * (g - sum(g * s)), the sum over the last dimension, from the output ``s`` (as torch)."""
    g, s = np.atleast_1d(grad_output), np.atleast_1d(output)  # a 0-d input is one row of one
    with np.errstate(invalid="ignore"):
        return (s * (g - np.sum(g * s, axis=-1, keepdims=True))).reshape(np.shape(grad_output))


def log_softmax(input: ArrayLike, dim: int = -1) -> NDArray[Any]:
    """log_softmax(x)_i = x_i - log(sum_j exp(x_j)), over the **last** dimension (torch's ``dim=-1``).

    Shape: ``(*, n)`` -> ``(*, n)``. Computed as ``(x - max) - log(sum(exp(x - max)))``:
    no overflow, and -1000 stays -1000 where ``log(softmax)`` would be -inf.
    ``dim`` may only name the last dimension.
    """
    x = _last_dimension(input, dim, "log_softmax")
    with np.errstate(invalid="ignore"):
        shifted = x - np.max(x, axis=-1, keepdims=True, initial=-np.inf)  # initial: empty rows too
        output = (shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))).reshape(np.shape(input))
    record(output, input, lambda grad: log_softmax_backward(grad, output))
    return output


def log_softmax_backward(grad_output: NDArray[Any], output: NDArray[Any]) -> NDArray[Any]:
    """dL/dx = g - exp(y) * sum(g), the sum over the last dimension, from the output ``y`` (as torch)."""
    g, y = np.atleast_1d(grad_output), np.atleast_1d(output)  # a 0-d input is one row of one
    with np.errstate(invalid="ignore"):
        return (g - np.exp(y) * np.sum(g, axis=-1, keepdims=True)).reshape(np.shape(grad_output))


# -- Losses ---------------------------------------------------------------------------------

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: object) -> str:
    """Return ``reduction`` if it is ``"none"``, ``"mean"`` or ``"sum"``; a ``ValueError`` otherwise (as torch)."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction (expected one of {', '.join(REDUCTIONS)})")
    return reduction


def _reduce(values, reduction):
    """The values themselves (``"none"``), their sum, or their mean; the mean of nothing is NaN (as torch)."""
    if check_reduction(reduction) == "none":
        return values
    total = np.add.reduce(values, axis=None)  # what values.sum() calls, without its Python wrapper (1 us)
    if reduction == "sum":
        return total
    return total / values.size if values.size else values.dtype.type(np.nan)


def mse_loss(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> NDArray[Any]:
    """Mean squared error: ``L = mean((x - t)^2)`` (or the sum, or each ``(x - t)^2`` with ``"none"``).

    Shapes: input and target ``(*)``, the same; output a scalar of input's
    dtype, or ``(*)`` with ``reduction="none"``.
    """
    x = np.asarray(input)
    diff = x - np.asarray(target, dtype=x.dtype)
    loss = _reduce(diff * diff, reduction)
    record(loss, input, lambda grad: mse_loss_backward(grad, diff, reduction))
    return loss


def mse_loss_backward(grad_output: NDArray[Any], diff: NDArray[Any], reduction: str = "mean") -> NDArray[Any]:
    """dL/dx = 2 (x - t) / N for the mean over N elements, 2 (x - t) for the sum and "none"; ``diff = x - t``.

    With ``"none"``, ``grad_output`` has the shape of the loss, ``(*)``; otherwise it is a scalar.
    """
    scale = 2 / max(diff.size, 1) if check_reduction(reduction) == "mean" else 2
    return grad_output * (scale * diff)


def binary_cross_entropy_with_logits(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> NDArray[Any]:
    """Binary cross-entropy on logits: ``L = mean(-[t log s + (1 - t) log(1 - s)])``, ``s = sigmoid(x)``.

    Computed in the stable form ``max(x, 0) - x t + log(1 + exp(-|x|))``, which
    never takes the log of 0 nor overflows exp, even at logits of +-1000.
    Shapes: input (logits) and target (in [0, 1]) ``(*)``, the same; output a
    scalar, or ``(*)`` with ``reduction="none"``.
    """
    x = np.asarray(input)
    t = np.asarray(target, dtype=x.dtype)
    e = np.exp(-np.abs(x))
    losses = np.maximum(x, 0) - x * t + np.log1p(e)
    loss = _reduce(losses, reduction)
    record(loss, input, lambda grad: binary_cross_entropy_with_logits_backward(grad, x, t, reduction, _e=e))
    return loss


def binary_cross_entropy_with_logits_backward(
    grad_output: NDArray[Any], input: NDArray[Any], target: NDArray[Any], reduction: str = "mean", *, _e=None
) -> NDArray[Any]:
    """dL/dx = (sigmoid(x) - t) / N for the mean over N elements, (sigmoid(x) - t) for the sum and "none".

    (``_e``: ``exp(-|x|)``, kept from the forward, which computed it for the loss.)
    """
    scale = 1 / max(np.size(input), 1) if check_reduction(reduction) == "mean" else 1
    return grad_output * (scale * (_sigmoid_values(np.asarray(input), _e) - target))
