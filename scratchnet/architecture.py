"""What a network *is*, written down once: its layers, their sizes, and the activation after each.

Everything that needs to know what a network computes reads its ``Architecture``
instead of working it out again: the networks build their layers from it
(``MLP``, ``Sequential``, ``build``), ``infer`` compiles its fast path from it,
checkpoint files record it, and ``compare`` derives its tolerances and builds
twins from it. A network exposes it as ``net.architecture``::

    >>> scratchnet.Net().architecture
    Architecture(2 -> 4 -> 4 -> 1: fc1 relu, fc2 relu, fc3)

The article's ``Net`` is three ``Layer``s::

    Architecture((Layer(2, 4, activation="relu"), Layer(4, 4, activation="relu"), Layer(4, 1)), naming="fc")

A ``Layer`` is one ``Linear`` (``y = x @ W.T + b``, ``W`` of shape
``(out_features, in_features)``) and the ``Activation`` applied to its output,
or None when nothing follows it. ``naming`` says how the layers are named in a
state dict, which is how weights travel between frameworks and files:

- ``"fc"``: ``fc1 ... fcN``, as the article's ``Net`` and ``MLP`` name them;
- ``"sequential"``: positions in a ``Sequential`` (``torch.nn.Sequential``'s
  names): every Linear and every activation takes the next index, so
  ``Linear, ReLU, Linear`` names its weights ``0.weight`` and ``2.weight``, and
  ``Linear, Linear`` (no activation in between) ``0.weight`` and ``1.weight``;
- ``"linear"``: one Linear alone, whose weights are ``weight`` and ``bias``;
- ``"named"``: each Linear at the dotted name given in ``names`` (``encoder.0``,
  ``head``), as any torch model names them (``torchnet.architecture_of`` reads
  them from a user's own class with ``torch.fx``; ``scratchnet.Chain`` holds them).

An ``Architecture`` holds no weights and no dtype: it is what is computed, not
with which numbers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

from .checks import check_count, check_sizes

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_NAMES",
    "NAMINGS",
    "Activation",
    "Architecture",
    "Layer",
    "activation_of_module",
    "architecture_of",
    "forward_follows_architecture",
    "make_module",
    "parse_activations",
]

#: Every activation an Architecture can say, with its settings and their defaults (torch's, where torch has it).
ACTIVATIONS: dict[str, dict[str, Any]] = {
    "relu": {},
    "sigmoid": {},
    "tanh": {},
    "heaviside": {"value": 0.5},  # the value at 0
    "identity": {},
    "leaky_relu": {"negative_slope": 0.01},
    "elu": {"alpha": 1.0},
    "gelu": {"approximate": "none"},  # "none": x Phi(x) with the error function; "tanh": torch's tanh approximation
    "silu": {},
    "softplus": {"beta": 1.0, "threshold": 20.0},
    "softmax": {},  # over the last dimension
    "log_softmax": {},  # over the last dimension
}
ACTIVATION_NAMES = tuple(ACTIVATIONS)

#: Settings that are words rather than numbers, and the words they take.
SETTING_CHOICES = {"approximate": ("none", "tanh")}

#: Activations that mix the features of a sample (over the last dimension): only after the last layer.
OUTPUT_ONLY = ("softmax", "log_softmax")

#: How layers are named in a state dict (see the module docstring).
NAMINGS = ("fc", "sequential", "linear", "named")


@dataclass(frozen=True, init=False)
class Activation:
    """An activation and its settings: ``Activation("relu")``, ``Activation("heaviside", value=0.0)``.

    Every setting of the activation is held, defaults filled in, so two
    Activations that compute the same function are equal.
    """

    name: str
    settings: tuple  # sorted (setting, value) pairs

    def __init__(self, name: str, **settings: Any) -> None:
        if not isinstance(name, str) or name not in ACTIVATIONS:
            expected = ", ".join(repr(n) for n in ACTIVATION_NAMES)
            raise ValueError(f"activation must be one of {expected}; got {name!r}")
        known = ACTIVATIONS[name]
        unknown = sorted(set(settings) - set(known))
        if unknown:
            allowed = ", ".join(known) or "none"
            raise TypeError(f"activation {name!r} has no setting {', '.join(unknown)} (its settings: {allowed})")
        values = {**known, **settings}
        for key, value in values.items():
            if key in SETTING_CHOICES:
                if not isinstance(value, str) or value not in SETTING_CHOICES[key]:
                    choices = ", ".join(map(repr, SETTING_CHOICES[key]))
                    raise ValueError(f"activation {name!r}: {key} must be one of {choices}, got {_short(value)}")
            elif isinstance(value, bool) or not isinstance(value, numbers.Real) or not _finite(value):
                raise ValueError(f"activation {name!r}: {key} must be a finite number, got {_short(value)}")
        if name == "softplus" and values["beta"] == 0:
            raise ValueError("activation 'softplus': beta must not be 0 (softplus divides by it)")
        kept = ((key, value if isinstance(value, str) else float(value)) for key, value in values.items())
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "settings", tuple(sorted(kept)))

    @property
    def kwargs(self) -> dict[str, Any]:
        """The settings as a dict, e.g. ``{"value": 0.5}``."""
        return dict(self.settings)

    def __str__(self):
        defaults = ACTIVATIONS[self.name]
        changed = [
            f"{key}={value}" if isinstance(value, str) else f"{key}={value:g}"
            for key, value in self.settings
            if value != defaults[key]
        ]
        return f"{self.name}({', '.join(changed)})" if changed else self.name

    def __repr__(self):
        settings = "".join(f", {key}={value!r}" for key, value in self.settings)
        return f"Activation({self.name!r}{settings})"

    def to_dict(self):
        return {"name": self.name, **self.kwargs}

    @classmethod
    def coerce(cls, value: Activation | str | None) -> Activation | None:
        """An ``Activation`` from itself or a name; None and ``"none"`` mean no activation (None)."""
        if value is None or isinstance(value, Activation):
            return value
        if value == "none":
            return None
        if isinstance(value, str):
            return cls(value)
        raise TypeError(f"an activation is a name such as 'relu', an Activation or None; got {type(value).__name__}")


#: What takes an activation: an ``Activation``, a name such as ``"relu"``, or None (no activation).
ActivationLike = Union[Activation, str, None]


@dataclass(frozen=True)
class Layer:
    """One ``Linear`` (``in_features -> out_features``, with or without bias) and the activation after it.

    ``activation`` is an ``Activation``, a name (converted), or None: nothing
    follows the layer (in a ``Sequential``, no module sits there).
    """

    in_features: int
    out_features: int
    bias: bool = True
    activation: Activation | str | None = None

    def __post_init__(self):
        object.__setattr__(self, "in_features", check_count(self.in_features, "in_features"))
        object.__setattr__(self, "out_features", check_count(self.out_features, "out_features"))
        if not isinstance(self.bias, bool):
            raise TypeError(f"bias must be True or False, got {self.bias!r}")
        object.__setattr__(self, "activation", Activation.coerce(self.activation))

    def to_dict(self):
        activation = None if self.activation is None else self.activation.to_dict()
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias,
            "activation": activation,
        }


@dataclass(frozen=True)
class Architecture:
    """A network as a chain of ``Layer``s, and how its layers are named (``"fc"``, ``"sequential"``, ``"linear"``,
    or ``"named"`` with one dotted state-dict prefix per layer in ``names``).

    Raises ``ValueError`` (or ``TypeError``) if the layers do not chain (each
    ``in_features`` is the ``out_features`` before it), the naming cannot
    name them, or an activation that mixes features (softmax, log_softmax)
    follows any layer but the last.
    """

    layers: tuple
    naming: str = "fc"
    names: tuple | None = None  # with naming "named": each layer's state-dict prefix, e.g. ("encoder.0", "head")

    def __post_init__(self):
        if isinstance(self.layers, (str, bytes, Layer)):
            raise TypeError(f"layers must be a sequence of Layer, got {type(self.layers).__name__}")
        layers = tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        if not layers:
            raise ValueError("an Architecture needs at least one layer")
        strangers = [type(layer).__name__ for layer in layers if not isinstance(layer, Layer)]
        if strangers:
            raise TypeError(f"layers must be Layer objects, got {', '.join(strangers)}")
        for number, (before, after) in enumerate(zip(layers, layers[1:]), start=2):
            if after.in_features != before.out_features:
                raise ValueError(
                    f"layers do not chain: layer {number} takes {after.in_features} inputs "
                    f"but the layer before gives {before.out_features}"
                )
        if self.naming not in NAMINGS:
            raise ValueError(f"naming must be one of {', '.join(map(repr, NAMINGS))}; got {self.naming!r}")
        if self.naming == "linear" and (len(layers) != 1 or layers[0].activation is not None):
            raise ValueError("naming 'linear' is one Linear alone, without an activation")
        object.__setattr__(self, "names", _check_names(self.names, self.naming, len(layers)))
        for number, layer in enumerate(layers[:-1], start=1):
            if layer.activation is not None and layer.activation.name in OUTPUT_ONLY:
                raise ValueError(
                    f"{layer.activation.name} mixes the features of a sample (over the last dimension): it may only "
                    f"follow the last layer, not layer {number} of {len(layers)}"
                )

    # -- reading it -----------------------------------------------------------------------

    @property
    def sizes(self) -> tuple[int, ...]:
        """The widths ``(in_features, out_features of each layer...)``, e.g. ``(2, 4, 4, 1)``."""
        return (self.layers[0].in_features,) + tuple(layer.out_features for layer in self.layers)

    @property
    def activations(self) -> tuple[Activation | None, ...]:
        """The activation after each layer (None where there is none)."""
        return tuple(layer.activation for layer in self.layers)

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Each Linear's name in a state dict: ``("fc1", "fc2")``, ``("0", "2")`` or ``("",)``."""
        if self.naming == "linear":
            return ("",)
        if self.naming == "named":
            return tuple(self.names or ())
        if self.naming == "fc":
            return tuple(f"fc{number}" for number in range(1, len(self.layers) + 1))
        names, position = [], 0
        for layer in self.layers:
            names.append(str(position))
            position += 1 if layer.activation is None else 2
        return tuple(names)

    def parameter_names(self) -> list[str]:
        """Every parameter's state-dict name, in order: ``["fc1.weight", "fc1.bias", ...]``."""
        names = []
        for prefix, layer in zip(self.layer_names, self.layers):
            dot = f"{prefix}." if prefix else ""
            names += [f"{dot}weight"] + ([f"{dot}bias"] if layer.bias else [])
        return names

    @property
    def hidden_activation(self) -> Activation | None:
        """The one activation between layers when every layer but the last has the same; else None."""
        between = {layer.activation for layer in self.layers[:-1]}
        return between.pop() if len(between) == 1 else None

    def __str__(self):
        steps = []
        for name, layer in zip(self.layer_names, self.layers):
            step = name or "linear"
            step += "" if layer.bias else " (no bias)"
            steps.append(step if layer.activation is None else f"{step} {layer.activation}")
        return f"{' -> '.join(map(str, self.sizes))}: {', '.join(steps)}"

    def __repr__(self):
        return f"Architecture({self})"

    # -- making one -----------------------------------------------------------------------

    @classmethod
    def mlp(
        cls,
        sizes: Sequence[int],
        activation: Activation | str | None = "relu",
        *,
        bias: bool = True,
        output_activation: Activation | str | None = None,
        naming: str = "fc",
    ) -> Architecture:
        """Linear layers of widths ``sizes``, ``activation`` after each but the last, ``output_activation`` last.

        ``Architecture.mlp((2, 4, 4, 1))`` is the article's network.
        """
        sizes = check_sizes(sizes)
        activation = Activation.coerce(activation)
        output_activation = Activation.coerce(output_activation)
        pairs = list(zip(sizes[:-1], sizes[1:]))
        layers = [
            Layer(n_in, n_out, bias, activation if number < len(pairs) else output_activation)
            for number, (n_in, n_out) in enumerate(pairs, start=1)
        ]
        return cls(tuple(layers), naming)

    @classmethod
    def from_sequence(cls, steps):
        """The ``"sequential"`` Architecture of ``(name, step)`` pairs, each step a ``Layer`` or an ``Activation``.

        What a ``Sequential`` holds, in order: each Layer (its own activation
        None) may be followed by one Activation. Anything else (an activation
        first, two in a row) is a ``TypeError`` naming the step.
        """
        layers = []
        for name, step in steps:
            if isinstance(step, Layer):
                layers.append(step)
                continue
            if not layers or layers[-1].activation is not None:
                where = "first" if not layers else "right after another activation"
                raise TypeError(
                    f"Sequential module {name} ({step}) comes {where}: an Architecture is Linear layers, "
                    "each followed by at most one activation"
                )
            last = layers.pop()
            layers.append(Layer(last.in_features, last.out_features, last.bias, step))
        if not layers:
            raise TypeError("a Sequential without Linear layers has no architecture")
        return cls(tuple(layers), "sequential")

    def mlp_options(self):
        """``(activation, bias, output_activation)`` of the ``MLP`` computing this, or ``ValueError``.

        An MLP has one activation between all its layers and biases on all
        layers or none; the last layer may have an activation of its own.
        """
        between = self.hidden_activation if len(self.layers) > 1 else Activation("relu")
        biases = {layer.bias for layer in self.layers}
        if between is None or len(biases) > 1:
            raise ValueError(
                f"an MLP (fc1 ... fcN) has one activation between all its layers and biases on all or none; "
                f"{self} is not one: describe it with naming='sequential'"
            )
        return between, biases.pop(), self.layers[-1].activation

    def to_dict(self):
        """A JSON-ready dict (what checkpoint files record); ``Architecture.from_dict`` reads it back."""
        data = {"naming": self.naming, "layers": [layer.to_dict() for layer in self.layers]}
        return data if self.names is None else {**data, "names": list(self.names)}

    @classmethod
    def from_dict(cls, data: Any) -> Architecture:
        """Read ``to_dict``'s form back, refusing anything else with a ``ValueError`` that says what."""
        keys = {"naming", "layers"} | ({"names"} if isinstance(data, dict) and data.get("naming") == "named" else set())
        if not isinstance(data, dict) or set(data) != keys or not isinstance(data["layers"], list):
            raise ValueError(f"an architecture is {{'naming': ..., 'layers': [...]}}; got {_short(data)}")
        names = data.get("names")
        if names is not None and not isinstance(names, list):
            raise ValueError(f"an architecture's names are a list; got {_short(names)}")
        layers = []
        for number, item in enumerate(data["layers"], start=1):
            keys = {"in_features", "out_features", "bias", "activation"}
            if not isinstance(item, dict) or set(item) != keys:
                raise ValueError(f"layer {number} must have exactly the keys {sorted(keys)}; got {_short(item)}")
            activation = item["activation"]
            if activation is not None:
                if not isinstance(activation, dict) or not isinstance(activation.get("name"), str):
                    raise ValueError(f"layer {number}: activation must be null or {{'name': ...}}; got {_short(item)}")
                activation = Activation(**activation)
            layers.append(Layer(item["in_features"], item["out_features"], item["bias"], activation))
        return cls(tuple(layers), data["naming"], None if names is None else tuple(names))


def _check_names(names, naming, count):
    """The ``names`` of a ``"named"`` Architecture as a tuple, checked; None for the other namings."""
    if naming != "named":
        if names is not None:
            raise ValueError(f"names are given with naming 'named' only; naming {naming!r} names its layers itself")
        return None
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence) or len(names) != count:
        raise ValueError(f"naming 'named' needs one name per layer ({count}); got {_short(names)}")
    names = tuple(names)
    for name in names:
        parts = name.split(".") if isinstance(name, str) else [""]
        if any(not part or not part.isprintable() or any(c.isspace() for c in part) for part in parts):
            raise ValueError(f"a layer name is dotted words such as 'encoder.0' or 'head'; got {_short(name)}")
    for name in names:
        clash = [other for other in names if other != name and other.startswith(name + ".")]
        if names.count(name) > 1 or clash:
            raise ValueError(f"layer name {name!r} is given twice, or also names a module holding another layer")
    return names


def _finite(value):
    """``math.isfinite``, for integers too large for a float as well (they are not finite floats)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_activations(text):
    """``"relu"`` -> ``"relu"``; ``"relu,relu,sigmoid"`` -> a list, one per layer (None where ``none``).

    Each part is a name, or a name with settings written as an Activation
    prints: ``leaky_relu(negative_slope=0.2)``, ``heaviside(value=0)``,
    ``gelu(approximate=tanh)``, ``softplus(beta=2, threshold=10)`` (an
    ``Activation`` is returned for those). A single ``"none"`` stays ``"none"``:
    no activation anywhere.

    What a command line's ``--activation`` takes. Raises ``ValueError`` naming what it cannot read.
    """
    parts = _split_outside_parentheses(str(text))
    expected = (
        f"expected an activation ({', '.join(ACTIVATION_NAMES)}), with settings such as "
        f"leaky_relu(negative_slope=0.2), or one per layer such as relu,relu,none; got {text!r}"
    )
    if not text or parts is None:
        raise ValueError(expected)
    activations = []
    for part in parts:
        name, _, rest = part.partition("(")
        name = name.strip()
        if name not in ACTIVATION_NAMES and name != "none" or (rest and (name == "none" or not rest.endswith(")"))):
            raise ValueError(expected)
        try:
            activations.append(name if not rest else Activation(name, **_parse_settings(name, rest[:-1])))
        except TypeError as error:  # an unknown setting: a ValueError of the text, like the others
            raise ValueError(str(error)) from None
    if len(activations) == 1:
        return activations[0]  # a name, an Activation, or "none": no activation anywhere
    return [None if part == "none" else part for part in activations]


def _split_outside_parentheses(text):
    """``"a(b=1, c=2),d"`` -> ``["a(b=1, c=2)", "d"]``; None when the parentheses do not pair."""
    parts, depth, start = [], 0, 0
    for index, character in enumerate(text):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth not in (0, 1):
            return None
        if character == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return None if depth else parts


def _parse_settings(name, text):
    """``"beta=2, threshold=10"`` -> ``{"beta": 2.0, "threshold": 10.0}``; words stay words (``approximate=tanh``)."""
    settings = {}
    for item in filter(None, (piece.strip() for piece in text.split(","))):
        key, equals, value = (piece.strip() for piece in item.partition("="))
        if not equals or not key:
            raise ValueError(f"activation {name!r}: settings are written key=value, got {item!r}")
        if key in SETTING_CHOICES:
            settings[key] = value
            continue
        try:
            settings[key] = float(value)
        except ValueError:
            raise ValueError(f"activation {name!r}: {key} must be a number, got {value!r}") from None
    return settings


def make_module(activation, modules, fixed=None):
    """A new module computing ``activation`` (an ``Activation`` or a name), from ``modules``: name -> class.

    Each framework passes its own table (``scratchnet.activation.MODULES``,
    ``torchnet.nets.MODULES``), and in ``fixed`` the constructor arguments
    that are not settings but must have one value (torch's ``Softmax(dim=-1)``).
    """
    activation = Activation.coerce(activation)
    if activation is None:
        raise TypeError("an activation module needs an activation, got None")
    return modules[activation.name](**activation.kwargs, **(fixed or {}).get(activation.name, {}))


def activation_of_module(module, modules, fixed=None):
    """The ``Activation`` a module computes, by its exact class in ``modules``; else ``TypeError`` naming it.

    Only the classes of the table count, not subclasses: a subclass may
    compute something else in its own ``forward``. Settings are read from the
    module's attributes of the same names; the attributes in ``fixed`` (see
    ``make_module``) must have their one value.
    """
    for name, klass in modules.items():
        if type(module) is klass:
            for attribute, value in (fixed or {}).get(name, {}).items():
                if getattr(module, attribute, None) != value:
                    raise TypeError(
                        f"{type(module).__name__}({attribute}={getattr(module, attribute, None)!r}) is not described: "
                        f"{name} over the last dimension is {attribute}={value!r}"
                    )
            return Activation(name, **{setting: getattr(module, setting) for setting in ACTIVATIONS[name]})
    raise TypeError(
        f"{type(module).__name__} is not an activation an Architecture can describe "
        f"(expected one of {', '.join(k.__name__ for k in modules.values())})"
    )


def forward_follows_architecture(net: object) -> bool:
    """True when the class that defines ``net.forward`` also defines ``net.architecture``.

    A network's ``architecture`` describes the ``forward`` written beside it. A
    subclass that writes its own ``forward`` (a learner's ``Net`` with tanh,
    say) without its own ``architecture`` computes something the inherited
    description may not say, so whatever reads the description (``infer``,
    checkpoint files, ``compare``) must refuse it rather than guess. The same
    holds for a subclass that redefines ``__call__`` or ``layers``.
    """
    owners = {}
    for klass in type(net).__mro__:
        for attribute in ("forward", "architecture", "__call__", "layers"):
            if attribute not in owners and attribute in vars(klass):
                owners[attribute] = klass
    described = owners.get("architecture")
    if described is None or owners.get("forward") is not described:
        return False
    # Nor may a subclass of the describing class change what calling it does, or which layers forward walks.
    below = [owners[name] for name in ("__call__", "layers") if name in owners]
    return not any(klass is not described and issubclass(klass, described) for klass in below)


def architecture_of(net: Any, purpose: str) -> Architecture:
    """``net.architecture``, once it is sure to describe ``net``'s forward; else a ``TypeError`` naming the class.

    ``purpose`` names the caller in the message, e.g. ``"infer()"``.
    """
    name = type(net).__name__
    if not hasattr(type(net), "architecture"):
        raise TypeError(
            f"{purpose} needs a network that states its architecture (Linear, Net, MLP, Sequential, or a class "
            f"with an `architecture` property); got {name}"
        )
    if not forward_follows_architecture(net):
        owner = next(k for k in type(net).__mro__ if "forward" in vars(k)).__name__
        described = next(k for k in type(net).__mro__ if "architecture" in vars(k)).__name__
        raise TypeError(
            f"{purpose} refuses {name}: its forward is written in {owner}, but its architecture describes "
            f"{described}'s forward, so it may not say what {name} computes. Call the network itself, or give "
            f"{owner} an `architecture` property that says what its forward does"
        )
    return net.architecture
