"""The article's ``Net``, an ``MLP`` of any depth, and ``build`` from an ``Architecture``, in PyTorch.

The networks are written as PyTorch users write them. Their description is
``scratchnet.architecture.Architecture``, the same one the NumPy networks
use: ``architecture_of(module)`` reads it from ``Net``, ``MLP``, ``nn.Linear``
and ``nn.Sequential`` chains, and ``build`` makes a network from it.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from scratchnet.architecture import (
    Activation,
    Architecture,
    Layer,
    activation_of_module,
    forward_follows_architecture,
    make_module,
)

__all__ = ["Chain", "Net", "MLP", "Heaviside", "activation_of", "architecture_of", "build", "make_activation"]


class Net(nn.Module):
    """The article's network: 2 -> 4 -> 4 -> 1, ReLU after fc1 and fc2.

    The article names the method ``forword``. ``nn.Module`` then has no
    ``forward`` of its own, so ``net(x)`` raises ``NotImplementedError: Module
    [Net] is missing the required "forward" function`` (checked with torch
    2.13; ``tests/test_article.py`` keeps checking it). ``net.forword(x)``
    would compute the right values but skip ``__call__`` and its hooks. Here
    the method is spelled ``forward``.
    """

    def __init__(self):
        super(Net, self).__init__()

        self.fc1 = nn.Linear(2, 4)
        self.fc2 = nn.Linear(4, 4)
        self.fc3 = nn.Linear(4, 1)

    def forward(self, x):
        y = F.relu(self.fc1(x))
        y = F.relu(self.fc2(y))
        y = self.fc3(y)
        return y

    @property
    def architecture(self):
        """``forward`` above, as an ``Architecture``: fc1 relu, fc2 relu, fc3."""
        relu = Activation("relu")
        return Architecture((_layer(self.fc1, relu), _layer(self.fc2, relu), _layer(self.fc3, None)), "fc")

    @property
    def layers(self):
        """The Linear layers in order: ``[fc1, fc2, fc3]``."""
        return [self.fc1, self.fc2, self.fc3]


class _Step(torch.autograd.Function):
    """``torch.heaviside`` with a zero gradient (torch has none: "derivative for aten::heaviside is not
    implemented")."""

    @staticmethod
    def forward(x, value):
        return torch.heaviside(x, torch.tensor(value, dtype=x.dtype, device=x.device))

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, grad_output):
        return torch.zeros_like(grad_output), None


class Heaviside(nn.Module):
    """Step: 0 for x < 0, ``value`` at x == 0, 1 for x > 0, via ``torch.heaviside`` (0 at NaN).

    Its gradient is zero everywhere (the step's derivative is 0 wherever it
    exists), the same documented choice as ``scratchnet.functional.heaviside_backward``.
    """

    def __init__(self, value=0.5):
        super().__init__()
        self.value = Activation("heaviside", value=value).kwargs["value"]

    def forward(self, x):
        return _Step.apply(x, self.value)

    def extra_repr(self):
        return f"value={self.value}"


#: Each activation name's torch module class.
MODULES = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "heaviside": Heaviside,
    "identity": nn.Identity,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "softmax": nn.Softmax,
    "log_softmax": nn.LogSoftmax,
}
#: What torch's softmax modules must say to be described: over the last dimension.
FIXED = {"softmax": {"dim": -1}, "log_softmax": {"dim": -1}}


def make_activation(activation):
    """A new torch module computing ``activation`` (an ``Activation`` or a name such as ``"relu"``)."""
    return make_module(activation, MODULES, FIXED)


def activation_of(module):
    """The ``Activation`` a torch module computes, or ``TypeError`` naming one that is not an activation.

    ``nn.ReLU(inplace=True)`` counts as ReLU (the values are the same);
    ``nn.Softmax`` must say ``dim=-1``.
    """
    return activation_of_module(module, MODULES, FIXED)


def _layer(linear, activation):
    if type(linear) is not nn.Linear:
        raise TypeError(f"expected an nn.Linear, got {type(linear).__name__}")
    return Layer(linear.in_features, linear.out_features, linear.bias is not None, activation)


class MLP(nn.Module):
    """Linear layers ``fc1 ... fcN`` with an activation between them; the twin of ``scratchnet.MLP``.

    Args:
        sizes: widths ``(in_features, hidden..., out_features)``, at least two.
        activation: ``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"heaviside"``,
            ``"identity"`` or an ``Activation``; applied after every layer but the last.
        bias: whether the layers have biases.
        output_activation: an activation after the last layer, or None (the default).
        device, dtype: passed to every ``nn.Linear``.
    """

    def __init__(self, sizes, activation="relu", *, bias=True, output_activation=None, device=None, dtype=None):
        super().__init__()
        if activation is None:
            raise TypeError("an MLP has an activation between its layers; say 'identity' for a linear network")
        architecture = Architecture.mlp(sizes, activation, bias=bias, output_activation=output_activation)
        for name, layer in zip(architecture.layer_names, architecture.layers):
            linear = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias, device=device, dtype=dtype)
            setattr(self, name, linear)
        self.activation = make_activation(activation)
        if output_activation is not None:
            self.output_activation = make_activation(output_activation)

    @property
    def layers(self):
        """The Linear layers in order: ``[fc1, ..., fcN]``."""
        layers = []
        while f"fc{len(layers) + 1}" in self._modules:
            layers.append(self._modules[f"fc{len(layers) + 1}"])
        return layers

    def forward(self, x):
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
        x = last(x)
        output_activation = self._modules.get("output_activation")
        return x if output_activation is None else output_activation(x)

    @property
    def architecture(self):
        """``forward`` above, as an ``Architecture`` read from the modules as they are now."""
        between = activation_of(self.activation)
        output = self._modules.get("output_activation")
        *hidden, last = self.layers
        layers = [_layer(layer, between) for layer in hidden]
        layers.append(_layer(last, None if output is None else activation_of(output)))
        return Architecture(tuple(layers), "fc")


def _sequential_architecture(sequential):
    names = [name for name, _ in sequential.named_children()]
    if names != [str(index) for index in range(len(names))]:
        raise TypeError(f"an nn.Sequential with named modules {names} is not described (positions 0, 1, ... are)")
    steps = []
    for name, module in sequential.named_children():
        try:
            steps.append((name, _layer(module, None) if type(module) is nn.Linear else activation_of(module)))
        except TypeError as error:
            raise TypeError(f"Sequential module {name}: {error}") from None
    return Architecture.from_sequence(steps)


class Chain(nn.Module):
    """Linear layers at the names an ``Architecture`` with ``naming="named"`` gives, each followed by its activation.

    The torch twin of ``scratchnet.Chain``: ``nn.Linear`` modules at dotted
    names (``encoder.0``, ``head``) inside plain ``nn.Module`` holders, the
    activations in ``forward``'s order.
    """

    def __init__(self, architecture, *, device=None, dtype=None):
        super().__init__()
        if not isinstance(architecture, Architecture) or architecture.naming != "named":
            raise TypeError(f"Chain takes an Architecture with naming 'named', got {architecture!r}")
        for name, layer in zip(architecture.layer_names, architecture.layers):
            *path, leaf = name.split(".")
            holder = self
            for part in path:
                if part not in holder._modules:
                    holder.add_module(part, nn.Module())
                holder = holder.get_submodule(part)
            linear = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias, device=device, dtype=dtype)
            holder.add_module(leaf, linear)
        activations = [None if a is None else make_activation(a) for a in architecture.activations]
        self._steps = tuple(zip(architecture.layer_names, activations))

    def forward(self, x):
        for name, activation in self._steps:
            x = self.get_submodule(name)(x)
            if activation is not None:
                x = activation(x)
        return x

    @property
    def architecture(self):
        """``forward`` above, as an ``Architecture`` read from the Linear modules as they are now."""
        layers = [
            _layer(self.get_submodule(name), None if activation is None else activation_of(activation))
            for name, activation in self._steps
        ]
        return Architecture(tuple(layers), "named", tuple(name for name, _ in self._steps))


def architecture_of(module, purpose="this"):
    """The ``Architecture`` of a torch network: what its ``forward`` computes, as Linear layers and activations.

    ``nn.Linear``, an ``nn.Sequential`` of Linear layers each followed by at
    most one activation, and the networks that state their architecture
    (``Net``, ``MLP``, ``Chain``) are read directly. Anything else (a class of
    your own, nested Sequentials, Dropout or Identity in between, a subclass
    whose ``forward`` is its own) is read from its ``forward`` with
    ``torch.fx`` (``torchnet.trace``), which refuses, naming the node, what is
    not such a chain (``TypeError``).
    """
    if isinstance(module, nn.Module):
        _refuse_hooks(module, purpose)
    if type(module) is nn.Linear:
        return Architecture((_layer(module, None),), "linear")
    if type(module) is nn.Sequential and _is_plain_chain(module):
        return _sequential_architecture(module)
    if isinstance(module, nn.Module) and hasattr(type(module), "architecture") and forward_follows_architecture(module):
        return module.architecture
    if not isinstance(module, nn.Module):
        raise TypeError(f"{purpose} needs a torch.nn.Module, got {type(module).__name__}")
    from .trace import traced_architecture  # torch.fx is imported only when a model needs it

    return traced_architecture(module, purpose)


def _refuse_hooks(module, purpose):
    """What changes a module's computation or weights without its ``forward`` (or its Linear layers) saying so,
    so that no description read from the modules, or traced from ``forward``, would be true: a forward hook or
    pre-hook (on a module, or global: ``register_module_forward_hook``), an own ``__call__``, a ``forward``
    replaced on an instance, a state-dict hook (the weights a twin is given would not be the ones forward
    uses), and a parameter shared by two places (tied weights: a twin would hold two independent copies)."""
    refuse = f"{purpose} refuses {type(module).__name__}:"
    hooks = nn.modules.module  # torch keeps the global hooks there (register_module_forward_hook and pre-hook)
    if getattr(hooks, "_global_forward_hooks", None) or getattr(hooks, "_global_forward_pre_hooks", None):
        raise TypeError(f"{refuse} a global forward hook is registered (torch.nn.modules.module."
                        "register_module_forward_hook), which changes what every module computes")  # fmt: skip
    for name, part in module.named_modules():
        where = f"its module {name!r}" if name else type(module).__name__
        if part._forward_hooks or part._forward_pre_hooks:
            raise TypeError(f"{refuse} {where} has a forward hook, which changes what it computes outside forward")
        if type(part).__call__ is not nn.Module.__call__:
            raise TypeError(f"{refuse} {where} defines its own __call__")
        if "forward" in part.__dict__:
            raise TypeError(f"{refuse} {where} had forward replaced on the instance")
        if part._state_dict_hooks or getattr(part, "_state_dict_pre_hooks", None):
            raise TypeError(f"{refuse} {where} has a state_dict hook: the weights state_dict gives may not be the "
                            "ones forward uses")  # fmt: skip
    seen = {}
    for name, parameter in module.named_parameters(remove_duplicate=False):
        if id(parameter) in seen:
            raise TypeError(f"{refuse} {name} is {seen[id(parameter)]} (tied weights, or a module held under two "
                            "names): a twin would hold two independent copies, with gradients and steps of their "
                            "own")  # fmt: skip
        seen[id(parameter)] = name


def _is_plain_chain(sequential):
    """True when a Sequential holds only Linear layers and activations, named 0, 1, 2, ... (no tracing needed)."""
    try:
        _sequential_architecture(sequential)
    except TypeError:
        return False
    return True


def build(architecture, *, device=None, dtype=None):
    """A new torch network computing ``architecture``: ``nn.Linear``, ``nn.Sequential`` or ``MLP`` by its naming."""
    if not isinstance(architecture, Architecture):
        raise TypeError(f"build() takes an Architecture, got {type(architecture).__name__}")
    layers = architecture.layers
    options = {"device": device, "dtype": dtype}
    if architecture.naming == "linear":
        return nn.Linear(layers[0].in_features, layers[0].out_features, bias=layers[0].bias, **options)
    if architecture.naming == "named":
        return Chain(architecture, **options)
    if architecture.naming == "sequential":
        modules = []
        for layer in layers:
            modules.append(nn.Linear(layer.in_features, layer.out_features, bias=layer.bias, **options))
            if layer.activation is not None:
                modules.append(make_activation(layer.activation))
        return nn.Sequential(*modules)
    activation, bias, output_activation = architecture.mlp_options()
    return MLP(architecture.sizes, activation, bias=bias, output_activation=output_activation, **options)
