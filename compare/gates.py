"""The logic gates learned twice from the same start: by hand in NumPy, and by its torch twin.

``python -m compare train --gate xor`` runs this; ``python -m scratchnet train``
is the NumPy-only trainer.
"""

import numpy as np
import torch

from scratchnet.gates import (
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_SEED,
    GateResult,
    describe_network,
    gate_data,
    gate_network,
)

from .training import compare_training
from .weights import twin

__all__ = ["train_twins"]


def train_twins(
    gate, *, sizes=None, activation="relu", epochs=DEFAULT_EPOCHS, lr=DEFAULT_LR, seed=DEFAULT_SEED, dtype=np.float32
):
    """Train the gate network and its torch twin side by side (Adam, binary cross-entropy, full batch).

    Returns ``(scratch_result, torch_result, report)``: a ``GateResult`` for
    each framework and the ``TrainingReport`` judging, after every step,
    whether their weights stayed within the rounding budget.
    """
    x, target = gate_data(gate, dtype)
    net = gate_network(sizes, activation, dtype=dtype, seed=seed)
    torch_net = twin(net)
    with np.errstate(all="ignore"):  # a training that diverges to NaN is said in words (GateResult, the verdict)
        report = compare_training(net, torch_net, x, target, loss="bce", optimizer="adam", lr=lr, steps=epochs)
        with torch.no_grad():
            torch_logits = torch_net(torch.from_numpy(x)).numpy()
        name = describe_network(net)
        results = (
            GateResult(gate, "scratch", name, seed, [s.loss_scratch for s in report.steps], net(x), net),
            GateResult(gate, "torch", name, seed, [s.loss_torch for s in report.steps], torch_logits, torch_net),
        )
    return (*results, report)
