"""Hypothesis strategies shared by the property tests: random networks are random ``Architecture``s."""

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from scratchnet import ACTIVATION_NAMES, Activation, Architecture, Layer
from scratchnet.architecture import OUTPUT_ONLY

DTYPES = (np.float32, np.float64)
DIRECTIONS = ("torch-to-scratch", "scratch-to-torch")

#: Settings drawn for the activations that have them (the defaults, and values away from them).
SETTINGS = {
    "heaviside": [{"value": v} for v in (0.0, 0.5, 1.0)],
    "leaky_relu": [{}, {"negative_slope": 0.2}, {"negative_slope": -0.5}],
    "elu": [{}, {"alpha": 0.5}, {"alpha": 2.0}],
    "gelu": [{}, {"approximate": "tanh"}],
    "softplus": [{}, {"beta": 2.0, "threshold": 1.0}, {"beta": 0.5, "threshold": 5.0}],
}


def activations(names=ACTIVATION_NAMES, output=False):
    """An ``Activation`` of one of ``names`` with settings from ``SETTINGS``; softmax and log_softmax only
    when ``output`` (they follow the last layer only)."""
    choices = [
        Activation(name, **settings)
        for name in names
        if output or name not in OUTPUT_ONLY
        for settings in SETTINGS.get(name, [{}])
    ]
    return st.sampled_from(choices)


@st.composite
def described_architectures(draw, max_depth=5, max_width=64, names=ACTIVATION_NAMES):
    """Any Architecture: an MLP (fc names, one activation between layers, maybe one after the last),
    a Sequential (an activation or none after each layer, biases per layer), a Chain (named layers,
    as a model of one's own names them), or a Linear alone."""
    naming = draw(st.sampled_from(["fc", "fc", "sequential", "sequential", "named", "linear"]))
    depth = 1 if naming == "linear" else draw(st.integers(1, max_depth))
    sizes = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
    pairs = list(zip(sizes[:-1], sizes[1:]))
    if naming == "linear":
        return Architecture((Layer(*pairs[0], draw(st.booleans())),), "linear")
    output = draw(st.one_of(st.none(), activations(names, output=True)))
    if naming == "fc":
        return Architecture.mlp(sizes, draw(activations(names)), bias=draw(st.booleans()), output_activation=output)
    hidden = [draw(st.one_of(st.none(), activations(names))) for _ in pairs[:-1]]
    layers = tuple(
        Layer(n_in, n_out, draw(st.booleans()), activation)
        for (n_in, n_out), activation in zip(pairs, hidden + [output])
    )
    if naming == "named":
        names_drawn = draw(
            st.lists(st.sampled_from(["body", "head", "block", "0", "1", "fc"]), min_size=depth, max_size=depth)
        )
        return Architecture(layers, "named", tuple(f"{part}.{number}" for number, part in enumerate(names_drawn)))
    return Architecture(layers, "sequential")


@dataclass(frozen=True)
class NetCase:
    """A random network to build in both frameworks: its description and its dtype."""

    architecture: Architecture
    dtype: type

    @property
    def sizes(self):
        return self.architecture.sizes

    @property
    def torch_dtype(self):
        import torch

        return {np.float32: torch.float32, np.float64: torch.float64}[self.dtype]


def architectures(max_depth=5, max_width=64, names=ACTIVATION_NAMES):
    """Depth 1-5 (Linear layers), widths 1-64, any activations and namings, float32 or float64."""
    return st.builds(NetCase, described_architectures(max_depth, max_width, names), st.sampled_from(DTYPES))


#: Leading dimensions of an input: () is a single 1-D sample; 0 makes an empty batch.
batch_shapes = st.one_of(st.just(()), st.tuples(st.integers(0, 9)), st.tuples(st.integers(0, 3), st.integers(0, 4)))

seeds = st.integers(0, 2**32 - 1)


def unsaturated_inputs(seed, shape, dtype):
    """Standard-normal inputs: with torch's initialisation, pre-activations stay O(1), where
    sigmoid and tanh are not flat, so a wrong weight changes the output visibly."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


#: The activations beyond the article's, each with settings away from its defaults where it has them: the one list
#: the modern-activation and ONNX tests both go through.
SETTINGS_SAMPLES = [
    Activation("leaky_relu"),
    Activation("leaky_relu", negative_slope=0.2),
    Activation("leaky_relu", negative_slope=-1.5),
    Activation("elu"),
    Activation("elu", alpha=0.7),
    Activation("elu", alpha=3.0),
    Activation("gelu"),
    Activation("gelu", approximate="tanh"),
    Activation("silu"),
    Activation("softplus"),
    Activation("softplus", beta=2.0, threshold=1.0),
    Activation("softplus", beta=-0.5, threshold=5.0),
]
