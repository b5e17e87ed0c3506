r"""Train a scratchnet network and its torch twin side by side, and watch whether their weights drift apart.

Both start from the same weights and take the same steps (same data, loss,
optimizer and options). After every step each weight is compared with its
twin against a *budget*, the accumulated bound of what rounding alone can
explain:

- the gradients of that step differ by at most ``B`` (the derived bound of
  ``compare.tolerance.backward_bounds``, for both implementations, with the
  loss's own ``dL/dy`` error);
- the optimizer turns a gradient error ``e_g`` into an update error through
  its arithmetic, carried in its state (momentum buffer; Adam's moments):

      SGD:   e_buf = momentum e_buf + (1 - dampening) e_g;  e_update = lr (e_g + momentum e_buf | e_buf)
      Adam:  e_m = beta1 e_m + (1 - beta1) e_g;  e_v = beta2 e_v + (1 - beta2)(2|g| + e_g) e_g
             e_update = step_size (e_m / denom + |m| e_sqrt(v) / denom^2),  denom = sqrt(v_hat) + eps

  plus a few roundings of each operation;
- coupled weight decay adds ``weight_decay * D`` to ``e_g`` (``D``: the
  budget so far), decoupled decay scales ``D`` by ``1 - lr wd``.

The budget ``D`` adds each step's update error. It is first order: it does
not include how the loss's curvature amplifies an earlier difference through
later gradients. Over long runs with large steps that growth can exceed it;
the report then shows at which step and in which tensor.
"""

from dataclasses import dataclass

import numpy as np
import torch

import scratchnet
from scratchnet import optim as scratch_optim
from scratchnet.checks import check_count
from scratchnet.training import train_step as scratch_step
from torchnet.training import train_step as torch_step

from .forward import check_flatten, check_input, check_pair, check_trainable, describe, torch_unit_roundoff
from .tolerance import backward_bounds, forward_trace, linear_chain, loss_gradient_and_errors, unit_roundoff
from .weights import architecture_of, numpy_state

__all__ = ["StepComparison", "TrainingReport", "compare_training"]

_LOSSES = {
    "mse": (scratchnet.MSELoss, torch.nn.MSELoss),
    "bce": (scratchnet.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss),
}
_OPTIMIZERS = {"sgd": (scratch_optim.SGD, torch.optim.SGD), "adam": (scratch_optim.Adam, torch.optim.Adam)}


@dataclass(frozen=True)
class StepComparison:
    """After one step: both losses, the weights' largest difference, and the largest ``|dw| / budget`` (where)."""

    step: int
    loss_scratch: float
    loss_torch: float
    max_abs_diff: float
    max_rel_diff: float
    ratio: float
    worst_tensor: str
    non_finite: int = 0  # weights NaN or infinite on both sides: equal as values, but they prove nothing

    @property
    def passed(self):
        return self.ratio <= 1


@dataclass(frozen=True)
class TrainingReport:
    """Every step's comparison; ``str(report)`` shows a selection and where the drift was largest."""

    title: str
    steps: tuple

    @property
    def passed(self):
        return all(step.passed for step in self.steps)

    @property
    def worst(self):
        return max(self.steps, key=lambda s: s.ratio)

    def __str__(self):
        shown = sorted(
            {1, 2, 5, *range(10, len(self.steps) + 1, max(len(self.steps) // 10, 1)), len(self.steps), self.worst.step}
        )
        lines = [
            self.title,
            f"  {'step':>5} {'loss scratch':>14} {'loss torch':>14} {'max |dw|':>10} {'max rel':>10} "
            f"{'|dw|/budget':>11}  worst tensor",
        ]
        for number in shown:
            if 1 <= number <= len(self.steps):
                s = self.steps[number - 1]
                lines.append(
                    f"  {s.step:>5} {s.loss_scratch:>14.8g} {s.loss_torch:>14.8g} {s.max_abs_diff:>10.3g} "
                    f"{s.max_rel_diff:>10.3g} {s.ratio:>11.3g}  {s.worst_tensor}"
                )
        worst = self.worst
        lines.append(
            f"largest drift relative to its budget: step {worst.step}, {worst.worst_tensor} ({worst.ratio:.3g} of it)"
        )
        lines.append(self.verdict)
        return "\n".join(lines)

    @property
    def verdict(self):
        """One line: PASS, or FAIL with the first step where the weights left the budget."""
        failed = [s.step for s in self.steps if not s.passed]
        if not failed:
            verdict = "verdict: PASS, the weights stayed within the rounding budget at every step"
            diverged = next((s for s in self.steps if s.non_finite), None)
            if diverged is not None:
                verdict += (
                    f"\n  but from step {diverged.step} on, {diverged.non_finite} weights are NaN or infinite on both "
                    "sides: equal, but not numbers, so they prove nothing (the training diverged: a smaller "
                    "learning rate?)"
                )
            return verdict
        return f"verdict: FAIL, the weights left the budget at step {failed[0]} ({len(failed)} steps in all)"


class _OptimizerErrors:
    """Carries the optimizer's state errors from step to step (see the module docstring)."""

    def __init__(self, kind, options):
        self.kind, self.options, self.state = kind, options, {}

    def update_error(self, name, e_g, grad, weight, optimizer_state, u):
        o, s = self.options, self.state.setdefault(name, {})
        if self.kind == "sgd":
            momentum, dampening = o.get("momentum", 0), o.get("dampening", 0)
            effective = e_g
            if momentum:
                s["buf"] = e_g if "buf" not in s else momentum * s["buf"] + (1 - dampening) * e_g
                s["buf"] = s["buf"] + 2 * 2 * u * np.abs(optimizer_state["momentum_buffer"])
                effective = e_g + momentum * s["buf"] if o.get("nesterov") else s["buf"]
            return o.get("lr", 1e-3) * effective
        beta1, beta2 = o.get("betas", (0.9, 0.999))
        eps, lr, t = o.get("eps", 1e-8), o.get("lr", 1e-3), optimizer_state["step"]
        m, v = optimizer_state["exp_avg"], optimizer_state.get("max_exp_avg_sq", optimizer_state["exp_avg_sq"])
        s["m"] = beta1 * s.get("m", 0) + (1 - beta1) * e_g + 2 * 2 * u * np.abs(m)
        s["v"] = beta2 * s.get("v", 0) + (1 - beta2) * (2 * np.abs(grad) + e_g) * e_g + 2 * 3 * u * v
        bias2 = 1 - beta2**t
        denom = np.sqrt(v / bias2) + eps
        with np.errstate(divide="ignore", invalid="ignore"):
            e_sqrt = np.minimum(np.where(v > 0, s["v"] / (2 * np.sqrt(v)), np.inf), np.sqrt(s["v"])) / np.sqrt(bias2)
        step_size = lr / (1 - beta1**t)
        update = step_size * np.abs(m) / denom
        return step_size * (s["m"] / denom + np.abs(m) * e_sqrt / denom**2) + 2 * 4 * u * update


def compare_training(
    scratch_net, torch_net, x, target, *, loss="bce", optimizer="sgd", steps=100, reduction="mean", **options
):
    """Train both networks for ``steps`` full-batch steps and compare their weights after each.

    Args:
        scratch_net, torch_net: twins holding the same weights (``compare.twin``); both are trained.
        x, target: the data, e.g. ``scratchnet.gates.gate_data("xor")``.
        loss: ``"bce"`` (``BCEWithLogitsLoss``) or ``"mse"``; ``reduction`` ``"mean"`` or ``"sum"``.
        optimizer: ``"sgd"`` or ``"adam"``; ``options`` go to both (``lr``, ``momentum``, ``betas``, ...).
        steps: how many steps.

    Returns:
        A ``TrainingReport``.
    """
    dtype, device = check_pair(scratch_net, torch_net, "compare_training")
    check_trainable(torch_net, "compare_training")
    if loss not in _LOSSES or optimizer not in _OPTIMIZERS:
        raise ValueError(
            f"loss must be one of {sorted(_LOSSES)} and optimizer one of {sorted(_OPTIMIZERS)}; "
            f"got {loss!r}, {optimizer!r}"
        )
    mine, theirs = numpy_state(scratch_net), numpy_state(torch_net)
    if any(not np.array_equal(mine[name], theirs[name]) for name in mine):
        raise ValueError("compare_training needs both networks to start from the same weights: copy_weights first")
    steps = check_count(steps, "steps", minimum=1)  # zero steps would compare nothing and pass
    sizes = architecture_of(torch_net).sizes
    x = check_input(x, dtype, sizes[0], "compare_training()")
    check_flatten(torch_net, x, "compare_training()")
    target = check_input(target, dtype, None, "compare_training()", "target")
    if target.shape != x.shape[:-1] + (sizes[-1],):
        raise ValueError(
            f"compare_training(): target must have shape {x.shape[:-1] + (sizes[-1],)}, got {target.shape}"
        )
    x_t, target_t = torch.tensor(x, device=device), torch.tensor(target, device=device)
    scratch_loss, torch_loss = (cls(reduction=reduction) for cls in _LOSSES[loss])
    scratch_opt = _OPTIMIZERS[optimizer][0](scratch_net.parameters(), **options)
    torch_opt = _OPTIMIZERS[optimizer][1](torch_net.parameters(), **options)
    names = [name for name, _ in scratch_net.named_parameters()]
    u_s, u_t = unit_roundoff(dtype), torch_unit_roundoff(torch_net, dtype)
    u = max(u_s, u_t)
    budget = {name: np.zeros_like(value, dtype=np.float64) for name, value in mine.items()}
    errors = _OptimizerErrors(optimizer, options)
    weight_decay, decoupled = options.get("weight_decay", 0), options.get("decoupled_weight_decay", False)
    records = []
    with np.errstate(all="ignore"):  # overflow and NaN are judged step by step, not warned about
        for number in range(1, steps + 1):
            chain = linear_chain(scratch_net)
            trace = forward_trace(chain, x, [u_s, u_t])
            upstream, upstream_errors = loss_gradient_and_errors(
                loss, trace[-1].h_out, trace[-1].e_out, target, reduction, [u_s, u_t]
            )
            _, (b_s, b_t) = backward_bounds(chain, trace, upstream, upstream_errors, [u_s, u_t])

            loss_s = scratch_step(scratch_net, scratch_loss, scratch_opt, x, target)
            loss_t = torch_step(torch_net, torch_loss, torch_opt, x_t, target_t)

            params = dict(scratch_net.named_parameters())
            for index, name in enumerate(names):
                e_g = b_s[name] + b_t[name] + (weight_decay * budget[name] if weight_decay and not decoupled else 0)
                if weight_decay and decoupled:
                    budget[name] = budget[name] * (1 - options.get("lr", 1e-3) * weight_decay)
                e_update = errors.update_error(
                    name, e_g, params[name].grad, params[name].data, scratch_opt.state[index], u
                )
                budget[name] = budget[name] + e_update + 2 * 2 * u * np.abs(params[name].data)
            records.append(
                _step_comparison(number, loss_s, loss_t, numpy_state(scratch_net), numpy_state(torch_net), budget)
            )
    options_text = ", ".join(f"{k}={v}" for k, v in options.items())
    title = (
        f"training: {describe(scratch_net)}, {dtype}, {loss} loss ({reduction}), {optimizer}({options_text}), "
        f"{steps} steps on {x.shape[0]} samples, torch on {device}"
    )
    return TrainingReport(title, tuple(records))


def _step_comparison(number, loss_s, loss_t, mine, theirs, budget):
    worst_name, worst_ratio, max_abs, max_rel, non_finite = "", 0.0, 0.0, 0.0, 0
    with np.errstate(all="ignore"):
        for name in mine:
            a, b = mine[name].astype(np.float64), theirs[name].astype(np.float64)
            same = (a == b) | (np.isnan(a) & np.isnan(b))  # equal, or NaN on both sides
            non_finite += int(np.count_nonzero(same & ~np.isfinite(a)))
            diff = np.where(same, 0.0, np.nan_to_num(np.abs(a - b), nan=np.inf))  # NaN on one side: infinitely apart
            # a budget that is infinite or NaN allows everything and proves nothing: a difference there fails
            ratio = np.where(
                diff == 0,
                0.0,
                np.where(np.isfinite(budget[name]), np.nan_to_num(diff / budget[name], nan=np.inf), np.inf),
            )
            rel = np.where(diff == 0, 0.0, diff / np.abs(b))
            if ratio.size and ratio.max() >= worst_ratio:
                worst_name, worst_ratio = name, float(ratio.max())
            max_abs = max(max_abs, float(diff.max(initial=0)))
            max_rel = max(max_rel, float(rel.max(initial=0)))
    return StepComparison(number, loss_s, loss_t, max_abs, max_rel, worst_ratio, worst_name, non_finite)
