"""The figure that needs both frameworks: learning a gate by hand and in torch, from the same start.

``python -m compare figures`` draws it with the four of ``scratchnet.figures``.
"""

import numpy as np

from scratchnet.figures import FIGURES as SCRATCH_FIGURES
from scratchnet.figures import pyplot, save_figure
from scratchnet.gates import gate_data
from scratchnet.nets import Net

from .training import compare_training
from .weights import twin

__all__ = ["FIGURES", "training_figure"]


def training_figure(path, *, gate="xor", steps=300, seed=0, dpi=100):
    """Loss curves of both frameworks from the same start, and their weight difference per step."""
    plt = pyplot()
    x, target = gate_data(gate)
    net = Net(rng=seed)
    report = compare_training(net, twin(net), x, target, optimizer="adam", lr=0.05, steps=steps)
    step = np.arange(1, steps + 1)
    loss_scratch = [s.loss_scratch for s in report.steps]
    loss_torch = [s.loss_torch for s in report.steps]
    drift = [s.max_abs_diff for s in report.steps]
    figure, axis = plt.subplots(figsize=(10, 5.5))
    axis.plot(step, loss_scratch, color="C0", linewidth=3, label="loss, scratchnet (NumPy, by hand)")
    axis.plot(step, loss_torch, "--", color="C1", linewidth=1.5, label="loss, torch (autograd)")
    axis.set_yscale("log")
    axis.set_xlabel("training step (Adam, lr 0.05, full batch)")
    axis.set_ylabel("binary cross-entropy")
    twin_axis = axis.twinx()
    twin_axis.plot(step, np.maximum(drift, 1e-12), color="C2", linewidth=1, label="max |w_scratch - w_torch|")
    twin_axis.set_yscale("log")
    twin_axis.set_ylabel("largest weight difference", color="C2")
    lines = axis.get_legend_handles_labels()
    more = twin_axis.get_legend_handles_labels()
    axis.legend(lines[0] + more[0], lines[1] + more[1], loc="center right")
    axis.set_title(
        f"Learning {gate.upper()} with the article's Net (float32), both backends from the same start:\n"
        f"the curves lie on each other; the weights differ by float32 rounding "
        f"(at most {max(drift):.1e})"
    )
    figure.tight_layout()
    save_figure(figure, path, dpi)
    return {
        "steps": steps,
        "final_loss": loss_scratch[-1],
        "max_weight_difference": max(drift),
        "within_budget": report.passed,
    }


#: Every figure ``python -m compare figures`` draws: the NumPy-only four, and training in both frameworks.
FIGURES = {**SCRATCH_FIGURES, "training": training_figure}
