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
   stream through (the bias of a row is one number; batch-major, adding a
   bias of 4 values to rows of 4 costs 5x more). The last layer turns back
   to ``(batch, out)``, writing straight into the output.
3. **A few rows** (activations up to ``LEAN_BYTES``, or ``BLAS_BOUND_BYTES``
   when every layer is large): one ``dot``, one bias addition and one
   activation per layer, in place on each layer's fresh output: the fewest
   NumPy calls, each the ``dot`` method (no ``__array_function__``
   dispatch). One sample is a matrix-vector product; up to
   ``BATCH_MAJOR_ROWS`` rows, and for large float64 layers, batch-major
   (``_few_rows`` says why).
4. **Many rows: chunks that fit in cache.** The batch is cut into chunks
   whose buffers (``CHUNK_BYTES`` together) stay in the CPU's L2 cache from
   one layer to the next, instead of streaming megabytes through memory per
   layer. Large fresh arrays would cost a page fault per 4 KiB on first
   touch, which at a batch of 65536 costs more than the arithmetic.
5. **Folded biases.** In the chunks, a small layer computes
   ``[W | b] @ [h; 1]``: each buffer a layer reads has a last row of ones
   (written once per call), so the bias rides inside the matrix product and
   costs no pass of its own. The input is copied into such a buffer,
   transposed: BLAS reads the copy 3x faster than the transposed view, and
   the copy costs less than that difference. ``[W | b]`` is built at every
   call (a few hundred bytes): the weights are read at every call.
6. **In place.** Each layer writes into a buffer of its own; ReLU is
   ``np.maximum`` against a row of zeros (NumPy's SIMD loop runs when both
   operands are arrays: 1.5x faster than against a scalar zero).
   Beyond the output, a call allocates at most two activations' worth (an
   activation: the batch times the widest layer), and, in the chunks, at
   most ``CHUNK_BYTES`` whatever the batch (``THREAD_CHUNK_BYTES`` a thread
   for the largest batches). The activations computed by ``functional``'s
   own code (ELU, GELU, SiLU, softplus, softmax, log-softmax) add their
   temporaries for ``PIECE_VALUES`` values at a time: a few hundred KiB.
   Threads hold buffers each, so there are no more of them than the promise
   has room for. Counted from an input in C or Fortran order: NumPy's
   products copy one with other strides (every other row, reversed rows)
   whole first, an input-sized copy (``np.ascontiguousarray(x)`` before the
   call makes it yours).
7. **Threads for the largest batches** (``set_num_threads``, by default the
   cores this process may use): the batch is cut into one contiguous part
   per thread, each with buffers of its own, once every thread gets
   ``THREAD_CHUNKS`` chunks. NumPy lets go of the GIL inside its loops.
   Measured on this 2-core machine: 1.3-1.6x with 2 threads at 1048576 rows,
   nothing at 65536 (the threads' start-up and the GIL's hand-overs cost what
   they save). The second core gains little here for NumPy's simplest SIMD
   loops on cache-sized arrays (``np.add``: 0.7-1.0x from 2 threads, where
   ``np.sqrt`` gains 1.9x): a ceiling of this machine, not of the split.

Measured here (article net, float32, 1 thread): 5 us for one sample, 14 us
for 1024 rows, 0.3 ms for 65536, 4.5 ms for 1048576 (about 6x the machine's
copy bandwidth); see ``python -m benchmarks --goals``.

ReLU here is ``np.maximum``, which turns -0.0 into +0.0 (``forward`` keeps
-0.0, like torch); the two are equal as numbers and as inputs to the next
layer.
"""

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import functional as F
from .architecture import architecture_of
from .checks import as_input
from .module import Module

__all__ = ["infer", "get_num_threads", "set_num_threads"]

#: Target size of all of one chunk's buffers together: small enough to stay in L2 cache (2 MiB a core here;
#: 1 MiB measured fastest, 10-20% ahead of 512 KiB and of 2 MiB).
CHUNK_BYTES = 2**20
#: The same for a batch large enough for threads (``THREAD_CHUNKS`` chunks for each of 2 at least), whatever the
#: number of threads: larger chunks, fewer hand-overs of the GIL between calls (2 MiB: 1.3-1.6x with 2 threads
#: here; 1 MiB: 1.0-1.2x), and the same chunks with one thread, so that threads change no bit.
THREAD_CHUNK_BYTES = 2**21
#: Threads share a batch only when each gets this many chunks at least: below, starting them costs more than they
#: save (2 threads at 65536 rows: 0.6-0.8x; at 262144, 1.0x in float32 with 3.5 chunks each, 1.2x in float64 with 7).
THREAD_CHUNKS = 4
#: Never cut the batch finer than this: wide layers need long matrix products to reach BLAS's speed.
MIN_CHUNK = 1024
#: NumPy's ufuncs take a scratch buffer of ``bufsize`` elements (default 8192: 32 KiB of float32) for
#: broadcasting operations such as ``out += bias[:, None]`` on rows shorter than that; this keeps it small.
UFUNC_BUFFER = 64
#: Room left in the memory promise for the Python objects of a call (array headers, views): measured about 4 KiB.
OBJECT_BYTES = 8192
#: A layer of at most this many weights and biases gets its bias folded into its matrix product (64 KiB of float32).
FOLD_VALUES = 2**14


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
    _, steps, widest, blas_bound, owner = _plan(net)
    first = steps[0][0]
    dtype = first.weight._data.dtype
    x = as_input(x, dtype, first.in_features, owner)
    assert isinstance(x, np.ndarray)  # for the type checker: as_input returns an array
    if x.ndim == 2:  # the common cases first, without reshapes
        n = x.shape[0]
        if n == 1:
            return _batch_major(steps, x[0])[None]
        if n <= _few_rows_limit(widest, blas_bound, dtype):
            return _few_rows(steps, x, blas_bound)
    last = steps[-1][0]
    lead = x.shape[:-1]
    if x.size == first.in_features != 0:
        return _batch_major(steps, x.reshape(-1)).reshape(lead + (last.out_features,))
    rows = x.reshape(math.prod(lead), first.in_features)  # not -1: with 0 features, -1 cannot be worked out
    n = rows.shape[0]
    layout = None if n <= _few_rows_limit(widest, blas_bound, dtype) else _layout(steps, dtype, n)
    if layout is None:  # a few rows, layers that BLAS alone keeps busy, or chunks too large for the memory promise
        return _few_rows(steps, rows, blas_bound).reshape(lead + (last.out_features,))
    y = np.empty((n, last.out_features), dtype=x.dtype)
    threads = min(_threads, n // (THREAD_CHUNKS * layout[2]), layout[4]) if layout[3] else 1
    if threads > 1:
        _in_threads(steps, rows, y, threads, layout)
    else:
        _chunks(steps, rows, y, layout)
    return y.reshape(lead + (last.out_features,))


def _few_rows_limit(widest, blas_bound, dtype):
    """Up to this many rows, no chunks: ``LEAN_BYTES`` of activation, or ``BLAS_BOUND_BYTES`` for large layers."""
    return (BLAS_BOUND_BYTES if blas_bound else LEAN_BYTES) // (max(widest, 1) * dtype.itemsize)


def _in_threads(steps, rows, y, threads, layout):
    """``rows`` -> ``y`` in ``threads`` contiguous parts at once, each with buffers of its own.

    The calling thread takes the first part, the pool the others. NumPy lets
    go of the GIL inside BLAS and its elementwise loops, so the parts overlap.
    The parts are cut between chunks of the layout, the layout depends on the
    batch alone, so every chunk is the one a single thread computes: BLAS
    rounds a column differently with the width of its product, and threads
    must not change a bit.
    """
    chunk, count = layout[2], -(-len(rows) // layout[2])
    bounds = [min(len(rows), count * part // threads * chunk) for part in range(threads + 1)]
    parts = [(rows[a:b], y[a:b]) for a, b in zip(bounds, bounds[1:])]
    futures = [_pool(threads - 1).submit(_chunks, steps, *part, layout) for part in parts[1:]]
    try:
        _chunks(steps, *parts[0], layout)
    finally:
        for future in futures:
            future.result()  # waits for every part, and raises what a part raised


def _pool(workers):
    """The threads of ``_in_threads``: made once, with more workers when more are asked for."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[1] < workers:
            _POOL = (ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scratchnet-infer"), workers)
        return _POOL[0]


_POOL: tuple[ThreadPoolExecutor, int] | None = None  # the pool and its number of workers
_POOL_LOCK = threading.Lock()


def _available_cores():
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on (a container's, a taskset's)
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


#: How many threads ``infer`` uses at most (``set_num_threads``): by default, the cores this process may use.
_threads = _available_cores()


def set_num_threads(threads: int) -> None:
    """Let ``infer`` use up to ``threads`` threads (as ``torch.set_num_threads`` does for torch).

    ``infer`` cuts a large batch into that many parts computed at once, when
    each gets ``THREAD_CHUNKS`` chunks at least (about 300k rows of the
    article's net); below that, one thread. The default is the number
    of cores this process may run on. ``net(x)`` is unaffected: it is the
    code a learner reads, one NumPy call after the other.
    """
    global _threads
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"set_num_threads needs a whole number of threads, got {type(threads).__name__} {threads!r}")
    if threads < 1:
        raise ValueError(f"set_num_threads needs at least 1 thread, got {threads}")
    _threads = int(threads)


def get_num_threads() -> int:
    """How many threads ``infer`` may use (``set_num_threads``)."""
    return _threads


def _plan(net):
    """``(generation, steps, widest, blas_bound, owner)``: ``net``'s layers as ``(Linear module, in-place
    activation, its settings)``, the widest layer's width, whether every layer is too large to fold (then BLAS's
    products are the whole time, and the chunks bring nothing), and how messages name the call.

    The layers are compiled from the network's architecture.

    The plan is kept on the network and compiled again whenever any module's
    attributes have been assigned since (``Module.structure_generation``):
    replacing a layer or an activation, or changing a Heaviside's value, is
    seen; the weights themselves are read at every call.
    """
    generation = Module.structure_generation  # read first: a change made while compiling invalidates the plan
    cached = net.__dict__.get("_inference_plan")
    if cached is not None and cached[0] == generation:
        return cached
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
    held = {
        f"{name}.{kind}": tensor.data.dtype.name
        for name, (layer, _, _) in zip(architecture.layer_names, steps)
        for kind, tensor in (("weight", layer.weight), ("bias", layer.bias))
        if tensor is not None
    }
    if len(set(held.values())) > 1:  # net(x) refuses an input of another dtype than a layer's weight
        listed = ", ".join(f"{key} {dtype}" for key, dtype in held.items())
        raise TypeError(
            f"infer() refuses this {type(net).__name__}: its weights hold more than one dtype ({listed}); "
            "convert the whole network, e.g. net.to(np.float64)"
        )
    widest = max(layer.out_features for layer, _, _ in steps)
    blas_bound = not any(_folds(layer) for layer, _, _ in steps)
    plan = (generation, steps, widest, blas_bound, f"infer() with this {type(net).__name__}")
    object.__setattr__(net, "_inference_plan", plan)
    return plan


def _few_rows(steps, x, blas_bound):
    """The paths without chunks: batch-major for a handful of rows, and for large float64 layers; else feature-major.

    For layers of 1024-4096 features, OpenBLAS's double-precision kernels run
    ``x @ W.T`` 5-20% faster than ``W @ x^T`` here, and its single-precision
    ones the other way round (up to 25% at 64 rows): measured on three layer
    shapes at 64 and 1024 rows, the same way each time.
    """
    if x.shape[0] <= BATCH_MAJOR_ROWS or (blas_bound and x.dtype == np.float64):
        return _batch_major(steps, x)
    return _feature_major(steps, x)


def _folds(layer):
    """A layer small enough to take its bias inside its matrix product in the chunks (``_layout``)."""
    return (layer.in_features + 1) * layer.out_features <= FOLD_VALUES


def _batch_major(steps, x):
    """A handful of rows: ``h = act(h @ W.T + b)``, batch-major, in place on each layer's fresh output; or one
    sample ``x`` of shape ``(in,)``.

    Up to ``BATCH_MAJOR_ROWS`` the time is the calls' dispatch alone, and this
    form takes the least of it (about 5% less than ``_feature_major``'s).
    """
    zero, one_sample = _ZERO[x.dtype], x.ndim == 1
    h = x
    for layer, activate, settings in steps:
        weight = layer.weight._data  # the array itself, without the property's checks (a read)
        h = weight.dot(h) if one_sample else h.dot(weight.T)  # one sample: a matrix-vector product, W @ h
        if layer.bias is not None:
            h += layer.bias._data
        if activate is _relu_:
            np.maximum(h, zero, out=h)  # the common case, without a function call: a tenth of one sample's time
        elif activate is not _identity_:
            activate(h, None, settings)
    return h


#: Up to this many rows, ``_batch_major``; beyond, feature-major (at 64 rows 10% faster, at 1024 1.8x).
BATCH_MAJOR_ROWS = 16


def _feature_major(steps, x):
    """A few rows: ``h^T = act(W @ h^T + b)``, in place on each layer's fresh output, no chunks.

    Below a few thousand rows the time is NumPy's per-call dispatch and the
    set-up of the chunks: this path makes the fewest calls (a matrix product,
    the bias, the activation, per layer), calls the ``dot`` method (no
    ``__array_function__`` dispatch), and keeps at most two activations alive.
    """
    zero = _ZERO[x.dtype]
    h = x.T
    for layer, activate, settings in steps[:-1]:
        h = layer.weight._data.dot(h)  # _data: the array itself, without the property's checks (a read)
        if layer.bias is not None:
            h += layer.bias._data[:, None]
        if activate is _relu_:
            np.maximum(h, zero, out=h)
        else:
            activate(h, None, settings)
    last, activate, settings = steps[-1]
    if last.out_features == 1:
        y = last.weight._data.dot(h).reshape(x.shape[0], 1)  # (1, n) and (n, 1) are the same memory
    else:
        y = h.T.dot(last.weight._data.T)  # back to (n, out), batch-major
    if last.bias is not None:
        y += last.bias._data
    if activate is _relu_:
        np.maximum(y, zero, out=y)
    elif activate is not _identity_:
        activate(y, None, settings)
    return y


#: The same for networks whose every layer keeps BLAS busy: chunks bring them nothing but bounded memory.
BLAS_BOUND_BYTES = 2**26

#: Up to activations of this many bytes, ``_feature_major``'s fresh arrays are cheaper than the chunks' set-up
#: (above, they come from the operating system, a page fault per 4 KiB).
LEAN_BYTES = 160 * 1024


def _layout(steps, dtype, batch):
    """How the chunks are cut: ``(folded, sizes, chunk, threadable, most_threads)``, or None when they would not pay
    at this batch.

    ``folded[k]`` says layer ``k`` is small enough to take its bias inside its
    matrix product: ``[W | b] @ [h; 1]``, one call instead of two, reading a
    buffer whose last row is ones. ``sizes`` are the rows of each buffer: the
    input, transposed (with its ones row) when the first layer is folded; each
    hidden layer's output (with a ones row when the next layer is folded); a
    row of zeros for ReLU; a scratch for the activations that need one.
    ``chunk`` columns each: all the buffers together fill ``CHUNK_BYTES``
    (L2 cache), or ``THREAD_CHUNK_BYTES`` for a batch large enough for threads
    (``threadable``); and, with the folded weights, at most two activations
    of ``batch`` rows (the memory promise). It depends on the batch alone,
    never on the number of threads (see ``_in_threads``). ``most_threads``: each thread holds buffers of its
    own, so at most this many fit in the promise (a narrow network at a few ten thousand rows: one).
    """
    layers = [layer for layer, _, _ in steps]
    activations = {activate for _, activate, _ in steps}
    folded = [_folds(layer) for layer in layers]
    sizes = [layers[0].in_features + 1 if folded[0] else 0]
    sizes += [layer.out_features + after for layer, after in zip(layers[:-1], folded[1:])]
    widths = [layer.out_features for layer in layers]
    sizes.append(int(_relu_ in activations))
    sizes.append(max(widths) if activations - _SIMPLE else 0)
    column_bytes = max(sum(sizes), 1) * dtype.itemsize
    threadable = batch >= 2 * THREAD_CHUNKS * max(THREAD_CHUNK_BYTES // column_bytes, MIN_CHUNK)
    chunk = max((THREAD_CHUNK_BYTES if threadable else CHUNK_BYTES) // column_bytes, MIN_CHUNK)
    weights = sum((layer.in_features + 1) * layer.out_features for layer, fold in zip(layers, folded) if fold)
    promised = 2 * batch * max(widths) - OBJECT_BYTES // dtype.itemsize  # in values
    chunk = min(chunk, (promised - weights) * dtype.itemsize // column_bytes, batch)
    if chunk < MIN_CHUNK // 4:
        return None
    chunk = -(-batch // -(-batch // chunk))  # chunks of equal size: no ragged last chunk of a few rows
    # Each thread holds buffers and folded weights of its own: as many threads as the promise has room for.
    per_thread = sum(sizes) * chunk + weights + OBJECT_BYTES // dtype.itemsize
    most_threads = max(1, (promised + OBJECT_BYTES // dtype.itemsize) // per_thread)
    return folded, sizes, chunk, threadable, most_threads


def _chunks(steps, rows, y, layout):
    """``rows`` -> ``y`` chunk by chunk, feature-major, each layer writing into a buffer of its own.

    The buffers are allocated once per call, as one flat array cut into
    ``(features, chunk)`` views; the ones rows (for folded biases) and the
    zeros row (for ReLU) are written once, not per chunk. A ragged last chunk
    uses the first columns of the same views.
    """
    folded, sizes, chunk, _, _ = layout
    dtype = rows.dtype
    flat = np.empty(sum(sizes) * chunk, dtype)
    buffers, offset = [], 0
    for size in sizes:
        buffers.append(flat[offset : offset + size * chunk].reshape(size, chunk))
        offset += size * chunk
    source, *outputs, zeros, scratch = buffers
    zeros.fill(0)
    if folded[0]:
        source[-1].fill(1)
    plans = []
    for number, (layer, activate, settings) in enumerate(steps):
        weight, bias = layer.weight._data, None if layer.bias is None else layer.bias._data
        if folded[number]:
            column = np.zeros((layer.out_features, 1), dtype) if bias is None else bias[:, None]
            weight, bias = np.concatenate([weight, column], 1), None
        elif bias is not None:
            bias = bias[:, None]
        out = outputs[number] if number < len(outputs) else None
        if out is not None and folded[number + 1]:
            out[-1].fill(1)
        plans.append((weight, bias, activate, settings, out))
    with np.errstate():  # scopes the buffer size below to this call (NumPy keeps it in a context variable)
        np.setbufsize(UFUNC_BUFFER)
        for start in range(0, rows.shape[0], chunk):
            x = rows[start : start + chunk]
            _chunk(plans, x, y[start : start + chunk], source if folded[0] else None, zeros, scratch)


def _chunk(plans, x, y, source, zeros, scratch):
    """One chunk: ``x`` ``(n, in)`` -> ``y`` ``(n, out)``, written in place, feature-major in between."""
    n = x.shape[0]
    if source is None:
        h = x.T  # (in, n): a view, read transposed by BLAS
    else:
        h = source[:, :n]
        np.copyto(h[:-1], x.T)  # a contiguous copy: BLAS reads it 3x faster than the transposed view
    for weight, bias, activate, settings, out in plans[:-1]:
        out = out[:, :n]
        values = out[: weight.shape[0]]
        np.matmul(weight, h, out=values)
        if bias is not None:
            values += bias
        if activate is _relu_:
            np.maximum(values, zeros[:, :n], out=values)  # against an array of zeros: NumPy's SIMD loop
        else:
            activate(values, None if activate in _SIMPLE else scratch[: values.shape[0], :n], settings)
        h = out
    weight, bias, activate, settings, _ = plans[-1]
    if weight.shape[0] == 1:
        np.matmul(weight, h, out=y.reshape(1, n))  # (1, n) and (n, 1) are the same memory
    else:
        np.matmul(h.T, weight.T, out=y)  # back to (n, out), straight into the output
    if bias is not None:
        y += bias.T
    if activate is _relu_:
        np.maximum(y, zeros[0, 0], out=y)
    elif activate is not _identity_:  # an output activation: the scratch buffer serves (when it needs one)
        activate(y, None if activate in _SIMPLE else scratch.reshape(-1)[: y.size].reshape(y.shape), settings)


# A zero of the array's own dtype: NumPy then skips converting a Python 0 on every call (half the cost for small h).
_ZERO = {np.dtype(np.float32): np.zeros((), np.float32), np.dtype(np.float64): np.zeros((), np.float64)}


def _relu_(h, scratch, settings):
    # The paths call np.maximum themselves (the chunks against a row of zeros); this is for completeness.
    np.maximum(h, _ZERO[h.dtype], out=h)


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


def _by_functional(function, rowwise=False):
    """The other activations: ``functional``'s own code, copied into ``h``, a piece of ``PIECE_VALUES`` at a time.

    Their temporaries (several arrays per call; GELU's exact ``erf`` goes
    through Python floats) then stay a few hundred KiB whatever the batch.
    Softmax and log-softmax (``rowwise``) follow the last layer only (the
    Architecture says so), where ``h`` is ``(n, out)``: they take whole rows,
    their last dimension being the features, as in ``forward``; the others
    are elementwise and take pieces along the longer dimension.
    """

    def activate(h, scratch, settings):
        if h.size <= PIECE_VALUES or h.ndim == 1:
            h[...] = function(h, **settings)
            return
        axis = 0 if rowwise or h.shape[0] >= h.shape[-1] else h.ndim - 1
        step = max(PIECE_VALUES // (h.size // h.shape[axis]), 1)
        for start in range(0, h.shape[axis], step):
            piece = h[start : start + step] if axis == 0 else h[..., start : start + step]
            piece[...] = function(piece, **settings)

    return activate


#: Values per piece of an activation run by ``functional``'s code (``_by_functional``).
PIECE_VALUES = 2**12


#: Activations that need no scratch array.
_SIMPLE = frozenset({_relu_, _tanh_, _identity_})

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
    "softmax": _by_functional(F.softmax, rowwise=True),
    "log_softmax": _by_functional(F.log_softmax, rowwise=True),
}
