"""Back-propagate one upstream gradient through a scratchnet network and its torch twin; judge every gradient."""

import copy

import numpy as np
import torch

import scratchnet
from scratchnet.activation import make_activation as scratch_activation
from torchnet import make_activation as torch_activation

from .forward import (
    check_flatten,
    check_input,
    check_pair,
    check_trainable,
    describe,
    tolerance_rule,
    torch_unit_roundoff,
)
from .report import LayerReport, Report, compare_outputs
from .tolerance import backward_bounds, forward_trace, linear_chain, unit_roundoff
from .weights import architecture_of, scratch_dtype

__all__ = ["compare_gradients", "gradient_layers"]


def compare_gradients(scratch_net, torch_net, x, grad_output=None, *, rng=None):
    """Compare ``dL/dx`` and every ``dL/dparameter`` of both networks, tensor by tensor.

    Both networks run forward on the same ``x`` and back-propagate the same
    upstream gradient ``dL/dy``: by default a standard-normal draw in the
    networks' dtype (never all ones, which would hide a transposed gradient:
    with ones every row of ``dL/dy`` is alike). Each gradient is judged
    against the other within the sum of both implementations' derived bounds
    (``compare.tolerance.backward_bounds``).

    Both networks' ``.grad`` are cleared first, then hold this backward pass's gradients.

    Args:
        scratch_net: a scratchnet network that states its architecture
            (``Linear``, ``Net``, ``MLP``, ``Sequential``).
        torch_net: its torch twin (same weights).
        x: input of shape ``(*, in_features)``.
        grad_output: ``dL/dy``; default random (see above).
        rng: a ``numpy.random.Generator`` or a seed for that draw.

    Returns:
        A ``Report`` with one row per tensor (``input``, ``fc1.weight``, ...);
        ``values[name]`` is ``{"scratchnet": ..., "torch": ..., "reference": ...}``.
    """
    dtype, device = check_pair(scratch_net, torch_net, "compare_gradients")
    check_trainable(torch_net, "compare_gradients")
    x = check_input(x, dtype, architecture_of(torch_net).sizes[0], "compare_gradients()")
    check_flatten(torch_net, x, "compare_gradients()")
    chain = linear_chain(scratch_net)
    out_shape = x.shape[:-1] + (chain[-1].weight.shape[0],)
    if grad_output is None:
        upstream = np.random.default_rng(rng).standard_normal(out_shape).astype(dtype)
    else:
        upstream = np.asarray(grad_output, dtype=dtype)
        if upstream.shape != out_shape:
            raise ValueError(f"grad_output must have the output's shape {out_shape}; got {upstream.shape}")

    scratch_net.zero_grad()
    scratch_net(x)
    scratch = {"input": scratch_net.backward(upstream)}
    scratch.update({name: p.grad for name, p in scratch_net.named_parameters()})

    torch_net.zero_grad()
    x_t = torch.tensor(x, device=device, requires_grad=True)
    torch_net(x_t).backward(torch.tensor(upstream, device=device))
    theirs = {"input": x_t.grad}
    theirs.update({name: p.grad for name, p in torch_net.named_parameters()})
    theirs = {name: np.zeros(scratch[name].shape) if g is None else g.cpu().numpy() for name, g in theirs.items()}

    u_scratch, u_torch = unit_roundoff(dtype), torch_unit_roundoff(torch_net, dtype)
    trace = forward_trace(chain, x, [u_scratch, u_torch])
    reference, (b_scratch, b_torch) = backward_bounds(chain, trace, upstream, [0.0, 0.0], [u_scratch, u_torch])
    comparisons = tuple(
        compare_outputs(
            name,
            scratch[name],
            theirs[name],
            b_scratch[name] + b_torch[name],
            f"backward bound(u={u_scratch:.3g}) + backward bound(u={u_torch:.3g})",
        )
        for name in scratch
    )
    return Report(
        title=f"gradients: {describe(scratch_net)}, {dtype}, input shape {x.shape}, random upstream gradient, "
        f"torch on {device}",
        comparisons=comparisons,
        dtype=np.dtype(dtype).name,
        layers=gradient_layers(scratch_net, torch_net, chain, trace, upstream, (u_scratch, u_torch)),
        rule=tolerance_rule(chain, dtype) + "; backward: the same bound for g^T h, sum g and g W, "
        "and the activations' derivatives (a ReLU slope may flip where |z| is within its bound)",
        values={
            name: {"scratchnet": scratch[name], "torch": theirs[name], "reference": reference[name]} for name in scratch
        },
    )


def gradient_layers(scratch_net, torch_net, chain, trace, upstream, unit_roundoffs):
    """Each layer's backward pass **alone**: both frameworks' layer (a copy: the networks' ``.grad`` stay as
    they are) run forward on the reference's input to it and backward from the reference's gradient at its
    output, both rounded to the dtype, judged against the float64 reference with that one layer's bound.

    The chained bounds of ``compare_gradients`` grow by about ``|W|`` a layer (worst cases), so in a deep,
    wide network they can exceed the gradients themselves; a layer's own bound stays a few ``u`` wide, and a
    wrong derivative or product in any layer fails there. Rows: ``scratchnet input alone``, ``scratchnet
    weight alone``, ``scratchnet bias alone`` and the same for torch; one ``LayerReport`` per layer.
    """
    u_scratch, u_torch = unit_roundoffs
    u_ref = unit_roundoff(np.float64)
    architecture = architecture_of(torch_net)
    dtype = np.dtype(scratch_dtype(scratch_net))
    device = next(torch_net.parameters()).device
    # The reference's gradient at each layer's output, walking back once: the last layer's is the upstream one.
    at_output = [np.asarray(upstream, dtype=np.float64)]
    for number in range(len(chain) - 1, 0, -1):
        at_output.insert(0, backward_bounds([chain[number]], [trace[number]], at_output[0], [0.0], [u_ref])[0]["input"])
    layers = []
    for number, (name, spec) in enumerate(zip(architecture.layer_names, architecture.layers)):
        with np.errstate(all="ignore"):
            given, gradient = trace[number].h_in.astype(dtype), at_output[number].astype(dtype)
        one = [chain[number]]
        alone = forward_trace(one, given, [u_scratch, u_torch, u_ref])
        reference, bounds = backward_bounds(one, alone, gradient, [0.0, 0.0, 0.0], [u_scratch, u_torch, u_ref])
        keys = {"input": "input", "weight": one[0].parameter_name("weight"), "bias": one[0].parameter_name("bias")}
        rows = []
        for side, index, computed in (
            ("scratchnet", 0, _scratch_layer_gradients(scratch_net, name, spec, given, gradient)),
            ("torch", 1, _torch_layer_gradients(torch_net, name, spec, given, gradient, device)),
        ):
            for which, key in keys.items():
                if key not in reference:
                    continue
                rows.append(
                    compare_outputs(
                        f"{side} {which} alone",
                        computed[which],
                        reference[key],
                        bounds[index][key] + bounds[2][key],
                        f"this layer alone: backward bound(u={(u_scratch, u_torch)[index]:.3g}) + reference bound",
                    )
                )
        layers.append(LayerReport(name or "linear", tuple(rows)))
    return tuple(layers)


def _scratch_layer_gradients(net, name, spec, x, upstream):
    layer = copy.deepcopy(net.get_submodule(name))
    layer.zero_grad()  # the copy's own gradients, not those the network holds
    step = (
        scratchnet.Sequential(layer)
        if spec.activation is None
        else scratchnet.Sequential(layer, scratch_activation(spec.activation))
    )
    with np.errstate(all="ignore"):
        step(x)
        grads = {"input": step.backward(upstream), "weight": layer.weight.grad}
    if layer.bias is not None:
        grads["bias"] = layer.bias.grad
    return grads


def _torch_layer_gradients(net, name, spec, x, upstream, device):
    layer = copy.deepcopy(net.get_submodule(name))
    layer.zero_grad()
    x_t = torch.tensor(x, device=device, requires_grad=True)
    out = layer(x_t)
    if spec.activation is not None:
        out = torch_activation(spec.activation)(out)
    out.backward(torch.tensor(upstream, device=device))
    grads = {"input": x_t.grad.cpu().numpy(), "weight": layer.weight.grad.cpu().numpy()}
    if layer.bias is not None:
        grads["bias"] = layer.bias.grad.cpu().numpy()
    return grads
