r"""Numerical gradient check: ``backward``'s gradients against central differences, in float64.

For a network ``net``, an input ``x`` and an upstream gradient ``g`` (random
unless given, never all ones: ones would hide a transposed gradient), the
scalar ``L = sum(g * net(x))`` has the gradients that ``net.backward(g)``
computes. Each one is estimated independently by central differences::

    D(h) = (L(theta + h) - L(theta - h)) / (2 h),   h = step * max(1, |theta|)

and judged with a tolerance estimated from the computation itself:

- truncation: ``D(h) = L' + c h^2 + O(h^4)``, so ``D(2h) - D(h) ~ 3 c h^2``
  and ``|D(2h) - D(h)| / 3`` estimates ``D(h)``'s truncation error
  (Richardson); it grows by itself where a ReLU kink lies within ``2h``;
- rounding: each ``L`` carries a relative error of about ``K u`` (``K``: the
  longest chain of roundings, the summation lengths of all layers), which
  the difference quotient divides by ``h``: ``K u sum|g||y| / h``.

``step`` defaults to ``u ** (1/3)``, which balances the two for float64.
"""

import copy
from dataclasses import dataclass

import numpy as np

from .autograd import no_grad

__all__ = ["gradcheck", "GradcheckReport", "TensorCheck"]


@dataclass(frozen=True)
class TensorCheck:
    """One tensor's gradient, analytical (backward) against numerical (central differences)."""

    name: str
    checked: int
    size: int
    max_abs_error: float
    max_tolerance: float
    ratio: float
    mismatches: int

    @property
    def passed(self):
        return self.mismatches == 0


@dataclass(frozen=True)
class GradcheckReport:
    """Per tensor: how far ``backward`` is from central differences, and within what tolerance."""

    network: str
    step: float
    checks: tuple

    @property
    def passed(self):
        return all(check.passed for check in self.checks)

    def __str__(self):
        lines = [
            f"gradient check of {self.network}: backward vs central differences (float64, step {self.step:.2g})",
            f"  {'tensor':<14} {'checked':>9} {'max |error|':>12} {'tolerance':>10} {'|err|/tol':>10}  result",
        ]
        for c in self.checks:
            result = "pass" if c.passed else f"FAIL ({c.mismatches} outside)"
            lines.append(
                f"  {c.name:<14} {f'{c.checked}/{c.size}':>9} {c.max_abs_error:>12.3g} "
                f"{c.max_tolerance:>10.3g} {c.ratio:>10.3g}  {result}"
            )
        lines.append("verdict: " + ("PASS" if self.passed else "FAIL"))
        return "\n".join(lines)


def gradcheck(net, x, grad_output=None, *, step=None, max_checks=2000, rng=None):
    """Check ``net.backward`` against central differences, for the input and every parameter.

    Args:
        net: any scratchnet module with a ``backward`` (left untouched: a
            float64 copy is checked).
        x: input of shape ``(*, in_features)``.
        grad_output: upstream gradient ``dL/dy``; default a standard-normal draw.
        step: relative step ``h``; default ``u ** (1/3)`` of float64 (about 6e-6).
        max_checks: at most this many elements per tensor (a random subset of larger tensors).
        rng: a ``numpy.random.Generator`` or a seed, for ``grad_output`` and the subsets.

    Returns:
        A ``GradcheckReport``; ``str(report)`` is a readable table.
    """
    rng = np.random.default_rng(rng)
    net = copy.deepcopy(net).to(np.float64)
    x = np.array(x, dtype=np.float64)
    with no_grad():
        y = np.asarray(net(x))
    g = rng.standard_normal(y.shape) if grad_output is None else np.array(grad_output, dtype=np.float64)
    if g.shape != y.shape:
        raise ValueError(f"grad_output must have the output's shape {y.shape}; got {g.shape}")

    net.zero_grad()
    net(x)
    analytical = {"input": net.backward(g)}
    analytical.update({name: param.grad for name, param in net.named_parameters()})
    values = {"input": x}
    values.update({name: param.data for name, param in net.named_parameters()})

    u = np.finfo(np.float64).eps / 2
    h_rel = step if step is not None else u ** (1 / 3)
    chain_length = sum(p.shape[-1] + 1 for name, p in net.named_parameters() if name.endswith("weight")) + y.size
    with no_grad():
        loss = lambda: float(np.sum(g * net(x)))  # noqa: E731 (reads the arrays as they are now)
        noise = chain_length * u * float(np.sum(np.abs(g * y)) + abs(loss()))
        checks = [
            _check_tensor(name, values[name], analytical[name], loss, h_rel, noise, max_checks, rng) for name in values
        ]
    return GradcheckReport(type(net).__name__, h_rel, tuple(checks))


def _central_difference(flat, i, h, loss):
    """``(L(theta_i + h) - L(theta_i - h)) / 2h``, restoring ``flat[i]`` afterwards."""
    original = flat[i]
    flat[i] = original + h
    up = loss()
    flat[i] = original - h
    down = loss()
    flat[i] = original
    return (up - down) / (2 * h)


def _check_tensor(name, array, analytical, loss, h_rel, noise, max_checks, rng):
    """Perturb elements of ``array`` in place (restoring each) and compare the quotients with ``analytical``."""
    flat = array.reshape(-1)  # a view: writing into it perturbs the network's (copied) array
    indices = np.arange(flat.size)
    if flat.size > max_checks:
        indices = np.sort(rng.choice(flat.size, max_checks, replace=False))
    errors, tolerances = [], []
    for i in indices:
        h = h_rel * max(1.0, abs(flat[i]))
        d1, d2 = _central_difference(flat, i, h, loss), _central_difference(flat, i, 2 * h, loss)
        errors.append(abs(analytical.reshape(-1)[i] - d1))
        tolerances.append(abs(d2 - d1) / 3 + noise / h)
    errors, tolerances = np.array(errors), np.array(tolerances)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(errors == 0, 0.0, errors / tolerances)
    return TensorCheck(
        name,
        checked=len(indices),
        size=flat.size,
        max_abs_error=float(errors.max(initial=0.0)),
        max_tolerance=float(tolerances.max(initial=0.0)),
        ratio=float(ratio.max(initial=0.0)),
        mismatches=int(np.count_nonzero(errors > tolerances)),
    )
