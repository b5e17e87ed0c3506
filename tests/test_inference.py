"""scratchnet.infer: the fast inference path computes what forward computes, with no more memory than promised."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given

import scratchnet
from scratchnet import inference
from scratchnet.architecture import OUTPUT_ONLY

from .optional import optional_names
from .strategies import architectures, batch_shapes, seeds, unsaturated_inputs

linear_chain, reference_with_bounds, unit_roundoff = optional_names(
    "compare.tolerance", "linear_chain", "reference_with_bounds", "unit_roundoff"
)


def assert_within_bound(net, x, y):
    """``y`` within the derived bound of the float64 reference (the same judge as compare_forward)."""
    dtype = next(net.parameters()).dtype
    reference, (bound, bound_ref) = reference_with_bounds(
        linear_chain(net), x, [unit_roundoff(dtype), unit_roundoff(np.float64)]
    )
    assert y.shape == reference.shape and y.dtype == dtype
    np.testing.assert_array_equal(np.isnan(y), np.isnan(reference))
    finite = np.isfinite(reference)
    assert np.all(np.abs(y[finite] - reference[finite]) <= (bound + bound_ref)[finite])


@given(architectures(), batch_shapes, seeds)
def test_infer_equals_forward_within_the_derived_bound(arch, batch_shape, seed):
    net = scratchnet.build(arch.architecture, dtype=arch.dtype, rng=seed)
    x = unsaturated_inputs(seed, batch_shape + (arch.sizes[0],), arch.dtype)
    y = scratchnet.infer(net, x)
    assert_within_bound(net, x, y)
    assert y.flags.c_contiguous


@pytest.mark.parametrize("activation", scratchnet.ACTIVATION_NAMES)
@pytest.mark.parametrize("batch", [40_003, 2 * 8192 + 3, 3 * 1024 + 1])
def test_many_chunks_and_a_ragged_last_one(activation, batch):
    between = "relu" if activation in OUTPUT_ONLY else activation  # softmax follows the last layer only
    net = scratchnet.MLP((3, 4, 5, 2), between, output_activation=activation, rng=0)
    x = unsaturated_inputs(1, (batch, 3), np.float32)
    assert_within_bound(net, x, scratchnet.infer(net, x))


@pytest.mark.parametrize(
    "net",
    [
        scratchnet.Net(rng=0),
        scratchnet.Linear(3, 2, rng=0),
        scratchnet.MLP((2, 3), rng=0),
        scratchnet.Linear(0, 3, rng=0),  # no input features: the output is the bias
        scratchnet.Linear(4, 0, rng=0),  # no outputs
    ],
    ids=["net", "linear", "mlp", "no-inputs", "no-outputs"],
)
@pytest.mark.parametrize("shape", [(None,), (1, None), (4, 5, None), (0, None), (2, 1, None), (30_000, None)])
def test_shapes_like_forward(net, shape):
    features = net.architecture.sizes[0]
    x = np.ones(tuple(features if s is None else s for s in shape), np.float32)
    with scratchnet.no_grad():
        expected = net(x)
    y = scratchnet.infer(net, x)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


def test_edge_values_propagate_like_forward():
    net = scratchnet.MLP((2, 3, 1), "sigmoid", rng=0)
    x = np.array([[np.nan, 0], [np.inf, 1], [-np.inf, 1], [1000, -1000], [0, 0]], np.float32)
    with scratchnet.no_grad(), np.errstate(all="ignore"):
        expected = net(x)
        y = scratchnet.infer(net, x)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_allclose(y[~np.isnan(y)], expected[~np.isnan(expected)], rtol=1e-6)


def test_heaviside_value_and_nan():
    net = scratchnet.MLP((1, 1, 1), "heaviside", rng=0)
    net.load_state_dict({"fc1.weight": [[1.0]], "fc1.bias": [0.0], "fc2.weight": [[1.0]], "fc2.bias": [0.0]})
    net.activation.value = 0.25
    x = np.array([[-1.0], [0.0], [2.0], [np.nan]], np.float32)
    np.testing.assert_array_equal(scratchnet.infer(net, x).ravel(), [0, 0.25, 1, 0])


def test_infer_leaves_its_input_alone_and_keeps_no_tape():
    net = scratchnet.Net(rng=0)
    x = unsaturated_inputs(0, (100, 2), np.float32)
    before = x.copy()
    scratchnet.infer(net, x)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(scratchnet.BackwardError, match="needs a recorded forward pass"):
        net.backward(np.ones((100, 1), np.float32))  # infer records nothing


def test_input_rules_are_linears():
    net = scratchnet.Net(rng=0)
    assert scratchnet.infer(net, [[1, 2]]).dtype == np.float32
    with pytest.raises(TypeError, match="float32"):
        scratchnet.infer(net, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="last dimension is 3"):
        scratchnet.infer(net, np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="states its architecture"):
        scratchnet.infer(scratchnet.ReLU(), np.zeros(2))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_ndarray_subclasses_are_refused_or_taken_as_plain_arrays():
    """Found by a hostile review: a masked array went through infer's small paths as MaskedArray.dot (masked
    values as 0, a masked output), through net(x) as its raw data, and np.matrix came back 3-D."""
    net = scratchnet.Net(rng=0)
    x = np.array([[1.0, 2.0], [3.0, -4.0], [0.5, 0.5]], np.float32)
    masked = np.ma.masked_array(x, mask=[[0, 1], [0, 0], [1, 1]])
    for run in (net, net.fc1, lambda v: scratchnet.infer(net, v)):
        with pytest.raises(TypeError, match=r"does not take a masked array as input: fill the masked values"):
            run(masked)
    for rows in (x, np.tile(x, (5000, 1))):
        y = scratchnet.infer(net, np.matrix(rows))
        assert type(y) is np.ndarray and y.shape == (len(rows), 1)
        np.testing.assert_array_equal(y, scratchnet.infer(net, rows))
        forward = net(np.matrix(rows))
        assert type(forward) is np.ndarray and np.array_equal(forward, net(rows))


@pytest.mark.parametrize("batch", [1, 5, 20000])
def test_a_network_of_mixed_dtypes_is_refused_like_forward(batch):
    """Found by a hostile review: with one layer converted, net(x) refused and infer computed, in float64 at a
    few rows and float32 in chunks."""
    net = scratchnet.Net(rng=0)
    scratchnet.infer(net, np.ones((batch, 2), np.float32))  # a plan compiled before the change
    net.fc2.to(np.float64)
    with pytest.raises(TypeError, match="holds float64 values and expects float64 input; got float32"):
        net(np.ones((batch, 2), np.float32))
    with pytest.raises(TypeError, match=r"more than one dtype \(fc1.weight float32, .*fc2.weight float64"):
        scratchnet.infer(net, np.ones((batch, 2), np.float32))
    net.to(np.float64)
    assert scratchnet.infer(net, np.ones((batch, 2))).dtype == np.float64


def peak_extra(net, x):
    scratchnet.infer(net, x)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        y = scratchnet.infer(net, x)
        return tracemalloc.get_traced_memory()[1] - base - y.nbytes
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("sizes", [(2, 4, 4, 1), (16, 64, 32, 4)])
@pytest.mark.parametrize("batch", [1, 2, 16, 256, 1000, 4096, 10_241, 20000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_memory_at_most_two_activation_buffers(sizes, batch, dtype):
    """Beyond the output: two activation-sized buffers at most, plus 4 KiB of Python objects (array headers)."""
    net = scratchnet.MLP(sizes, "sigmoid", dtype=dtype, rng=0)
    x = unsaturated_inputs(0, (batch, sizes[0]), dtype)
    activation = batch * max(sizes[1:-1]) * np.dtype(dtype).itemsize
    assert peak_extra(net, x) <= 2 * activation + 4096


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("batch", [20000, 40000, 300_000])
def test_memory_with_threads_stays_within_two_activations(monkeypatch, threads, batch):
    """Found by a hostile review: each thread held buffers of its own, so MLP((512, 8, 1)) at 20000 rows took
    1.96 activations with one thread, 3.9 with two, 7.9 with four. Threads are now as many as the promise holds."""
    monkeypatch.setattr(inference, "_threads", threads)
    net = scratchnet.MLP((512, 8, 1), "relu", rng=0)
    x = unsaturated_inputs(0, (batch, 512), np.float32)
    activation = batch * 8 * 4
    assert peak_extra(net, x) <= 2 * activation + 4096
    monkeypatch.setattr(inference, "_threads", 1)
    alone = scratchnet.infer(net, x)
    monkeypatch.setattr(inference, "_threads", threads)
    np.testing.assert_array_equal(scratchnet.infer(net, x), alone)  # the same bits whatever the threads


@pytest.mark.parametrize(
    "sizes, between, output",
    [
        ((2, 4, 4, 1), "gelu", None),
        ((2, 4, 4, 1), "elu", None),
        ((2, 4, 4, 1), "softplus", None),
        ((16, 64, 32, 4), "silu", None),
        ((2, 4, 1000), "relu", "sigmoid"),  # a wide output: its activation's scratch is output-sized
        ((2, 4, 64), "relu", "gelu"),  # (GELU's exact erf costs 1 us a value: a narrower output)
        ((2, 4, 1000), "relu", "log_softmax"),
    ],
)
@pytest.mark.parametrize("batch", [1, 16, 5000, 20000])
def test_memory_with_the_activations_functional_computes(sizes, between, output, batch):
    """Two activations (the batch times the widest layer, the output included), plus the temporaries of
    ``functional``'s code on one piece of ``PIECE_VALUES`` values: 512 KiB at most, whatever the batch (an
    outside review measured 8x and, with a 1000-wide output, 2000x before pieces)."""
    net = scratchnet.MLP(sizes, between, output_activation=output, rng=0)
    x = unsaturated_inputs(0, (batch, sizes[0]), np.float32)
    activation = batch * max(sizes[1:]) * 4
    assert peak_extra(net, x) <= 2 * activation + 512 * 1024


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("batch", [200_000, 1_000_000])
def test_a_huge_batch_allocates_only_chunks(batch, threads, monkeypatch):
    monkeypatch.setattr(inference, "_threads", threads)
    net = scratchnet.Net(rng=0)
    x = unsaturated_inputs(0, (batch, 2), np.float32)
    # All the buffers together fill CHUNK_BYTES (THREAD_CHUNK_BYTES a thread, from a batch large enough for
    # threads), whatever the batch; the folded weights are 4x3, 4x5 and 1x5 values; the chunks' views are Python
    # objects, about 4 KiB a thread.
    threadable = inference._layout(inference._plan(net)[1], x.dtype, batch)[3]
    used = threads if threadable else 1
    buffers = used * inference.THREAD_CHUNK_BYTES if threadable else inference.CHUNK_BYTES
    assert peak_extra(net, x) <= buffers + (12 + 20 + 5) * 4 + used * inference.OBJECT_BYTES


@pytest.mark.parametrize(
    "sizes, activation, dtype, bias, rows",
    [
        ((3, 6, 5, 2), "relu", np.float32, True, 1_200_001),
        ((3, 6, 5, 2), "sigmoid", np.float64, True, 1_200_001),
        ((2, 4, 4, 1), "relu", np.float32, False, 1_000_003),  # one output: BLAS's products of 1 row
        ((8, 16, 1), "gelu", np.float64, True, 120_001),
    ],
)
def test_threads_give_the_same_bits_as_one(monkeypatch, sizes, activation, dtype, bias, rows):
    """Each row's arithmetic is the same whichever thread computes it: the chunks depend on the batch alone and
    threads split between them (BLAS rounds a column differently with the width of its product, so parts cut
    anywhere would change bits: an outside review found 28 rows of a million 1 ulp apart). 2 and 3 threads."""
    net = scratchnet.MLP(sizes, activation, dtype=dtype, rng=1, bias=bias)
    x = unsaturated_inputs(2, (rows, sizes[0]), dtype)
    monkeypatch.setattr(inference, "_threads", 1)
    alone = scratchnet.infer(net, x)
    original, parts = inference._chunks, []

    def counted(steps, rows, y, layout):
        parts.append(len(rows))
        original(steps, rows, y, layout)

    monkeypatch.setattr(inference, "_chunks", counted)
    for threads in (2, 3):
        monkeypatch.setattr(inference, "_threads", threads)
        parts.clear()
        np.testing.assert_array_equal(scratchnet.infer(net, x), alone)
        assert len(parts) == threads and sum(parts) == len(x)


def test_set_num_threads_checks_its_argument():
    before = scratchnet.get_num_threads()
    try:
        scratchnet.set_num_threads(np.int64(3))
        assert scratchnet.get_num_threads() == 3
        for bad, error in [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)]:
            with pytest.raises(error, match="set_num_threads needs"):
                scratchnet.set_num_threads(bad)
            assert scratchnet.get_num_threads() == 3  # unchanged
    finally:
        scratchnet.set_num_threads(before)


def test_a_failing_part_raises_in_the_caller_after_every_part_has_finished(monkeypatch):
    monkeypatch.setattr(inference, "_threads", 2)
    finished = []

    def chunks(steps, rows, y, layout):
        if rows.base is not None and rows[0, 0] != x[0, 0]:  # the second part, in the pool
            raise MemoryError("no room for this part")
        finished.append(len(rows))

    x = unsaturated_inputs(0, (1_000_000, 2), np.float32)
    monkeypatch.setattr(inference, "_chunks", chunks)
    with pytest.raises(MemoryError, match="no room"):
        scratchnet.infer(scratchnet.Net(rng=0), x)
    assert len(finished) == 1 and 400_000 < finished[0] < 600_000  # the first part, cut between chunks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_lean_path_and_the_chunks_agree_at_their_border(dtype):
    """Rows up to LEAN_BYTES of activation go through fresh arrays, more through the chunks (folded biases)."""
    net = scratchnet.MLP((2, 4, 4, 1), "relu", dtype=dtype, rng=0)
    lean = inference.LEAN_BYTES // (4 * np.dtype(dtype).itemsize)
    x = unsaturated_inputs(0, (lean + 1, 2), dtype)
    few, chunked = scratchnet.infer(net, x[:-1]), scratchnet.infer(net, x)[:-1]
    assert_within_bound(net, x[:-1], few)
    assert_within_bound(net, x, scratchnet.infer(net, x))
    np.testing.assert_allclose(few, chunked, rtol=1e-5, atol=1e-6)


def test_changed_weights_are_seen_by_the_folded_chunks():
    """The folded ``[W | b]`` is built at every call: a weight changed in place between calls is used."""
    net = scratchnet.Net(rng=0)
    x = unsaturated_inputs(0, (50_000, 2), np.float32)
    before = scratchnet.infer(net, x)
    net.fc2.bias.data[...] += 1
    after = scratchnet.infer(net, x)
    assert not np.array_equal(before, after)
    assert_within_bound(net, x, after)


@pytest.mark.parametrize("dtype, few", [(np.float32, "_feature_major"), (np.float64, "_batch_major")])
def test_networks_of_large_layers_skip_the_chunks_until_memory_says_otherwise(monkeypatch, dtype, few):
    """Every layer too large to fold (``FOLD_VALUES``): BLAS is the whole time, so no chunks up to
    ``BLAS_BOUND_BYTES`` of activation (float64 batch-major, float32 feature-major: what OpenBLAS runs faster),
    and chunks beyond it, so that memory stays bounded whatever the batch."""
    net = scratchnet.MLP((200, 100, 200), "relu", dtype=dtype, rng=0)
    assert inference._plan(net)[3]  # blas_bound
    taken = []
    for name in ("_batch_major", "_feature_major", "_chunks"):
        original = getattr(inference, name)
        monkeypatch.setattr(inference, name, lambda *args, _f=original, _n=name: (taken.append(_n), _f(*args))[1])
    monkeypatch.setattr(inference, "BLAS_BOUND_BYTES", 1000 * 200 * np.dtype(dtype).itemsize)
    for rows, path in [(64, few), (1000, few), (1001, "_chunks"), (5000, "_chunks")]:
        taken.clear()
        x = unsaturated_inputs(rows, (rows, 200), dtype)
        assert_within_bound(net, x, scratchnet.infer(net, x))
        assert taken == [path], (rows, taken)
