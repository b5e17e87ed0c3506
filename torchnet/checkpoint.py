"""Reading PyTorch's own checkpoint files (``torch.save``) safely, into NumPy arrays.

Only ``torch.load(weights_only=True)`` is used: a file that would need code to
load (a pickled object, a module) is refused, and none of its code runs.
``compare.load_network`` uses this for ``.pt``/``.pth`` files and
``scratchnet.checkpoint`` for safetensors.
"""

import warnings
from collections import OrderedDict

import torch

from scratchnet.checkpoint import CheckpointError, first_line

__all__ = ["load_torch_state_dict"]


def load_torch_state_dict(path):
    """The state dict in a ``torch.save`` file as an ordered ``{name: numpy array}``.

    The file may hold the state dict itself, or a dict with it under
    ``"state_dict"``, ``"model_state_dict"`` or ``"model"``. float16 and
    bfloat16 tensors are widened to float32 (NumPy has no bfloat16).

    Raises:
        CheckpointError: refused (it needs code to load), unreadable, or
            holding something other than tensors.
        OSError: the path cannot be read.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the outcome below says what matters
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as error:  # a parser of untrusted bytes can fail in many ways; all of them mean "no"
        refused = _unsafe_globals(path)
        if refused or "Weights only load failed" in str(error):
            what = f" (it asks for {', '.join(refused)})" if refused else ""
            raise CheckpointError(
                f"{path}: refused: this file needs code to load{what}; only tensors are read from PyTorch files "
                "(torch.load(weights_only=True)), so nothing in it was run"
            ) from None
        raise CheckpointError(
            f"{path}: not a readable PyTorch file ({type(error).__name__}: {first_line(error)})"
        ) from None
    state = _find_state_dict(loaded)
    if state is None:
        found = type(loaded).__name__ + (
            f" with keys {sorted(map(str, loaded))[:8]}" if isinstance(loaded, dict) else ""
        )
        raise CheckpointError(f"{path}: holds a {found}, not a state dict of tensors")
    arrays = OrderedDict()
    for name, tensor in state.items():
        if tensor.dtype in (torch.float16, torch.bfloat16):
            tensor = tensor.float()  # NumPy has no bfloat16; float16 weights run as float32 here
        try:
            arrays[name] = tensor.detach().cpu().numpy()
        except (TypeError, RuntimeError) as error:
            raise CheckpointError(f"{path}: tensor {name!r} cannot be read as an array ({first_line(error)})") from None
    return arrays


def _unsafe_globals(path):
    """The code a zip-format checkpoint asks for (torch's own list); empty for other files or when it cannot tell."""
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # legacy pickle files, or a file too broken to list
        return []


def _find_state_dict(loaded):
    """The mapping of names to tensors inside what ``torch.load`` returned, or None."""

    def is_state(value):
        return isinstance(value, dict) and all(isinstance(k, str) and torch.is_tensor(v) for k, v in value.items())

    if is_state(loaded):
        return loaded
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if is_state(loaded.get(key)):
                return loaded[key]
    return None
