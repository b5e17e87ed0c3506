"""ONNX: save_onnx and load_onnx give back the very network, bit for bit; what torch.onnx.export writes loads and
equals the torch model; onnxruntime is a third witness of compare_forward, blamed like the others; its own
activation kernels measured against compare.tolerance's bounds; hostile files refused by name."""

import contextlib
import io
import json
import math
import os
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnet
from scratchnet import Activation, Architecture, Layer
from scratchnet.checkpoint import CheckpointError

from .optional import needs, optional, optional_names
from .strategies import SETTINGS_SAMPLES, described_architectures, unsaturated_inputs

pytestmark = needs("onnx", "onnxruntime")  # where they are missing, every test here says so and is skipped

onnx = optional("onnx")
onnxruntime = optional("onnxruntime")
torch = optional("torch")
torchnet = optional("torchnet")
load_onnx, save_onnx, softplus_threshold, tensor_names = optional_names(
    "scratchnet.onnx", "load_onnx", "save_onnx", "softplus_threshold", "tensor_names"
)
compare_forward, twin = optional_names("compare", "compare_forward", "twin")
reference_activation, activation_bound, unit_roundoff = optional_names(
    "compare.tolerance", "reference_activation", "activation_bound", "unit_roundoff"
)
(compare_main,) = optional_names("compare.cli", "main")
(bench_main,) = optional_names("benchmarks.cli", "main")

DTYPES = [np.float32, np.float64]
#: Every activation, with settings away from the defaults where it has them.
ACTIVATIONS = [
    Activation("relu"),
    Activation("sigmoid"),
    Activation("tanh"),
    Activation("identity"),
    Activation("heaviside", value=0.25),
    *SETTINGS_SAMPLES,
]
OUTPUTS = [None, Activation("softmax"), Activation("log_softmax"), Activation("sigmoid")]
#: What onnxruntime 1.32 has no float64 kernel for, and the operator it names.
NO_FLOAT64_KERNEL = {"gelu": "Erf", "softplus": "Softplus"}


def no_float64_kernel(activation):
    """The operator onnxruntime lacks for ``activation`` in float64, or None ("tanh" GELU is written out)."""
    if activation is None or activation == Activation("gelu", approximate="tanh"):
        return None
    return NO_FLOAT64_KERNEL.get(activation.name)


def state_of(net):
    return {name: array.copy() for name, array in net.state_dict().items()}


def assert_same_network(back, net, dtype):
    assert back.architecture == net.architecture
    mine, theirs = net.state_dict(), back.state_dict()
    assert list(mine) == list(theirs)
    for name in mine:
        assert theirs[name].dtype == np.dtype(dtype)
        np.testing.assert_array_equal(theirs[name].view(np.uint8), mine[name].view(np.uint8), err_msg=name)


def without_metadata(path):
    model = onnx.load(str(path))
    del model.metadata_props[:]
    onnx.save(model, str(path))


# -- save_onnx and load_onnx ----------------------------------------------------------------------


@settings(max_examples=60)
@given(described_architectures(max_depth=4, max_width=12), st.sampled_from(DTYPES), st.integers(0, 2**32 - 1))
def test_the_round_trip_is_exact_and_the_graph_alone_says_the_same(tmp_path_factory, architecture, dtype, seed):
    """Every activation and naming: the same Architecture and bit-identical weights, read from the recorded
    architecture and, with the metadata removed, from the graph alone."""
    net = scratchnet.build(architecture, dtype=dtype, rng=seed)
    before = state_of(net)
    path = tmp_path_factory.mktemp("onnx") / "net.onnx"
    save_onnx(net, path)
    assert all(np.array_equal(before[name], array) for name, array in net.state_dict().items())  # left alone
    assert_same_network(load_onnx(path), net, dtype)
    without_metadata(path)
    assert_same_network(load_onnx(path), net, dtype)


def test_the_graph_is_what_the_docstring_says(tmp_path):
    net = scratchnet.MLP((3, 5, 2), Activation("softplus", beta=2.0, threshold=1.0), rng=0)
    save_onnx(net, tmp_path / "net.onnx")
    model = onnx.load(str(tmp_path / "net.onnx"))
    onnx.checker.check_model(model, full_check=True)
    graph = model.graph
    assert [n.op_type for n in graph.node if n.op_type != "Constant"] == [
        "Gemm", "Mul", "Softplus", "Div", "Greater", "Where", "Gemm"
    ]  # fmt: skip
    assert [n.name for n in graph.node if n.op_type == "Gemm"] == ["fc1", "fc2"]
    assert [i.name for i in graph.initializer] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [i.dims for i in graph.initializer][:2] == [[5, 3], [5]]  # (out_features, in_features): transB=1
    dims = graph.input[0].type.tensor_type.shape.dim
    assert (graph.input[0].name, dims[0].dim_param, dims[1].dim_value) == ("input", "batch", 3)
    assert graph.output[0].name == "output" and model.opset_import[0].version == 20
    recorded = {p.key: p.value for p in model.metadata_props}
    assert json.loads(recorded["scratchnet.architecture"]) == net.architecture.to_dict()
    assert tensor_names(net.architecture) == [("fc1/z", "fc1/h"), ("output", "output")]


def test_float64_settings_are_not_rounded_to_float32(tmp_path):
    """ONNX's float attributes are float32: a float64 network writes its slope as a float64 constant instead."""
    net = scratchnet.Sequential(scratchnet.Linear(2, 3, rng=0), scratchnet.LeakyReLU(0.01), scratchnet.Linear(3, 1))
    net.to(np.float64)
    save_onnx(net, tmp_path / "net.onnx")
    assert "LeakyRelu" not in {n.op_type for n in onnx.load(str(tmp_path / "net.onnx")).graph.node}
    without_metadata(tmp_path / "net.onnx")
    assert load_onnx(tmp_path / "net.onnx").architecture.layers[0].activation.kwargs["negative_slope"] == 0.01
    x = np.linspace(-3, 3, 40).reshape(20, 2)
    session = onnxruntime.InferenceSession(str(tmp_path / "net.onnx"), providers=["CPUExecutionProvider"])
    from compare.tolerance import linear_chain, reference_with_bounds

    # Within float64's derived bound of the exact value: a slope rounded to float32 (0.01 + 2e-10) is not.
    x = x - 2.0  # negative pre-activations, where the slope counts
    reference, (bound,) = reference_with_bounds(linear_chain(net), x, [unit_roundoff(np.float64)])
    assert np.all(np.abs(session.run(None, {"input": x})[0] - reference) <= 2 * bound)
    net[1].negative_slope = float(np.float32(0.01))
    assert not np.all(np.abs(net(x) - reference) <= 2 * bound)


def test_save_onnx_refuses_what_it_cannot_write(tmp_path):
    net = scratchnet.Net(rng=0)
    with pytest.raises(ValueError, match="opset must be an integer from 20"):
        save_onnx(net, tmp_path / "net.onnx", opset=17)
    with pytest.raises(TypeError, match="states its architecture"):
        save_onnx(object(), tmp_path / "net.onnx")
    mixed = scratchnet.Net(rng=0)
    mixed.fc1.to(np.float64)
    with pytest.raises(ValueError, match="mix dtypes"):
        save_onnx(mixed, tmp_path / "net.onnx")
    (tmp_path / "old.onnx").write_bytes(b"old")
    with pytest.raises(ValueError):
        save_onnx(mixed, tmp_path / "old.onnx")
    assert (tmp_path / "old.onnx").read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["old.onnx"]


# -- what torch.onnx.export writes ----------------------------------------------------------------


def torch_models():
    """torch models of every kind: (id, model, in_features)."""
    nn = torch.nn

    class Own(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(3, 6), nn.Tanh())
            self.head = nn.Linear(6, 2)

        def forward(self, x):
            return self.head(self.encoder(x))

    return [
        ("sequential-no-bias-relu", nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2))),
        ("leaky-relu", nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 2))),
        ("elu", nn.Sequential(nn.Linear(3, 4), nn.ELU(0.7), nn.Linear(4, 2))),
        ("gelu-softmax", nn.Sequential(nn.Linear(3, 8), nn.GELU(), nn.Linear(8, 2), nn.Softmax(dim=-1))),
        ("gelu-tanh-logsoftmax", nn.Sequential(nn.Linear(3, 8), nn.GELU("tanh"), nn.Linear(8, 2), nn.LogSoftmax(-1))),
        ("silu", nn.Sequential(nn.Linear(3, 8), nn.SiLU(), nn.Linear(8, 2))),
        ("softplus", nn.Sequential(nn.Linear(3, 8), nn.Softplus(), nn.Linear(8, 2))),
        ("softplus-beta", nn.Sequential(nn.Linear(3, 8), nn.Softplus(2.0, 5.0), nn.Linear(8, 2))),
        ("identity", nn.Sequential(nn.Linear(3, 8), nn.Identity(), nn.Linear(8, 2))),
        ("linear", nn.Linear(3, 2)),
        ("mlp", torchnet.MLP((3, 5, 5, 2), "sigmoid")),
        ("own-class", Own()),
    ]


def exported(model, x, path, dynamo):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the legacy exporter is deprecated; the new one warns about torchvision
        if dynamo:
            shapes = ({0: torch.export.Dim("batch")},)
            torch.onnx.export(model, (x,), str(path), dynamo=True, dynamic_shapes=shapes, input_names=["input"])
        else:
            axes = {"input": {0: "batch"}}
            torch.onnx.export(model, (x,), str(path), dynamo=False, dynamic_axes=axes, input_names=["input"])


def lost(name, exporter, dtype):
    """What an exporter loses, so that its file computes something else than the torch model; or None."""
    if name.startswith("softplus") and exporter == "legacy" and (name != "softplus" or dtype == np.float64):
        return "the legacy exporter drops Softplus's threshold (torch's default 20 shows in float64)"
    if name in ("leaky-relu", "elu") and dtype == np.float64:
        return "ONNX's LeakyRelu and Elu take alpha as a float32 attribute"
    return None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_what_torch_onnx_export_writes_loads_and_equals_the_torch_model(tmp_path, exporter, dtype):
    if exporter == "dynamo":
        pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")
    torch.manual_seed(0)
    for name, model in torch_models():
        model = model.to(getattr(torch, np.dtype(dtype).name))
        x = unsaturated_inputs(1, (16, 3), dtype)
        exported(model, torch.from_numpy(x), tmp_path / f"{name}.onnx", exporter == "dynamo")
        net = load_onnx(tmp_path / f"{name}.onnx")
        theirs = torchnet.architecture_of(model, "test")
        if lost(name, exporter, dtype):  # the file computes something else than torch: what it computes is read
            assert net.architecture != theirs and net.architecture.sizes == theirs.sizes, name
            continue
        assert net.architecture == theirs, name
        report = compare_forward(net, model, x)
        assert report.passed, f"{name}:\n{report}"


def test_softplus_without_its_threshold_is_read_as_what_it_computes(tmp_path):
    """The legacy exporter writes nn.Softplus(2, 5) as Softplus(2x)/2: no threshold. Read as the threshold above
    which ln(1 + e^x) and x agree to rounding: what the file computes, not what the torch model did."""
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Softplus(2.0, 5.0))
    exported(model, torch.zeros(2, 3), tmp_path / "net.onnx", dynamo=False)
    assert load_onnx(tmp_path / "net.onnx").architecture.layers[0].activation == Activation(
        "softplus", beta=2.0, threshold=20.0
    )
    assert (softplus_threshold(np.float32), softplus_threshold(np.float64)) == (20.0, 34.0)
    for dtype in DTYPES:  # at least torch's default 20; in float64 the first integer where they agree
        t, u = softplus_threshold(dtype), unit_roundoff(dtype)
        assert math.log1p(math.exp(-t)) / t <= u / 2
    assert math.log1p(math.exp(-33)) / 33 > unit_roundoff(np.float64) / 2


# -- onnxruntime, the third witness ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=str)
def test_onnxruntime_passes_compare_forward_for_every_activation(activation, dtype):
    output = OUTPUTS[ACTIVATIONS.index(activation) % len(OUTPUTS)]
    layers = (Layer(3, 8, True, activation), Layer(8, 8, False, activation), Layer(8, 3, True, output))
    net = scratchnet.build(Architecture(layers, "sequential"), dtype=dtype, rng=1)
    x = unsaturated_inputs(2, (5, 4, 3), dtype)  # leading dimensions: flattened for Gemm, restored
    missing = no_float64_kernel(activation) if dtype == np.float64 else None
    if missing:
        with pytest.raises(ValueError, match=f"no float64 kernel for {missing} .*node '0/"):
            compare_forward(net, twin(net), x, onnx=True)
        return
    report = compare_forward(net, twin(net), x, onnx=True)
    assert report.passed, str(report)
    names = [c.name for c in report.comparisons]
    assert names == [
        "weights: scratchnet vs torch",
        "scratchnet vs float64 reference",
        "torch vs float64 reference",
        "onnxruntime vs float64 reference",
        "scratchnet vs torch",
    ]
    assert report.values["onnxruntime"].shape == (5, 4, 3)
    assert [c.name for c in report.layers[1].comparisons][-4:] == [
        "onnxruntime z", "onnxruntime h", "scratchnet alone", "torch alone"
    ]  # fmt: skip


def planted(save, layer, delta):
    """``save_onnx`` that then changes the first bias value of ``layer`` in the file by ``delta``."""

    def save_and_plant(net, path, **options):
        save(net, path, **options)
        model = onnx.load(str(path))
        for tensor in model.graph.initializer:
            if tensor.name == f"{layer}.bias":
                values = onnx.numpy_helper.to_array(tensor).copy()
                values[0] += delta
                tensor.CopyFrom(onnx.numpy_helper.from_array(values, tensor.name))
        onnx.save(model, str(path))

    return save_and_plant


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_changed_bias_in_the_file_is_blamed_on_onnxruntime_and_its_layer(monkeypatch, dtype):
    import scratchnet.onnx

    net = scratchnet.MLP((3, 8, 8, 8, 2), "tanh", dtype=dtype, rng=0)
    x = unsaturated_inputs(3, (32, 3), dtype)
    assert compare_forward(net, twin(net), x, onnx=True).passed
    monkeypatch.setattr(scratchnet.onnx, "save_onnx", planted(scratchnet.onnx.save_onnx, "fc2", 1e-3))
    report = compare_forward(net, twin(net), x, onnx=True)
    assert not report.passed and report.blamed == ["onnxruntime"]
    assert report.first_failing_layer == "fc2"
    failing = [(layer.name, c.name) for layer in report.layers for c in layer.comparisons if not c.passed]
    assert failing[0] == ("fc2", "onnxruntime z") and {side for _, side in failing} <= {
        "onnxruntime z",
        "onnxruntime h",
    }
    assert "blame: onnxruntime" in str(report)


def test_assert_equivalent_takes_onnx_too():
    from compare import assert_equivalent

    net = scratchnet.MLP((2, 4, 1), "gelu", rng=0)
    report = assert_equivalent(twin(net), net, np.ones((2, 2), np.float32), onnx=True)
    assert "onnxruntime vs float64 reference" in [c.name for c in report.comparisons]


def dense_grid(dtype):
    """+-30 finely (200 001 points), standard normals, tiny to huge magnitudes, where float32's exp over- and
    underflows, and the edges."""
    rng = np.random.default_rng(0)
    top = 1e30 if dtype == np.float32 else 1e300
    parts = [np.linspace(-30, 30, 200_001), rng.standard_normal(50_000) * 5, np.geomspace(1e-30, 1e4, 2000)]
    parts += [-parts[-1], np.linspace(-120, -80, 4001), np.linspace(80, 120, 4001), np.geomspace(1e4, top, 500)]
    parts += [-parts[-1], np.array([0.0, -0.0])]
    return np.concatenate(parts).astype(dtype)


def kernel_ratio(activation, dtype):
    """The largest ``|onnxruntime - reference| / bound`` of one activation at exactly known inputs (W = I, b = 0,
    so z is exact): the bound is ``activation_bound`` with ``e_z = 0``, plus the reference's own."""
    rows = activation.name in ("softmax", "log_softmax")
    width = 7 if rows else 1
    net = scratchnet.build(Architecture((Layer(width, width, True, activation),), "named", ("z",)), dtype=dtype)
    net.load_state_dict({"z.weight": np.eye(width, dtype=dtype), "z.bias": np.zeros(width, dtype)})
    from compare.forward import onnxruntime_session

    z = dense_grid(dtype)
    z = z[: z.size // width * width].reshape(-1, width)
    out = onnxruntime_session(net).run(None, {"input": z})[0].astype(np.float64)
    wide = z.astype(np.float64)
    reference = reference_activation(activation, wide)
    exact = np.zeros_like(wide)
    bound = activation_bound(activation, wide, reference, exact, unit_roundoff(dtype))
    bound = bound + activation_bound(activation, wide, reference, exact, unit_roundoff(np.float64))
    assert np.array_equal(np.isnan(out), np.isnan(reference))
    with np.errstate(all="ignore"):
        diff = np.where(out == reference, 0.0, np.abs(out - reference))
        return float(np.max(np.where(diff == 0, 0.0, diff / bound)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS + OUTPUTS[1:3], ids=str)
def test_onnxruntime_kernels_stay_within_the_derived_bounds(activation, dtype):
    """Each activation as onnxruntime computes it, over about 263 000 points, against compare.tolerance's bound
    (whose sigmoid, SiLU and tanh terms were widened to cover onnxruntime's kernels: see ACTIVATION_ERRORS)."""
    if dtype == np.float64 and no_float64_kernel(activation):
        pytest.skip(f"onnxruntime has no float64 kernel for {no_float64_kernel(activation)}")
    ratio = kernel_ratio(activation, dtype)
    assert ratio <= 1, f"onnxruntime {activation} {np.dtype(dtype).name}: |diff| / bound = {ratio:.4g}"


# -- hostile files --------------------------------------------------------------------------------


def graph_file(path, nodes, initializers, *, inputs=None, outputs=None, opset=20, metadata=None):
    """An ONNX file of ``nodes`` from ``input`` (batch, 3) to ``output``, float32, written without checks."""
    helper = onnx.helper
    inputs = inputs or [helper.make_tensor_value_info("input", 1, ["batch", 3])]
    outputs = outputs or [helper.make_tensor_value_info("output", 1, ["batch", None])]
    initializers = [onnx.numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in initializers.items()]
    graph = helper.make_graph(nodes, "hostile", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)
    if metadata:
        helper.set_model_props(model, metadata)
    path.write_bytes(model.SerializeToString())
    return path


def gemm(name, x, out, weight, bias=None, **attributes):
    inputs = [x, f"{name}.weight"] + ([f"{name}.bias"] if bias else [])
    return onnx.helper.make_node("Gemm", inputs, [out], name=name, transB=1, **attributes)


W1, B1, W2 = np.ones((4, 3)), np.zeros(4), np.ones((3, 4))


@pytest.mark.parametrize(
    "nodes, initializers, message",
    [
        (  # h1 = relu(W1 x + b1), output = W2 h1 + h1: a residual connection
            [
                gemm("a", "input", "z1", W1, True),
                onnx.helper.make_node("Relu", ["z1"], ["h1"], name="relu"),
                gemm("b", "h1", "z2", np.ones((4, 4))),
                onnx.helper.make_node("Add", ["z2", "h1"], ["output"], name="skip"),
            ],
            {"a.weight": W1, "a.bias": B1, "b.weight": np.ones((4, 4))},
            r"node skip \(Add\) also reads z2, computed outside this activation \(a residual\?\)",
        ),
        (
            [onnx.helper.make_node("Conv", ["input", "k"], ["output"], name="conv1", kernel_shape=[1])],
            {"k": np.ones((3, 3, 1))},
            r"node conv1 \(Conv\) reads a layer's input; expected one Gemm or MatMul",
        ),
        (
            [gemm("a", "input", "output", W1, True, alpha=2.0)],
            {"a.weight": W1, "a.bias": B1},
            r"node a \(Gemm\) has .*alpha.*; a Linear layer is Gemm with transA=0, alpha=1",
        ),
        (
            [gemm("a", "input", "z1", W1), onnx.helper.make_node("HardSigmoid", ["z1"], ["output"], name="hs")],
            {"a.weight": W1},
            r"node hs \(HardSigmoid\) ends an activation this reader does not know \(HardSigmoid\(z\)\)",
        ),
        (
            [gemm("a", "input", "z1", W1), gemm("b", "z1", "output", np.ones((2, 5)))],
            {"a.weight": W1, "b.weight": np.ones((2, 5))},
            "layers do not chain: layer 2 takes 5 inputs but the layer before gives 4",
        ),
        (
            [onnx.helper.make_node("MatMul", ["input", "w"], ["output"], name="mm")],
            {"w": np.ones((3, 2, 2))},
            r"node mm \(MatMul\) has a weight of shape \[3, 2, 2\]; a Linear weight is 2-D",
        ),
        (
            [
                gemm("a", "input", "z1", W1),
                onnx.helper.make_node("Softmax", ["z1"], ["h1"], name="sm", axis=-1),
                gemm("b", "h1", "output", W2),
            ],
            {"a.weight": W1, "b.weight": W2},
            "softmax mixes the features of a sample",
        ),
        (
            [
                gemm("a", "input", "z1", W1),
                onnx.helper.make_node("Relu", ["z1"], ["h1"], name="relu"),
                onnx.helper.make_node("Tanh", ["z1"], ["t1"], name="dead"),
                gemm("b", "h1", "output", W2),
            ],
            {"a.weight": W1, "b.weight": W2},
            r"node dead \(Tanh\) computes something the layer's output does not use",
        ),
    ],
    ids=[
        "residual-add",
        "conv",
        "gemm-alpha",
        "unknown-activation",
        "shapes-do-not-chain",
        "3-d-weight",
        "softmax-not-last",
        "dead-node",
    ],  # fmt: skip
)
def test_what_is_not_a_chain_of_layers_is_refused_naming_the_node(tmp_path, nodes, initializers, message):
    path = graph_file(tmp_path / "hostile.onnx", nodes, initializers)
    with pytest.raises(CheckpointError, match=message):
        load_onnx(path)


def test_damaged_and_strange_files_are_refused_in_one_line(tmp_path):
    net = scratchnet.MLP((3, 16, 2), "relu", rng=0)
    save_onnx(net, tmp_path / "net.onnx")
    data = (tmp_path / "net.onnx").read_bytes()
    for cut in (len(data) // 2, len(data) - 3, 5):
        (tmp_path / "cut.onnx").write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=r"not (an|a valid) ONNX model|claims shape") as caught:
            load_onnx(tmp_path / "cut.onnx")
        assert "\n" not in str(caught.value)
    for content in (b"", b"\x80\x04 not protobuf at all", b"\xff" * 64):
        (tmp_path / "junk.onnx").write_bytes(content)
        with pytest.raises(CheckpointError, match="ONNX model"):
            load_onnx(tmp_path / "junk.onnx")
    with pytest.raises(IsADirectoryError):
        load_onnx(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="not a regular file"):
        load_onnx(tmp_path / "fifo")


def test_external_data_is_refused_not_followed(tmp_path):
    """The location names nothing: following it would fail with FileNotFoundError, not this refusal."""
    model = onnx.load_model_from_string(
        graph_file(tmp_path / "plain.onnx", [gemm("a", "input", "output", W1)], {"a.weight": W1}).read_bytes()
    )
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../nowhere/secret.bin"
    (tmp_path / "external.onnx").write_bytes(model.SerializeToString())
    with pytest.raises(CheckpointError, match="a.weight is stored in an external data file, which load_onnx does not"):
        load_onnx(tmp_path / "external.onnx")


@pytest.mark.parametrize("field", ["raw_data", "float_data"])
def test_a_huge_claimed_shape_allocates_nothing(tmp_path, field):
    """A weight that claims 10**12 values (or 2**28: a gigabyte) but holds 12 is refused before any array is made."""
    for dims in ([10**6, 10**6], [2**14, 2**14]):
        tensor = onnx.TensorProto(name="a.weight", data_type=onnx.TensorProto.FLOAT, dims=dims)
        if field == "raw_data":
            tensor.raw_data = np.ones(12, np.float32).tobytes()
        else:
            tensor.float_data.extend([1.0] * 12)
        path = graph_file(tmp_path / "huge.onnx", [gemm("a", "input", "output", None)], {})
        model = onnx.load_model_from_string(path.read_bytes())
        model.graph.initializer.append(tensor)
        path.write_bytes(model.SerializeToString())
        tracemalloc.start()
        try:
            with pytest.raises(CheckpointError, match=r"claims shape \[.*\] but holds 12 values|not a valid ONNX"):
                load_onnx(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 5_000_000
    tensor = onnx.TensorProto(name="a.weight", data_type=onnx.TensorProto.FLOAT, dims=[4, 3])
    tensor.raw_data = np.ones(13, np.float32).tobytes()  # more than it claims: onnx's checker lets it pass
    model.graph.initializer.pop()
    model.graph.initializer.append(tensor)
    path.write_bytes(model.SerializeToString())
    with pytest.raises(CheckpointError, match=r"the weight a.weight claims shape \[4, 3\] but holds 13 values"):
        load_onnx(path)


def test_other_dtypes_are_refused_by_name(tmp_path):
    helper = onnx.helper
    half = [helper.make_tensor_value_info("input", 10, ["batch", 3])]
    path = graph_file(tmp_path / "half.onnx", [gemm("a", "input", "output", W1)], {}, inputs=half,
                      outputs=[helper.make_tensor_value_info("output", 10, ["batch", 4])])  # fmt: skip
    model = onnx.load_model_from_string(path.read_bytes())
    model.graph.initializer.append(onnx.numpy_helper.from_array(W1.astype(np.float16), "a.weight"))
    path.write_bytes(model.SerializeToString())
    with pytest.raises(CheckpointError, match=r"element type 10; supported: float32 \(1\) and float64 \(11\)"):
        load_onnx(path)


def test_metadata_that_contradicts_the_graph_is_refused(tmp_path):
    net = scratchnet.MLP((3, 4, 2), "relu", rng=0)
    save_onnx(net, tmp_path / "net.onnx")
    model = onnx.load(str(tmp_path / "net.onnx"))
    said = scratchnet.MLP((3, 4, 2), "tanh").architecture.to_dict()
    model.metadata_props[0].value = json.dumps(said)
    onnx.save(model, str(tmp_path / "net.onnx"))
    with pytest.raises(CheckpointError, match="its metadata records .* fc1 tanh.*, but its graph computes 3 -> 4 -> 2"):
        load_onnx(tmp_path / "net.onnx")
    model.metadata_props[0].value = "{not json"
    onnx.save(model, str(tmp_path / "net.onnx"))
    with pytest.raises(CheckpointError, match="its recorded architecture cannot be read"):
        load_onnx(tmp_path / "net.onnx")


# -- the command lines ----------------------------------------------------------------------------


def test_compare_onnx_adds_the_witness(capsys):
    assert compare_main(["--onnx", "--batch", "3", "--activation", "gelu"]) == 0
    out = capsys.readouterr().out
    assert "verdict: PASS" in out and "and onnxruntime is at most" in out and "onnxruntime " in out
    assert compare_main(["--onnx", "--batch", "3", "--activation", "gelu", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime vs float64 reference" in out and "verdict: PASS" in out
    assert compare_main(["--onnx", "--json", "--layers"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "onnxruntime vs float64 reference" in [c["name"] for c in document["comparisons"]]
    assert "onnxruntime h" in [c["name"] for c in document["layers"][0]["comparisons"]]


def test_compare_onnx_without_the_extra_says_so_in_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    assert compare_main(["--onnx"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert "needs onnxruntime (not installed)" in line and "pip install 'scratchnet[onnx]'" in line


def test_compare_onnx_refuses_a_float64_operator_onnxruntime_lacks(capsys):
    with pytest.raises(SystemExit) as caught:
        compare_main(["--onnx", "--dtype", "float64", "--activation", "softplus"])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert "no float64 kernel for Softplus" in line
    assert captured.out == ""  # the refusal comes first, not after a screen of weights


def test_the_benchmark_backends_are_checked_and_timed(tmp_path):
    argv = ["--quick", "--nets", "article", "--dtypes", "float32,float64", "--batches", "1,64", "--threads", "1,2"]
    argv += ["--backends", "scratchnet,onnxruntime,onnxruntime-iobinding", "--out", str(tmp_path)]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert bench_main(argv) == 0
    records = json.loads((tmp_path / "benchmarks.json").read_text())["records"]
    ours = [r for r in records if r["backend"].startswith("onnxruntime")]
    assert len(ours) == 2 * 2 * 2 * 2  # backends, dtypes, batches, thread counts
    assert all(r["status"] == "ok" and r["check_ratio"] <= 1 and r["median_s"] > 0 for r in ours)
    assert "onnxruntime-iobinding@cpu" in printed.getvalue()


def test_the_benchmark_backends_without_the_extra_are_unavailable(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    argv = ["--quick", "--nets", "article", "--dtypes", "float32", "--batches", "4", "--backends", "onnxruntime"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert bench_main([*argv, "--out", str(tmp_path)]) == 0
    (record,) = json.loads((tmp_path / "benchmarks.json").read_text())["records"]
    assert record["status"] == "unavailable" and "pip install 'scratchnet[onnx]'" in record["detail"]
