"""Read what any PyTorch MLP computes from its ``forward``, with ``torch.fx`` symbolic tracing.

``traced_architecture(model)`` runs the model's ``forward`` on a symbolic
input (no numbers), which records every call it makes as a graph, and reads
the graph as a chain::

    x -> Linear -> activation? -> Linear -> activation? -> ... -> output

It follows ``nn.Linear`` modules; activation modules (``nn.ReLU``,
``nn.GELU(approximate="tanh")``, ``nn.Softmax(dim=-1)``, ...) and the same
activations called as functions or methods (``F.relu(x)``, ``torch.tanh(x)``,
``x.sigmoid()``, ``F.leaky_relu(x, 0.2)``, ...) with their settings; nested
``nn.Sequential``s and a user's own submodules (traced through); and skips
what computes the identity: ``nn.Identity``, ``nn.Dropout`` in eval mode (or
with ``p=0``), ``F.dropout(x, training=False)``, and ``nn.Flatten()`` (which
is the identity on the 2-D inputs ``(batch, features)`` an MLP takes; other
inputs give other shapes, which the comparison reports). Anything else (a
convolution, a residual ``h + x``, a value used twice, a data-dependent
``if``, a parameter used outside ``nn.Linear``) is refused with a
``TypeError`` naming the node.

The result is an ``Architecture`` with ``naming="named"``: each Linear's
name is its path in the model's state dict (``encoder.0``, ``head``), so
weights copy by name to the NumPy twin ``scratchnet.Chain``.
"""

import operator

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

from scratchnet.architecture import Activation, Architecture, Layer

from .nets import Heaviside, activation_of

__all__ = ["traced_architecture"]

#: Activations called as functions: the function -> (activation name, its parameters after the input, in order).
FUNCTIONS = {
    F.relu: ("relu", ("inplace",)),
    torch.relu: ("relu", ()),
    torch.sigmoid: ("sigmoid", ()),
    F.sigmoid: ("sigmoid", ()),
    torch.tanh: ("tanh", ()),
    F.tanh: ("tanh", ()),
    F.leaky_relu: ("leaky_relu", ("negative_slope", "inplace")),
    F.elu: ("elu", ("alpha", "inplace")),
    F.gelu: ("gelu", ("approximate",)),
    F.silu: ("silu", ("inplace",)),
    F.softplus: ("softplus", ("beta", "threshold")),
    F.softmax: ("softmax", ("dim", "_stacklevel", "dtype")),
    torch.softmax: ("softmax", ("dim", "dtype")),
    F.log_softmax: ("log_softmax", ("dim", "_stacklevel", "dtype")),
    torch.log_softmax: ("log_softmax", ("dim", "dtype")),
    # In place: the same values, written over the input (which, in a chain, nothing else reads).
    torch.relu_: ("relu", ()),
    F.relu_: ("relu", ()),
    F.leaky_relu_: ("leaky_relu", ("negative_slope",)),
    F.elu_: ("elu", ("alpha",)),
}
#: The same as tensor methods: ``x.relu()``, ``x.softmax(-1)``.
METHODS = {
    "relu": ("relu", ()),
    "sigmoid": ("sigmoid", ()),
    "tanh": ("tanh", ()),
    "softmax": ("softmax", ("dim", "dtype")),
    "log_softmax": ("log_softmax", ("dim", "dtype")),
    "relu_": ("relu", ()),
    "sigmoid_": ("sigmoid", ()),
    "tanh_": ("tanh", ()),
}
#: Parameters that do not change the values: in-place or not, the warning level.
_IGNORED = {"inplace", "_stacklevel"}


class _Tracer(torch.fx.Tracer):
    """Stops at torch's own modules (fx's rule) and ``torchnet.Heaviside``; traces through a user's modules."""

    def is_leaf_module(self, module, qualified_name):
        return type(module) is Heaviside or super().is_leaf_module(module, qualified_name)


def traced_architecture(model, purpose="this"):
    """The ``Architecture`` (naming "named") of ``model``'s forward, or a ``TypeError`` naming what is not a chain.

    ``purpose`` names the caller in the message, e.g. ``"twin()"``.
    """
    name = type(model).__name__
    if type(model) is not nn.Sequential and torch.fx.Tracer().is_leaf_module(model, ""):
        raise TypeError(f"{purpose}: {name} is one of torch's own layers, not an MLP of Linear layers and activations")
    try:
        graph = _Tracer().trace(model)
    except Exception as error:  # fx raises many kinds (TraceError, TypeError, NotImplementedError...)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TypeError(f"{purpose}: torch.fx cannot read {name}'s forward as a chain of layers: {first}") from None

    def refuse(node, why):
        raise TypeError(
            f"{purpose}: {name} is not a chain of Linear layers and activations: node {node.name!r} "
            f"({node.op} {_target_name(node.target)}) {why}"
        )

    inputs = [node for node in graph.nodes if node.op == "placeholder"]
    if len(inputs) != 1:
        raise TypeError(f"{purpose}: {name}'s forward takes {len(inputs)} inputs; an MLP takes one")
    current = inputs[0]
    layers, names = [], []  # layers: [in, out, bias, activation or None]
    for node in graph.nodes:
        if node.op == "placeholder":
            continue
        if node.op == "output":
            if node.args[0] is not current:
                refuse(node, "returns something other than the last value of the chain (a tuple, or an earlier value)")
            break
        tensors = [arg for arg in (*node.args, *node.kwargs.values()) if isinstance(arg, torch.fx.Node)]
        if tensors != [current] or (node.args and node.args[0] is not current):
            refuse(node, f"does not take the chain's current value ({current.name}) as its only tensor")
        if len(current.users) != 1:
            in_place = [user for user in current.users if _target_name(user.target).endswith("_")]
            if in_place:
                refuse(
                    in_place[0],
                    f"changes {current.name} in place, and the forward goes on with {current.name} rather than with "
                    f"its result: write h = h.relu_() (or h = F.relu(h)) so that the chain is written out",
                )
            refuse(node, f"is one of {len(current.users)} uses of {current.name} (a residual or a branch)")
        step = _step(model, node, refuse)
        if isinstance(step, tuple):  # a Linear layer: (its name, the module)
            path, linear = step
            if path in names:
                refuse(node, f"calls the Linear {path!r} a second time (shared weights)")
            names.append(path)
            layers.append([linear.in_features, linear.out_features, linear.bias is not None, None])
        elif step is not None:  # an activation
            if not layers:
                refuse(node, f"applies {step} before any Linear layer")
            if layers[-1][3] is not None:
                refuse(node, f"applies {step} right after {layers[-1][3]}: one activation per layer is described")
            layers[-1][3] = step
        current = node
    if not layers:
        raise TypeError(f"{purpose}: {name}'s forward calls no nn.Linear")
    unused = [path for path, module in model.named_modules() if type(module) is nn.Linear and path not in names]
    if unused:
        raise TypeError(
            f"{purpose}: {name} holds nn.Linear {', '.join(map(repr, unused))} that its forward never calls: a twin "
            "would have nowhere to put those weights (remove the layer, or call it)"
        )
    try:
        return Architecture(tuple(Layer(*layer) for layer in layers), "named", tuple(names))
    except (TypeError, ValueError) as error:
        raise TypeError(f"{purpose}: {name}: {error}") from None


def _step(model, node, refuse):
    """What one node computes: ``(path, nn.Linear)``, an ``Activation``, or None for the identity."""
    if node.op == "call_module":
        module = model.get_submodule(node.target)
        if type(module) is nn.Linear:
            if node.kwargs or len(node.args) != 1:
                refuse(node, "calls a Linear with more than its input")
            return node.target, module
        if isinstance(module, (nn.Dropout, nn.AlphaDropout)):
            if module.training and module.p > 0:
                refuse(
                    node,
                    f"is {type(module).__name__}(p={module.p}) in training mode, which is random: call "
                    "model.eval() first",
                )
            return None
        if type(module) is nn.Flatten:
            if (module.start_dim, module.end_dim) != (1, -1):
                refuse(node, "is a Flatten other than nn.Flatten() (start_dim=1, end_dim=-1)")
            return None
        if type(module) is nn.Identity:
            return None
        try:
            return activation_of(module)
        except TypeError as error:
            refuse(node, f"is not a Linear layer, an activation or an identity: {error}")
    if node.op == "call_function" and node.target is F.dropout:
        training = _bound(node, ("p", "training", "inplace"), {"training": True, "p": 0.5})
        if training["training"] and training["p"] > 0:
            refuse(node, "is dropout in training mode, which is random: call model.eval() first")
        return None
    if node.op == "call_function" and node.target in FUNCTIONS:
        activation, parameters = FUNCTIONS[node.target]
    elif node.op == "call_method" and node.target in METHODS:
        activation, parameters = METHODS[node.target]
    elif node.op == "call_function" and node.target in (operator.getitem, operator.add, operator.mul):
        refuse(node, "is arithmetic on the chain's value (a residual, a scale, an index): not an MLP layer")
    else:
        refuse(node, "is not a Linear layer, an activation or an identity")
    settings = _bound(node, parameters, {})
    if settings.pop("dtype", None) is not None:
        refuse(node, "converts the dtype inside the activation")
    if activation in ("softmax", "log_softmax"):
        if settings.pop("dim", None) != -1:
            refuse(node, f"is {activation} over a dimension other than the last one: write dim=-1")
    for ignored in _IGNORED:
        settings.pop(ignored, None)
    try:
        return Activation(activation, **settings)
    except (TypeError, ValueError) as error:
        refuse(node, str(error))


def _bound(node, parameters, defaults):
    """The node's arguments after the input, by parameter name (positional ones in ``parameters``' order)."""
    positional = node.args[1:]
    if len(positional) > len(parameters):
        raise TypeError(f"node {node.name!r} has more arguments than {_target_name(node.target)} takes")
    values = dict(defaults)
    values.update(zip(parameters, positional))
    values.update(node.kwargs)
    return values


def _target_name(target):
    return target if isinstance(target, str) else getattr(target, "__name__", repr(target))
