"""Logic gates, the article's next step: learn OR, AND, NAND and XOR with the article's network.

Each gate is four examples: the input pairs (0, 0), (0, 1), (1, 0), (1, 1)
and the gate's truth value. The network outputs one logit ``z``; its
probability of "true" is ``sigmoid(z)``, and its answer is ``z > 0``. It is
trained on all four examples at once with the binary cross-entropy on the
logit (``BCEWithLogitsLoss``) and Adam.

OR, AND and NAND are linearly separable: one line splits the true from the
false corners. XOR is not: no line puts (0, 1) and (1, 0) on one side and
(0, 0) and (1, 1) on the other, so a network without a non-linearity (which
computes one affine map, whatever its depth) gets at most 3 of 4 right. The
ReLU network bends the boundary and gets all 4.
"""

from dataclasses import dataclass, field

import numpy as np

from . import functional as F
from . import optim
from .loss import BCEWithLogitsLoss
from .nets import MLP, Net
from .training import fit

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_LR",
    "DEFAULT_SEED",
    "GATES",
    "INPUTS",
    "GateResult",
    "describe_network",
    "gate_data",
    "gate_network",
    "train_gate",
]

INPUTS = ((0, 0), (0, 1), (1, 0), (1, 1))
GATES = {"or": (0, 1, 1, 1), "and": (0, 0, 0, 1), "nand": (1, 1, 1, 0), "xor": (0, 1, 1, 0)}

#: With these, the scratch backend learns all four gates (tests/test_gates.py checks it).
DEFAULT_SEED = 0
DEFAULT_EPOCHS = 300
DEFAULT_LR = 0.05


def gate_data(gate, dtype=np.float32):
    """The four examples of ``gate``: inputs ``(4, 2)`` and targets ``(4, 1)``, in ``dtype``."""
    if gate not in GATES:
        raise ValueError(f"gate must be one of {', '.join(GATES)}; got {gate!r}")
    return np.array(INPUTS, dtype=dtype), np.array(GATES[gate], dtype=dtype).reshape(4, 1)


@dataclass
class GateResult:
    """What training a gate gave: the losses, and the network's logits on the four inputs after training."""

    gate: str
    backend: str
    network: str
    seed: int
    losses: list
    logits: np.ndarray
    net: object = field(repr=False)

    @property
    def probabilities(self):
        """``sigmoid(logits)``: the network's probability that the gate is true."""
        return F.sigmoid(np.asarray(self.logits, dtype=np.float64))

    @property
    def predictions(self):
        """The network's answers: 1 where the logit is positive, 0 where not, -1 (no answer) where it is NaN."""
        logits = np.asarray(self.logits)
        return np.where(np.isnan(logits), -1, logits > 0).astype(int)

    @property
    def diverged(self):
        """How the training diverged, in words (the loss became NaN or infinite, or ended above where it started),
        or None."""
        first = next((epoch for epoch, loss in enumerate(self.losses, 1) if not np.isfinite(loss)), None)
        if first is not None:
            return f"the loss is {self.losses[first - 1]} from epoch {first}"
        if len(self.losses) > 1 and self.losses[-1] > self.losses[0]:
            return f"the loss rose from {self.losses[0]:.4g} to {self.losses[-1]:.4g}"
        return None

    @property
    def accuracy(self):
        """The fraction of the four examples answered right."""
        return float(np.mean(self.predictions.ravel() == np.array(GATES[self.gate])))

    def truth_table(self):
        """The truth table with the network's probability and answer on each row."""
        lines = [f"{'x1':>3} {'x2':>3} {self.gate.upper():>5} {'p(true)':>9} {'answer':>7}"]
        for (a, b), want, p, answer in zip(
            INPUTS, GATES[self.gate], self.probabilities.ravel(), self.predictions.ravel()
        ):
            mark = "" if answer == want else "  <- no answer (NaN)" if answer < 0 else "  <- wrong"
            lines.append(f"{a:>3} {b:>3} {want:>5} {p:>9.4f} {'?' if answer < 0 else answer:>7}{mark}")
        lines.append(f"accuracy: {self.accuracy:.0%} ({int(round(self.accuracy * 4))} of 4)")
        if self.diverged is not None:
            lines.append(f"the training diverged: {self.diverged} (the learning rate is too large: try a smaller --lr)")
        return "\n".join(lines)


def gate_network(sizes=None, activation="relu", *, dtype=np.float32, seed=DEFAULT_SEED):
    """The network the gates train: the article's ``Net`` (``sizes=None`` with ReLU), else an ``MLP``."""
    if sizes is None and activation == "relu":
        return Net(dtype=dtype, rng=seed)
    return MLP(sizes or (2, 4, 4, 1), activation, dtype=dtype, rng=seed)


def describe_network(net):
    """``"the article's Net"`` or ``"MLP 2,8,1 (tanh)"``: how the command lines name the network they train."""
    if isinstance(net, Net):
        return "the article's Net"
    architecture = net.architecture
    activation = architecture.hidden_activation if len(architecture.layers) > 1 else "no hidden layer"
    return f"MLP {','.join(map(str, architecture.sizes))} ({activation})"


def train_gate(
    gate,
    *,
    sizes=None,
    activation="relu",
    epochs=DEFAULT_EPOCHS,
    lr=DEFAULT_LR,
    seed=DEFAULT_SEED,
    dtype=np.float32,
    on_epoch=None,
):
    """Train a network by hand on ``gate`` and return a ``GateResult``.

    (``python -m compare train`` trains its torch twin beside it, from the same start.)

    Args:
        gate: ``"or"``, ``"and"``, ``"nand"`` or ``"xor"``.
        sizes: widths of an MLP; None with ``activation="relu"`` is the article's ``Net``.
        activation: ``"relu"``, ``"sigmoid"``, ``"tanh"`` or ``"identity"`` (a linear network).
        epochs, lr: full-batch Adam steps and their learning rate.
        seed: seeds the initial weights.
        dtype: float32 or float64.
        on_epoch: called as ``on_epoch(epoch, loss)`` after every step.
    """
    x, target = gate_data(gate, dtype)
    net = gate_network(sizes, activation, dtype=dtype, seed=seed)
    with np.errstate(all="ignore"):  # a training that diverges to NaN is said in words (GateResult.diverged)
        optimizer = optim.Adam(net.parameters(), lr=lr)
        losses = fit(net, BCEWithLogitsLoss(), optimizer, x, target, epochs, on_epoch=on_epoch)
        return GateResult(gate, "scratch", describe_network(net), seed, losses, net(x), net)
