"""Reading PyTorch's own checkpoint files (``torch.save``) safely, into NumPy arrays.

Only ``torch.load(weights_only=True)`` is used: a file that would need code to
load (a pickled object, a module) is refused, and none of its code runs.
``compare.load_network`` uses this for ``.pt``/``.pth`` files and
``scratchnet.checkpoint`` for safetensors.
"""

import os
import pickle
import pickletools
import warnings
import zipfile
from collections import OrderedDict

import torch

from scratchnet.checkpoint import CheckpointError, first_line, open_regular, printable, warn_widened

__all__ = ["load_torch_state_dict", "read_torch_file"]


def load_torch_state_dict(path):
    """The state dict in a ``torch.save`` file as an ordered ``{name: numpy array}`` (see ``read_torch_file``)."""
    with open_regular(path) as file:
        return read_torch_file(file, path)


def read_torch_file(file, path):
    """The state dict in an open ``torch.save`` file (``path`` names it in messages).

    The file may hold the state dict itself, or a dict with it under
    ``"state_dict"``, ``"model_state_dict"`` or ``"model"``. float16 and
    bfloat16 tensors are widened to float32 (NumPy has no bfloat16), with a
    ``CheckpointWarning``. Sizes are checked before torch reads anything (see
    ``_check_proportions``), and every tensor after: none may claim more
    elements than its storage holds (a stride-0 view would cost its full size
    when converted).

    Raises:
        CheckpointError: refused (it needs code to load, or claims more than it
            holds), unreadable, or holding something other than tensors.
    """
    _check_proportions(file, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the outcome below says what matters
            # A file object, not a name: torch.load goes by some names (".safetensors") itself.
            loaded = torch.load(file, map_location="cpu", weights_only=True)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # a parser of untrusted bytes can fail in many ways; all of them mean "no"
        refused = _unsafe_globals(file)
        if refused or isinstance(error, pickle.UnpicklingError):  # weights_only's refusal is an UnpicklingError
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
        if tensor.layout != torch.strided:  # sparse (COO, CSR, ...) or another layout: no storage to read
            raise CheckpointError(
                f"{printable(path)}: refused: tensor {printable(name)} is {str(tensor.layout).removeprefix('torch.')}, "
                "not a dense tensor (save tensor.to_dense())"
            )
        if tensor.dtype in (torch.float16, torch.bfloat16):
            widened.append(f"{printable(name)} ({str(tensor.dtype).removeprefix('torch.')})")
            tensor = tensor.float()  # NumPy has no bfloat16; float16 weights run as float32 here
        claimed = tensor.numel() * tensor.element_size()
        if tensor.untyped_storage().nbytes() < claimed:
            raise CheckpointError(
                f"{printable(path)}: refused: tensor {printable(name)} claims {claimed} bytes over a storage of "
                f"{tensor.untyped_storage().nbytes()} (a stride-0 or overlapping view)"
            )
        try:
            arrays[name] = tensor.detach().cpu().numpy()
        except (TypeError, RuntimeError) as error:
            raise CheckpointError(
                f"{printable(path)}: tensor {printable(name)} cannot be read as an array ({first_line(error)})"
            ) from None
    warn_widened(path, widened)
    return arrays


def _check_proportions(file, path):
    """Refuse a file that claims far more data than it holds, before torch allocates what it claims.

    torch.save writes zip archives whose entries are stored uncompressed: an
    archive that unpacks to more than its own size, or that cannot be listed,
    is refused. The legacy pickle format names each storage's element count
    before its bytes: counts beyond the file's size are refused.
    """
    size = os.fstat(file.fileno()).st_size
    try:
        if file.read(4) == b"PK\x03\x04":
            file.seek(0)
            try:
                with zipfile.ZipFile(file) as archive:
                    entries = archive.infolist()
            except Exception as error:  # BadZipFile, NotImplementedError for odd versions, ...
                raise CheckpointError(
                    f"{printable(path)}: refused: its zip directory cannot be checked ({printable(first_line(error))})"
                ) from None
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
    finally:
        file.seek(0)
    if claimed > size:
        raise CheckpointError(
            f"{printable(path)}: refused: its storages claim {claimed} elements, more than the file's {size} bytes"
        )


_INTEGER_OPCODES = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}


def _legacy_claimed_elements(file):
    """The element counts the legacy format's storages claim, added up, read from the pickles without running them."""
    claimed = 0
    for _ in range(4):  # magic number, protocol, system info, then the object with its storages
        recent, memo, last = [], {}, None
        try:
            for opcode, argument, _ in pickletools.genops(file):
                name, pushed = opcode.name, None
                if name == "MARK":
                    recent = []
                elif name in _INTEGER_OPCODES:
                    pushed = int(argument)
                elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):  # an integer kept for later (memo)
                    memo[len(memo) if name == "MEMOIZE" else argument] = last
                elif name in ("GET", "BINGET", "LONG_BINGET") and isinstance(memo.get(argument), int):
                    pushed = memo[argument]
                elif name in ("BINPERSID", "PERSID") and recent:
                    claimed += max(recent)
                if pushed is not None:
                    recent.append(pushed)
                last = pushed if name not in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE") else last
        except Exception:  # not a pickle any more: torch.load will say what is wrong
            break
    return claimed


def _unsafe_globals(file):
    """The code a zip-format checkpoint asks for (torch's own list); empty for other files or when it cannot tell."""
    try:
        file.seek(0)
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(file))
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
