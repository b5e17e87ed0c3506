"""Run a scratchnet network and its torch twin on the same input and judge the outputs."""

import numpy as np
import torch

from scratchnet import no_grad

from .report import Report, compare_outputs
from .tolerance import ACTIVATION_ERRORS, linear_chain, reference_with_bounds, unit_roundoff
from .weights import is_scratch, is_torch, scratch_dtype, torch_dtype

__all__ = ["check_pair", "compare_forward", "describe", "torch_unit_roundoff"]


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


def check_pair(scratch_net, torch_net, caller):
    """The common dtype of a (scratchnet, torch) pair, or a clear error; and the torch net's device."""
    if not is_scratch(scratch_net) or not is_torch(torch_net):
        raise TypeError(
            f"{caller}(scratch_net, torch_net, ...) takes a scratchnet and a torch network, "
            f"got {type(scratch_net).__name__} and {type(torch_net).__name__}"
        )
    mine, theirs = scratch_dtype(scratch_net), torch_dtype(torch_net)
    if mine != theirs:
        raise ValueError(
            f"compare like with like: scratchnet holds {mine}, torch holds {theirs}; convert one with .to(dtype)"
        )
    return mine, next(torch_net.parameters()).device


def tolerance_rule(chain, dtype):
    """One paragraph: how the bounds of ``compare.tolerance`` apply to this chain."""
    widths = ", ".join(str(layer.weight.shape[1]) for layer in chain)
    activations = sorted({layer.activation for layer in chain})
    return (
        f"elementwise worst-case rounding bound per layer gamma(n+1)(|W|(|h|+e) + |b|) + |W|e, "
        f"gamma(k) = ku/(1-ku), u = eps/2 of {dtype}, n = {widths}; "
        + "; ".join(ACTIVATION_ERRORS[a].why for a in activations)
    )


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
        A ``Report`` whose ``values`` are the ``"scratchnet"``, ``"torch"`` and
        ``"reference"`` outputs; ``str(report)`` is a readable table.
    """
    dtype, device = check_pair(scratch_net, torch_net, "compare_forward")
    x = np.asarray(x, dtype=dtype)
    with np.errstate(all="ignore"), no_grad():  # NaN and inf are reported below, not warned about
        scratch_out = np.asarray(scratch_net(x))
    with torch.no_grad():
        torch_out = torch_net(torch.tensor(x, device=device)).cpu().numpy()

    chain = linear_chain(scratch_net)
    u_scratch, u_torch, u_ref = unit_roundoff(dtype), torch_unit_roundoff(torch_net, dtype), unit_roundoff(np.float64)
    reference, (b_scratch, b_torch, b_ref) = reference_with_bounds(chain, x, [u_scratch, u_torch, u_ref])
    comparisons = []
    if dtype != np.float64:
        for name, out, bound, u in (
            ("scratchnet", scratch_out, b_scratch, u_scratch),
            ("torch", torch_out, b_torch, u_torch),
        ):
            comparisons.append(
                compare_outputs(
                    f"{name} vs float64 reference",
                    out,
                    reference,
                    bound + b_ref,
                    f"bound(u={u:.3g}) + reference bound(u={u_ref:.3g})",
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
    return Report(
        title=f"forward pass: {describe(scratch_net)}, {dtype}, input shape {x.shape}, torch on {device}",
        comparisons=tuple(comparisons),
        rule=tolerance_rule(chain, dtype),
        values={"scratchnet": scratch_out, "torch": torch_out, "reference": reference},
    )
