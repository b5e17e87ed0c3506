"""Copy weights between scratchnet and torch networks, in either direction, and build twins."""

from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

import scratchnet
import torchnet

__all__ = [
    "architecture_of",
    "copy_weights",
    "is_scratch",
    "is_torch",
    "numpy_state",
    "to_scratch",
    "to_torch",
    "twin",
]

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
_TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


def is_scratch(net):
    """True for a ``scratchnet.Module``."""
    return isinstance(net, scratchnet.Module)


def is_torch(net):
    """True for a ``torch.nn.Module``."""
    return isinstance(net, nn.Module)


def _check_net(net, role):
    if not (is_scratch(net) or is_torch(net)):
        raise TypeError(f"{role} must be a scratchnet.Module or a torch.nn.Module, got {type(net).__name__}")


def numpy_state(net):
    """Return ``net``'s state dict as NumPy arrays (copies), whichever framework it is."""
    _check_net(net, "net")
    if is_scratch(net):
        return net.state_dict()
    return OrderedDict((name, value.detach().cpu().numpy().copy()) for name, value in net.state_dict().items())


def _destination_shapes(dst):
    """Name -> shape of every entry ``dst`` expects."""
    if is_scratch(dst):
        return OrderedDict((name, p.shape) for name, p in dst.named_parameters())
    return OrderedDict((name, tuple(t.shape)) for name, t in dst.state_dict().items())


def copy_weights(src, dst):
    """Copy every weight and bias of ``src`` into ``dst`` and return ``dst``.

    Works in all four directions (torch -> scratch, scratch -> torch, and
    within one framework). Names and shapes must match exactly (both use
    torch's names such as ``fc1.weight`` and its ``(out, in)`` layout, so no
    transpose is involved). Values are converted to the destination's dtype
    (and, for torch, its device).

    Raises:
        TypeError: ``src`` or ``dst`` is not a network.
        ValueError: the names or shapes differ; the message lists every
            difference, and ``dst`` is left unchanged.
    """
    _check_net(src, "src")
    _check_net(dst, "dst")
    values = numpy_state(src)
    shapes = _destination_shapes(dst)
    problems = [f"missing from the source: {name} {shape}" for name, shape in shapes.items() if name not in values]
    problems += [f"not in the destination: {name} {v.shape}" for name, v in values.items() if name not in shapes]
    problems += [
        f"shape of {name}: source {values[name].shape}, destination {shape}"
        for name, shape in shapes.items()
        if name in values and values[name].shape != shape
    ]
    if problems:
        raise ValueError(
            f"cannot copy weights from {type(src).__name__} to {type(dst).__name__} "
            f"({len(problems)} difference{'s' if len(problems) > 1 else ''}; nothing was copied):\n  - "
            + "\n  - ".join(problems)
        )
    if is_scratch(dst):
        dst.load_state_dict(values)  # all or nothing: it checks everything before it writes
    else:
        _write_torch(dst, values)
    return dst


def _write_torch(dst, values):
    """Copy ``values`` into ``dst``'s tensors in place, all or nothing: a failure part-way restores every tensor."""
    targets = dst.state_dict(keep_vars=True)
    cannot = [
        f"{name} is on the meta device (no values to hold; use to_empty first)"
        if t.device.type == "meta"
        else f"{name} is an inference tensor (made under torch.inference_mode), which cannot be written in place"
        for name, t in targets.items()
        if t.device.type == "meta" or t.is_inference()
    ]
    if cannot:
        raise ValueError(
            f"cannot copy weights into {type(dst).__name__} (nothing was copied):\n  - " + "\n  - ".join(cannot)
        )
    tied = [
        f"{second} shares memory with {first} (tied weights), but the source gives them other values"
        for i, (first, a) in enumerate(targets.items())
        for second, b in list(targets.items())[i + 1 :]
        if a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
        and not np.array_equal(values[first], values[second], equal_nan=True)
    ]
    if tied:
        raise ValueError(
            f"cannot copy weights into {type(dst).__name__} (nothing was copied):\n  - " + "\n  - ".join(tied)
        )
    backup = {name: t.detach().clone() for name, t in targets.items()}
    written = []
    with torch.no_grad():
        try:
            for name, target in targets.items():
                target.copy_(torch.from_numpy(values[name]))
                written.append(name)
        except BaseException:
            for name in written:
                targets[name].copy_(backup[name])
            raise


def scratch_dtype(net):
    """The one NumPy dtype of a scratchnet network's parameters."""
    dtypes = {p.dtype for p in net.parameters()}
    if len(dtypes) != 1:
        raise ValueError(
            f"{type(net).__name__} mixes parameter dtypes {sorted(map(str, dtypes))}; convert it with .to(dtype)"
        )
    return dtypes.pop()


def torch_dtype(net):
    """The one dtype of a torch network's parameters, as a NumPy dtype (float32 or float64)."""
    dtypes = {p.dtype for p in net.parameters()}
    if len(dtypes) != 1 or not dtypes <= set(_NUMPY_DTYPES):
        raise ValueError(
            f"{type(net).__name__} must hold float32 or float64 parameters of one dtype, got {sorted(map(str, dtypes))}"
        )
    return np.dtype(_NUMPY_DTYPES[dtypes.pop()])


def architecture_of(net, purpose="compare"):
    """The ``Architecture`` of a scratchnet or torch network, read by each framework's own package."""
    _check_net(net, "net")
    if is_scratch(net):
        return scratchnet.architecture.architecture_of(net, purpose)
    return torchnet.architecture_of(net, purpose)


def to_torch(net, device=None):
    """Return the torch twin of a scratchnet network, with the same weights.

    ``scratchnet.Net`` gives ``torchnet.Net``; any other network is rebuilt
    from its ``Architecture`` (``torchnet.build``: ``nn.Linear``,
    ``nn.Sequential`` or ``torchnet.MLP``). The twin has the same dtype and is
    placed on ``device`` (default CPU). Torch's random generator is not
    touched: the twin is built on the meta device and filled from ``net``.
    """
    if not is_scratch(net):
        raise TypeError(f"to_torch() takes a scratchnet network, got {type(net).__name__}")
    architecture = architecture_of(net, "to_torch()")
    dtype = _TORCH_DTYPES[scratch_dtype(net)]
    with torch.device("meta"):
        article = type(net) is scratchnet.Net and architecture == torchnet.Net().architecture
        twin_net = torchnet.Net() if article else torchnet.build(architecture)
    twin_net = twin_net.to_empty(device=device or "cpu").to(dtype)
    return copy_weights(net, twin_net)


def to_scratch(net):
    """Return the scratchnet twin of a torch network, with the same weights and dtype.

    ``torchnet.Net`` gives ``scratchnet.Net``; ``nn.Linear``, ``nn.Sequential``
    chains and ``torchnet.MLP`` are rebuilt from their ``Architecture``
    (``scratchnet.build``).
    """
    if not is_torch(net):
        raise TypeError(f"to_scratch() takes a torch network, got {type(net).__name__}")
    architecture = architecture_of(net, "to_scratch()")
    dtype = torch_dtype(net)
    article = type(net) is torchnet.Net and architecture == scratchnet.Net().architecture
    twin_net = scratchnet.Net(dtype=dtype) if article else scratchnet.build(architecture, dtype=dtype)
    return copy_weights(net, twin_net)


def twin(net, device=None):
    """Return the equivalent network of the other framework with the same weights.

    ``twin(scratch_net)`` is ``to_torch(scratch_net, device)``;
    ``twin(torch_net)`` is ``to_scratch(torch_net)``.
    """
    _check_net(net, "net")
    return to_torch(net, device) if is_scratch(net) else to_scratch(net)
