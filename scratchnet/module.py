"""``Module`` and ``Parameter``: the bookkeeping that ``torch.nn.Module`` does, in plain Python.

A module owns parameters (trainable arrays) and child modules, both registered
by assigning attributes, exactly as in PyTorch::

    self.fc1 = Linear(2, 4)      # a child module, named "fc1"
    self.weight = Parameter(w)   # a parameter, named "weight"

From that registry come ``named_parameters()`` ("fc1.weight", ...),
``state_dict()``, ``load_state_dict()`` and ``repr`` in torch's format.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import autograd
from .checks import as_array, check_float_dtype

__all__ = ["Module", "Parameter", "StateDictError", "IncompatibleKeys"]


class Parameter:
    """A trainable array: the values in ``data`` and, after a backward pass, their gradient in ``grad``.

    torch's ``Parameter`` is a tensor with a ``.grad``; a NumPy array cannot
    carry one, so here the array is ``.data`` (also a torch name). The
    parameter keeps its own copy of the values it is given, so training never
    writes into an array the caller still holds.

    Attributes:
        data: the values, a C-contiguous float32 or float64 array.
        grad: None, or an array shaped like ``data`` (filled by backward passes).
    """

    __slots__ = ("_data", "grad")

    def __init__(self, data: ArrayLike) -> None:
        array = np.array(data, order="C")  # always a copy
        check_float_dtype(array.dtype)
        self._data = array
        self.grad = None

    @property
    def data(self) -> NDArray[np.floating]:
        """The values. Assigning keeps their dtype and shape: anything else is refused, saying how to convert."""
        return self._data

    @data.setter
    def data(self, value: ArrayLike) -> None:
        array = np.asarray(value)
        if array.dtype != self._data.dtype:
            whole = f", or the whole network with net.to(np.{array.dtype})" if array.dtype.kind == "f" else ""
            raise TypeError(
                f"this parameter holds {self._data.dtype}, got {array.dtype}: convert the values with "
                f"np.asarray(values, dtype=np.{self._data.dtype}){whole}"
            )
        if array.shape != self._data.shape:
            hint = " (a Linear weight is (out_features, in_features): transpose it?)" if array.shape[::-1] == (
                self._data.shape) and array.ndim == 2 else ""  # fmt: skip
            raise ValueError(f"this parameter has shape {self._data.shape}, got {array.shape}{hint}")
        self._data = np.array(array, order="C")  # a copy: training must not write into the caller's array

    def replace(self, array: NDArray[np.floating]) -> None:
        """Hold ``array`` as it is, whatever its dtype and shape (``Module.to`` converts a network with it)."""
        check_float_dtype(array.dtype)
        self._data = np.ascontiguousarray(array)
        self.grad = None
        Module.structure_generation += 1  # after the change: a dtype may differ, plans compiled before are stale

    shape = property(lambda self: self.data.shape, doc="Shape of ``data``.")
    dtype = property(lambda self: self.data.dtype, doc="dtype of ``data``.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions of ``data``.")
    size = property(lambda self: self.data.size, doc="Number of values in ``data``.")

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return np.asarray(self.data, dtype=dtype)

    def __repr__(self):
        return f"Parameter containing:\n{self.data!r}"


def clear_grads(params: Iterable[Parameter], set_to_none: bool = True) -> None:
    """Set each parameter's gradient to None (torch's default), or to zeros of its shape."""
    for param in params:
        param.grad = None if set_to_none or param.grad is None else np.zeros_like(param.grad)


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` skipped, as torch returns it."""

    missing_keys: list
    unexpected_keys: list


class StateDictError(ValueError):
    """A state dict that does not fit the module; nothing was loaded.

    The message lists every problem in torch's wording. The lists are also
    attributes: ``missing_keys``, ``unexpected_keys``, ``size_mismatches``
    (``(key, given_shape, expected_shape)``) and ``bad_values`` (``(key, reason)``).
    """

    def __init__(self, module_name, missing_keys=(), unexpected_keys=(), size_mismatches=(), bad_values=()):
        self.missing_keys = list(missing_keys)
        self.unexpected_keys = list(unexpected_keys)
        self.size_mismatches = list(size_mismatches)
        self.bad_values = list(bad_values)
        lines = [f"Error(s) in loading state_dict for {module_name}:"]
        if self.missing_keys:
            lines.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in self.missing_keys) + ".")
        if self.unexpected_keys:
            lines.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in self.unexpected_keys) + ".")
        for key, given, expected in self.size_mismatches:
            lines.append(
                f"size mismatch for {key}: copying a param with shape {given} from checkpoint, "
                f"the shape in current model is {expected}."
            )
        for key, reason in self.bad_values:
            lines.append(f"bad value for {key}: {reason}")
        super().__init__("\n\t".join(lines))


#: What copies and pickles of a module leave out (see ``Module.__getstate__``).
_NOT_COPIED = ("_forward_record", "_inference_plan", "_layers_kept")


class Module:
    """Base class of every layer and network, like ``torch.nn.Module``.

    Subclasses call ``super().__init__()`` first, assign their parameters and
    child modules as attributes, and define ``forward``. Calling the module
    calls ``forward``.
    """

    _parameters: OrderedDict[str, Parameter | None]
    _modules: OrderedDict[str, Module | None]
    _forward_record: threading.local

    #: Counts every attribute assignment or deletion on any module. A cache that depends on how
    #: modules are put together (``infer``'s compiled plan) is valid while this has not moved.
    structure_generation = 0

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_record", threading.local())  # per thread: (tape, input, output)

    # -- registration -------------------------------------------------------------------

    def __setattr__(self, name, value):
        # A Parameter or Module goes in its registry (which names it in state_dict and repr)
        # and also in the instance's __dict__, so that reading it back is a plain, fast lookup.
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() call")
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._modules[name] = value
        elif name in self._parameters and value is not None:
            raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} (Parameter or None expected)")
        elif name in self._modules and value is not None:
            raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} (Module or None expected)")
        elif name in self._parameters:
            self._parameters[name] = None  # like torch: a parameter slot left empty (bias=False)
        elif name in self._modules:
            self._modules[name] = None
        object.__setattr__(self, name, value)
        # Counted after the change: a cache that reads the count first, then the modules, can never keep the
        # old modules under the new count (another thread may read between the two).
        Module.structure_generation += 1

    def __getstate__(self):
        # Copies and pickles carry the modules and parameters, not this thread's recorded forward pass
        # nor caches (infer's plan, an MLP's layer list) that are valid only in this process.
        return {k: v for k, v in self.__dict__.items() if k not in _NOT_COPIED}

    def __setstate__(self, state):
        self.__dict__.update(state)
        object.__setattr__(self, "_forward_record", threading.local())

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)
        Module.structure_generation += 1  # after the change (see __setattr__)

    # -- calling and differentiating -------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward``; unless inside ``no_grad()``, record it so that ``backward`` can follow.

        Only the outermost module records: the layers it calls write on its tape.
        """
        if autograd.current_tape() is not None:  # a layer inside a recording forward pass: the outer one records
            return self.forward(*args, **kwargs)
        self._forward_record.last = None
        if not autograd.is_grad_enabled():
            return self.forward(*args, **kwargs)
        with autograd.Tape() as tape:
            output = self.forward(*args, **kwargs)
        # The input is the first argument, given by position or by name (layer(input=x), as torch allows).
        input = args[0] if args else kwargs.get("input", next(iter(kwargs.values()), None))
        self._forward_record.last = (tape, input, output)
        return output

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass defines it."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def backward(self, grad_output: ArrayLike | None = None) -> NDArray[np.floating]:
        """Back-propagate through the last forward pass ``y = module(x)``.

        Args:
            grad_output: ``dL/dy``, an array of ``y``'s shape (converted like an
                input: a floating array of another dtype is refused). May be
                omitted when ``y`` is a scalar (a loss): then it is 1.

        Returns:
            ``dL/dx``, shaped like ``x``. Each parameter's ``.grad`` has
            ``dL/dparameter`` added to it (gradients accumulate, as in torch;
            ``zero_grad()`` clears them). ``grad_output`` is not modified.

        Raises:
            autograd.BackwardError: no recorded forward pass (never called,
                called under ``no_grad``, or already back-propagated: each
                forward allows one backward), or the forward used operations
                that were not recorded. Nothing has changed then.
            ValueError, TypeError: ``grad_output`` of the wrong shape or dtype;
                nothing has changed, and the forward can still be back-propagated.
        """
        name = type(self).__name__
        last = getattr(self._forward_record, "last", None)
        if last is None:
            raise autograd.BackwardError(
                f"{name}.backward() needs a recorded forward pass: call the module on an input first "
                "(outside no_grad); each forward pass allows one backward"
            )
        tape, input, output = last
        out_shape, out_dtype = np.shape(output), np.asarray(output).dtype
        if grad_output is None:
            if out_shape != ():
                raise ValueError(
                    f"{name}.backward() needs grad_output of shape {out_shape}; "
                    "it may be omitted only for a scalar output"
                )
            grad = np.asarray(out_dtype.type(1))  # 1 as a 0-d array (np.ones((), dtype) costs 0.6 us more)
        elif type(grad_output) is np.ndarray and grad_output.dtype is out_dtype:  # the common case, first
            grad = grad_output
        else:
            grad = as_array(grad_output, out_dtype, f"{name}.backward()", what="grad_output", differentiable=False)
        if grad.shape != out_shape:
            raise ValueError(f"{name}.backward() needs grad_output of the output's shape {out_shape}; got {grad.shape}")
        autograd.check_chain(tape, input, output, name)  # before anything changes
        self._forward_record.last = None  # each forward pass allows one backward
        return autograd.run_backward(tape, input, output, grad)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: to None (torch's default), or to zeros."""
        clear_grads(self.parameters(), set_to_none)

    # -- walking the tree -----------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for each direct child, in assignment order."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def get_submodule(self, target: str) -> Module:
        """The descendant named ``target`` (dotted, as in ``named_modules``; ``""`` is this module), like torch."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (looking for {target!r})")
            module = child
        return module

    def children(self) -> Iterator[Module]:
        """Yield each direct child module."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted_name, module)`` for this module (name ``prefix``) and all its descendants."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, Parameter)`` in torch's order: own parameters, then each child's."""
        for module_name, module in self.named_modules(prefix):
            for name, param in module._parameters.items():
                if param is not None:
                    yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self) -> Iterator[Parameter]:
        """Yield each Parameter, in the order of ``named_parameters()``."""
        for _, param in self.named_parameters():
            yield param

    # -- state dict -----------------------------------------------------------------------

    def state_dict(self) -> OrderedDict[str, NDArray[np.floating]]:
        """Return an ordered mapping from torch's parameter names to copies of the arrays."""
        return OrderedDict((name, param.data.copy()) for name, param in self.named_parameters())

    def load_state_dict(self, state_dict: Mapping[str, ArrayLike], strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters, all or nothing.

        Every entry is checked before anything is written: a wrong shape or a
        value that is not a real-valued array is always an error, and with
        ``strict=True`` so are missing and unexpected keys. On error a
        ``StateDictError`` lists every problem and no parameter has changed
        (torch's own ``load_state_dict`` may leave a partial load behind).
        Values are converted to each parameter's dtype, as torch does.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"expected a mapping from parameter names to arrays, got {type(state_dict).__name__}")
        own = OrderedDict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        size_mismatches, bad_values, converted = [], [], {}
        for name, param in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            try:
                array = np.asarray(value)
            except Exception as error:  # arbitrary objects can fail in arbitrary ways
                bad_values.append((name, f"not readable as an array ({type(value).__name__}: {error})"))
                continue
            if not param.data.flags.writeable:
                bad_values.append((name, "the parameter's array is read-only (it cannot take new values in place)"))
            elif array.dtype.kind not in "fiub":
                bad_values.append((name, f"expected real numbers, got dtype {array.dtype}"))
            elif array.shape != param.shape:
                size_mismatches.append((name, array.shape, param.shape))
            else:
                with np.errstate(over="ignore"):  # float64 -> float32 overflow gives inf, as in torch
                    converted[name] = array.astype(param.dtype)
        bad_values += _tied_conflicts(own, converted)
        if size_mismatches or bad_values or (strict and (missing or unexpected)):
            raise StateDictError(
                type(self).__name__,
                missing if strict else (),
                unexpected if strict else (),
                size_mismatches,
                bad_values,
            )
        for name, array in converted.items():
            np.copyto(own[name].data, array)
        return IncompatibleKeys(missing, unexpected)

    # -- dtype ----------------------------------------------------------------------------

    def to(self, dtype: DTypeLike) -> Module:
        """Convert every parameter to ``dtype`` (float32 or float64) in place and return self.

        Gradients are dropped, as they belong to the old values' dtype.
        """
        dtype = check_float_dtype(dtype)
        for param in self.parameters():
            if param.dtype != dtype:
                param.replace(param.data.astype(dtype))  # gradients belong to the old dtype: dropped
        return self

    # -- printing -------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """One line of settings shown inside ``repr``; subclasses override it."""
        return ""

    def __repr__(self):
        # torch's algorithm: extra_repr lines, then "(name): child" lines indented by two spaces.
        extra_lines = self.extra_repr().split("\n") if self.extra_repr() else []
        child_lines = [f"({name}): {_indent(repr(child), 2)}" for name, child in self.named_children()]
        lines = extra_lines + child_lines
        text = type(self).__name__ + "("
        if len(extra_lines) == 1 and not child_lines:
            text += extra_lines[0]
        elif lines:
            text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"


def _tied_conflicts(own, converted):
    """``(name, reason)`` for parameters that share memory (tied weights) but are given different values.

    Writing both would keep only the last; torch does that silently. Equal values are fine.
    """
    names = [name for name in converted]
    conflicts = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            if np.shares_memory(own[first].data, own[second].data) and not np.array_equal(
                converted[first], converted[second], equal_nan=True
            ):
                conflicts.append((second, f"shares memory with {first} (tied weights), but is given other values"))
    return conflicts


def _indent(text, spaces):
    """Indent every line but the first by ``spaces``; blank lines stay empty (torch's ``_addindent``)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [(" " * spaces + line) if line.strip() else "" for line in rest])
