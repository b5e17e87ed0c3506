"""Reading PyTorch's own checkpoint files (``torch.save``) safely, into NumPy arrays.

Only ``torch.load(weights_only=True)`` is used: a file that would need code to
load (a pickled object, a module) is refused, and none of its code runs.
``compare.load_network`` uses this for ``.pt``/``.pth`` files and
``scratchnet.checkpoint`` for safetensors.
"""

import os
import pickletools
import warnings
import zipfile
from collections import OrderedDict

import torch

from scratchnet.checkpoint import CheckpointError, CheckpointWarning, first_line, open_regular, printable

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
    _check_proportions(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the outcome below says what matters
            with open_regular(path) as file:  # a file object: torch.load goes by some names (".safetensors") itself
                loaded = torch.load(file, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # a parser of untrusted bytes can fail in many ways; all of them mean "no"
        refused = _unsafe_globals(path)
        if refused or "Weights only load failed" in str(error):
            what = f" (it asks for {printable(', '.join(refused))})" if refused else ""
            raise CheckpointError(
                f"{printable(path)}: refused: this file needs code to load{what}; only tensors are read from "
                "PyTorch files (torch.load(weights_only=True)), so nothing in it was run"
            ) from None
        reason = printable(f"{type(error).__name__}: {first_line(error)}")
        raise CheckpointError(f"{printable(path)}: not a readable PyTorch file ({reason})") from None
    state = _find_state_dict(loaded)
    if state is None:
        found = type(loaded).__name__ + (
            f" with keys {sorted(map(str, loaded))[:8]}" if isinstance(loaded, dict) else ""
        )
        raise CheckpointError(f"{printable(path)}: holds a {printable(found)}, not a state dict of tensors")
    arrays, widened = OrderedDict(), []
    for name, tensor in state.items():
        if tensor.dtype in (torch.float16, torch.bfloat16):
            widened.append(f"{printable(name)} ({str(tensor.dtype).removeprefix('torch.')})")
            tensor = tensor.float()  # NumPy has no bfloat16; float16 weights run as float32 here
        try:
            arrays[name] = tensor.detach().cpu().numpy()
        except (TypeError, RuntimeError) as error:
            raise CheckpointError(
                f"{printable(path)}: tensor {printable(name)} cannot be read as an array ({first_line(error)})"
            ) from None
    if widened:
        warnings.warn(
            f"{printable(path)}: widened to float32, exactly: {', '.join(widened[:10])}"
            + (f" and {len(widened) - 10} more" if len(widened) > 10 else ""),
            CheckpointWarning,
            stacklevel=2,
        )
    return arrays


def _check_proportions(path):
    """Refuse a file that claims far more data than it holds, before torch allocates what it claims.

    torch.save writes zip archives whose entries are stored uncompressed: an
    archive that unpacks to more than its own size is refused. The legacy
    pickle format names each storage's element count before its bytes: counts
    beyond the file's size are refused.
    """
    size = os.path.getsize(path)
    with open_regular(path) as file:
        if file.read(4) == b"PK\x03\x04":
            try:
                with zipfile.ZipFile(file) as archive:
                    entries = archive.infolist()
            except (zipfile.BadZipFile, ValueError, OSError) as error:
                raise CheckpointError(f"{printable(path)}: not a readable PyTorch file ({first_line(error)})") from None
            unpacked = sum(entry.file_size for entry in entries)
            packed = [printable(e.filename) for e in entries if e.compress_type != zipfile.ZIP_STORED]
            if packed or unpacked > size:
                raise CheckpointError(
                    f"{printable(path)}: refused: it unpacks to {unpacked} bytes from {size}"
                    + (f" (compressed entries: {', '.join(packed[:3])})" if packed else "")
                    + "; torch.save stores its data uncompressed"
                )
            return
        file.seek(0)
        claimed = _legacy_claimed_elements(file)
    if claimed > size:
        raise CheckpointError(
            f"{printable(path)}: refused: its storages claim {claimed} elements, more than the file's {size} bytes"
        )


_INTEGER_OPCODES = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}


def _legacy_claimed_elements(file):
    """The element counts the legacy format's storages claim, added up, read from the pickles without running them."""
    claimed = 0
    for _ in range(4):  # magic number, protocol, system info, then the object with its storages
        recent = []
        try:
            for opcode, argument, _ in pickletools.genops(file):
                if opcode.name == "MARK":
                    recent = []
                elif opcode.name in _INTEGER_OPCODES:
                    recent.append(int(argument))
                elif opcode.name == "BINPERSID" and recent:
                    claimed += max(recent)
        except Exception:  # not a pickle any more: torch.load will say what is wrong
            break
    return claimed


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
