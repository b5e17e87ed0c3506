"""Checkpoints in and out: safetensors and PyTorch files, read safely, into a scratchnet MLP.

- ``load_state_dict_file(path)``: a checkpoint's tensors as NumPy arrays.
  ``.safetensors`` needs only NumPy and the ``safetensors`` package. PyTorch
  files (``torch.save``: ``.pt``, ``.pth``) are read with
  ``torch.load(weights_only=True)`` and nothing else: a file that would need
  code to load (a pickled object, a module) is refused, and none of its code
  runs.
- ``infer_architecture(state_dict)``: the MLP that a chain of Linear layers
  describes, from our ``fc1 ... fcN`` names or ``nn.Sequential``'s ``0.weight,
  2.weight, ...`` (with any prefix such as ``model.`` or ``module.``).
  Anything else is refused, naming the offending keys.
- ``load_mlp(path, activation)``: both, into a ``scratchnet.MLP``.
- ``save_safetensors(net, path)``: a file that ``safetensors.torch.load_file``
  and ``torchnet``'s ``load_state_dict`` read as it is.

Every problem with a file's content or a state dict's structure raises
``CheckpointError`` (a ``ValueError``); a path that cannot be read raises the
usual ``OSError``. Which format a file is in is decided from its first bytes,
not from its name.
"""

import json
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._checks import check_activation
from .nets import MLP

__all__ = [
    "Architecture",
    "CheckpointError",
    "infer_architecture",
    "load_mlp",
    "load_state_dict_file",
    "mlp_from_state_dict",
    "save_safetensors",
]


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint, or a state dict that is not a chain of Linear layers."""


# -- reading files -------------------------------------------------------------------------


def load_state_dict_file(path):
    """Read a checkpoint file into an ordered ``{name: numpy array}``.

    Formats, told apart by their first bytes: safetensors; PyTorch's zip
    format and its older pickle format (both read with
    ``torch.load(weights_only=True)``, which needs torch). A PyTorch file may
    hold the state dict itself, or a dict with it under ``"state_dict"``,
    ``"model_state_dict"`` or ``"model"``.

    Raises:
        CheckpointError: not a checkpoint, truncated or corrupted, refused
            (it needs code to load), or holding something other than tensors.
        OSError: the path cannot be read.
    """
    with open(path, "rb") as file:
        head = file.read(9)
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":
        return _load_torch(path)
    if len(head) == 9 and head[8:9] == b"{":
        return _load_safetensors(path)
    raise CheckpointError(
        f"{path}: not a checkpoint (expected a .safetensors file or one written by torch.save); "
        f"it starts with {head[:8]!r}"
    )


def _load_safetensors(path):
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise CheckpointError(
            f"{path}: reading safetensors needs the safetensors package (pip install safetensors)"
        ) from None
    try:
        tensors = load_file(str(path))
    except Exception as error:  # the Rust parser's SafetensorError, or NumPy refusing a dtype
        raise CheckpointError(
            f"{path}: not a valid safetensors file ({type(error).__name__}: {_first_line(error)})"
        ) from None
    return OrderedDict((name, tensors[name]) for name in sorted(tensors, key=_natural_order))


def _load_torch(path):
    try:
        import torch  # only PyTorch files need it
    except ImportError:
        raise CheckpointError(f"{path}: a PyTorch file; reading it needs torch (or save it as safetensors)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the outcome below says what matters
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a parser of untrusted bytes can fail in many ways; all of them mean "no"
        refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
        if refused or type(error).__name__ == "UnpicklingError" and "Weights only load failed" in str(error):
            what = f" (it asks for {refused.group(1)})" if refused else ""
            raise CheckpointError(
                f"{path}: refused: this file needs code to load{what}; only tensors are read from PyTorch files "
                "(torch.load(weights_only=True)), so nothing in it was run"
            ) from None
        raise CheckpointError(
            f"{path}: not a readable PyTorch file ({type(error).__name__}: {_first_line(error)})"
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
            raise CheckpointError(
                f"{path}: tensor {name!r} cannot be read as an array ({_first_line(error)})"
            ) from None
    return arrays


def _find_state_dict(loaded):
    """The mapping of names to tensors inside what ``torch.load`` returned, or None."""
    import torch

    def is_state(value):
        return isinstance(value, dict) and all(isinstance(k, str) and torch.is_tensor(v) for k, v in value.items())

    if is_state(loaded):
        return loaded
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if is_state(loaded.get(key)):
                return loaded[key]
    return None


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _natural_order(name):
    """``fc2`` before ``fc10``, ``2.weight`` before ``10.weight``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


# -- the architecture a state dict describes ---------------------------------------------------


@dataclass(frozen=True)
class Architecture:
    """An MLP read off a state dict: its widths, whether it has biases, and each layer's keys in the file."""

    sizes: tuple
    bias: bool
    keys: tuple  # per layer: (weight key, bias key or None)
    dtype: np.dtype

    def our_name(self, key):
        """The ``fcN.weight`` / ``fcN.bias`` name of a key of the file."""
        for number, (weight, bias) in enumerate(self.keys, start=1):
            if key == weight:
                return f"fc{number}.weight"
            if key == bias:
                return f"fc{number}.bias"
        raise KeyError(key)


_LAYER_KEY = re.compile(r"^(?P<prefix>(?:.*\.)?)(?P<layer>fc\d+|\d+)\.(?P<kind>weight|bias)$")


def infer_architecture(state_dict):
    """Read the MLP that ``state_dict`` describes, or raise ``CheckpointError`` naming what does not fit.

    Accepted names: ``fc1.weight ... fcN.weight`` (consecutive, from 1) or
    ``nn.Sequential`` indices ``0.weight, 2.weight, ...`` (increasing; the
    activations in between hold no tensors), each with an optional common
    prefix (``model.``, ``net.``, ``module.``, ...) and optional ``.bias``.
    Weights must be 2-D and chain: each layer's ``in_features`` is the
    previous ``out_features``; biases 1-D of the layer's width, on every layer
    or on none. Any other tensor makes it not a chain of Linear layers.
    """
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise CheckpointError(f"expected a non-empty mapping of names to arrays, got {type(state_dict).__name__}")
    layers, strangers, prefixes = {}, [], set()
    for key in state_dict:
        match = _LAYER_KEY.match(key) if isinstance(key, str) else None
        if match is None:
            strangers.append(key)
            continue
        prefixes.add(match["prefix"])
        layers.setdefault(match["layer"], {})[match["kind"]] = key
    if strangers:
        raise CheckpointError(f"not a chain of Linear layers: unexpected tensors {_names(strangers)}")
    if len(prefixes) > 1:
        raise CheckpointError(f"not one network: keys have different prefixes {sorted(prefixes)}")
    order = _layer_order(layers)
    arrays = {key: _as_array(key, state_dict[key]) for key in state_dict}
    keys, sizes, problems = [], [], []
    previous = None  # out_features of the layer before, when that layer was readable
    for position, layer in enumerate(order):
        weight_key, bias_key = layers[layer].get("weight"), layers[layer].get("bias")
        if weight_key is None:
            problems.append(f"{bias_key} has no weight beside it")
            previous = None
            continue
        weight = arrays[weight_key]
        if weight.ndim != 2:
            problems.append(
                f"{weight_key} has shape {weight.shape}: a Linear weight is 2-D (out_features, in_features)"
            )
            previous = None
            continue
        out_features, in_features = weight.shape
        if position == 0:
            sizes.append(in_features)
        elif previous is not None and in_features != previous:
            problems.append(f"{weight_key} takes {in_features} inputs but the layer before gives {previous}")
        sizes.append(out_features)
        previous = out_features
        if bias_key is not None and arrays[bias_key].shape != (out_features,):
            problems.append(f"{bias_key} has shape {arrays[bias_key].shape}, expected ({out_features},)")
        keys.append((weight_key, bias_key))
    with_bias = [bias for _, bias in keys if bias is not None]
    if with_bias and len(with_bias) != len(keys):
        problems.append(f"only some layers have a bias: {_names(with_bias)}")
    if problems:
        raise CheckpointError("not a chain of Linear layers: " + "; ".join(problems))
    if min(sizes) < 1:
        raise CheckpointError(f"layer widths must be at least 1, got {sizes}")
    kinds = {arrays[key].dtype for key in arrays}
    dtype = np.dtype(np.float64) if kinds == {np.dtype(np.float64)} else np.dtype(np.float32)
    return Architecture(tuple(sizes), bool(with_bias), tuple(keys), dtype)


def _layer_order(layers):
    names = list(layers)
    if all(name.startswith("fc") for name in names):
        numbers = sorted(int(name[2:]) for name in names)
        if numbers != list(range(1, len(numbers) + 1)):
            missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
            raise CheckpointError(
                f"not a chain of Linear layers: fc layers must be numbered 1..N without gaps; "
                f"found {['fc%d' % n for n in numbers]}, missing {['fc%d' % n for n in missing] or 'fc1'}"
            )
        return [f"fc{n}" for n in numbers]
    if all(name.isdigit() for name in names):
        return sorted(names, key=int)
    raise CheckpointError(f"not one naming scheme: layers named {sorted(names)} mix fcN and Sequential indices")


def _as_array(key, value):
    try:
        array = np.asarray(value)
    except Exception as error:
        raise CheckpointError(f"{key} is not an array ({type(value).__name__}: {_first_line(error)})") from None
    if array.dtype.kind not in "fiu":
        raise CheckpointError(f"{key} holds {array.dtype}, not numbers")
    return array


def _names(keys):
    keys = [repr(k) if not isinstance(k, str) else k for k in keys]
    return ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")


# -- building and saving -----------------------------------------------------------------------


def mlp_from_state_dict(state_dict, activation="relu"):
    """A ``scratchnet.MLP`` holding ``state_dict``'s weights; ``activation`` is yours to say (files do not record it).

    The MLP is float64 if every tensor is float64, float32 otherwise.
    """
    check_activation(activation)
    architecture = infer_architecture(state_dict)
    net = MLP(architecture.sizes, activation, bias=architecture.bias, dtype=architecture.dtype)
    net.load_state_dict({architecture.our_name(key): value for key, value in state_dict.items()})
    return net


def load_mlp(path, activation="relu"):
    """``mlp_from_state_dict(load_state_dict_file(path), activation)``."""
    return mlp_from_state_dict(load_state_dict_file(path), activation)


def save_safetensors(net, path):
    """Write ``net``'s state dict as safetensors, under torch's names, bit for bit.

    ``safetensors.torch.load_file(path)`` gives tensors that ``torchnet`` nets
    load directly; ``load_state_dict_file(path)`` gives back identical arrays.
    The metadata records the architecture for people reading the file.
    """
    from safetensors.numpy import save_file

    metadata = {"format": "pt", "scratchnet": json.dumps({"class": type(net).__name__, **_describe(net)})}
    save_file(net.state_dict(), str(path), metadata=metadata)


def _describe(net):
    if hasattr(net, "sizes") and hasattr(net, "activation_name"):
        return {"sizes": list(net.sizes), "activation": net.activation_name}
    return {}
