"""Hypothesis strategies shared by the property tests."""

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from scratchnet import ACTIVATION_NAMES

DTYPES = (np.float32, np.float64)
DIRECTIONS = ("torch-to-scratch", "scratch-to-torch")


@dataclass(frozen=True)
class Architecture:
    sizes: tuple
    activation: str
    bias: bool
    dtype: type

    @property
    def torch_dtype(self):
        import torch

        return {np.float32: torch.float32, np.float64: torch.float64}[self.dtype]


@st.composite
def architectures(draw, max_depth=5, max_width=64, activations=ACTIVATION_NAMES):
    """Depth 1-5 (Linear layers), widths 1-64, any activation, with or without bias, float32 or float64."""
    depth = draw(st.integers(1, max_depth))
    sizes = tuple(draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1)))
    return Architecture(sizes, draw(st.sampled_from(activations)), draw(st.booleans()), draw(st.sampled_from(DTYPES)))


#: Leading dimensions of an input: () is a single 1-D sample; 0 makes an empty batch.
batch_shapes = st.one_of(st.just(()), st.tuples(st.integers(0, 9)), st.tuples(st.integers(0, 3), st.integers(0, 4)))

seeds = st.integers(0, 2**32 - 1)


def unsaturated_inputs(seed, shape, dtype):
    """Standard-normal inputs: with torch's initialisation, pre-activations stay O(1), where
    sigmoid and tanh are not flat, so a wrong weight changes the output visibly."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)
