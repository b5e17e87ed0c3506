"""Back-propagate one upstream gradient through a scratchnet network and its torch twin; judge every gradient."""

import numpy as np
import torch

from .forward import check_input, check_pair, check_trainable, describe, tolerance_rule, torch_unit_roundoff
from .report import Report, compare_outputs
from .tolerance import backward_bounds, forward_trace, linear_chain, unit_roundoff
from .weights import architecture_of

__all__ = ["compare_gradients"]


def compare_gradients(scratch_net, torch_net, x, grad_output=None, *, rng=None):
    """Compare ``dL/dx`` and every ``dL/dparameter`` of both networks, tensor by tensor.

    Both networks run forward on the same ``x`` and back-propagate the same
    upstream gradient ``dL/dy``: by default a standard-normal draw in the
    networks' dtype (never all ones, which would hide a transposed gradient:
    with ones every row of ``dL/dy`` is alike). Each gradient is judged
    against the other within the sum of both implementations' derived bounds
    (``compare.tolerance.backward_bounds``).

    Both networks' ``.grad`` are cleared first, then hold this backward pass's gradients.

    Args:
        scratch_net: a scratchnet network that states its architecture
            (``Linear``, ``Net``, ``MLP``, ``Sequential``).
        torch_net: its torch twin (same weights).
        x: input of shape ``(*, in_features)``.
        grad_output: ``dL/dy``; default random (see above).
        rng: a ``numpy.random.Generator`` or a seed for that draw.

    Returns:
        A ``Report`` with one row per tensor (``input``, ``fc1.weight``, ...);
        ``values[name]`` is ``{"scratchnet": ..., "torch": ..., "reference": ...}``.
    """
    dtype, device = check_pair(scratch_net, torch_net, "compare_gradients")
    check_trainable(torch_net, "compare_gradients")
    x = check_input(x, dtype, architecture_of(torch_net).sizes[0], "compare_gradients()")
    chain = linear_chain(scratch_net)
    out_shape = x.shape[:-1] + (chain[-1].weight.shape[0],)
    if grad_output is None:
        upstream = np.random.default_rng(rng).standard_normal(out_shape).astype(dtype)
    else:
        upstream = np.asarray(grad_output, dtype=dtype)
        if upstream.shape != out_shape:
            raise ValueError(f"grad_output must have the output's shape {out_shape}; got {upstream.shape}")

    scratch_net.zero_grad()
    scratch_net(x)
    scratch = {"input": scratch_net.backward(upstream)}
    scratch.update({name: p.grad for name, p in scratch_net.named_parameters()})

    torch_net.zero_grad()
    x_t = torch.tensor(x, device=device, requires_grad=True)
    torch_net(x_t).backward(torch.tensor(upstream, device=device))
    theirs = {"input": x_t.grad}
    theirs.update({name: p.grad for name, p in torch_net.named_parameters()})
    theirs = {name: np.zeros(scratch[name].shape) if g is None else g.cpu().numpy() for name, g in theirs.items()}

    u_scratch, u_torch = unit_roundoff(dtype), torch_unit_roundoff(torch_net, dtype)
    trace = forward_trace(chain, x, [u_scratch, u_torch])
    reference, (b_scratch, b_torch) = backward_bounds(chain, trace, upstream, [0.0, 0.0], [u_scratch, u_torch])
    comparisons = tuple(
        compare_outputs(
            name,
            scratch[name],
            theirs[name],
            b_scratch[name] + b_torch[name],
            f"backward bound(u={u_scratch:.3g}) + backward bound(u={u_torch:.3g})",
        )
        for name in scratch
    )
    return Report(
        title=f"gradients: {describe(scratch_net)}, {dtype}, input shape {x.shape}, random upstream gradient, "
        f"torch on {device}",
        comparisons=comparisons,
        rule=tolerance_rule(chain, dtype) + "; backward: the same bound for g^T h, sum g and g W, "
        "and the activations' derivatives (a ReLU slope may flip where |z| is within its bound)",
        values={
            name: {"scratchnet": scratch[name], "torch": theirs[name], "reference": reference[name]} for name in scratch
        },
    )
