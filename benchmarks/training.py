"""The training workload: one full step (forward, loss, backward, optimizer step), scratchnet against torch.

- ``scratchnet-train``: ``scratchnet.training.train_step`` with ``scratchnet.optim.Adam``;
- ``torch-adam``: ``torchnet.training.train_step`` (``loss.backward(); opt.step()``) with
  ``torch.optim.Adam`` as it comes (on the CPU its default is the for-loop over parameters);
- ``torch-adam-foreach``, ``torch-adam-fused``: the same with ``foreach=True``, ``fused=True``.

Adam with ``lr=0.05``; ``BCEWithLogitsLoss`` for a net with one output,
``MSELoss`` otherwise. The data are fixed per (seed, batch): ``x`` standard
normal, targets 0 or 1 (BCE) or standard normal (MSE).

Before anything is timed, one step of each torch variant is compared with one
step of scratchnet by ``compare.compare_training(steps=1)``, within its
derived budget (both start from the same weights). A torch variant that
disagrees while another agrees computes something else: it is reported
``wrong`` and not timed. When scratchnet disagrees with every variant, it is
scratchnet that is ``wrong``, and nothing of that workload is timed.

Every timed call takes a step and moves the weights. ``reset()`` copies the
starting weights back and starts a fresh optimizer (its state empty), so
each measurement starts from the same place; the warm-up takes Adam's first
step, which allocates its state.
"""

from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from unittest import mock

import numpy as np
import torch

import compare.training as compare_training_module
import scratchnet
from compare import compare_training, to_torch
from scratchnet import optim as scratch_optim
from scratchnet.training import train_step as scratch_step
from torchnet.training import train_step as torch_step

__all__ = ["LR", "TRAINING_BACKENDS", "TrainingBackends", "TrainingPrepared"]

#: Adam's learning rate in every training measurement.
LR = 0.05

#: Each training backend: its framework and the optimizer it builds (called as ``factory(params, lr=LR)``).
TRAINING_BACKENDS = {
    "scratchnet-train": ("scratchnet", scratch_optim.Adam),
    "torch-adam": ("torch", torch.optim.Adam),
    "torch-adam-foreach": ("torch", partial(torch.optim.Adam, foreach=True)),
    "torch-adam-fused": ("torch", partial(torch.optim.Adam, fused=True)),
}

_DETAILS = {
    "scratchnet-train": "scratchnet.training.train_step, scratchnet.optim.Adam",
    "torch-adam": "loss.backward(); opt.step(), torch.optim.Adam (default: for-loop)",
    "torch-adam-foreach": "loss.backward(); opt.step(), torch.optim.Adam(foreach=True)",
    "torch-adam-fused": "loss.backward(); opt.step(), torch.optim.Adam(fused=True)",
}

#: What torch may raise when a variant is not supported here (fused Adam for a dtype or device).
_UNSUPPORTED = (RuntimeError, ValueError, TypeError, NotImplementedError)


@dataclass
class TrainingPrepared:
    """A ready training step: ``reset()`` puts the starting weights back and a fresh optimizer; ``fn()`` steps."""

    fn: object
    reset: object
    context: object = nullcontext
    detail: str = ""


@dataclass(frozen=True)
class TrainingCheck:
    """What the check says of one backend: ``status`` ``ok``, ``wrong``, ``unavailable`` or ``unchecked``."""

    status: str
    detail: str = ""
    ratio: float | None = None


class TrainingBackends:
    """The training step of each backend for one workload and dtype, all from the same starting weights."""

    def __init__(self, workload, dtype, seed):
        self.workload, self.dtype = workload, np.dtype(dtype)
        start = scratchnet.build(workload.architecture, dtype=self.dtype, rng=seed)
        self.initial = {name: value.copy() for name, value in start.state_dict().items()}
        self.loss = "bce" if workload.sizes[-1] == 1 else "mse"
        self.seed = seed
        self._checks = {}

    def data(self, batch):
        """``(x, target)`` for ``batch`` samples, the same for every backend and every call."""
        rng = np.random.default_rng([self.seed, batch, 1])
        x = rng.standard_normal((batch, self.workload.sizes[0])).astype(self.dtype)
        shape = (batch, self.workload.sizes[-1])
        target = rng.integers(0, 2, shape) if self.loss == "bce" else rng.standard_normal(shape)
        return x, target.astype(self.dtype)

    def _scratch(self):
        net = scratchnet.build(self.workload.architecture, dtype=self.dtype, rng=0)
        net.load_state_dict(self.initial)
        return net

    def _criteria(self):
        if self.loss == "bce":
            return scratchnet.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()
        return scratchnet.MSELoss(), torch.nn.MSELoss()

    def check(self, batch, x, target):
        """``{backend: TrainingCheck}``: one step of each torch variant against one of scratchnet (see above)."""
        if batch in self._checks:
            return self._checks[batch]
        scratch_factory = TRAINING_BACKENDS["scratchnet-train"][1]
        verdicts = {}
        for name, (framework, factory) in TRAINING_BACKENDS.items():
            if framework != "torch":
                continue
            scratch = self._scratch()
            twin = to_torch(scratch).train()
            try:
                with mock.patch.dict(compare_training_module._OPTIMIZERS, {"adam": (scratch_factory, factory)}):
                    report = compare_training(
                        scratch, twin, x, target, loss=self.loss, optimizer="adam", steps=1, lr=LR
                    )
            except _UNSUPPORTED as error:
                first = str(error).splitlines()[0][:200] if str(error) else ""
                verdicts[name] = TrainingCheck("unavailable", f"{type(error).__name__}: {first}")
                continue
            step = report.steps[0]
            detail = f"one step against scratchnet's: max |dw| {step.max_abs_diff:.3g}, {step.ratio:.3g} of the budget"
            verdicts[name] = TrainingCheck("ok" if report.passed else "wrong", detail, step.ratio)
        agreeing = [name for name, v in verdicts.items() if v.status == "ok"]
        disagreeing = [name for name, v in verdicts.items() if v.status == "wrong"]
        if agreeing or not disagreeing:
            ratio = min((verdicts[name].ratio for name in agreeing), default=None)
            verdicts["scratchnet-train"] = (
                TrainingCheck("ok", f"agrees with {', '.join(agreeing)}", ratio)
                if agreeing
                else TrainingCheck("unchecked", "no torch variant ran here to check it against")
            )
            for name in disagreeing:
                v = verdicts[name]
                verdicts[name] = TrainingCheck("wrong", f"computes something else: {v.detail}", v.ratio)
        else:  # scratchnet disagrees with every torch variant: scratchnet is the one computing something else
            worst = max(verdicts[name].ratio for name in disagreeing)
            verdicts["scratchnet-train"] = TrainingCheck(
                "wrong",
                f"computes something else: one step disagrees with every torch variant ({worst:.3g} of the budget)",
            )
            for name in disagreeing:
                verdicts[name] = TrainingCheck("unchecked", "scratchnet-train, its witness, is wrong: not checked")
        self._checks[batch] = verdicts
        return verdicts

    def prepare(self, backend, x, target):
        """A ``TrainingPrepared`` step of ``backend`` on ``(x, target)``, reset to the starting weights."""
        framework, factory = TRAINING_BACKENDS[backend]
        scratch_loss, torch_loss = self._criteria()
        holder = {}
        if framework == "scratchnet":
            net = self._scratch()

            def reset():
                net.load_state_dict(self.initial)
                holder["optimizer"] = factory(net.parameters(), lr=LR)

            def step():
                return scratch_step(net, scratch_loss, holder["optimizer"], x, target)

        else:
            twin = to_torch(self._scratch()).train()
            x_t, target_t = torch.from_numpy(x), torch.from_numpy(target)
            initial = {name: torch.from_numpy(value) for name, value in self.initial.items()}

            def reset():
                with torch.no_grad():
                    for name, param in twin.named_parameters():
                        param.copy_(initial[name])
                holder["optimizer"] = factory(twin.parameters(), lr=LR)

            def step():
                return torch_step(twin, torch_loss, holder["optimizer"], x_t, target_t)

        reset()
        return TrainingPrepared(step, reset, nullcontext, _DETAILS.get(backend, ""))
