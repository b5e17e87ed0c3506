"""What the playground computes, panel by panel, as plain functions (the notebook only lays them out and draws).

Everything here is the project's own code: the hand-written networks compute,
``torchnet`` twins compute the same thing alongside, and ``compare`` says how
far apart they are.

- ``neuron``: one neuron of the article's bag example, written out with its numbers.
- ``decision_line``: a 2-input neuron's line ``w1 x1 + w2 x2 + b = 0``, as slope and intercept.
- ``forward_steps``: the article's Net layer by layer, ``z = x @ W.T + b`` and ``h`` after ReLU.
- ``activation_curve``: an activation and its derivative, from its forward and its backward.
- ``TwinTraining``: a network and its torch twin trained side by side from the same start.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import torch

import scratchnet
import torchnet
from scratchnet import BCEWithLogitsLoss, optim
from scratchnet import functional as F
from scratchnet.activation import make_activation
from scratchnet.datasets import circles, two_moons
from scratchnet.figures import BAG_FEATURES, BAG_WEIGHTS
from scratchnet.gates import GATES, gate_data
from scratchnet.training import train_step
from torchnet.training import train_step as torch_train_step

from .weights import twin

__all__ = [
    "BAG_FEATURES",
    "DATASETS",
    "NeuronResult",
    "TwinTraining",
    "activation_curve",
    "decision_line",
    "forward_steps",
    "neuron",
    "neuron_outputs",
]

#: The playground's datasets: the article's logic gates and two that no line separates.
DATASETS = ("or", "and", "xor", "two moons", "circles")


@dataclass(frozen=True)
class NeuronResult:
    """One neuron's forward pass: the weighted sum ``z``, the output, and torch's output for the same numbers."""

    inputs: tuple
    weights: tuple
    bias: float
    activation: str
    z: float
    output: float
    torch_output: float

    @property
    def sum_written_out(self):
        """``5×0.60 + 5×0.50 + 8×0.90 + 5×0.30 - 10 = 4.2000``: the weighted sum as a learner writes it."""
        terms = " + ".join(f"{w:g}×{x:.2f}" for w, x in zip(self.weights, self.inputs))
        sign = "-" if self.bias < 0 else "+"
        return f"{terms} {sign} {abs(self.bias):g} = {self.z:.4f}"


def neuron(inputs, weights=BAG_WEIGHTS, bias=-10.0, activation="sigmoid"):
    """One ``scratchnet.Linear(n, 1)`` holding ``weights`` and ``bias``, then ``activation``; torch alongside.

    float64, so that what is shown is the maths, not float32's rounding.
    """
    x = np.asarray(inputs, dtype=np.float64)
    layer = scratchnet.Linear(x.size, 1, dtype=np.float64)
    layer.load_state_dict({"weight": [list(weights)], "bias": [bias]})
    with scratchnet.no_grad():
        z = layer(x)
        output = make_activation(activation)(z)
    torch_layer = twin(layer)
    with torch.no_grad():
        torch_output = torchnet.make_activation(activation)(torch_layer(torch.from_numpy(x))).item()
    return NeuronResult(
        tuple(x.tolist()), tuple(map(float, weights)), float(bias), activation, float(z[0]), float(output[0]),
        torch_output,
    )  # fmt: skip


def neuron_outputs(points, weights, bias, activation="sigmoid"):
    """The same neuron at many points ``(n, len(weights))``: ``activation(points @ W.T + b)``, shape ``(n,)``."""
    layer = scratchnet.Linear(len(weights), 1, dtype=np.float64)
    layer.load_state_dict({"weight": [list(weights)], "bias": [bias]})
    with scratchnet.no_grad():
        return make_activation(activation)(layer(np.asarray(points, dtype=np.float64)))[:, 0]


def decision_line(w1, w2, b):
    """The line ``w1 x1 + w2 x2 + b = 0`` as ``x2 = slope x1 + intercept``; None when ``w2`` is 0 (a vertical
    line, at ``x1 = -b / w1``) or both weights are 0 (no line). The bias moves the line, the weights turn it."""
    if w2 != 0:
        return -w1 / w2, -b / w2
    return None


def forward_steps(x, seed=0):
    """The article's Net (weights drawn from ``seed``) on one input, layer by layer.

    Returns a list of dicts, one per layer: its name, ``W``, ``b``, the input
    ``h_in``, ``z = h_in @ W.T + b`` and ``h`` (after ReLU for fc1 and fc2, ``z``
    itself for fc3), and the torch twin's output at the end as ``"torch"``.
    """
    net = scratchnet.Net(dtype=np.float64, rng=seed)
    h = np.asarray(x, dtype=np.float64).reshape(2)
    steps = []
    with scratchnet.no_grad():
        for layer, activation in zip(net.architecture.layer_names, net.architecture.activations):
            module = net.get_submodule(layer)
            z = module(h)
            out = z if activation is None else make_activation(activation)(z)
            steps.append({"name": layer, "W": module.weight.data, "b": module.bias.data, "h_in": h, "z": z, "h": out})
            h = out
        assert np.array_equal(h, net(np.asarray(x, dtype=np.float64).reshape(2)))  # forward is exactly these steps
    with torch.no_grad():
        torch_out = twin(net)(torch.tensor(np.asarray(x, dtype=np.float64).reshape(2))).numpy()
    return steps, torch_out


def activation_curve(activation, z):
    """``f(z)`` and ``f'(z)`` of an activation, from its module's forward and backward (the code that trains)."""
    z = np.asarray(z, dtype=np.float64)
    module = make_activation(activation)
    values = module(z)
    slopes = module.backward(np.ones_like(z))
    return values, slopes


def dataset(name, dtype=np.float32, seed=0):
    """``(x, target)`` of one of ``DATASETS``: a gate's four corners, or 200 points of two moons or circles."""
    if name in GATES:
        return gate_data(name, dtype)
    if name == "two moons":
        return two_moons(200, rng=seed, dtype=dtype)
    if name == "circles":
        return circles(200, rng=seed, dtype=dtype)
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")


@dataclass
class TwinTraining:
    """A network by hand and its torch twin, trained side by side from the same start (Adam, BCE with logits).

    Args:
        data: one of ``DATASETS``.
        hidden: hidden layer widths; ``(4, 4)`` is the article's Net.
        activation: between the layers; ``"identity"`` makes the network linear.
        lr: Adam's learning rate.
        seed: the initial weights (and the points of two moons and circles).
    """

    data: str = "xor"
    hidden: tuple = (4, 4)
    activation: str = "relu"
    lr: float = 0.05
    seed: int = 0
    losses: list = field(default_factory=list)
    torch_losses: list = field(default_factory=list)
    weight_differences: list = field(default_factory=list)
    step_seconds: float = 0.0

    def __post_init__(self):
        self.x, self.target = dataset(self.data, np.float32, self.seed)
        self.net = scratchnet.MLP((2, *self.hidden, 1), self.activation, rng=self.seed)
        self.torch_net = twin(self.net)
        self.criterion, self.torch_criterion = BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()
        self.optimizer = optim.Adam(self.net.parameters(), lr=self.lr)
        self.torch_optimizer = torch.optim.Adam(self.torch_net.parameters(), lr=self.lr)
        self.torch_x, self.torch_target = torch.from_numpy(self.x), torch.from_numpy(self.target)

    @property
    def epoch(self):
        return len(self.losses)

    def step(self, epochs=1):
        """Train both ``epochs`` full-batch steps; record both losses, the largest weight difference, and in
        ``step_seconds`` how long one step of both took."""
        started = time.perf_counter()
        for _ in range(epochs):
            self.losses.append(train_step(self.net, self.criterion, self.optimizer, self.x, self.target))
            self.torch_losses.append(
                torch_train_step(self.torch_net, self.torch_criterion, self.torch_optimizer, self.torch_x,
                                 self.torch_target)
            )  # fmt: skip
            self.weight_differences.append(self.max_weight_difference())
        self.step_seconds = (time.perf_counter() - started) / max(epochs, 1)
        return self

    def max_weight_difference(self):
        """The largest ``|w_scratchnet - w_torch|`` over every weight and bias."""
        theirs = self.torch_net.state_dict()
        return max(
            float(np.max(np.abs(value - theirs[name].numpy()), initial=0.0))
            for name, value in self.net.state_dict().items()
        )

    def probabilities(self, points):
        """The network's probability of class 1 at ``points`` ``(n, 2)``: sigmoid of ``infer``'s logits."""
        return F.sigmoid(scratchnet.infer(self.net, np.asarray(points, dtype=np.float32)))[..., 0]

    @property
    def accuracy(self):
        """The fraction of the training points answered right (class 1 where the logit is positive)."""
        with scratchnet.no_grad():
            return float(np.mean((self.net(self.x) > 0) == (self.target > 0.5)))

    def dead_units(self):
        """``[(layer, unit), ...]``: hidden ReLU units whose input is <= 0 at every training point (output always 0,
        gradient always 0: nothing can revive them by gradient descent on these points)."""
        if self.activation != "relu":
            return []
        dead, h = [], self.x.astype(np.float64)
        for number, layer in enumerate(self.net.layers[:-1], start=1):
            z = h @ layer.weight.data.T.astype(np.float64) + layer.bias.data
            dead += [(number, unit) for unit in np.flatnonzero(np.all(z <= 0, axis=0))]
            h = np.maximum(z, 0)
        return dead
