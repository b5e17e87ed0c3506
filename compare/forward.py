"""Run a scratchnet network and its torch twin on the same input and judge the outputs."""

import numpy as np
import torch

from scratchnet import no_grad

from .report import Report, compare_outputs
from .tolerance import ACTIVATION_ERRORS, linear_chain, reference_with_bounds, unit_roundoff
from .weights import architecture_of, is_scratch, is_torch, numpy_state, scratch_dtype, torch_dtype

__all__ = ["check_input", "check_pair", "compare_forward", "compare_weights", "describe", "torch_unit_roundoff"]


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
    """A one-line description from the network's ``Architecture``: ``Net 2 -> 4 -> 4 -> 1: fc1 relu, fc2 relu, fc3``."""
    return f"{type(net).__name__} {architecture_of(net)}"


def check_pair(scratch_net, torch_net, caller):
    """The common dtype of a (scratchnet, torch) pair, or a clear error; and the torch net's device.

    Both networks must state the same ``Architecture`` (each read by its own
    framework's package): two networks that say they compute different things
    are not twins, whatever their weights.
    """
    if not is_scratch(scratch_net) or not is_torch(torch_net):
        raise TypeError(
            f"{caller}(scratch_net, torch_net, ...) takes a scratchnet and a torch network, "
            f"got {type(scratch_net).__name__} and {type(torch_net).__name__}"
        )
    mine, theirs = architecture_of(scratch_net, f"{caller}()"), architecture_of(torch_net, f"{caller}()")
    if mine != theirs:
        raise ValueError(f"{caller}: the networks are not twins: scratchnet computes {mine}, torch computes {theirs}")
    mine, theirs = scratch_dtype(scratch_net), torch_dtype(torch_net)
    if mine != theirs:
        raise ValueError(
            f"compare like with like: scratchnet holds {mine}, torch holds {theirs}; convert one with .to(dtype)"
        )
    return mine, next(torch_net.parameters()).device


def check_input(x, dtype, in_features, caller, what="x"):
    """``x`` as a new array of ``dtype``, shape ``(*, in_features)``: real numbers only, as ``Linear`` takes.

    Unlike ``Linear``, a floating array of another dtype is converted (both
    networks then receive the very same converted values). Strings, None,
    complex and object arrays are a ``TypeError``; a wrong shape a ``ValueError``.
    """
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{caller}: {what} must be an array of real numbers ({error})") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{caller}: {what} must hold real numbers, got dtype {array.dtype}")
    if in_features is not None and (array.ndim == 0 or array.shape[-1] != in_features):
        raise ValueError(f"{caller}: {what} must have shape (*, {in_features}), got {array.shape}")
    return array.astype(dtype)


def compare_weights(scratch_net, torch_net):
    """The two networks' weights, tensor by tensor: twins hold the very same values (tolerance 0)."""
    mine, theirs = numpy_state(scratch_net), numpy_state(torch_net)
    names = list(mine)
    return compare_outputs(
        "weights: scratchnet vs torch",
        np.concatenate([mine[name].ravel() for name in names]),
        np.concatenate([theirs[name].ravel() for name in names]),
        0.0,
        "twins hold identical weights (copy_weights)",
    )


def tolerance_rule(chain, dtype):
    """One paragraph: how the bounds of ``compare.tolerance`` apply to this chain."""
    widths = ", ".join(str(layer.weight.shape[1]) for layer in chain)
    activations = sorted({layer.activation_name for layer in chain})
    return (
        f"elementwise worst-case rounding bound per layer gamma(n+1)(|W|(|h|+e) + |b|) + |W|e, "
        f"gamma(k) = ku/(1-ku), u = eps/2 of {dtype}, n = {widths}; "
        + "; ".join(ACTIVATION_ERRORS[a].why for a in activations)
    )


def compare_forward(scratch_net, torch_net, x):
    """Run both networks on ``x`` and judge their outputs with derived tolerances.

    The two networks must state the same architecture and hold the same
    dtype (float32 or float64). ``x`` is converted to that dtype once, and the
    same values go to both. Judged: the weights (identical), each output
    against a float64 reference computed independently from torch's
    description and weights (so a wrong output is blamed on the side that
    computed it), and the two outputs against each other. See
    ``compare.tolerance`` for how each tolerance is derived.

    Args:
        scratch_net: a scratchnet network that states its architecture
            (``Linear``, ``Net``, ``MLP``, ``Sequential``).
        torch_net: its torch twin (same weights), on any device.
        x: input of shape ``(*, in_features)``.

    Returns:
        A ``Report`` whose ``values`` are the ``"scratchnet"``, ``"torch"`` and
        ``"reference"`` outputs; ``str(report)`` is a readable table.
    """
    dtype, device = check_pair(scratch_net, torch_net, "compare_forward")
    x = check_input(x, dtype, architecture_of(torch_net).sizes[0], "compare_forward()")
    with np.errstate(all="ignore"), no_grad():  # NaN and inf are reported below, not warned about
        scratch_out = np.asarray(scratch_net(x))
    with torch.no_grad():
        torch_out = torch_net(torch.tensor(x, device=device)).cpu().numpy()

    chain = linear_chain(torch_net)  # the judge reads torch's description and weights; check_pair saw them agree
    u_scratch, u_torch, u_ref = unit_roundoff(dtype), torch_unit_roundoff(torch_net, dtype), unit_roundoff(np.float64)
    reference, (b_scratch, b_torch, b_ref) = reference_with_bounds(chain, x, [u_scratch, u_torch, u_ref])
    comparisons = [compare_weights(scratch_net, torch_net)]
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
