"""Checkpoint files in and out, with NumPy and the ``safetensors`` package alone.

- ``save_safetensors(net, path)``: the weights under torch's names, and the
  network's ``Architecture`` in the file's metadata, so the file says what it
  holds. ``safetensors.torch.load_file`` and torch networks read it as it is.
- ``load_network(path, activation=None)``: a scratchnet network computing what
  the file holds. A file that records its architecture is rebuilt from it; for
  any other file the tensors tell the layers and their sizes, and
  ``activation`` must say what the tensors cannot.
- ``load_state_dict_file(path)``, ``recorded_architecture(path)``: the tensors,
  and the architecture the file records (or None).
- ``file_layers(state_dict)``: what a state dict's names and shapes say, and
  what they leave open; ``architecture_for(layers, activation)`` closes it.

PyTorch's own files (``torch.save``) need torch to read: ``compare.load_network``
reads both kinds. Which format a file is in is decided from its layout, never
from its name (``detect_format``). Every problem with a file's content raises
``CheckpointError`` (a ``ValueError``); a path that cannot be read raises the
usual ``OSError``.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from .architecture import Activation, Architecture, Layer, architecture_of
from .checks import printable
from .files import atomic_path
from .module import Module
from .nets import build

#: What names a file: a str or an os.PathLike.
PathLike = Union[str, "os.PathLike[str]"]

__all__ = [
    "CheckpointError",
    "CheckpointWarning",
    "FileLayers",
    "architecture_for",
    "detect_format",
    "file_layers",
    "format_of",
    "load_mlp",
    "load_network",
    "load_state_dict_file",
    "network_from_state_dict",
    "open_regular",
    "printable",
    "read_checkpoint",
    "read_safetensors",
    "recorded_architecture",
    "save_safetensors",
    "warn_widened",
]

#: The metadata key under which a file records its architecture (``Architecture.to_dict()`` as JSON).
METADATA_KEY = "scratchnet.architecture"


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint, or a state dict that is not a chain of Linear layers."""


# -- which format ---------------------------------------------------------------------------

#: The longest safetensors header read (the safetensors package's own limit).
MAX_HEADER_BYTES = 100_000_000


def open_regular(path):
    """Open ``path`` for reading in binary, refusing what is not a regular file, without ever blocking.

    The file is opened non-blocking and then checked (``fstat`` on what was
    opened), so a FIFO swapped in at any moment is refused, not waited on.
    Raises ``OSError`` (``IsADirectoryError`` for a directory) naming the
    path; ``TypeError`` for what is not a path (a file descriptor is not taken:
    it is the caller's to close).
    """
    if isinstance(path, (int, bool)) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"expected a path (str or os.PathLike), got {type(path).__name__}")
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except ValueError:  # a NUL character in the path
        raise OSError(errno.EINVAL, "not a usable path (it holds a NUL character)", printable(path)) from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a checkpoint file", printable(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, a socket or a device?)", printable(path))
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def detect_format(path: PathLike) -> str | None:
    """``"safetensors"``, ``"torch"`` (``torch.save``'s zip or legacy pickle) or None, from the file's layout.

    safetensors: an 8-byte little-endian header length ``n``, then a header
    that starts with ``{``, all within the file. torch: a zip archive
    (``PK\\x03\\x04``) or a pickle (``\\x80`` and a protocol number 2 to 5).
    The name of the file plays no part.
    """
    with open_regular(path) as file:
        return format_of(file)


def format_of(file):
    """``detect_format`` for an open binary file, left at its start."""
    head = file.read(9)
    size = os.fstat(file.fileno()).st_size
    file.seek(0)
    if len(head) == 9 and head[8:9] == b"{" and 8 + int.from_bytes(head[:8], "little") <= size:
        return "safetensors"
    if head[:4] == b"PK\x03\x04" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")):
        return "torch"
    return None


# -- reading files --------------------------------------------------------------------------

#: safetensors dtypes read into NumPy; float16 and bfloat16 are widened to float32 (exactly), with a warning.
SAFETENSORS_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "BF16": np.uint16,  # the top half of a float32: widened below
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
}


class CheckpointWarning(UserWarning):
    """Something was done to a file's values to read them (float16 or bfloat16 widened to float32, float64 or
    integers rounded to float32 in a network that is not float64 throughout)."""


def read_checkpoint(path: PathLike) -> tuple[OrderedDict[str, np.ndarray], Architecture | None]:
    """A ``.safetensors`` file's tensors and the ``Architecture`` it records (or None), from one read of it.

    Every tensor's dtype, shape and place in the file is checked against the
    file's real size before anything is read, and only the bytes the tensors
    use are read: a file cannot ask for more memory than it holds. float16
    and bfloat16 tensors are widened to float32 (exactly), and a
    ``CheckpointWarning`` names them.

    Raises:
        CheckpointError: not a safetensors file, truncated or corrupted, a
            dtype NumPy cannot hold; a PyTorch file (reading it needs torch:
            ``compare.read_checkpoint``).
        OSError: the path cannot be read, or is not a regular file.
    """
    with open_regular(path) as file:
        kind = format_of(file)
        if kind == "torch":
            raise CheckpointError(
                f"{printable(path)}: a PyTorch file (torch.save); reading it needs torch: use compare.load_network "
                "or python -m compare --checkpoint (pip install torch), or save it as safetensors"
            )
        if kind is None:
            raise CheckpointError(
                f"{printable(path)}: not a checkpoint (expected a .safetensors file or one written by torch.save)"
            )
        return read_safetensors(file, path)


def read_safetensors(file, path):
    """``read_checkpoint`` of an open safetensors file (``path`` names it in messages)."""
    header, metadata = _read_header(file, path)
    entries = {name: _entry(name, header[name], path) for name in header}
    needed = max((end for _, _, (_, end) in entries.values()), default=0)
    data = file.read(needed)  # only what the tensors use: trailing bytes (or a sparse file's holes) are not read
    arrays, widened = OrderedDict(), []
    for name in sorted(header, key=natural_order):
        arrays[name], was = _tensor(name, entries[name], data, path)
        if was:
            widened.append(f"{printable(name)} ({was})")
    warn_widened(path, widened)
    return arrays, _recorded(metadata, path)


def warn_widened(path, widened):
    """One ``CheckpointWarning`` naming the tensors widened to float32 (``"name (bfloat16)"``), if any."""
    if widened:
        more = f" and {len(widened) - 10} more" if len(widened) > 10 else ""
        warnings.warn(
            f"{printable(path)}: widened to float32, exactly: {', '.join(widened[:10])}{more}",
            CheckpointWarning,
            stacklevel=4,
        )


def load_state_dict_file(path: PathLike) -> OrderedDict[str, np.ndarray]:
    """A ``.safetensors`` file's tensors as an ordered ``{name: numpy array}`` (see ``read_checkpoint``)."""
    return read_checkpoint(path)[0]


def _read_header(file, path):
    """The tensors' entries of a safetensors header, and its ``__metadata__`` (or None), checked for form."""
    length = int.from_bytes(file.read(8), "little")
    if length > MAX_HEADER_BYTES:
        raise CheckpointError(f"{printable(path)}: a safetensors header of {length} bytes (at most {MAX_HEADER_BYTES})")
    try:
        header = json.loads(file.read(length), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise CheckpointError(f"{printable(path)}: not a valid safetensors header ({first_line(error)})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{printable(path)}: not a valid safetensors header (not a JSON object)")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise CheckpointError(f"{printable(path)}: not a valid safetensors header (__metadata__ must map to strings)")
    return header, metadata


def _no_duplicates(pairs):
    """A JSON object's pairs as a dict, refusing a name given twice (JSON would keep the last silently)."""
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the name {printable(key)!r} appears twice")
        seen[key] = value
    return seen


#: Each dimension of a tensor at most this: a larger one cannot be real data, whatever else the file says.
MAX_DIMENSION = 2**48


def _entry(name, entry, path):
    """One tensor's header entry, checked for form: ``(dtype name, shape, (begin, end))``."""
    where = f"{printable(path)}: tensor {printable(name)}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{where}: expected dtype, shape and data_offsets, got {printable(_short(entry))}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPES:
        shown = printable(dtype if isinstance(dtype, str) else _short(dtype))
        supported = ", ".join(SAFETENSORS_DTYPES)
        raise CheckpointError(f"{where}: dtype {shown} is not supported (supported: {supported})")
    if not (
        isinstance(shape, list) and len(shape) <= 8 and all(type(n) is int and 0 <= n <= MAX_DIMENSION for n in shape)
    ):
        raise CheckpointError(
            f"{where}: shape must be a list of at most 8 sizes from 0 to 2**48, got {printable(_short(shape))}"
        )
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(n) is int for n in offsets)):
        raise CheckpointError(f"{where}: data_offsets must be [begin, end], got {printable(_short(offsets))}")
    return dtype, shape, tuple(offsets)


def _tensor(name, entry, data, path):
    """One tensor of a safetensors file, checked against the bytes there are; and what it was widened from."""
    dtype, shape, (begin, end) = entry
    itemsize = np.dtype(SAFETENSORS_DTYPES[dtype]).itemsize
    claimed = math.prod(shape) * itemsize  # Python ints: no overflow, whatever the file claims
    if not 0 <= begin <= end <= len(data) or end - begin != claimed:
        raise CheckpointError(
            f"{printable(path)}: tensor {printable(name)}: shape {shape} of {dtype} needs {claimed} bytes, but the "
            f"file gives it bytes {begin} to {end} of {len(data)}"
        )
    values = np.frombuffer(data, SAFETENSORS_DTYPES[dtype], claimed // itemsize, begin).reshape(shape)
    if dtype == "BF16":
        return (values.astype(np.uint32) << 16).view(np.float32), "bfloat16"
    if dtype == "F16":
        return values.astype(np.float32), "float16"
    return values.copy(), None


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def recorded_architecture(path: PathLike) -> Architecture | None:
    """The ``Architecture`` a safetensors file records in its metadata, or None if it records none."""
    with open_regular(path) as file:
        if format_of(file) != "safetensors":
            return None
        return _recorded(_read_header(file, path)[1], path)


def _recorded(metadata, path):
    if metadata is None or METADATA_KEY not in metadata:
        return None
    try:
        return Architecture.from_dict(json.loads(metadata[METADATA_KEY]))
    except (TypeError, ValueError, ArithmeticError, RecursionError) as error:
        raise CheckpointError(
            f"{printable(path)}: its recorded architecture cannot be read ({printable(first_line(error))})"
        ) from None


def first_line(error):
    """The first line of an exception's message (at most 200 characters), for one-line reports."""
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def natural_order(name):
    """``fc2`` before ``fc10``, ``2.weight`` before ``10.weight`` (ASCII digits only: ``int`` takes others too)."""
    parts = re.split(r"([0-9]+)", name)
    return [(0, int(part), "") if part.isascii() and part.isdigit() else (1, 0, part) for part in parts]


# -- what a state dict says -----------------------------------------------------------------


@dataclass(frozen=True)
class FileLayers:
    """The Linear layers a state dict's names and shapes show, and what they leave open.

    ``layers`` hold each layer's keys in the file and its sizes. For
    ``nn.Sequential`` names, ``modules_between[i]`` is how many modules
    without weights sit between layer ``i`` and ``i + 1`` (the gap in their
    indices): 0 means no activation can be there. With ``fcN`` names nothing
    shows whether an activation is there (``modules_between`` is None), and no
    file shows what follows the last layer.
    """

    naming: str
    prefix: str
    keys: tuple  # per layer: (weight key, bias key or None)
    shapes: tuple  # per layer: (in_features, out_features)
    modules_between: tuple
    dtype: np.dtype

    def describe(self):
        """``3 -> 16 -> 1`` and, for Sequential names, where modules without weights sit."""
        text = " -> ".join(map(str, [self.shapes[0][0]] + [out for _, out in self.shapes]))
        if self.modules_between is not None:
            text += " (modules without weights between layers: " + ", ".join(map(str, self.modules_between)) + ")"
        return text


#: A layer number longer than this is no real network's (and would make int() slow or refuse it).
MAX_LAYER_DIGITS = 9

#: A layer's key: an optional prefix of printable characters ending in a dot, then ``fcN`` or an index.
_LAYER_KEY = re.compile(r"(?P<prefix>(?:[^\x00-\x1f\x7f-\x9f]*\.)?)(?P<layer>fc[0-9]+|[0-9]+)\.(?P<kind>weight|bias)")


def file_layers(state_dict):
    """The chain of Linear layers ``state_dict`` describes, or a ``CheckpointError`` naming what does not fit.

    Accepted names: ``weight`` and ``bias`` (one Linear alone), ``fc1.weight
    ... fcN.weight`` (consecutive, from 1) or
    ``nn.Sequential`` indices ``0.weight, 2.weight, ...`` (increasing, from
    0; modules without weights in between), each with an optional common
    prefix (``model.``, ``module.``, ...) and optional ``.bias``. Weights must
    be 2-D and chain: each layer's ``in_features`` is the previous
    ``out_features``; biases 1-D of the layer's width. Any other tensor makes
    it not a chain of Linear layers.
    """
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise CheckpointError(f"expected a non-empty mapping of names to arrays, got {type(state_dict).__name__}")
    layers, strangers, prefixes = {}, [], set()
    if "weight" in state_dict and set(state_dict) <= {"weight", "bias"}:
        layers[""] = {kind: kind for kind in state_dict}  # one Linear alone
        prefixes.add("")
    for key in state_dict if not layers else ():
        match = _LAYER_KEY.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            strangers.append(key)
            continue
        prefixes.add(match["prefix"])
        layers.setdefault(match["layer"], {})[match["kind"]] = key
    if strangers:
        raise CheckpointError(f"not a chain of Linear layers: unexpected tensors {_names(strangers)}")
    if len(prefixes) > 1:
        raise CheckpointError(f"not one network: keys have different prefixes {_names(sorted(prefixes))}")
    too_long = [layer for layer in layers if len(layer.lstrip("fc")) > MAX_LAYER_DIGITS]
    if too_long:
        raise CheckpointError(f"layer numbers of more than {MAX_LAYER_DIGITS} digits: {_names(too_long)}")
    naming, order = _layer_order(layers)
    arrays = {key: _as_array(key, state_dict[key]) for key in state_dict}
    keys, shapes, problems = [], [], []
    previous = None  # out_features of the layer before, when that layer was readable
    for position, layer in enumerate(order):
        weight_key, bias_key = layers[layer].get("weight"), layers[layer].get("bias")
        if weight_key is None:
            problems.append(f"{printable(bias_key)} has no weight beside it")
            previous = None
            continue
        weight = arrays[weight_key]
        if weight.ndim != 2:
            problems.append(
                f"{printable(weight_key)} has shape {weight.shape}: a Linear weight is 2-D (out_features, in_features)"
            )
            previous = None
            continue
        out_features, in_features = weight.shape
        if position > 0 and previous is not None and in_features != previous:
            problems.append(f"{printable(weight_key)} takes {in_features} inputs but the layer before gives {previous}")
        if min(weight.shape) < 1:
            problems.append(f"{printable(weight_key)} has shape {weight.shape}: layer widths must be at least 1")
        previous = out_features
        if bias_key is not None and arrays[bias_key].shape != (out_features,):
            problems.append(f"{printable(bias_key)} has shape {arrays[bias_key].shape}, expected ({out_features},)")
        keys.append((weight_key, bias_key))
        shapes.append((in_features, out_features))
    if problems:
        raise CheckpointError("not a chain of Linear layers: " + "; ".join(problems))
    between = None
    if naming == "sequential":
        indices = [int(layer) for layer in order]
        if indices[0] != 0:
            raise CheckpointError(
                f"the first Linear layer is module {indices[0]} of the Sequential: the {indices[0]} module(s) "
                "before it hold no weights, and the file cannot say what they compute"
            )
        between = tuple(after - before - 1 for before, after in zip(indices, indices[1:]))
    return FileLayers(naming, prefixes.pop(), tuple(keys), tuple(shapes), between, network_dtype(arrays))


def network_dtype(arrays):
    """The dtype of a network built from ``arrays``: float64 if every one is float64, float32 otherwise.

    Warns (``CheckpointWarning``) naming each array whose values float32 does not hold exactly: a float64
    weight of 0.1 is rounded, one of 1e300 becomes inf, an integer beyond 2**24 is rounded (float16 and
    bfloat16 were widened exactly when read).
    """
    if {array.dtype for array in arrays.values()} == {np.dtype(np.float64)}:
        return np.dtype(np.float64)
    rounded = []
    with np.errstate(all="ignore"):
        for key, array in arrays.items():
            if array.dtype == np.float32:
                continue
            array = np.asarray(array)
            narrowed = array.astype(np.float32)
            if array.dtype.kind in "iu":  # compared as integers: float64 cannot hold every int64 (2**53 + 1)
                back = np.where(np.isfinite(narrowed), narrowed, 0).astype(np.float64)
                inside = np.isfinite(narrowed) & (np.abs(back) < 2.0**63)
                differs = ~inside | (np.where(inside, back, 0).astype(array.dtype) != array)
                changed = int(np.count_nonzero(differs))
            else:
                changed = int(np.count_nonzero(narrowed.astype(np.float64) != array.astype(np.float64)))
                changed -= int(np.count_nonzero(np.isnan(narrowed)))  # NaN stays NaN
            if changed:
                infinite = int(np.count_nonzero(np.isinf(narrowed) & ~np.isinf(np.asarray(array, np.float64))))
                beyond = f", {infinite} beyond float32's range: inf" if infinite else ""
                rounded.append(f"{printable(key)} ({array.dtype}: {changed} of {array.size} values rounded{beyond})")
    if rounded:
        more = f" and {len(rounded) - 10} more" if len(rounded) > 10 else ""
        warnings.warn(
            "the network is float32 (not every tensor is float64), and float32 does not hold these values "
            f"exactly: {', '.join(rounded[:10])}{more}",
            CheckpointWarning,
            stacklevel=4,
        )
    return np.dtype(np.float32)


def _layer_order(layers):
    names = list(layers)
    if names == [""]:
        return "linear", names
    if all(name.startswith("fc") for name in names):
        numbers = sorted(int(name[2:]) for name in names)
        if numbers != list(range(1, len(numbers) + 1)) or any(name != f"fc{int(name[2:])}" for name in names):
            raise CheckpointError(
                f"not a chain of Linear layers: fc layers must be numbered 1..N without gaps or leading zeros; "
                f"found {_names(sorted(names, key=natural_order))}"
            )
        return "fc", [f"fc{n}" for n in numbers]
    if all(name.isdigit() for name in names):
        if any(name != str(int(name)) for name in names):
            raise CheckpointError(
                f"not a chain of Linear layers: Sequential indices with leading zeros {_names(names)}"
            )
        return "sequential", sorted(names, key=int)
    raise CheckpointError(f"not one naming scheme: layers named {_names(sorted(names))} mix fcN and Sequential indices")


def _as_array(key, value):
    try:
        array = np.asarray(value)
    except Exception as error:
        raise CheckpointError(
            f"{printable(key)} is not an array ({type(value).__name__}: {first_line(error)})"
        ) from None
    if array.dtype.kind not in "fiu":
        raise CheckpointError(f"{printable(key)} holds {array.dtype}, not numbers")
    return array


def _names(keys):
    keys = [printable(k) if isinstance(k, str) else printable(repr(k)) for k in keys]
    return ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")


def architecture_for(layers, activation):
    """The ``Architecture`` of ``layers`` (a ``FileLayers``) with the activations ``activation`` says.

    ``activation`` is one activation (a name or an ``Activation``), applied
    between layers: for Sequential names, exactly where a module without
    weights sits; or a list with one entry per layer (None where nothing
    follows), which can also say what follows the last layer. Whatever the
    tensors contradict (an activation where two Linear layers are adjacent
    indices, none where a module sits) is a ``CheckpointError``.
    """
    count = len(layers.keys)
    if isinstance(activation, (list, tuple)):
        if len(activation) != count:
            raise CheckpointError(
                f"one activation per layer: the file has {count} Linear layers, {len(activation)} activations given"
            )
        per_layer = [Activation.coerce(item) for item in activation]
    elif activation is None or activation == "none":  # said: no activation anywhere
        per_layer = [None] * count
    else:
        single = Activation.coerce(activation)
        gaps = layers.modules_between or (1,) * (count - 1)
        per_layer = [single if gap else None for gap in gaps] + [None]
    if layers.modules_between is not None:
        for number, (gap, after) in enumerate(zip(layers.modules_between, per_layer), start=1):
            names = f"{layers.keys[number - 1][0]} and {layers.keys[number][0]}"
            if gap > 1:
                raise CheckpointError(
                    f"{gap} modules without weights sit between {names}: an Architecture has at most one "
                    "activation between two Linear layers, and the file cannot say what they compute"
                )
            if gap == 0 and after is not None:
                raise CheckpointError(f"{names} are adjacent in the Sequential: no activation sits between them")
            if gap == 1 and after is None:
                raise CheckpointError(
                    f"a module without weights sits between {names}: say which activation it is ('identity' if none)"
                )
    elif layers.naming == "linear" and per_layer[0] is not None:
        raise CheckpointError("one Linear alone (weight, bias) has no activation")
    elif any(item is None for item in per_layer[:-1]):
        raise CheckpointError("fc-named layers have an activation between them: say 'identity' for none")
    bias = [bias_key is not None for _, bias_key in layers.keys]
    specs = [Layer(n_in, n_out, has_bias, act) for (n_in, n_out), has_bias, act in zip(layers.shapes, bias, per_layer)]
    try:
        return Architecture(tuple(specs), layers.naming)
    except (TypeError, ValueError) as error:
        raise CheckpointError(str(error)) from None


# -- building and saving --------------------------------------------------------------------


def network_from_state_dict(
    state_dict: Mapping[str, Any],
    activation: Any = None,
    *,
    recorded: Architecture | None = None,
    source: PathLike = "state dict",
) -> Module:
    """A scratchnet network holding ``state_dict``'s weights, computing what the file says.

    Args:
        state_dict: names to arrays, as ``load_state_dict_file`` returns them.
        activation: what the tensors cannot say (see ``architecture_for``);
            may be omitted when ``recorded`` is given, and must agree with it.
        recorded: the ``Architecture`` the file records, or None.
        source: names the file in messages.

    The network is float64 if every tensor is float64, float32 otherwise.
    """
    if recorded is not None and recorded.naming == "named":
        return _named_network(state_dict, activation, recorded, source)
    layers = file_layers(state_dict)
    if recorded is not None:
        architecture = recorded
        shapes = [(layer.in_features, layer.out_features) for layer in recorded.layers]
        names = [f"{layers.prefix}{name}" for name in recorded.parameter_names()]
        if names != _file_keys(layers) or shapes != list(layers.shapes) or recorded.naming != layers.naming:
            raise CheckpointError(
                f"{printable(source)}: its tensors ({layers.describe()}) do not fit the architecture it records "
                f"({printable(recorded)})"
            )
        said = architecture_for(layers, activation) if activation is not None else recorded
        if said != recorded:
            raise CheckpointError(
                f"{printable(source)} records {recorded}, but activation={activation!r} says {said}; "
                "leave activation out"
            )
    elif activation is None and layers.naming == "linear":  # one Linear alone: no activation to say
        architecture = architecture_for(layers, "none")
    elif activation is None:  # not said (say "none" for no activation)
        raise CheckpointError(
            f"{printable(source)} does not record its activations ({layers.describe()}): say them, e.g. "
            "activation='relu' (between layers) or one per layer such as ['relu', 'relu', None]"
        )
    else:
        architecture = architecture_for(layers, activation)
    try:
        net = build(architecture, dtype=layers.dtype)
    except ValueError as error:  # e.g. fc names with biases on some layers only: no MLP computes that
        raise CheckpointError(f"{printable(source)}: {error}") from None
    ours = architecture.parameter_names()
    net.load_state_dict({name: state_dict[key] for name, key in zip(ours, _file_keys(layers))})
    return net


def _named_network(state_dict, activation, recorded, source):
    """A ``Chain`` from a file that records a named architecture: its tensors are exactly the recorded names."""
    names = recorded.parameter_names()
    if not isinstance(state_dict, Mapping) or sorted(state_dict) != sorted(names):
        keys = list(state_dict) if isinstance(state_dict, Mapping) else type(state_dict).__name__
        raise CheckpointError(
            f"{printable(source)}: its tensors {_names(keys)} are not those of the architecture it records "
            f"({printable(recorded)}: {_names(names)})"
        )
    if activation is not None:
        raise CheckpointError(f"{printable(source)} records {recorded}; leave activation out")
    arrays = {key: _as_array(key, state_dict[key]) for key in names}
    net = build(recorded, dtype=network_dtype(arrays))
    try:
        net.load_state_dict(arrays)
    except ValueError as error:  # shapes that do not fit what it records
        raise CheckpointError(f"{printable(source)}: {first_line(error)}") from None
    return net


def _file_keys(layers):
    return [key for pair in layers.keys for key in pair if key is not None]


def load_network(path: PathLike, activation: Any = None) -> Module:
    """The network a ``.safetensors`` file holds (see ``network_from_state_dict``), from one read of the file."""
    state, recorded = read_checkpoint(path)
    return network_from_state_dict(state, activation, recorded=recorded, source=str(path))


#: The name of the first round, kept: it returns an MLP for fc-named files, a Sequential for Sequential ones.
load_mlp = load_network


def save_safetensors(net: Module, path: PathLike) -> None:
    """Write ``net``'s weights as safetensors, under torch's names, bit for bit, and its architecture.

    ``safetensors.torch.load_file(path)`` gives tensors that torch networks
    load directly; ``load_network(path)`` gives back the same network. The
    file is written beside ``path`` and renamed into place.
    """
    from safetensors.numpy import save_file

    architecture = architecture_of(net, "save_safetensors()")
    if architecture.naming == "fc":
        architecture.mlp_options()  # what load_network could not rebuild is refused now, not when reading it back
    metadata = {"format": "pt", METADATA_KEY: json.dumps(architecture.to_dict())}
    with atomic_path(path) as temporary:
        save_file(net.state_dict(), os.fspath(temporary), metadata=metadata)
