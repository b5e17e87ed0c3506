"""Run a scratchnet network and its torch twin on the same input and judge the outputs."""

from dataclasses import dataclass

import numpy as np
import torch

from .tolerance import ACTIVATION_ERRORS, linear_chain, reference_with_bounds, unit_roundoff
from .weights import is_scratch, is_torch

__all__ = ["OutputComparison", "ForwardReport", "compare_forward", "compare_outputs", "torch_unit_roundoff", "describe"]


@dataclass(frozen=True)
class OutputComparison:
    """One output judged against another, elementwise, within a derived tolerance.

    ``ratio`` is the largest ``|diff| / tolerance`` over the elements: at most 1
    passes, and how far below 1 it is shows the margin. NaN agrees with NaN and
    an infinity with the same infinity; any other non-finite value is a mismatch.
    """

    name: str
    max_abs_diff: float
    max_rel_diff: float
    max_tolerance: float
    ratio: float
    mismatches: int
    size: int
    why: str

    @property
    def passed(self):
        return self.mismatches == 0


def compare_outputs(name, mine, theirs, tolerance, why):
    """Judge ``mine`` against ``theirs`` elementwise: pass where ``|mine - theirs| <= tolerance``."""
    mine = np.asarray(mine, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    if mine.shape != theirs.shape:
        size = max(mine.size, theirs.size)
        return OutputComparison(
            name, np.inf, np.inf, np.nan, np.inf, size, size, f"shapes differ: {mine.shape} vs {theirs.shape}"
        )
    tolerance = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), mine.shape)
    with np.errstate(all="ignore"):
        diff = np.abs(mine - theirs)
        diff = np.where(mine == theirs, 0.0, diff)  # equal infinities give inf - inf = nan otherwise
        both_nan = np.isnan(mine) & np.isnan(theirs)
        diff = np.where(both_nan, 0.0, np.where(np.isnan(diff), np.inf, diff))
        agree = (diff == 0) | (diff <= tolerance)  # equal values agree even where the bound is NaN
        rel = np.where(diff == 0, 0.0, diff / np.abs(theirs))
        ratio = np.where(diff == 0, 0.0, diff / tolerance)
    largest = lambda a: float(np.max(a)) if a.size else 0.0  # noqa: E731
    return OutputComparison(
        name,
        max_abs_diff=largest(diff),
        max_rel_diff=largest(np.nan_to_num(rel, nan=np.inf)),
        max_tolerance=largest(np.nan_to_num(tolerance, nan=0.0)),
        ratio=largest(np.nan_to_num(ratio, nan=np.inf)),
        mismatches=int(np.count_nonzero(~agree)),
        size=int(mine.size),
        why=why,
    )


@dataclass(frozen=True)
class ForwardReport:
    """The outcome of ``compare_forward``: the outputs, each comparison, and how the tolerance was derived."""

    network: str
    dtype: str
    device: str
    input_shape: tuple
    outputs: dict
    comparisons: tuple
    rule: str

    @property
    def passed(self):
        return all(c.passed for c in self.comparisons)

    def __str__(self):
        head = f"forward pass: {self.network}, {self.dtype}, input shape {self.input_shape}, torch on {self.device}"
        columns = f"  {'outputs':<32} {'max |diff|':>11} {'max rel':>10} {'tolerance':>10} {'|diff|/tol':>10}  result"
        rows = [
            f"  {c.name:<32} {c.max_abs_diff:>11.3g} {c.max_rel_diff:>10.3g} "
            f"{c.max_tolerance:>10.3g} {c.ratio:>10.3g}  "
            + ("pass" if c.passed else f"FAIL ({c.mismatches} of {c.size} outside)")
            for c in self.comparisons
        ]
        why = [f"  {c.name}: {c.why}" for c in self.comparisons]
        verdict = (
            "verdict: PASS, every output is within its derived tolerance"
            if self.passed
            else "verdict: FAIL, " + ", ".join(c.name for c in self.comparisons if not c.passed) + " outside tolerance"
        )
        return "\n".join([head, columns, *rows, "tolerance:", f"  {self.rule}", *why, verdict])


def torch_unit_roundoff(torch_net, dtype):
    """The unit roundoff of ``torch_net``'s matrix products in ``dtype`` on its device.

    On CUDA, float32 products may run in TF32 (10-bit mantissa, ``u = 2**-11``)
    or bfloat16 (``u = 2**-8``) when torch is allowed to; on the CPU they do not.
    """
    device = next(torch_net.parameters()).device
    u = unit_roundoff(dtype)
    if device.type == "cuda" and np.dtype(dtype) == np.float32:
        precision = torch.get_float32_matmul_precision()
        if precision == "medium":
            u = 2.0**-8
        elif precision == "high" or torch.backends.cuda.matmul.allow_tf32:
            u = 2.0**-11
    return u


def describe(net):
    """A one-line description: ``MLP 2 -> 4 -> 4 -> 1 (relu)``."""
    chain = linear_chain(net)
    sizes = [chain[0].weight.shape[1]] + [layer.weight.shape[0] for layer in chain]
    activation = chain[0].activation if len(chain) > 1 else "no activation"
    return f"{type(net).__name__} {' -> '.join(map(str, sizes))} ({activation})"


def _dtype_of(scratch_net, torch_net):
    scratch_dtypes = {p.dtype for p in scratch_net.parameters()}
    torch_dtypes = {np.dtype(str(p.dtype).removeprefix("torch.")) for p in torch_net.parameters()}
    if len(scratch_dtypes | torch_dtypes) != 1:
        raise ValueError(
            f"compare like with like: scratchnet holds {sorted(map(str, scratch_dtypes))}, "
            f"torch holds {sorted(map(str, torch_dtypes))}; convert one with .to(dtype)"
        )
    return scratch_dtypes.pop()


def compare_forward(scratch_net, torch_net, x):
    """Run both networks on ``x`` and judge their outputs with derived tolerances.

    The two networks must hold the same dtype (float32 or float64). ``x`` is
    converted to that dtype once, and the same values go to both. For float32
    each output is also judged against a float64 reference computed from the
    scratchnet weights; for float64 the two outputs are judged against each
    other. See ``compare.tolerance`` for how each tolerance is derived.

    Args:
        scratch_net: a scratchnet ``Net``, ``MLP`` or ``Linear``.
        torch_net: its torch twin (same weights), on any device.
        x: input of shape ``(*, in_features)``.

    Returns:
        A ``ForwardReport``; ``str(report)`` is a readable table.
    """
    if not is_scratch(scratch_net) or not is_torch(torch_net):
        raise TypeError(
            f"compare_forward(scratch_net, torch_net, x) takes a scratchnet and a torch network, "
            f"got {type(scratch_net).__name__} and {type(torch_net).__name__}"
        )
    dtype = _dtype_of(scratch_net, torch_net)
    x = np.asarray(x, dtype=dtype)
    device = next(torch_net.parameters()).device
    with np.errstate(all="ignore"):  # NaN and inf are reported below, not warned about
        scratch_out = np.asarray(scratch_net(x))
    with torch.no_grad():
        torch_out = torch_net(torch.tensor(x, device=device)).cpu().numpy()

    chain = linear_chain(scratch_net)
    u_scratch, u_torch, u_ref = unit_roundoff(dtype), torch_unit_roundoff(torch_net, dtype), unit_roundoff(np.float64)
    reference, (b_scratch, b_torch, b_ref) = reference_with_bounds(chain, x, [u_scratch, u_torch, u_ref])
    comparisons = []
    if dtype != np.float64:
        comparisons.append(
            compare_outputs(
                "scratchnet vs float64 reference",
                scratch_out,
                reference,
                b_scratch + b_ref,
                f"bound(u={u_scratch:.3g}) + reference bound(u={u_ref:.3g})",
            )
        )
        comparisons.append(
            compare_outputs(
                "torch vs float64 reference",
                torch_out,
                reference,
                b_torch + b_ref,
                f"bound(u={u_torch:.3g}) + reference bound(u={u_ref:.3g})",
            )
        )
    comparisons.append(
        compare_outputs(
            "scratchnet vs torch",
            scratch_out,
            torch_out,
            b_scratch + b_torch,
            f"bound(u={u_scratch:.3g}) + bound(u={u_torch:.3g})",
        )
    )
    widths = ", ".join(str(layer.weight.shape[1]) for layer in chain)
    activations = sorted({layer.activation for layer in chain})
    rule = (
        f"elementwise worst-case rounding bound per layer gamma(n+1)(|W|(|h|+e) + |b|) + |W|e, "
        f"gamma(k) = ku/(1-ku), u = eps/2 of {dtype}, n = {widths}; "
        + "; ".join(ACTIVATION_ERRORS[a].why for a in activations)
    )
    return ForwardReport(
        network=describe(scratch_net),
        dtype=str(dtype),
        device=str(device),
        input_shape=tuple(x.shape),
        outputs={"scratchnet": scratch_out, "torch": torch_out, "reference": reference},
        comparisons=tuple(comparisons),
        rule=rule,
    )
