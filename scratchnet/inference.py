"""``infer(net, x)``: the forward pass for inference, as fast as NumPy allows, with the same maths.

``net(x)`` runs the ``forward`` a learner reads. ``infer(net, x)`` computes
the same ``y`` (the tests hold it to the same derived tolerance against
torch) for networks that are chains of Linear layers (``Net``, ``MLP``,
``Linear``), with these tricks:

1. **No tape.** Nothing is recorded for a backward pass, so no intermediate
   array is kept alive.
2. **Feature-major layout.** A layer computes ``h^T = W @ x^T`` (shape
   ``(out, batch)``) instead of ``x @ W^T`` (``(batch, out)``). With few
   features and many samples, each row of ``h^T`` is one feature over the
   whole batch: long and contiguous, which BLAS and the elementwise loops
   stream through. ``x^T`` is a view (no copy): BLAS reads it transposed.
   The last layer turns back to ``(batch, out)`` the same way, writing
   straight into the output.
3. **Chunks that fit in cache.** The batch is cut into chunks whose
   activations (a few hundred KiB) stay in the CPU's cache from one layer to
   the next, instead of streaming megabytes through memory per layer. It also
   keeps the temporaries small: large arrays freshly taken from the operating
   system cost a page fault per 4 KiB on first touch, which at a batch of
   65536 costs more than the arithmetic.
4. **Two buffers, reused.** Layer ``k`` writes into buffer ``k % 2``; the
   other one holds its input, then serves as scratch for its activation.
   Beyond the output, a call allocates two chunk-sized buffers (at most
   activation-sized) and a few hundred bytes of array headers; NumPy's own
   ufunc scratch buffer is shrunk for the call (``UFUNC_BUFFER``).
5. **In-place activations** on those buffers (they are ours): no new array
   per activation.
6. **One sample is a matrix-vector product** (BLAS gemv): cheaper to dispatch
   than a matrix product. At a batch of one, the time goes to dispatching
   NumPy calls, not to arithmetic: this path makes as few calls as it can,
   and calls ``W.dot(h)``, the method, which skips the ``__array_function__``
   dispatch of ``np.dot`` (about 0.2 us of 0.45 us for a 4 x 4 product).
7. **A few rows stay batch-major** (up to ``SMALL_BATCH``): below a few
   hundred rows, the chunks' set-up costs more than the layout saves, so each
   layer is one ``dot``, one bias addition and one activation on its own
   fresh output (ahead of plain NumPy expressions by about 10%).

Tried and left out: a thread pool over contiguous parts of the batch (each
thread its own buffers). With two threads it was slower here (0.8x at
1048576 rows): NumPy keeps the GIL through part of its small-matrix calls.

ReLU here is ``np.maximum``, which turns -0.0 into +0.0 (``forward`` keeps
-0.0, like torch); the two are equal as numbers and as inputs to the next
layer.
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import functional as F
from .architecture import architecture_of
from .checks import as_input
from .module import Module

__all__ = ["infer"]

#: Target size of one chunk's activation buffer: small enough to stay in L2 cache.
CHUNK_BYTES = 2**17
#: Never cut the batch finer than this: wide layers need long matrix products to reach BLAS's speed.
MIN_CHUNK = 1024
#: NumPy's ufuncs take a scratch buffer of ``bufsize`` elements (default 8192: 32 KiB of float32) for
#: broadcasting operations such as ``out += bias[:, None]`` on rows shorter than that; this keeps it small.
UFUNC_BUFFER = 64


def infer(net: Module, x: ArrayLike) -> NDArray[np.floating]:
    """Return ``net(x)`` for inference, computed fast (see the module docstring).

    Args:
        net: a scratchnet network whose ``architecture`` describes its forward:
            ``Linear``, ``Net``, ``MLP``, ``Sequential`` of Linear layers and
            activations. A subclass with a ``forward`` of its own is refused
            (``TypeError``): its description may not say what it computes.
        x: input of shape ``(*, in_features)``, with the same rules as ``Linear``.

    Returns:
        ``y`` of shape ``(*, out_features)``, a new C-contiguous array.
    """
    steps = _plan(net)
    first, last = steps[0][0], steps[-1][0]
    dtype = first.weight._data.dtype
    if not (type(x) is np.ndarray and x.dtype is dtype and x.ndim and x.shape[-1] == first.in_features):
        x = as_input(x, first.weight.dtype, first.in_features, net)  # the full checks, when the quick one fails
    assert isinstance(x, np.ndarray)  # for the type checker: as_input returns an array
    if x.ndim == 2 and 1 < x.shape[0] <= SMALL_BATCH:  # the common small case first, without reshapes
        return _small_batch(steps, x)
    lead = x.shape[:-1]
    if x.size == first.in_features != 0:
        return _one_sample(steps, x.reshape(-1)).reshape(lead + (last.out_features,))
    rows = x.reshape(-1, first.in_features)
    if rows.shape[0] <= SMALL_BATCH:
        return _small_batch(steps, rows).reshape(lead + (last.out_features,))
    y = np.empty((rows.shape[0], last.out_features), dtype=x.dtype)
    # Buffers hold every hidden layer's output, and serve as scratch for an output activation.
    widths = [layer.out_features for layer, _, _ in steps[:-1]]
    widths += [last.out_features] if steps[-1][1] is not _identity_ else []
    width = max(widths, default=1)
    chunk = min(max(CHUNK_BYTES // (width * x.dtype.itemsize), MIN_CHUNK), max(rows.shape[0], 1))
    _rows(steps, rows, y, width, chunk)
    return y.reshape(lead + (last.out_features,))


def _rows(steps, rows, y, width, chunk):
    """``rows`` -> ``y`` chunk by chunk, with two buffers of ``width * chunk`` values of its own."""
    buffers = (np.empty(width * chunk, rows.dtype), np.empty(width * chunk, rows.dtype))  # flat: any (w, n) view
    with np.errstate():  # scopes the buffer size below to this call (NumPy keeps it in a context variable)
        np.setbufsize(UFUNC_BUFFER)
        for start in range(0, rows.shape[0], chunk):
            _chunk(steps, rows[start : start + chunk], y[start : start + chunk], buffers)


def _small_batch(steps, x):
    """A few rows: ``h = act(h @ W.T + b)`` batch-major, in place on each layer's fresh output.

    Below ``SMALL_BATCH`` rows the time is NumPy's per-call dispatch, not
    arithmetic: this path makes the fewest calls (a matrix product, the bias,
    the activation, per layer), calls the ``dot`` method (no
    ``__array_function__`` dispatch), and skips the chunks' set-up.
    """
    zero = _ZERO[x.dtype]
    h = x
    for layer, activate, settings in steps:
        h = h.dot(layer.weight._data.T)  # _data: the array itself, without the property's checks (a read)
        if layer.bias is not None:
            h += layer.bias._data
        if activate is _relu_:
            np.maximum(h, zero, out=h)
        elif activate is not _identity_:
            activate(h, None, settings)
    return h


#: At most this many rows go through ``_small_batch``.
SMALL_BATCH = 512


def _plan(net):
    """``net``'s layers as ``(Linear module, in-place activation, its settings)``, compiled from its architecture.

    The plan is kept on the network and compiled again whenever any module's
    attributes have been assigned since (``Module.structure_generation``):
    replacing a layer or an activation, or changing a Heaviside's value, is
    seen; the weights themselves are read at every call.
    """
    generation = Module.structure_generation  # read first: a change made while compiling invalidates the plan
    cached = net.__dict__.get("_inference_plan")
    if cached is not None and cached[0] == generation:
        return cached[1]
    architecture = architecture_of(net, "infer()")
    for name, module in net.named_modules():
        if "forward" in module.__dict__ or "__call__" in module.__dict__:
            where = f"its module {name!r}" if name else "it"
            raise TypeError(f"infer() refuses this {type(net).__name__}: {where} had forward replaced on the instance")
    steps = []
    for name, layer in zip(architecture.layer_names, architecture.layers):
        activation = layer.activation
        if activation is None:
            steps.append((net.get_submodule(name), _identity_, {}))
        else:
            steps.append((net.get_submodule(name), IN_PLACE[activation.name], activation.kwargs))
    steps = tuple(steps)
    object.__setattr__(net, "_inference_plan", (generation, steps))
    return steps


def _chunk(steps, x, y, buffers):
    """One chunk: ``x`` ``(n, in)`` -> ``y`` ``(n, out)``, written in place, feature-major in between."""
    n = x.shape[0]
    h = x.T  # (in, n): a view, read transposed by BLAS
    for number, (layer, activate, settings) in enumerate(steps[:-1]):
        size = layer.out_features * n
        out = buffers[number % 2][:size].reshape(layer.out_features, n)
        np.matmul(layer.weight._data, h, out=out)  # matmul: a third faster than dot here, and parallel in threads
        if layer.bias is not None:
            out += layer.bias._data[:, None]
        activate(out, buffers[(number + 1) % 2][:size].reshape(out.shape), settings)
        h = out
    last, activate, settings = steps[-1]
    np.matmul(h.T, last.weight._data.T, out=y)  # back to (n, out), straight into the output
    if last.bias is not None:
        y += last.bias._data
    if activate is not _identity_:  # an output activation: the free buffer serves as scratch
        free = buffers[(len(steps) - 1) % 2][: y.size].reshape(y.shape)
        activate(y, free, settings)


def _one_sample(steps, x):
    """One sample as 1-D vectors: ``h = W @ h + b`` is a matrix-vector product."""
    zero = _ZERO[x.dtype]
    h = x
    for layer, activate, settings in steps:
        h = layer.weight._data.dot(h)
        if layer.bias is not None:
            h += layer.bias._data
        if activate is _relu_:
            np.maximum(h, zero, out=h)  # the common case, without a function call: a tenth of this path's time
        elif activate is not _identity_:
            activate(h, None, settings)
    return h


# A zero of the array's own dtype: NumPy then skips converting a Python 0 on every call (half the cost for small h).
_ZERO = {np.dtype(np.float32): np.zeros((), np.float32), np.dtype(np.float64): np.zeros((), np.float64)}


def _relu_(h, scratch, settings):
    if scratch is None:
        np.maximum(h, _ZERO[h.dtype], out=h)
    else:
        # NumPy's SIMD maximum runs only when both operands are arrays: against a zero-filled
        # array it is about 4x faster than against a scalar zero, even counting the fill.
        scratch.fill(0)
        np.maximum(h, scratch, out=h)


def _tanh_(h, scratch, settings):
    np.tanh(h, out=h)


def _sigmoid_(h, scratch, settings):
    # sigmoid(x) = exp(min(x, 0)) / (1 + exp(-|x|)): the stable form of functional.sigmoid,
    # the numerator built in scratch (min against zeros: the fast minimum, as in _relu_), the denominator in h.
    scratch = np.empty_like(h) if scratch is None else scratch
    scratch.fill(0)
    np.minimum(h, scratch, out=scratch)
    np.exp(scratch, out=scratch)
    np.abs(h, out=h)
    np.negative(h, out=h)
    np.exp(h, out=h)
    h += 1
    np.divide(scratch, h, out=h)


def _heaviside_(h, scratch, settings):
    # 1 where x > 0 (in scratch), value where x == 0 (in h), 0 elsewhere and at NaN.
    scratch = np.empty_like(h) if scratch is None else scratch
    np.greater(h, 0, out=scratch)
    np.equal(h, 0, out=h)
    h *= settings["value"]
    h += scratch


def _identity_(h, scratch, settings):
    pass


def _leaky_relu_(h, scratch, settings):
    # x where x > 0, else slope * x; NaN <= 0 is false, so NaN stays.
    scratch = np.empty_like(h) if scratch is None else scratch
    np.multiply(h, h.dtype.type(settings["negative_slope"]), out=scratch)
    np.copyto(h, scratch, where=h <= 0)


def _by_functional(function):
    """The other activations: ``functional``'s own code on the chunk (chunk-sized temporaries), copied into ``h``.

    Softmax and log-softmax follow the last layer only (the Architecture says so), where ``h`` is ``(n, out)``:
    their last dimension is the features, as in ``forward``.
    """

    def activate(h, scratch, settings):
        h[...] = function(h, **settings)

    return activate


#: In-place activations: ``f(h, scratch, settings)`` overwrites ``h``; ``scratch`` (shaped like h, or None) is free;
#: ``settings`` are the Activation's (Heaviside's value at 0, a slope...).
IN_PLACE = {
    "relu": _relu_,
    "tanh": _tanh_,
    "sigmoid": _sigmoid_,
    "heaviside": _heaviside_,
    "identity": _identity_,
    "leaky_relu": _leaky_relu_,
    "elu": _by_functional(F.elu),
    "gelu": _by_functional(F.gelu),
    "silu": _by_functional(F.silu),
    "softplus": _by_functional(F.softplus),
    "softmax": _by_functional(F.softmax),
    "log_softmax": _by_functional(F.log_softmax),
}
