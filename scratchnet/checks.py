"""Argument checks shared by the layers and networks.

Each check either returns a clean value or raises an exception whose message
names what was expected and what came; none of them modifies its argument.
"""

import operator
from collections.abc import Sequence
from typing import Union

import numpy as np

from .autograd import record

#: What ``rng=`` takes: a NumPy ``Generator``, a seed (an int or ints), or None for fresh entropy.
RandomLike = Union[np.random.Generator, int, Sequence[int], None]

#: The floating dtypes a scratchnet layer may hold (torch.float32, torch.float64).
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_count(value, name, *, minimum=0):
    """Return ``value`` as an int >= ``minimum`` (bools are refused: ``True`` is not a size)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got bool {value!r}")
    try:
        count = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}") from None
    if count < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {count}")
    return count


def check_float_dtype(dtype):
    """Return ``dtype`` as a NumPy dtype if it is float32 or float64."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {resolved}")
    return resolved


def check_sizes(sizes):
    """Return layer widths ``(in, hidden..., out)`` as a tuple of positive ints."""
    if isinstance(sizes, (str, bytes)):
        raise TypeError(f"sizes must be a sequence of integers such as (2, 4, 4, 1), got {sizes!r}")
    try:
        items = list(sizes)
    except TypeError:
        raise TypeError(
            f"sizes must be a sequence of integers such as (2, 4, 4, 1), got {type(sizes).__name__}"
        ) from None
    if len(items) < 2:
        raise ValueError(f"sizes needs at least 2 widths (input and output), got {len(items)}: {items}")
    return tuple(check_count(size, f"sizes[{i}]", minimum=1) for i, size in enumerate(items))


def as_array(x, dtype, owner, what="input", *, differentiable=True):
    """Return ``x`` as an array of ``dtype``, by the rules of ``Linear``'s input.

    Python numbers and lists, and integer or boolean arrays, are converted to
    ``dtype``. A floating array of another dtype is refused rather than
    silently rounded or widened. An array of the right dtype is returned as it
    is (no copy), so callers must not write into the result. A masked array
    is refused (its mask would be ignored here and applied there); other
    ndarray subclasses (``np.matrix``, memmap) are taken as plain arrays. When a forward
    pass is recording, a conversion of a ``differentiable`` value is noted on
    its tape, so that the gradient reaches the object the caller passed.
    """
    if type(x) is np.ndarray:
        if x.dtype is dtype:  # the common case, answered first: used as it is
            return x
        array = x
    elif isinstance(x, np.ma.MaskedArray):  # its own dot and arithmetic would treat masked values as they please
        raise TypeError(
            f"{owner} does not take a masked array as {what}: fill the masked values first (x.filled(0.0)), "
            "or pass x.data to ignore the mask"
        )
    elif isinstance(x, np.ndarray):  # np.matrix, memmap: the plain array (a subclass's dot may change shapes)
        array = np.asarray(x)
    else:
        try:
            array = np.asarray(x)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{owner} expects an array as {what}; got {type(x).__name__}: {error}") from None
    kind = array.dtype.kind
    if kind == "f":
        if array.dtype != dtype and hasattr(x, "dtype"):
            raise TypeError(
                f"{owner} holds {dtype} values and expects {dtype} {what}; got {array.dtype}. "
                f"Convert explicitly, e.g. x.astype(np.{dtype})"
            )
    elif kind not in "iub":
        raise TypeError(f"{owner} expects real numbers as {what}; got an array of dtype {array.dtype}")
    if array.dtype != dtype:
        array = array.astype(dtype)
    if differentiable and array is not x:
        record(array, x, _same_gradient)
    return array


def _same_gradient(grad):
    return grad


def as_input(x, dtype, features, owner):
    """``as_array``, and check that ``x`` has shape ``(*, features)``."""
    if type(x) is np.ndarray and x.dtype is dtype and x.ndim and x.shape[-1] == features:
        return x  # the common case, answered first: an array of the right dtype and width is used as it is
    array = as_array(x, dtype, owner)
    if array.ndim == 0:
        raise ValueError(f"{owner} expects input of shape (*, {features}) with at least 1 dimension; got a 0-D value")
    if array.shape[-1] != features:
        raise ValueError(
            f"{owner} expects input of shape (*, {features}); got shape {array.shape}, "
            f"whose last dimension is {array.shape[-1]}, not {features}"
        )
    return array


def printable(text):
    """``text`` with control and other unprintable characters escaped: a name cannot clear a terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
