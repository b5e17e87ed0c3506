"""Run a scratchnet network and its torch twin on the same input and judge the outputs.

With ``onnx=True`` a third witness joins: onnxruntime (CPU), running the
network as ``scratchnet.onnx.save_onnx`` writes it, judged like the others
against the independent float64 reference.
"""

import os
import re
import tempfile

import numpy as np
import torch

from scratchnet import no_grad
from scratchnet.activation import make_activation as scratch_activation
from torchnet import make_activation as torch_activation

from .report import LayerReport, Report, compare_outputs
from .tolerance import activation_error, forward_trace, linear_chain, unit_roundoff
from .weights import architecture_of, is_scratch, is_torch, numpy_state, scratch_dtype, torch_dtype

__all__ = [
    "ONNX_HINT",
    "assert_equivalent",
    "check_flatten",
    "check_input",
    "check_pair",
    "check_trainable",
    "compare_forward",
    "compare_weights",
    "describe",
    "judge_layers",
    "layer_values",
    "one_layer",
    "onnxruntime_session",
    "onnxruntime_values",
    "torch_unit_roundoff",
]

#: What brings onnx and onnxruntime.
ONNX_HINT = "pip install 'scratchnet[onnx]'"


def torch_unit_roundoff(torch_net, dtype):
    """The unit roundoff of ``torch_net``'s matrix products in ``dtype`` on its device.

    On CUDA, float32 products may run in TF32 (10-bit mantissa, ``u = 2**-11``)
    or bfloat16 (``u = 2**-8``) when torch is allowed to; on the CPU they do not.
    """
    device = next(torch_net.parameters()).device
    u = unit_roundoff(dtype)
    if device.type == "cuda" and np.dtype(dtype) == np.float32:
        precision = torch.get_float32_matmul_precision()
        if precision == "medium":
            u = 2.0**-8
        elif precision == "high" or torch.backends.cuda.matmul.allow_tf32:
            u = 2.0**-11
    return u


def describe(net):
    """A one-line description from the network's ``Architecture``: ``Net 2 -> 4 -> 4 -> 1: fc1 relu, fc2 relu, fc3``."""
    return f"{type(net).__name__} {architecture_of(net)}"


def check_pair(scratch_net, torch_net, caller):
    """The common dtype of a (scratchnet, torch) pair, or a clear error; and the torch net's device.

    Both networks must state the same ``Architecture`` (each read by its own
    framework's package): two networks that say they compute different things
    are not twins, whatever their weights.
    """
    if not is_scratch(scratch_net) or not is_torch(torch_net):
        raise TypeError(
            f"{caller}(scratch_net, torch_net, ...) takes a scratchnet and a torch network, "
            f"got {type(scratch_net).__name__} and {type(torch_net).__name__}"
        )
    mine, theirs = architecture_of(scratch_net, f"{caller}()"), architecture_of(torch_net, f"{caller}()")
    if mine != theirs:
        raise ValueError(f"{caller}: the networks are not twins: scratchnet computes {mine}, torch computes {theirs}")
    mine, theirs = scratch_dtype(scratch_net), torch_dtype(torch_net)
    if mine != theirs:
        raise ValueError(
            f"compare like with like: scratchnet holds {mine}, torch holds {theirs}; convert one with .to(dtype)"
        )
    return mine, next(torch_net.parameters()).device


def check_trainable(torch_net, caller):
    """``TypeError`` naming a frozen parameter (``requires_grad=False``): torch computes no gradient for it and no
    optimizer moves it, while every scratchnet parameter trains; gradients and steps would differ by design."""
    frozen = [name for name, parameter in torch_net.named_parameters() if not parameter.requires_grad]
    if frozen:
        raise TypeError(
            f"{caller}: the torch network has frozen parameters ({', '.join(frozen)}: requires_grad=False), which "
            "torch neither differentiates nor steps while scratchnet trains every parameter; compare the forward "
            "pass, or unfreeze them (requires_grad_(True))"
        )


def check_flatten(torch_net, x, caller):
    """``ValueError`` for input of more than 2 dimensions to a network holding ``nn.Flatten``: its description
    reads Flatten as the identity, which it is only on ``(batch, features)``."""
    if np.ndim(x) > 2 and any(isinstance(module, torch.nn.Flatten) for module in torch_net.modules()):
        raise ValueError(
            f"{caller}: the torch network holds nn.Flatten, the identity only on (batch, features) input; "
            f"got input of shape {np.shape(x)}: give 2-D input"
        )


def check_input(x, dtype, in_features, caller, what="x"):
    """``x`` as a new array of ``dtype``, shape ``(*, in_features)``: real numbers only, as ``Linear`` takes.

    Unlike ``Linear``, a floating array of another dtype is converted (both
    networks then receive the very same converted values). Strings, None,
    complex and object arrays are a ``TypeError``; a wrong shape a ``ValueError``.
    """
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{caller}: {what} may not be a masked array (fill it first: x.filled(0.0))")
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{caller}: {what} must be an array of real numbers ({error})") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{caller}: {what} must hold real numbers, got dtype {array.dtype}")
    if in_features is not None and (array.ndim == 0 or array.shape[-1] != in_features):
        raise ValueError(f"{caller}: {what} must have shape (*, {in_features}), got {array.shape}")
    return array.astype(dtype)


def compare_weights(scratch_net, torch_net):
    """The two networks' weights, tensor by tensor: twins hold the very same values (tolerance 0)."""
    mine, theirs = numpy_state(scratch_net), numpy_state(torch_net)
    names = list(mine)
    return compare_outputs(
        "weights: scratchnet vs torch",
        np.concatenate([mine[name].ravel() for name in names]),
        np.concatenate([theirs[name].ravel() for name in names]),
        0.0,
        "twins hold identical weights (copy_weights)",
    )


def tolerance_rule(chain, dtype):
    """One paragraph: how the bounds of ``compare.tolerance`` apply to this chain."""
    widths = ", ".join(str(layer.weight.shape[1]) for layer in chain)
    reasons = sorted({activation_error(layer.activation).why for layer in chain})
    return (
        f"elementwise worst-case rounding bound per layer gamma(n+1)(|W|(|h|+e) + |b|) + |W|e, "
        f"gamma(k) = ku/(1-ku), u = eps/2 of {dtype}, n = {widths}; " + "; ".join(reasons)
    )


def compare_forward(scratch_net, torch_net, x, *, onnx=False):
    """Run both networks on ``x`` and judge their outputs with derived tolerances.

    The two networks must state the same architecture and hold the same
    dtype (float32 or float64). ``x`` is converted to that dtype once, and the
    same values go to both. Judged: the weights (identical), each output
    against a float64 reference computed independently from torch's
    description and weights (so a wrong output is blamed on the side that
    computed it), and the two outputs against each other. See
    ``compare.tolerance`` for how each tolerance is derived.

    Args:
        scratch_net: a scratchnet network that states its architecture
            (``Linear``, ``Net``, ``MLP``, ``Sequential``).
        torch_net: its torch twin (same weights), on any device.
        x: input of shape ``(*, in_features)``.
        onnx: also run onnxruntime (CPU, one thread) on the network as
            ``save_onnx`` writes it, and judge it with scratchnet's bound
            (the same ``u``): the row ``onnxruntime vs float64 reference``
            and, per layer, ``onnxruntime z`` and ``onnxruntime h``. Needs
            ``pip install 'scratchnet[onnx]'`` (``ImportError`` otherwise);
            an operator onnxruntime has no kernel for in this dtype is a
            ``ValueError`` naming it.

    Returns:
        A ``Report`` whose ``values`` are the ``"scratchnet"``, ``"torch"`` and
        ``"reference"`` outputs (and ``"onnxruntime"``); ``str(report)`` is a readable table.
    """
    dtype, device = check_pair(scratch_net, torch_net, "compare_forward")
    x = check_input(x, dtype, architecture_of(torch_net).sizes[0], "compare_forward()")
    check_flatten(torch_net, x, "compare_forward()")
    with np.errstate(all="ignore"), no_grad():  # NaN and inf are reported below, not warned about
        scratch_out = np.asarray(scratch_net(x))
    with torch.no_grad():
        torch_out = torch_net(torch.tensor(x, device=device)).cpu().numpy()
    if torch_out.shape != scratch_out.shape:  # a module the description reads as the identity changed shapes
        raise ValueError(
            f"compare_forward: on input of shape {x.shape} the torch network gives shape {tuple(torch_out.shape)} and "
            f"its description {describe(torch_net)} gives {scratch_out.shape}: the network is not that chain for "
            "this input (nn.Flatten on more than 2 dimensions?); give (batch, features) input"
        )
    witness = None
    if onnx:
        from scratchnet.onnx import tensor_names

        session = onnxruntime_session(scratch_net, layer_outputs=True)
        witness = onnxruntime_values(session, x, tensor_names(architecture_of(scratch_net)))

    chain = linear_chain(torch_net)  # the judge reads torch's description and weights; check_pair saw them agree
    u_scratch, u_torch, u_ref = unit_roundoff(dtype), torch_unit_roundoff(torch_net, dtype), unit_roundoff(np.float64)
    trace = forward_trace(chain, x, [u_scratch, u_torch, u_ref])
    reference, (b_scratch, b_torch, b_ref) = trace[-1].h_out, trace[-1].e_out
    comparisons = [compare_weights(scratch_net, torch_net)]
    judged = [("scratchnet", scratch_out, b_scratch, u_scratch), ("torch", torch_out, b_torch, u_torch)]
    if witness is not None:  # onnxruntime computes in the network's dtype on the CPU: scratchnet's u
        judged.append(("onnxruntime", witness[0], b_scratch, u_scratch))
    for name, out, bound, u in judged:
        comparisons.append(
            compare_outputs(
                f"{name} vs float64 reference",
                out,
                reference,
                bound + b_ref,
                f"bound(u={u:.3g}) + reference bound(u={u_ref:.3g})",
            )
        )
    comparisons.append(
        compare_outputs(
            "scratchnet vs torch",
            scratch_out,
            torch_out,
            b_scratch + b_torch,
            f"bound(u={u_scratch:.3g}) + bound(u={u_torch:.3g})",
        )
    )
    values = {"scratchnet": scratch_out, "torch": torch_out, "reference": reference}
    title = f"forward pass: {describe(scratch_net)}, {dtype}, input shape {x.shape}, torch on {device}"
    if witness is not None:
        import onnxruntime

        values["onnxruntime"] = witness[0]
        title += f", onnxruntime {onnxruntime.__version__} on cpu"
    return Report(
        dtype=np.dtype(dtype).name,
        title=title,
        comparisons=tuple(comparisons),
        rule=tolerance_rule(chain, dtype),
        values=values,
        layers=judge_layers(
            scratch_net, torch_net, x, trace, (u_scratch, u_torch, u_ref), None if witness is None else witness[1]
        ),
    )


def layer_values(net, x):
    """Each layer's pre-activation ``z`` and output ``h`` as ``net``'s own framework computes them, layer by layer.

    Each Linear is the network's own module; each activation is a module of
    the same framework computing what the architecture says (the standard
    forward is exactly this chain, which ``forward_follows_architecture``
    guarantees). Returns ``[(z, h), ...]`` as NumPy arrays.
    """
    architecture = architecture_of(net, "per-layer comparison")
    values = []
    h = x
    for name, spec in zip(architecture.layer_names, architecture.layers):
        z, h = one_layer(net, name, spec, h)
        values.append((z, h))
    return values


def one_layer(net, name, spec, x):
    """The layer ``name`` of ``net`` (its ``Layer`` of the architecture: ``spec``) alone on ``x``, a NumPy array
    of the layer's dtype, in ``net``'s own framework: ``(z, h)`` as NumPy arrays."""
    if is_scratch(net):
        with np.errstate(all="ignore"), no_grad():
            z = net.get_submodule(name)(x)
            h = z if spec.activation is None else scratch_activation(spec.activation)(z)
        return np.asarray(z), np.asarray(h)
    with torch.no_grad():
        z = net.get_submodule(name)(torch.as_tensor(x, device=next(net.parameters()).device))
        h = z if spec.activation is None else torch_activation(spec.activation)(z)
    return z.cpu().numpy(), h.cpu().numpy()


def judge_layers(scratch_net, torch_net, x, trace, unit_roundoffs, onnxruntime_layers=None):
    """Every layer's ``z`` and ``h``, from both frameworks (and onnxruntime's, when given as ``[(z, h), ...]``),
    each judged against the reference's with its own bound (onnxruntime's is scratchnet's: the same ``u``).

    Then each layer **alone** (rows ``scratchnet alone``, ``torch alone``): both frameworks' layer run on the
    reference's input to it, rounded to the dtype (the same values for both), judged with the bound of that
    one layer from an exact input. A chained bound grows by about ``|W|`` at every layer (it is a worst
    case), so deep in a wide network it can exceed the outputs themselves; a layer's own bound stays a few
    ``u`` wide, and a wrong activation or weight in any layer fails there.
    """
    u_scratch, u_torch, u_ref = unit_roundoffs
    chain = linear_chain(torch_net)
    architecture = architecture_of(torch_net)
    dtype = np.dtype(scratch_dtype(scratch_net))
    sides = [
        ("scratchnet", layer_values(scratch_net, x), 0, u_scratch),
        ("torch", layer_values(torch_net, x), 1, u_torch),
    ]
    if onnxruntime_layers is not None:
        sides.append(("onnxruntime", onnxruntime_layers, 0, u_scratch))
    layers = []
    for number, (name, spec, step) in enumerate(zip(architecture.layer_names, architecture.layers, trace)):
        rows = []
        why = "bound(u={:.3g}) + reference bound(u={:.3g})"
        for side, values, index, u in sides:
            z, h = values[number]
            rows.append(compare_outputs(f"{side} z", z, step.z, step.e_z[index] + step.e_z[2], why.format(u, u_ref)))
            rows.append(
                compare_outputs(f"{side} h", h, step.h_out, step.e_out[index] + step.e_out[2], why.format(u, u_ref))
            )
        with np.errstate(all="ignore"):
            given = np.asarray(step.h_in).astype(dtype)  # the reference's input to this layer, as both receive it
        (alone,) = forward_trace([chain[number]], given, list(unit_roundoffs))
        for side, net, index, u in (("scratchnet", scratch_net, 0, u_scratch), ("torch", torch_net, 1, u_torch)):
            _, h = one_layer(net, name, spec, given)
            bound = alone.e_out[index] + alone.e_out[2]
            rows.append(
                compare_outputs(f"{side} alone", h, alone.h_out, bound, "this layer alone: " + why.format(u, u_ref))
            )
        layers.append(LayerReport(name or "linear", tuple(rows)))
    return tuple(layers)


def assert_equivalent(a, b, x, *, onnx=False):
    """``compare_forward`` for a user's tests: raise ``AssertionError`` (its message: the report) unless it passes.

    ``a`` and ``b`` are a scratchnet network and its torch twin, in either
    order; ``onnx=True`` adds onnxruntime as a third witness. Returns the
    ``Report`` when it passes::

        report = assert_equivalent(my_numpy_net, my_torch_net, x)
    """
    scratch_net, torch_net = (a, b) if is_scratch(a) else (b, a)
    report = compare_forward(scratch_net, torch_net, x, onnx=onnx)
    if not report.passed:
        raise AssertionError(str(report))
    return report


# -- onnxruntime, the third witness ------------------------------------------------------------


def onnxruntime_session(net, *, threads=1, layer_outputs=False):
    """An onnxruntime ``InferenceSession`` (CPU) running scratchnet network ``net`` as ``save_onnx`` writes it.

    The file is written to a temporary folder and read back from there.
    ``threads`` sets both ``intra_op_num_threads`` and ``inter_op_num_threads``
    (a chain runs its nodes in sequence, so the second pool stays idle).
    With ``layer_outputs`` every layer's ``z`` and ``h`` (``tensor_names``) are
    outputs too, after ``output``.

    Raises:
        ImportError: onnx or onnxruntime is missing (the message says how to install them).
        ValueError: onnxruntime has no kernel for one of the graph's operators in ``net``'s dtype
            (float64 ``Softplus``, or ``Erf`` inside float64 ``Gelu``), naming the operator and the node.
    """
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f"running a network in onnxruntime needs onnx and onnxruntime ({error}); {ONNX_HINT}"
        ) from None
    from scratchnet import onnx as scratch_onnx  # save_onnx looked up when called: a test may replace it

    with tempfile.TemporaryDirectory(prefix="scratchnet-onnx-") as folder:
        path = os.path.join(folder, "net.onnx")
        scratch_onnx.save_onnx(net, path)
        with open(path, "rb") as file:
            model = onnx.load_model_from_string(file.read())
    if layer_outputs:
        element = model.graph.output[0].type.tensor_type.elem_type
        known = {"output"}
        for pair in scratch_onnx.tensor_names(architecture_of(net, "onnxruntime_session()")):
            for name in pair:
                if name not in known:
                    known.add(name)
                    model.graph.output.append(onnx.helper.make_tensor_value_info(name, element, None))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = threads
    options.log_severity_level = 3  # errors only: its warnings about unused initializers are not ours to show
    try:
        return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except onnxruntime.capi.onnxruntime_pybind11_state.NotImplemented as error:
        found = re.search(r"implementation for (\w+)\(\d+\) node with name '([^']*)'", str(error))
        op, node = found.groups() if found else ("an operator", "")
        # A node of an operator ONNX defines as a function (Gelu) may be expanded into nodes without names (Erf).
        expanding = [n.name for n in model.graph.node if op in _expansion(onnx, n, model.opset_import[0].version)]
        where = f"node {node!r}" if node else f"in node {expanding[0]!r}, which it expands" if expanding else "a node"
        raise ValueError(
            f"onnxruntime {onnxruntime.__version__} has no {scratch_dtype(net)} kernel for {op} ({where}; the "
            f"network: {describe(net)})"
        ) from None


def _expansion(onnx, node, opset):
    """The operators of the ONNX function ``node``'s operator is defined as (empty if it is not one)."""
    schema = onnx.defs.get_schema(node.op_type, opset)
    if schema.has_function:
        return {n.op_type for n in schema.function_body.node}
    if not schema.has_context_dependent_function:
        return set()
    tensor = onnx.helper.make_tensor_type_proto(onnx.TensorProto.DOUBLE, None).SerializeToString()
    body = schema.get_context_dependent_function(node.SerializeToString(), [tensor] * len(node.input))
    return {n.op_type for n in onnx.FunctionProto.FromString(body).node}


def onnxruntime_values(session, x, layers=None):
    """``session`` run on ``x`` of shape ``(*, in_features)``: ``(output, [(z, h) per layer] or None)``.

    ``layers`` names each layer's ``(z, h)`` (``scratchnet.onnx.tensor_names``), from a session made with
    ``layer_outputs=True``. Gemm takes 2-D input: the leading dimensions are flattened into rows, and
    restored on every result.
    """
    rows = np.ascontiguousarray(x.reshape(-1, x.shape[-1]))
    wanted = list(dict.fromkeys(["output"] + [name for pair in layers or () for name in pair]))
    results = dict(zip(wanted, session.run(wanted, {"input": rows})))
    shaped = {name: value.reshape(x.shape[:-1] + value.shape[-1:]) for name, value in results.items()}
    return shaped["output"], None if layers is None else [(shaped[z], shaped[h]) for z, h in layers]
