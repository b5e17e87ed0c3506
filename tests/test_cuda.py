"""The same proofs on a GPU. Skipped where CUDA is absent (CI, and most machines): nothing depends on a GPU."""

import numpy as np
import pytest
from hypothesis import given, settings

import scratchnet
from scratchnet.gates import GATES, gate_data

from .optional import optional, optional_names
from .strategies import architectures, batch_shapes, seeds, unsaturated_inputs

torch = optional("torch")
compare_forward, compare_gradients, compare_training, to_torch = optional_names(
    "compare", "compare_forward", "compare_gradients", "compare_training", "to_torch"
)
(torch_unit_roundoff,) = optional_names("compare.forward", "torch_unit_roundoff")


pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@settings(max_examples=40)
@given(architectures(), batch_shapes, seeds)
def test_forward_and_gradients_on_cuda(arch, batch_shape, seed):
    mine = scratchnet.build(arch.architecture, dtype=arch.dtype, rng=seed)
    theirs = to_torch(mine, device="cuda")
    x = unsaturated_inputs(seed, batch_shape + (arch.sizes[0],), arch.dtype)
    forward = compare_forward(mine, theirs, x)
    assert forward.passed, str(forward)
    gradients = compare_gradients(mine, theirs, x, rng=seed)
    assert gradients.passed, str(gradients)


def test_tf32_is_judged_with_tf32s_roundoff():
    mine = scratchnet.MLP((256, 512, 512, 8), dtype=np.float32, rng=0)
    theirs = to_torch(mine, device="cuda")
    previous = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        assert torch_unit_roundoff(theirs, np.float32) == 2.0**-11
        report = compare_forward(mine, theirs, unsaturated_inputs(0, (64, 256), np.float32))
        assert report.passed, str(report)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    assert torch_unit_roundoff(theirs, np.float64) == 2.0**-53


@pytest.mark.parametrize("gate", GATES)
def test_training_on_cuda_float64(gate):
    x, target = gate_data(gate, np.float64)
    net = scratchnet.Net(dtype=np.float64, rng=1)
    report = compare_training(net, to_torch(net, device="cuda"), x, target, optimizer="adam", lr=0.05, steps=100)
    assert report.passed, str(report)
    assert report.steps[-1].max_rel_diff < 1e-12


def test_benchmarks_time_the_gpu(tmp_path):
    from .test_benchmarks import run_small

    document = run_small(tmp_path, batches="1,4096", backends="scratchnet,torch-eager,torch-cudagraph")
    records = document["records"]
    on_gpu = {r["backend"] for r in records if r["device"] == "cuda" and r["status"] == "ok"}
    assert on_gpu == {"torch-eager", "torch-cudagraph"}
