"""ONNX files in and out, with NumPy and the ``onnx`` package alone (``pip install 'scratchnet[onnx]'``).

- ``save_onnx(net, path)``: any network that states its architecture, as an
  ONNX graph: per layer one ``Gemm`` (``y = x @ W.T + b``: ``transB=1``, the
  weight stored ``(out_features, in_features)`` under its state-dict name)
  and the operators of its activation; the ``Architecture`` itself in the
  model's metadata, so that ``load_onnx`` gives back the very same network.
- ``load_onnx(path)``: a scratchnet network computing what an ONNX file
  computes, when that is a chain of Linear layers and activations: the files
  ``save_onnx`` writes and the ones ``torch.onnx.export`` writes for an MLP
  (both of its exporters). Anything else is refused, naming the node.
- ``tensor_names(architecture)``: the names of each layer's ``z`` and ``h`` in
  the graph ``save_onnx`` writes (``compare`` asks onnxruntime for them).

How each activation is written (``x`` the layer's output ``z``; constants are
scalars of the network's dtype)::

    relu, sigmoid, tanh, identity   Relu, Sigmoid, Tanh, Identity
    leaky_relu (s), elu (a)         LeakyRelu(alpha=s), Elu(alpha=a)  (float32: attributes are float32);
                                    float64: Where(Greater(x, 0), x, Mul(x, s)),
                                             Where(Greater(x, 0), x, Mul(a, Sub(Exp(x), 1)))
    gelu                            Gelu(approximate="none" | "tanh")  (opset 20); float64 "tanh" written out,
                                    0.5 x (1 + Tanh(sqrt(2/pi) (x + 0.044715 x^3))), with float64 constants
    silu                            Mul(x, Sigmoid(x))
    softplus (beta b, threshold t)  Where(Greater(b x, t), x, Softplus(b x) / b)  (torch's rule; no Mul/Div if b = 1)
    heaviside (value v)             Where(Greater(x, 0), 1, Where(Equal(x, 0), v, 0))  (0 at NaN, as torch)
    softmax, log_softmax            Softmax(axis=-1), LogSoftmax(axis=-1)

The graph takes ``input`` of shape ``(batch, in_features)`` (``batch``
symbolic) and gives ``output`` of shape ``(batch, out_features)``, in the
network's dtype. Problems with a file's content raise ``CheckpointError`` (a
``ValueError``); a path that cannot be read raises the usual ``OSError``.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import __version__
from .architecture import Activation, Architecture, Layer, architecture_of
from .checkpoint import METADATA_KEY, CheckpointError, PathLike, _recorded, first_line, open_regular
from .checks import printable
from .files import atomic_path
from .module import Module
from .nets import build

__all__ = ["HINT", "OPSET", "load_onnx", "save_onnx", "softplus_threshold", "tensor_names"]

#: What brings the packages this module needs.
HINT = "pip install 'scratchnet[onnx]'"
#: The opset written by default: the first with a ``Gelu`` operator.
OPSET = 20
#: A protobuf message (an ONNX file without external data) is at most 2 GiB.
MAX_FILE_BYTES = 2**31 - 1
#: Nodes between two layers that one activation may take: the longest form above (float64 tanh GELU) has 9.
MAX_ACTIVATION_NODES = 16

#: The cubic coefficient of GELU's tanh approximation (torch's and ONNX's).
GELU_CUBIC = 0.044715
#: ONNX element types of the dtypes a scratchnet network holds.
_ELEMENT_TYPES = {np.dtype(np.float32): 1, np.dtype(np.float64): 11}  # TensorProto.FLOAT, TensorProto.DOUBLE


def _onnx():
    """The ``onnx`` package, or an ``ImportError`` that says how to get it."""
    try:
        import onnx
    except ImportError as error:
        raise ImportError(f"ONNX files need the onnx package ({error}); {HINT}", name="onnx") from None
    return onnx


# -- writing ------------------------------------------------------------------------------------


def tensor_names(architecture: Architecture) -> list[tuple[str, str]]:
    """Each layer's ``(z, h)`` tensor names in the graph ``save_onnx`` writes: ``z = h_prev @ W.T + b``, ``h = f(z)``.

    ``("fc1/z", "fc1/h")`` and so on; ``h`` is ``z`` where no activation follows, and the last ``h`` is ``output``.
    """
    names = []
    for number, (label, layer) in enumerate(zip(_labels(architecture), architecture.layers), start=1):
        z = "output" if number == len(architecture.layers) and layer.activation is None else f"{label}/z"
        h = "output" if number == len(architecture.layers) else (z if layer.activation is None else f"{label}/h")
        names.append((z, h))
    return names


def _labels(architecture):
    """Each layer's node name: its state-dict prefix, or ``linear`` for a Linear alone."""
    return [name or "linear" for name in architecture.layer_names]


def save_onnx(net: Module, path: PathLike, *, opset: int = OPSET) -> None:
    """Write ``net`` (any network that states its architecture) as an ONNX model, bit for bit.

    One ``Gemm`` per layer (``transB=1``: ``y = x @ W.T + b``, ``W`` stored as
    ``(out_features, in_features)``), initializers named as in the state dict
    (``fc1.weight``, ``0.bias``), nodes named after the layers, the
    activations as the module docstring shows; input ``input`` of shape
    ``(batch, in_features)``, output ``output`` of shape ``(batch,
    out_features)``, in the network's dtype (float32 or float64). The
    ``Architecture`` is recorded in the metadata, so ``load_onnx(path)``
    gives back the same network. The model is validated with
    ``onnx.checker.check_model`` and written beside ``path``, then renamed.

    Raises:
        TypeError: ``net`` does not state what its forward computes.
        ValueError: ``opset`` is not from 20 (``Gelu``) to what the onnx package knows; the weights
            mix dtypes; they take 2 GiB or more (that needs external data, not written here).
        ImportError: the onnx package is missing.
    """
    onnx = _onnx()
    architecture = architecture_of(net, "save_onnx()")
    if architecture.naming == "fc":
        architecture.mlp_options()  # what load_onnx could not rebuild is refused now, not when reading it back
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not OPSET <= opset <= newest:
        raise ValueError(f"opset must be an integer from {OPSET} (the first with Gelu) to {newest}; got {opset!r}")
    state = net.state_dict()
    dtypes = {array.dtype for array in state.values()}
    if len(dtypes) != 1:
        raise ValueError(f"save_onnx(): the weights mix dtypes {sorted(map(str, dtypes))}; convert with .to(dtype)")
    dtype = dtypes.pop()
    if sum(array.nbytes for array in state.values()) >= MAX_FILE_BYTES:
        raise ValueError("save_onnx(): the weights take 2 GiB or more, which an ONNX file holds only as external data")
    model = _model(architecture, state, dtype, opset)
    onnx.checker.check_model(model, full_check=True)
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as file:
            file.write(model.SerializeToString())


def _model(architecture, state, dtype, opset):
    from onnx import helper, numpy_helper

    element = _ELEMENT_TYPES[dtype]
    nodes, initializers = [], []
    h = "input"
    for label, prefix, layer, (z, out) in zip(
        _labels(architecture), architecture.layer_names, architecture.layers, tensor_names(architecture)
    ):
        dot = f"{prefix}." if prefix else ""
        inputs = [h, f"{dot}weight"] + ([f"{dot}bias"] if layer.bias else [])
        initializers += [numpy_helper.from_array(state[name], name) for name in inputs[1:]]  # copies
        nodes.append(helper.make_node("Gemm", inputs, [z], name=label, transB=1))
        if layer.activation is not None:
            nodes += _activation_nodes(helper, numpy_helper, layer.activation, z, out, f"{label}/", dtype)
        h = out
    sizes = architecture.sizes
    graph = helper.make_graph(
        nodes,
        "scratchnet",
        [helper.make_tensor_value_info("input", element, ["batch", sizes[0]])],
        [helper.make_tensor_value_info("output", element, ["batch", sizes[-1]])],
        initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        ir_version=helper.find_min_ir_version_for(opsets),  # the oldest that can say it: runtimes read it
        producer_name="scratchnet",
        producer_version=__version__,
    )
    helper.set_model_props(model, {METADATA_KEY: json.dumps(architecture.to_dict())})
    return model


def _activation_nodes(helper, numpy_helper, activation, x, out, prefix, dtype):
    """The nodes computing ``out = activation(x)``, named ``prefix + name`` (``fc1/relu``, ``fc1/relu/Greater``)."""
    name, settings = activation.name, activation.kwargs
    base = prefix + name
    nodes = []

    def node(op, inputs, output=None, **attributes):
        output = output or f"{base}/{op}{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [output], name=base if output == out else output, **attributes))
        return output

    def constant(value):
        tensor = numpy_helper.from_array(np.asarray(value, dtype=dtype), f"{base}/c{len(nodes)}")
        return node("Constant", [], value=tensor)

    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "identity": "Identity"}
    if name in simple:
        node(simple[name], [x], out)
    elif name in ("softmax", "log_softmax"):
        node({"softmax": "Softmax", "log_softmax": "LogSoftmax"}[name], [x], out, axis=-1)
    elif name == "gelu" and (dtype == np.float32 or settings["approximate"] == "none"):
        node("Gelu", [x], out, approximate=settings["approximate"])
    elif name == "gelu":  # float64: ONNX defines Gelu(tanh) with float32 constants (its function body), so not that
        cube = node("Mul", [node("Mul", [x, x]), x])
        inner = node("Add", [x, node("Mul", [constant(GELU_CUBIC), cube])])
        phi = node("Add", [constant(1.0), node("Tanh", [node("Mul", [constant(math.sqrt(2 / math.pi)), inner])])])
        node("Mul", [node("Mul", [constant(0.5), x]), phi], out)
    elif name == "silu":
        node("Mul", [x, node("Sigmoid", [x])], out)
    elif name in ("leaky_relu", "elu") and dtype == np.float32:
        op, setting = ("LeakyRelu", "negative_slope") if name == "leaky_relu" else ("Elu", "alpha")
        node(op, [x], out, alpha=settings[setting])
    elif name in ("leaky_relu", "elu"):  # float64: ONNX's alpha attribute is a float32, so the setting is a constant
        positive = node("Greater", [x, constant(0.0)])
        if name == "leaky_relu":
            negative = node("Mul", [x, constant(settings["negative_slope"])])
        else:
            negative = node("Mul", [constant(settings["alpha"]), node("Sub", [node("Exp", [x]), constant(1.0)])])
        node("Where", [positive, x, negative], out)
    elif name == "softplus":
        beta, threshold = settings["beta"], settings["threshold"]
        scaled = x if beta == 1 else node("Mul", [x, constant(beta)])
        smooth = node("Softplus", [scaled])
        smooth = smooth if beta == 1 else node("Div", [smooth, constant(beta)])
        node("Where", [node("Greater", [scaled, constant(threshold)]), x, smooth], out)
    elif name == "heaviside":
        at_zero = node("Where", [node("Equal", [x, constant(0.0)]), constant(settings["value"]), constant(0.0)])
        node("Where", [node("Greater", [x, constant(0.0)]), constant(1.0), at_zero], out)
    else:
        raise ValueError(f"save_onnx(): no ONNX form for activation {name!r}")
    return nodes


# -- reading ------------------------------------------------------------------------------------


def softplus_threshold(dtype):
    """The threshold at which ONNX's ``Softplus`` (``ln(1 + e^x)`` everywhere) is read as torch's.

    Above ``t``, ``ln(1 + e^x) - x = ln(1 + e^-x) < e^-t``, which is less than half an ulp of ``x`` once
    ``e^-t / t <= u / 2``: 20 for float32 (torch's default), 34 for float64. ``torch.onnx.export(dynamo=False)``
    writes ``nn.Softplus`` without its threshold; the file then computes this.
    """
    u = float(np.finfo(dtype).eps) / 2
    threshold = 20
    while math.exp(-threshold) / threshold > u / 2:
        threshold += 1
    return float(threshold)


@dataclass(frozen=True)
class _Constant:
    """A scalar constant of the graph and the dtype it is stored in (float32 attributes are float32)."""

    value: float
    dtype: np.dtype


def load_onnx(path: PathLike) -> Module:
    """The scratchnet network an ONNX file computes: a chain of Linear layers, each followed by its activation.

    Each layer is a ``Gemm`` (``transA=0``, ``alpha=beta=1``, any ``transB``),
    or a ``MatMul`` and an ``Add`` of the bias; weights and biases are
    initializers, float32 or float64, all of one dtype. The activations are
    the forms ``save_onnx`` writes and those ``torch.onnx.export`` writes
    (``SiLU`` as ``x * Sigmoid(x)``; ``nn.Softplus`` with or without its
    threshold: see ``softplus_threshold``).

    The architecture the file records (``save_onnx`` does) is used when the
    graph computes it, and refused when it does not. Otherwise it is read
    from the graph: its layer names from the weights' names (``fc1.weight``,
    ``0.weight``, ``encoder.0.weight``; else from the nodes' names as
    torch's exporter writes them, ``/encoder/0/Gemm``; else ``layer1``,
    ``layer2``...), giving the ``"linear"``, ``"fc"`` or ``"sequential"``
    naming where the names are exactly those, ``"named"`` otherwise. Where
    the names show a module that computes nothing (``nn.Identity``, which
    the exporters drop), it is read as the ``identity`` activation. Numbers
    stored as float32 read back as the shortest decimal that rounds to them
    (``LeakyRelu(alpha=0.01)`` is 0.01). A form that differs from the
    activation anywhere is refused: ``torch.onnx.export(dynamo=True)`` writes
    ``torch.heaviside`` as ``Where(Equal(z, 0), v, Where(Less(z, 0), 0, 1))``,
    which is 1 at NaN where torch's is 0.

    Raises:
        CheckpointError (a ValueError): not an ONNX file, external data, a graph that is not such a
            chain (naming the node), a dtype other than float32 and float64, a recorded architecture the
            graph contradicts.
        OSError: the path cannot be read, or is not a regular file.
        ImportError: the onnx package is missing.
    """
    onnx = _onnx()
    source = printable(path)
    with open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise CheckpointError(
                f"{source}: {size} bytes; an ONNX file holds at most 2 GiB (more needs external data, not followed)"
            )
        data = file.read()
    try:
        model = onnx.load_model_from_string(data)
    except Exception as error:  # protobuf's DecodeError, and whatever a damaged file makes it raise
        raise CheckpointError(f"{source}: not an ONNX model ({printable(first_line(error))})") from None
    if not model.HasField("graph") or not model.opset_import:
        raise CheckpointError(f"{source}: not an ONNX model (no graph, or no opset)")
    _refuse_external_data(model, source)
    try:
        onnx.checker.check_model(model)
    except Exception as error:
        raise CheckpointError(f"{source}: not a valid ONNX model ({printable(first_line(error))})") from None
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    layers, prefixes, weights, dtype = _Graph(model.graph, source, opset).chain()
    recorded = _recorded({p.key: p.value for p in model.metadata_props}, path)
    try:
        architecture = _derive(layers, prefixes) if recorded is None else _agreeing(recorded, layers, dtype, source)
        net = build(architecture, dtype=dtype)
    except CheckpointError:
        raise
    except (TypeError, ValueError) as error:  # e.g. softmax before the last layer
        raise CheckpointError(f"{source}: {printable(first_line(error))}") from None
    names = architecture.parameter_names()
    net.load_state_dict(dict(zip(names, [array for pair in weights for array in pair if array is not None])))
    return net


def _refuse_external_data(model, source):
    """Refuse what lives outside the file: external tensors (never opened), sparse initializers, functions."""
    graph = model.graph
    tensors = list(graph.initializer) + [
        attribute.t for node in graph.node for attribute in node.attribute if attribute.HasField("t")
    ]
    outside = [tensor.name or "(a Constant)" for tensor in tensors if tensor.data_location == 1 or tensor.external_data]
    if outside:
        raise CheckpointError(
            f"{source}: tensor {printable(outside[0])} is stored in an external data file, which load_onnx does not "
            "follow: save the model with its weights inside (onnx.save_model(..., save_as_external_data=False))"
        )
    if graph.sparse_initializer:
        raise CheckpointError(f"{source}: sparse initializers are not weights of Linear layers")
    if model.functions:
        raise CheckpointError(
            f"{source}: the model defines functions ({printable(model.functions[0].name)}, ...): not a chain of "
            "Linear layers"
        )


def _array(tensor, what, source):
    """A float32 or float64 tensor of the file as a new array, its size checked against the bytes it holds first."""
    dtypes = {1: np.dtype(np.float32), 11: np.dtype(np.float64)}
    if tensor.data_type not in dtypes:
        raise CheckpointError(
            f"{source}: {what} holds ONNX element type {tensor.data_type}; supported: float32 (1) and float64 (11)"
        )
    dtype = dtypes[tensor.data_type]
    shape = tuple(tensor.dims)
    count = math.prod(shape)  # Python ints: no overflow, whatever the file claims
    if tensor.HasField("raw_data"):
        held = len(tensor.raw_data) // dtype.itemsize
        values = tensor.raw_data
    else:
        values = tensor.float_data if dtype == np.float32 else tensor.double_data
        held = len(values)
    if any(n < 0 for n in shape) or held != count or len(tensor.raw_data) % dtype.itemsize:
        raise CheckpointError(f"{source}: {what} claims shape {list(shape)} but holds {held} values")
    if isinstance(values, bytes):
        return np.frombuffer(values, dtype.newbyteorder("<")).astype(dtype).reshape(shape)  # a copy
    return np.array(values, dtype=dtype).reshape(shape)


#: torch's legacy exporter names a module's nodes by its path: ``/encoder/0/Gemm`` is in module ``encoder.0``.
_TORCH_NODE_NAME = re.compile(r"/(?P<path>(?:[^/]+/)*)[A-Za-z]+(?:_[0-9]+)?")


class _Graph:
    """One ONNX graph, walked from its input to its output as a chain of layers and activations."""

    LINEAR = ("Gemm", "MatMul")

    def __init__(self, graph, source, opset):
        self.graph, self.source = graph, source
        # Which Softmax axes mean the last one: -1 always; 1 too where the input is (batch, features).
        # Before opset 13 the default axis was 1 (and rows were flattened to 2-D, so -1 was the last there too).
        inputs = [value for value in graph.input if value.name not in {t.name for t in graph.initializer}]
        rank = len(inputs[0].type.tensor_type.shape.dim) if len(inputs) == 1 else 0
        self.last_axes = {-1} | ({1} if rank == 2 else set())
        self.default_axis = -1 if opset >= 13 else 1
        self.initializers = {tensor.name: tensor for tensor in graph.initializer}
        self.nodes = list(graph.node)  # these objects, held: the walk marks them used by identity
        self.producer, self.consumers = {}, {}
        for node in self.nodes:
            if node.domain not in ("", "ai.onnx"):
                self.refuse(node, f"is an operator of domain {node.domain!r}: not a Linear layer or an activation")
            for name in node.output:
                self.producer[name] = node
            for name in node.input:
                if name:
                    self.consumers.setdefault(name, []).append(node)
        self.used = set()

    def refuse(self, node, why):
        label = printable(node.name or f"#{next(i for i, n in enumerate(self.nodes) if n is node)}")
        raise CheckpointError(f"{self.source}: node {label} ({printable(node.op_type)}) {why}")

    def chain(self):
        """``(layers, prefixes, weights, dtype)``: the ``Layer``s read, each one's name (or None), its arrays."""
        inputs = [value for value in self.graph.input if value.name not in self.initializers]
        if len(inputs) != 1 or len(self.graph.output) != 1:
            raise CheckpointError(
                f"{self.source}: the graph takes {len(inputs)} inputs and gives {len(self.graph.output)} outputs; "
                "a chain of Linear layers takes one and gives one"
            )
        current, output = inputs[0].name, self.graph.output[0].name
        layers, prefixes, weights = [], [], []
        while True:
            readers = self.consumers.get(current, [])
            if current == output and not readers:
                break
            if len(readers) != 1 or readers[0].op_type not in self.LINEAR or readers[0].input[0] != current:
                node = next((n for n in readers if n.op_type not in self.LINEAR), readers[0] if readers else None)
                if node is None:
                    raise CheckpointError(f"{self.source}: {printable(current)} leads to no Linear layer")
                self.refuse(node, "reads a layer's input; expected one Gemm or MatMul (a Linear layer) there")
            if id(readers[0]) in self.used:
                self.refuse(readers[0], "is reached twice: the graph is not a chain")
            weight, bias, z, prefix = self.linear(readers[0])
            activation, current = self.activation(z, output, weight.dtype)
            layers.append(Layer(weight.shape[1], weight.shape[0], bias is not None, activation))
            prefixes.append(prefix)
            weights.append((weight, bias))
        if not layers:
            raise CheckpointError(f"{self.source}: the graph has no Linear layer")
        stray = [node for node in self.nodes if id(node) not in self.used]
        if stray:
            self.refuse(stray[0], "is not part of the chain of Linear layers and activations")
        dtypes = {array.dtype for pair in weights for array in pair if array is not None}
        if len(dtypes) != 1:
            raise CheckpointError(f"{self.source}: the weights mix {' and '.join(sorted(map(str, dtypes)))}")
        dtype = dtypes.pop()
        self.check_value(inputs[0], dtype, layers[0].in_features, "input")
        self.check_value(self.graph.output[0], dtype, layers[-1].out_features, "output")
        return layers, prefixes, weights, dtype

    def check_value(self, value, dtype, width, what):
        kind = value.type.WhichOneof("value")
        tensor = value.type.tensor_type
        if kind != "tensor_type" or tensor.elem_type != _ELEMENT_TYPES[dtype]:
            raise CheckpointError(
                f"{self.source}: the graph's {what} {printable(value.name)} is not a tensor of {dtype}, "
                "the dtype of its weights"
            )
        dims = tensor.shape.dim if tensor.HasField("shape") else ()
        if tensor.HasField("shape") and (not dims or (dims[-1].HasField("dim_value") and dims[-1].dim_value != width)):
            shape = [d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in dims]
            raise CheckpointError(f"{self.source}: the graph's {what} has shape {shape}; its layers say (*, {width})")

    def stored(self, node, name, what):
        """The array of an initializer that ``node`` reads as ``what``; refused if it is computed."""
        if name not in self.initializers:
            self.refuse(node, f"reads its {what} {printable(name)} from another node; a Linear layer stores it")
        return _array(self.initializers[name], f"the {what} {printable(name)}", self.source)

    def linear(self, node):
        """``(weight (out, in), bias or None, z, prefix)`` of a ``Gemm``, or a ``MatMul`` and the ``Add`` after it."""
        self.used.add(id(node))
        attributes = {a.name: _attribute(a) for a in node.attribute}
        if node.op_type == "Gemm":
            if attributes.get("transA", 0) != 0 or attributes.get("alpha", 1.0) != 1.0:
                self.refuse(node, f"has {attributes}; a Linear layer is Gemm with transA=0, alpha=1")
            if len(node.input) > 2 and node.input[2] and attributes.get("beta", 1.0) != 1.0:
                self.refuse(node, f"has beta={attributes['beta']}; a Linear layer adds its bias once (beta=1)")
            weight = self.stored(node, node.input[1], "weight")
            weight = weight if attributes.get("transB", 0) else weight.T.copy()
            bias_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
            bias = None if bias_name is None else self.stored(node, bias_name, "bias")
            z = node.output[0]
        else:
            weight = self.stored(node, node.input[1], "weight")
            if weight.ndim == 2:
                weight = weight.T.copy()  # MatMul's is (in_features, out_features)
            bias, z = None, node.output[0]
            readers = self.consumers.get(z, [])
            add = readers[0] if len(readers) == 1 and readers[0].op_type == "Add" else None
            if add is not None:
                other = [name for name in add.input if name != z]
                if len(other) == 1 and other[0] in self.initializers:
                    self.used.add(id(add))
                    bias, z = self.stored(add, other[0], "bias"), add.output[0]
        if weight.ndim != 2 or min(weight.shape) < 1:
            self.refuse(node, f"has a weight of shape {list(weight.shape)}; a Linear weight is 2-D, each size >= 1")
        if bias is not None and bias.shape != (weight.shape[0],):
            self.refuse(node, f"has a bias of shape {list(bias.shape)}; expected [{weight.shape[0]}]")
        if bias is not None and bias.dtype != weight.dtype:
            self.refuse(node, f"mixes a {weight.dtype} weight and a {bias.dtype} bias")
        return weight, bias, z, self.prefix(node)

    def prefix(self, node):
        """The layer's state-dict prefix: from its weight's name, else from a torch node name, else None."""
        weight_name = node.input[1]
        if weight_name == "weight" or weight_name.endswith(".weight"):
            return weight_name.removesuffix("weight").removesuffix(".")
        match = _TORCH_NODE_NAME.fullmatch(node.name)
        return None if match is None else match["path"].strip("/").replace("/", ".")

    def activation(self, z, output, dtype):
        """``(Activation or None, h)``: the nodes from ``z`` to the next layer's input (or the output)."""
        region, frontier, exits = [], [z], set()
        while frontier:
            tensor = frontier.pop()
            for node in self.consumers.get(tensor, []):
                if node.op_type in self.LINEAR:
                    exits.add(tensor)
                elif id(node) not in {id(n) for n in region}:
                    region.append(node)
                    frontier += list(node.output)
                    if len(region) > MAX_ACTIVATION_NODES:
                        self.refuse(node, "follows a layer with more nodes than any activation has")
        produced = {name for node in region for name in node.output}
        for node in region:  # each node reads z, what the activation computed, or constants: nothing from elsewhere
            for name in node.input:
                if name and name != z and name not in produced and not self.is_constant(name):
                    self.refuse(node, f"also reads {printable(name)}, computed outside this activation (a residual?)")
        if output == z or output in produced:
            exits.add(output)
        if len(exits) != 1:
            names = ", ".join(printable(name) for name in sorted(exits)) or "none"
            raise CheckpointError(
                f"{self.source}: after {printable(z)}, more than one value goes on ({names}): not a chain of layers"
            )
        h = exits.pop()
        if h == z:
            return None, z
        expression = self.expression(h, z)
        stray = [node for node in region if id(node) not in self.used]
        if stray:
            self.refuse(stray[0], "computes something the layer's output does not use")
        activation = _match(expression, dtype, self.last_axes, self.default_axis)
        if activation is None:
            node = self.producer[h]
            self.refuse(node, "ends an activation this reader does not know (" + _describe(expression) + ")")
        return activation, h

    def is_constant(self, name):
        node = self.producer.get(name)
        return name in self.initializers or (node is not None and node.op_type == "Constant")

    def expression(self, name, z):
        """The computation of ``name`` as a tree: ``"z"``, a ``_Constant``, or ``(op, attributes, children)``."""
        if name == z:
            return "z"
        if name in self.initializers:
            return self.constant(self.initializers[name], name, None)
        node = self.producer[name]
        self.used.add(id(node))
        if node.op_type == "Constant":
            if len(node.attribute) != 1 or node.attribute[0].name not in ("value", "value_float"):
                self.refuse(node, "holds no scalar value")
            attribute = node.attribute[0]
            if attribute.name == "value_float":
                return _Constant(attribute.f, np.dtype(np.float32))
            return self.constant(attribute.t, name, node)
        attributes = tuple(sorted((a.name, _attribute(a)) for a in node.attribute))
        return (node.op_type, attributes, tuple(self.expression(child, z) for child in node.input))

    def constant(self, tensor, name, node):
        values = _array(tensor, f"the constant {printable(name)}", self.source)
        if values.size != 1:
            if node is None:
                raise CheckpointError(f"{self.source}: {printable(name)} of shape {list(values.shape)} is not a scalar")
            self.refuse(node, f"holds shape {list(values.shape)}; an activation's constants are scalars")
        return _Constant(float(values.reshape(())), values.dtype)


def _attribute(attribute):
    """An attribute's value: floats as float32 values (ONNX stores them so), strings decoded."""
    from onnx import helper

    value = helper.get_attribute_value(attribute)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _describe(expression):
    if isinstance(expression, str):
        return expression
    if isinstance(expression, _Constant):
        return f"{expression.value:g}"
    op, _, children = expression
    return f"{op}({', '.join(_describe(child) for child in children)})"


def _number(constant, dtype):
    """The setting a stored number says. In a float32 network every setting is rounded to float32 anyway, so
    the shortest decimal that rounds to it is as good as any (``LeakyRelu(alpha=0.01)`` reads 0.01); in a
    float64 network the number is taken as stored (a float32 attribute there computes its float32 value)."""
    if dtype == np.float32:
        return float(str(np.float32(constant.value)))  # str: the shortest decimal that rounds to it
    return float(constant.value)


def _is(expression, value):
    return isinstance(expression, _Constant) and expression.value == value


def _operands(expression, op, arity):
    """The children of ``expression`` if it is ``op`` with ``arity`` inputs and no attributes, else None."""
    if isinstance(expression, tuple) and expression[0] == op and not expression[1] and len(expression[2]) == arity:
        return expression[2]
    return None


def _scaled(expression):
    """``(s, c)`` where ``expression`` is ``s * c`` with a constant ``c`` (either order), else None."""
    pair = _operands(expression, "Mul", 2)
    if pair is None:
        return None
    first, second = pair
    if isinstance(second, _Constant):
        return first, second
    if isinstance(first, _Constant):
        return second, first
    return None


def _match(e, dtype, last_axes, default_axis):
    """The ``Activation`` the expression ``e`` of ``"z"`` computes, or None when it is none this reader knows."""
    if not isinstance(e, tuple):
        return None
    op, attributes, children = e
    settings = dict(attributes)
    if children == ("z",):
        simple = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Identity": "identity"}
        if op in simple and not attributes:
            return Activation(simple[op])
        if op in ("Softmax", "LogSoftmax") and set(settings) <= {"axis"}:
            if settings.get("axis", default_axis) in last_axes:
                return Activation("softmax" if op == "Softmax" else "log_softmax")
            return None
        if op in ("LeakyRelu", "Elu") and set(settings) <= {"alpha"}:
            leaky = op == "LeakyRelu"
            name, setting, default = ("leaky_relu", "negative_slope", 0.01) if leaky else ("elu", "alpha", 1.0)
            alpha = _Constant(settings.get("alpha", default), np.dtype(np.float32))  # float attributes are float32
            return Activation(name, **{setting: _number(alpha, dtype)})
        approximate = settings.get("approximate", "none")
        if op == "Gelu" and set(settings) <= {"approximate"} and approximate in ("none", "tanh"):
            return Activation("gelu", approximate=approximate)
    tanh_gelu = Activation("gelu", approximate="tanh")
    if dtype == np.float64 and e == _written(tanh_gelu, dtype):
        return tanh_gelu
    silu = _operands(e, "Mul", 2)
    if silu is not None and "z" in silu and ("Sigmoid", (), ("z",)) in silu:
        return Activation("silu")
    softplus = _softplus(e, dtype)
    if softplus is not None:
        return softplus
    where = _operands(e, "Where", 3)
    if where is None:
        return None
    condition, yes, no = where
    positive = _operands(condition, "Greater", 2)
    if positive is None or positive[0] != "z" or not _is(positive[1], 0.0):
        return None
    scaled = _scaled(no)
    if yes == "z" and scaled is not None and scaled[0] == "z":
        return Activation("leaky_relu", negative_slope=_number(scaled[1], dtype))
    minus = None if scaled is None else _operands(scaled[0], "Sub", 2)
    if yes == "z" and minus is not None and minus[0] == ("Exp", (), ("z",)) and _is(minus[1], 1.0):
        return Activation("elu", alpha=_number(scaled[1], dtype))
    at_zero = _operands(no, "Where", 3)
    if _is(yes, 1.0) and at_zero is not None:
        zero, value, otherwise = at_zero
        equal = _operands(zero, "Equal", 2)
        if equal is not None and equal[0] == "z" and _is(equal[1], 0.0) and _is(otherwise, 0.0):
            if isinstance(value, _Constant):
                return Activation("heaviside", value=_number(value, dtype))
    return None


def _written(activation, dtype):
    """The expression of ``z`` that ``save_onnx`` writes for ``activation`` in a ``dtype`` network."""
    from onnx import helper, numpy_helper

    nodes = {}
    for node in _activation_nodes(helper, numpy_helper, activation, "z", "h", "", np.dtype(dtype)):
        nodes[node.output[0]] = node

    def expression(name):
        if name == "z":
            return "z"
        node = nodes[name]
        if node.op_type == "Constant":
            value = numpy_helper.to_array(node.attribute[0].t)
            return _Constant(float(value), value.dtype)
        attributes = tuple(sorted((a.name, _attribute(a)) for a in node.attribute))
        return (node.op_type, attributes, tuple(expression(child) for child in node.input))

    return expression("h")


def _softplus(e, dtype):
    """torch's softplus, thresholded (``Where(Greater(b z, t), z, Softplus(b z) / b)``) or ONNX's alone."""
    where = _operands(e, "Where", 3)
    scaled = threshold = None
    if where is not None:
        condition, yes, e = where
        greater = _operands(condition, "Greater", 2)
        if yes != "z" or greater is None or not isinstance(greater[1], _Constant):
            return None
        scaled, threshold = greater
    smooth, beta = e, None
    divided = _operands(e, "Div", 2)
    if divided is not None and isinstance(divided[1], _Constant):
        smooth, beta = divided
    inner = _operands(smooth, "Softplus", 1)
    if inner is None:
        return None
    argument = inner[0]
    product = _scaled(argument)
    if beta is None and argument != "z":
        return None
    if beta is not None and (product is None or product[0] != "z" or product[1].value != beta.value):
        return None
    if threshold is not None and scaled != argument:
        return None
    return Activation(
        "softplus",
        beta=1.0 if beta is None else _number(beta, dtype),
        threshold=softplus_threshold(dtype) if threshold is None else _number(threshold, dtype),
    )


def _derive(layers, prefixes):
    """The ``Architecture`` of the layers read, named as their prefixes say (see ``load_onnx``)."""
    count = len(layers)
    identity = Activation("identity")
    if None not in prefixes:
        if prefixes == [""] and layers[0].activation is None:
            return Architecture(tuple(layers), "linear")
        if prefixes == [f"fc{n}" for n in range(1, count + 1)]:
            between = [layer if layer.activation else replace(layer, activation=identity) for layer in layers[:-1]]
            candidate = Architecture(tuple(between + layers[-1:]), "fc")
            try:
                candidate.mlp_options()
                return candidate
            except ValueError:
                pass
        if all(p.isascii() and p.isdigit() and p == str(int(p)) for p in prefixes) and prefixes[0] == "0":
            filled = _sequential(layers, [int(p) for p in prefixes])
            if filled is not None:
                return Architecture(tuple(filled), "sequential")
        try:
            return Architecture(tuple(layers), "named", tuple(prefixes))
        except ValueError:
            pass
    return Architecture(tuple(layers), "named", tuple(f"layer{n}" for n in range(1, count + 1)))


def _sequential(layers, indices):
    """The layers with ``identity`` where a Sequential index shows a module that left no node, or None."""
    filled = []
    for layer, here, after in zip(layers, indices, indices[1:]):
        gap = after - here
        if gap == 2 and layer.activation is None:
            layer = replace(layer, activation=Activation("identity"))
        elif gap != (1 if layer.activation is None else 2):
            return None
        filled.append(layer)
    return filled + layers[-1:]


def _agreeing(recorded, layers, dtype, source):
    """``recorded`` if the graph computes it (numbers compared as the network's dtype holds them), else refused."""
    same = len(recorded.layers) == len(layers) and all(
        (mine.in_features, mine.out_features, mine.bias) == (theirs.in_features, theirs.out_features, theirs.bias)
        and _same_activation(mine.activation, theirs.activation, dtype)
        for mine, theirs in zip(recorded.layers, layers)
    )
    if not same:
        graph = " -> ".join(map(str, [layers[0].in_features] + [layer.out_features for layer in layers]))
        said = ", ".join(str(layer.activation) for layer in layers)
        raise CheckpointError(
            f"{source}: its metadata records {printable(recorded)}, but its graph computes {graph} with "
            f"activations {said}; refusing to guess which is right"
        )
    return recorded


def _same_activation(recorded: Any, read: Any, dtype: Any) -> bool:
    """Whether a recorded activation is the one the graph computes, its numbers rounded to the network's dtype."""
    if recorded is None or read is None:
        return recorded is read
    mine, theirs = recorded.kwargs, read.kwargs
    return recorded.name == read.name and all(
        mine[key] == theirs[key] if isinstance(mine[key], str) else dtype.type(mine[key]) == dtype.type(theirs[key])
        for key in mine
    )
