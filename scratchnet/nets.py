"""Networks: the article's ``Net``, an ``MLP``, ``Sequential``, ``Chain`` (any names), and ``build``.

Each network builds its layers from an ``Architecture`` and exposes it as
``net.architecture``, read from its modules as they are now (replace a layer
and the description follows). Its ``forward`` is the standard one for that
description; ``forward_follows_architecture`` tells when a subclass changed it.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import functional as F
from .activation import activation_of, make_activation
from .architecture import Activation, ActivationLike, Architecture, Layer
from .checks import RandomLike
from .linear import Linear
from .module import Module

__all__ = ["Chain", "Net", "MLP", "Sequential", "build"]


def _layer(linear, activation):
    """The ``Layer`` a Linear module and the activation after it (or None) compute."""
    if type(linear) is not Linear:
        raise TypeError(f"expected a scratchnet.Linear, got {type(linear).__name__}")
    return Layer(linear.in_features, linear.out_features, linear.bias is not None, activation)


class Net(Module):
    """The article's network: 2 -> 4 -> 4 -> 1, ReLU after fc1 and fc2.

    ``forward`` reads line for line like ``torchnet.Net.forward``, and
    ``print(Net())`` prints what the article prints for the torch net.

    Args:
        dtype: float32 (default) or float64.
        rng: a ``numpy.random.Generator`` or a seed, for reproducible weights.

    Shape:
        - Input: ``(*, 2)``.
        - Output: ``(*, 1)``.
    """

    def __init__(self, *, dtype: DTypeLike = np.float32, rng: RandomLike = None) -> None:
        super(Net, self).__init__()
        rng = np.random.default_rng(rng)
        self.fc1 = Linear(2, 4, dtype=dtype, rng=rng)
        self.fc2 = Linear(4, 4, dtype=dtype, rng=rng)
        self.fc3 = Linear(4, 1, dtype=dtype, rng=rng)

    def forward(self, x):
        y = F.relu(self.fc1(x))
        y = F.relu(self.fc2(y))
        y = self.fc3(y)
        return y

    @property
    def architecture(self) -> Architecture:
        """``forward`` above, as an ``Architecture``: fc1 relu, fc2 relu, fc3."""
        relu = Activation("relu")
        return Architecture((_layer(self.fc1, relu), _layer(self.fc2, relu), _layer(self.fc3, None)), "fc")

    @property
    def layers(self) -> list[Linear]:
        """The Linear layers in order: ``[fc1, fc2, fc3]``."""
        return [self.fc1, self.fc2, self.fc3]

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.architecture.sizes


class MLP(Module):
    """A multilayer perceptron: Linear layers ``fc1 ... fcN`` with an activation between them.

    ``MLP((2, 4, 4, 1))`` has the article's architecture (and its weight
    names); its ``repr`` adds the line ``(activation): ReLU()``.

    Args:
        sizes: widths ``(in_features, hidden..., out_features)``, at least two.
        activation: ``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"heaviside"`` (0.5
            at 0), ``"identity"``, or an ``Activation``; applied after every
            layer but the last.
        bias: whether the layers have biases.
        output_activation: an activation applied after the last layer (say
            ``"sigmoid"`` for probabilities), or None (the default): none.
        dtype: float32 (default) or float64.
        rng: a ``numpy.random.Generator`` or a seed, for reproducible weights.

    Shape:
        - Input: ``(*, sizes[0])``.
        - Output: ``(*, sizes[-1])``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: ActivationLike = "relu",
        *,
        bias: bool = True,
        output_activation: ActivationLike = None,
        dtype: DTypeLike = np.float32,
        rng: RandomLike = None,
    ) -> None:
        super().__init__()
        if activation is None:
            raise TypeError("an MLP has an activation between its layers; say 'identity' for a linear network")
        architecture = Architecture.mlp(sizes, activation, bias=bias, output_activation=output_activation)
        rng = np.random.default_rng(rng)
        for name, layer in zip(architecture.layer_names, architecture.layers):
            setattr(self, name, Linear(layer.in_features, layer.out_features, layer.bias, dtype=dtype, rng=rng))
        self.activation = make_activation(activation)
        if output_activation is not None:
            self.output_activation = make_activation(output_activation)

    @property
    def layers(self) -> list[Linear]:
        """The Linear layers in order: ``[fc1, ..., fcN]``."""
        modules = self._modules
        children = tuple(modules.values())
        seen, kept = self.__dict__.get("_layers_kept", (None, ()))
        # Kept between calls (building the names costs 1.5 us a forward pass), and checked against the modules
        # themselves at every call (a tuple compared by identity): any change is seen, even one written into
        # _modules directly, in whatever thread.
        if children == seen:
            return list(kept)
        layers: list[Any] = []  # Linear, unless a user put something else there (the architecture says so)
        while f"fc{len(layers) + 1}" in modules:
            layers.append(modules[f"fc{len(layers) + 1}"])
        object.__setattr__(self, "_layers_kept", (children, tuple(layers)))  # a cache: not an assignment to count
        return layers

    def forward(self, x):
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
        x = last(x)
        output_activation = self._modules.get("output_activation")
        return x if output_activation is None else output_activation(x)

    @property
    def architecture(self) -> Architecture:
        """``forward`` above, as an ``Architecture`` read from the modules as they are now."""
        between = activation_of(self.activation)
        output = self._modules.get("output_activation")
        *hidden, last = self.layers
        layers = [_layer(layer, between) for layer in hidden]
        layers.append(_layer(last, None if output is None else activation_of(output)))
        return Architecture(tuple(layers), "fc")

    @property
    def sizes(self):
        return self.architecture.sizes


class Sequential(Module):
    """Modules run one after the other, named ``0, 1, 2, ...``: ``torch.nn.Sequential`` in NumPy.

    ``Sequential(Linear(2, 4), ReLU(), Linear(4, 1))`` names its weights
    ``0.weight``, ``0.bias``, ``2.weight``, ``2.bias`` like torch, and prints
    like torch. Its ``architecture`` is defined when it is a chain of Linear
    layers, each followed by at most one activation module.

    Shape: the first module's input to the last module's output.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes scratchnet modules; argument {index} is {type(module).__name__}")
            setattr(self, str(index), module)

    def __len__(self) -> int:
        return len(list(self.children()))

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __getitem__(self, index: int) -> Module:
        return list(self.children())[index]

    def __setitem__(self, index: int, module: Module) -> None:
        """``seq[1] = Tanh()``: replace the module at a position, as torch's ``Sequential`` allows (through
        ``setattr``, so that every cache, such as ``infer``'s plan, sees the change)."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes scratchnet modules; got {type(module).__name__}")
        names = list(self._modules)
        try:
            name = names[operator.index(index)]
        except IndexError:
            raise IndexError(f"index {index} is out of range for a Sequential of {len(names)} modules") from None
        setattr(self, name, module)

    def forward(self, input):
        for module in self.children():
            input = module(input)
        return input

    @property
    def architecture(self) -> Architecture:
        """The chain as an ``Architecture`` (``naming="sequential"``), or ``TypeError`` naming what does not fit."""
        names = list(self._modules)
        if names != [str(index) for index in range(len(names))]:
            raise TypeError(f"a Sequential whose modules are named {names} is not described (positions 0, 1, ... are)")
        steps: list[tuple[str, Layer | Activation]] = []
        for name, module in self.named_children():
            try:
                steps.append((name, _layer(module, None) if type(module) is Linear else activation_of(module)))
            except TypeError as error:
                raise TypeError(f"Sequential module {name}: {error}") from None
        return Architecture.from_sequence(steps)


class Chain(Module):
    """Linear layers at the names a model of your own gives them, each followed by its activation (or none).

    The NumPy twin of any PyTorch MLP (``compare.twin(model)``): an
    ``Architecture`` with ``naming="named"`` says where each Linear sits in
    the state dict (``encoder.0``, ``head``), and ``Chain`` puts a ``Linear``
    there, inside plain ``Module`` holders for the dotted parts, so that
    ``chain.state_dict()`` has the model's own names. ``forward`` runs the
    layers in the architecture's order::

        h = x
        for each layer:  h = activation(h @ W.T + b)

    Args:
        architecture: an ``Architecture`` with ``naming="named"``.
        dtype: float32 (default) or float64.
        rng: a ``numpy.random.Generator`` or a seed, for the fresh weights.

    Shape: ``(*, in_features)`` -> ``(*, out_features)``.
    """

    _steps: tuple[tuple[str, Module | None], ...]  # (layer name, activation module or None), in forward's order

    def __init__(self, architecture: Architecture, *, dtype: DTypeLike = np.float32, rng: RandomLike = None) -> None:
        super().__init__()
        if not isinstance(architecture, Architecture) or architecture.naming != "named":
            raise TypeError(f"Chain takes an Architecture with naming 'named', got {architecture!r}")
        rng = np.random.default_rng(rng)
        for name, layer in zip(architecture.layer_names, architecture.layers):
            *path, leaf = name.split(".")
            holder: Module = self
            for part in path:
                holder = _child(holder, part, name) or _attach(holder, part, Module(), name)
            _attach(holder, leaf, Linear(layer.in_features, layer.out_features, layer.bias, dtype=dtype, rng=rng), name)
        activations = [None if a is None else make_activation(a) for a in architecture.activations]
        object.__setattr__(self, "_steps", tuple(zip(architecture.layer_names, activations)))

    def forward(self, x):
        for name, activation in self._steps:
            x = self.get_submodule(name)(x)
            if activation is not None:
                x = activation(x)
        return x

    @property
    def architecture(self) -> Architecture:
        """``forward`` above, as an ``Architecture`` (naming "named"), read from the Linear modules as they are."""
        layers = [
            _layer(self.get_submodule(name), None if activation is None else activation_of(activation))
            for name, activation in self._steps
        ]
        return Architecture(tuple(layers), "named", tuple(name for name, _ in self._steps))

    def extra_repr(self) -> str:
        return str(self.architecture)


def _child(holder, part, name):
    child = holder._modules.get(part)
    if child is not None and type(child) is not Module:
        raise ValueError(f"layer name {name!r}: {part!r} is already a {type(child).__name__}, not a holder of layers")
    return child


def _attach(holder, part, module, name):
    """``holder.part = module``, refusing a part that would hide an attribute (``forward``, ``parameters``...)."""
    if part in holder._modules or hasattr(holder, part):
        raise ValueError(f"layer name {name!r}: {part!r} is taken (a layer or an attribute of the module)")
    setattr(holder, part, module)
    return module


def build(architecture: Architecture, *, dtype: DTypeLike = np.float32, rng: RandomLike = None) -> Module:
    """A new scratchnet network computing ``architecture``, with fresh weights drawn like torch's.

    Naming ``"linear"`` gives a ``Linear``, ``"sequential"`` a ``Sequential``,
    ``"fc"`` an ``MLP`` (which needs one activation between all layers; the
    last may have its own), ``"named"`` a ``Chain``. Its ``architecture``
    equals the one given.
    """
    if not isinstance(architecture, Architecture):
        raise TypeError(f"build() takes an Architecture, got {type(architecture).__name__}")
    rng = np.random.default_rng(rng)
    if architecture.naming == "named":
        return Chain(architecture, dtype=dtype, rng=rng)
    layers = architecture.layers
    if architecture.naming == "linear":
        return Linear(layers[0].in_features, layers[0].out_features, layers[0].bias, dtype=dtype, rng=rng)
    if architecture.naming == "sequential":
        modules: list[Module] = []
        for layer in layers:
            modules.append(Linear(layer.in_features, layer.out_features, layer.bias, dtype=dtype, rng=rng))
            if layer.activation is not None:
                modules.append(make_activation(layer.activation))
        return Sequential(*modules)
    activation, bias, output_activation = architecture.mlp_options()
    return MLP(architecture.sizes, activation, bias=bias, output_activation=output_activation, dtype=dtype, rng=rng)
