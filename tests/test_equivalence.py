"""The property the project exists for: scratchnet and torch compute the same forward pass.

Random architectures (depth 1-5, widths 1-64), every activation, float32 and
float64, 1-D inputs, extra leading dimensions and empty batches, random
weights, both copy directions; judged by ``compare_forward``'s derived tolerance.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import scratchnet

from .optional import optional, optional_names
from .strategies import DIRECTIONS, DTYPES, architectures, batch_shapes, seeds, unsaturated_inputs

torch = optional("torch")
torchnet = optional("torchnet")
compare_forward, copy_weights, numpy_state = optional_names("compare", "compare_forward", "copy_weights", "numpy_state")


def build_pair(arch, seed, direction):
    """A scratchnet and a torch MLP of ``arch``, each initialised by its own framework; one is copied into the other."""
    torch.manual_seed(seed)
    theirs = torchnet.build(arch.architecture, dtype=arch.torch_dtype)
    mine = scratchnet.build(arch.architecture, dtype=arch.dtype, rng=seed + 1)
    if direction == "torch-to-scratch":
        copy_weights(theirs, mine)
    else:
        copy_weights(mine, theirs)
    return mine, theirs


@given(architectures(), batch_shapes, seeds, st.sampled_from(DIRECTIONS))
def test_forward_pass_equal_within_derived_tolerance(arch, batch_shape, seed, direction):
    mine, theirs = build_pair(arch, seed, direction)
    for name, value in numpy_state(theirs).items():
        np.testing.assert_array_equal(mine.state_dict()[name], value, err_msg=f"copy of {name}")

    x = unsaturated_inputs(seed, batch_shape + (arch.sizes[0],), arch.dtype)
    report = compare_forward(mine, theirs, x)

    assert report.values["scratchnet"].shape == batch_shape + (arch.sizes[-1],)
    assert report.values["scratchnet"].dtype == arch.dtype
    assert report.passed, str(report)


@given(st.sampled_from(DTYPES), batch_shapes, seeds)
def test_article_net_twins_agree(dtype, batch_shape, seed):
    """The article's Net, initialised by torch, and its scratchnet twin (Net, not MLP)."""
    torch.manual_seed(seed)
    theirs = torchnet.Net().to({np.float32: torch.float32, np.float64: torch.float64}[dtype])
    mine = scratchnet.Net(dtype=dtype)
    copy_weights(theirs, mine)
    x = unsaturated_inputs(seed, batch_shape + (2,), dtype)
    report = compare_forward(mine, theirs, x)
    assert report.passed, str(report)
