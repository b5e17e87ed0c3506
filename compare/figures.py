"""The figure that needs both frameworks: a network learning a gate, by hand and in torch from the same start.

``python -m compare figures`` draws it with the four of ``scratchnet.figures``.
As there, ``training_data`` computes what the figure shows (a ``Training`` the
tests check) and ``training_figure`` draws it into a ``Figure``.
"""

from dataclasses import dataclass, field

import numpy as np

from scratchnet import optim
from scratchnet.figures import (
    COLOURS,
    Boundary,
    Drawing,
    boundary_legend_handles,
    boundary_of,
    draw_boundary,
    new_figure,
    probability_colourbar,
    styled,
)
from scratchnet.figures import FIGURES as SCRATCH_FIGURES
from scratchnet.gates import DEFAULT_LR, gate_data
from scratchnet.loss import BCEWithLogitsLoss
from scratchnet.nets import Net
from scratchnet.training import fit

from .training import compare_training
from .weights import twin

__all__ = ["FIGURES", "Snapshot", "Training", "training_data", "training_figure"]

#: The epochs whose boundary the figure shows (those up to the number of steps, and the last).
EPOCHS = (0, 10, 50)


@dataclass(frozen=True)
class Snapshot:
    """The network after ``epoch`` full-batch steps: its loss and accuracy on the gate, and its ``Boundary``."""

    epoch: int
    loss: float
    accuracy: float
    boundary: Boundary
    answers: tuple[float, ...]  # p for each of the gate's four inputs


@dataclass(frozen=True)
class Training:
    """The article's ``Net`` learning a gate: snapshots of what it answers, then both frameworks step by step.

    ``snapshots`` come from training by hand with the snapshots taken along
    the way; ``same_path`` says that this run ended on exactly the weights
    that ``compare_training`` trained, so both halves of the figure show one
    and the same training. ``loss_scratch``, ``loss_torch`` and
    ``weight_difference`` are per step, from ``compare_training``.
    """

    gate: str
    seed: int
    steps: int
    lr: float
    snapshots: tuple[Snapshot, ...]
    loss_scratch: tuple[float, ...] = field(repr=False)
    loss_torch: tuple[float, ...] = field(repr=False)
    weight_difference: tuple[float, ...] = field(repr=False)
    within_budget: bool
    same_path: bool
    x: np.ndarray = field(repr=False, compare=False)
    target: np.ndarray = field(repr=False, compare=False)

    @property
    def final_loss(self):
        return self.loss_scratch[-1]

    @property
    def max_weight_difference(self):
        return max(self.weight_difference)

    def summary(self):
        first, last = self.snapshots[0], self.snapshots[-1]
        return (
            f"{self.steps} steps, accuracy {first.accuracy:.0%} at epoch 0 and {last.accuracy:.0%} at epoch "
            f"{last.epoch}, final loss {self.final_loss:.4f}, weights apart by at most "
            f"{self.max_weight_difference:.1e}"
        )


def _state(net):
    return [p.data.copy() for p in net.parameters()]


def training_data(*, gate="xor", steps=300, seed=0, lr=DEFAULT_LR):
    """Train the article's ``Net`` on ``gate`` with Adam, by hand (snapshots) and in both frameworks (agreement)."""
    x, target = gate_data(gate)
    epochs = sorted({epoch for epoch in EPOCHS if epoch < steps} | {steps})
    criterion = BCEWithLogitsLoss()
    watched = Net(rng=seed)
    snapshots = []

    def snapshot(epoch, _loss=None):
        if epoch in epochs:
            logit = watched(x)
            answers = tuple(float(p) for p in 1 / (1 + np.exp(-logit.astype(np.float64).ravel())))
            snapshots.append(
                Snapshot(
                    epoch,
                    float(criterion(logit, target)),
                    float(np.mean((logit > 0) == (target > 0.5))),
                    boundary_of(watched, (-0.5, -0.5), (1.5, 1.5), n=120),
                    answers,
                )
            )

    snapshot(0)
    fit(watched, criterion, optim.Adam(watched.parameters(), lr=lr), x, target, steps, on_epoch=snapshot)
    net = Net(rng=seed)
    report = compare_training(net, twin(net), x, target, optimizer="adam", lr=lr, steps=steps)
    same_path = all(np.array_equal(a, b) for a, b in zip(_state(watched), _state(net)))
    return Training(
        gate,
        int(seed),
        steps,
        lr,
        tuple(snapshots),
        tuple(s.loss_scratch for s in report.steps),
        tuple(s.loss_torch for s in report.steps),
        tuple(s.max_abs_diff for s in report.steps),
        report.passed,
        same_path,
        x,
        target,
    )


def training_figure(data=None, *, seed=None):
    """Top: the boundary after a few epochs. Bottom: both frameworks' loss curves and their weight difference.

    ``data`` is what ``training_data`` returns; without it the network is
    trained now, from ``seed`` (default 0).
    """
    if data is not None and seed is not None:
        raise ValueError("training_figure() takes data or a seed to train from, not both")
    data = training_data(seed=seed or 0) if data is None else data
    return styled(lambda: _training(data))


def _training(data):
    figure = new_figure(figsize=(12, 9.5))
    top, bottom = figure.subfigures(2, 1, height_ratios=[1.0, 1.05])
    axes = top.subplots(1, len(data.snapshots), sharey=True)
    image = None
    for axis, snap in zip(axes, data.snapshots):
        image = draw_boundary(axis, snap.boundary, data.x, data.target, size=70)
        right = round(snap.accuracy * len(data.target))
        axis.set_title(
            f"epoch {snap.epoch}\n{right}/{len(data.target)} right, loss {snap.loss:.3f}\n{snap.boundary.shape}"
        )
        axis.set_xticks([0, 1])
        axis.set_yticks([0, 1])
        axis.set_xlabel("x1")
        axis.set_aspect("equal")
    axes[0].set_ylabel("x2")
    probability_colourbar(top, image, axes, shrink=0.85, aspect=20)
    top.suptitle(
        f"The article's Net learning {data.gate.upper()} (Adam, lr {data.lr:g}, seed {data.seed}): "
        "what it answers after each epoch"
    )
    handles, labels = boundary_legend_handles()
    top.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)

    axis = bottom.subplots()
    step = np.arange(1, data.steps + 1)
    axis.plot(step, data.loss_scratch, color=COLOURS["scratchnet"], linewidth=4, label="loss, scratchnet (by hand)")
    axis.plot(step, data.loss_torch, "--", color=COLOURS["torch"], linewidth=1.5, label="loss, torch (autograd)")
    axis.set_yscale("log")
    axis.set_xlabel("training step = epoch (full batch: the four inputs)")
    axis.set_ylabel("binary cross-entropy")
    for snap in data.snapshots[1:]:
        axis.axvline(snap.epoch, color="grey", linewidth=0.6, linestyle=":")
    twin_axis = axis.twinx()
    difference = COLOURS["weight difference"]
    twin_axis.plot(
        step,
        np.maximum(data.weight_difference, 1e-12),
        color=difference,
        linewidth=1,
        label="max |w_scratch - w_torch|",
    )
    twin_axis.set_yscale("log")
    twin_axis.set_ylabel("largest weight difference", color=difference)
    lines = axis.get_legend_handles_labels()
    more = twin_axis.get_legend_handles_labels()
    axis.legend(lines[0] + more[0], lines[1] + more[1], loc="center right")
    axis.set_title(
        "The same training in both frameworks, from the same start: the loss curves lie on each other,\n"
        f"and the weights differ by float32 rounding (at most {data.max_weight_difference:.1e}; dotted: the "
        "epochs above)"
    )
    return figure


#: Every figure ``python -m compare figures`` draws: the NumPy-only four, and training in both frameworks.
FIGURES = {**SCRATCH_FIGURES, "training": Drawing(training_data, training_figure, seeded=True)}
