"""What the tests import from the optional, torch-needing side (torch, torchnet, compare, benchmarks).

With torch installed these are the real modules and objects, unchanged. Without it (the NumPy-only
install, which CI tests too) each is a ``Missing`` stand-in:

- while pytest collects the tests, using one (``torch.float32`` in a default argument, a twin in a
  ``parametrize`` list) gives another stand-in, so that every module still collects;
- while a test runs, using one in any way skips that test, naming what is missing and how to get it.

So the tests of the hand-written core run without torch, and the ones that compare against torch say
why they were skipped. A stand-in never behaves like a value: it cannot make a test pass.
"""

import importlib
import importlib.util

import pytest

__all__ = ["Missing", "available", "needs", "optional", "optional_names"]

HINT = "pip install 'scratchnet[torch]'"
#: True while a test runs (set by tests/conftest.py); False while tests are collected.
RUNNING = {"now": False}


class Missing:
    """Stands in for what could not be imported: skips the running test that uses it."""

    def __init__(self, name, reason):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_reason", reason)

    def _use(self, *args, **kwargs):
        if RUNNING["now"]:
            reason = self._reason if "pip install" in self._reason else f"{self._reason}; {hint_for(self._reason)}"
            pytest.skip(f"needs {self._name} ({reason})")
        return Missing(self._name, self._reason)

    def __getattr__(self, attribute):
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)  # protocols (copy, pickle, array) are not offered
        return self._use()

    def __bool__(self):
        if RUNNING["now"]:
            self._use()
        return False  # while collecting: "is CUDA available?" -> no

    def __repr__(self):
        if RUNNING["now"]:
            self._use()
        return f"<missing {self._name}>"  # a parametrize id, while collecting

    __str__ = __format__ = __repr__


for _dunder in (
    "__call__ __getitem__ __setitem__ __iter__ __len__ __contains__ __enter__ __exit__ __array__ __index__ "
    "__int__ __float__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __add__ __radd__ __sub__ __rsub__ __mul__ "
    "__rmul__ __truediv__ __rtruediv__ __matmul__ __rmatmul__ __neg__ __abs__ __pow__ __hash__"
).split():
    setattr(Missing, _dunder, Missing._use)
Missing.__hash__ = object.__hash__  # a stand-in can sit in a set or be a dict key while collecting


#: Which extra brings what a test may miss.
EXTRAS = {"matplotlib": "plot", "threadpoolctl": "bench", "expecttest": "dev", "onnx": "onnx"}


def hint_for(reason):
    """The ``pip install`` that brings what ``reason`` says is missing (torch unless another package is named)."""
    extra = next((extra for module, extra in EXTRAS.items() if module in reason), "torch")
    return f"pip install 'scratchnet[{extra}]'"


def available(module):
    """Whether ``module`` can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def needs(*modules):
    """A mark that skips a test (one that runs a command in a subprocess, say) where a module is missing."""
    missing = [module for module in modules if not available(module)]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} ({hint_for(' '.join(missing))})")


def source_folder(package):
    """The folder of the package that imports here (the installed one, when the tests run against a wheel)."""
    from pathlib import Path

    return Path(importlib.util.find_spec(package).origin).parent


def optional(module):
    """The module, or a ``Missing`` stand-in if it (or torch, which it needs) cannot be imported."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        return Missing(module, f"{type(error).__name__}: {error}")


def optional_names(module, *names):
    """``from module import names``, each a ``Missing`` stand-in if it cannot be imported."""
    imported = optional(module)
    if isinstance(imported, Missing):
        return tuple(Missing(f"{module}.{name}", imported._reason) for name in names)
    return tuple(_name(imported, module, name) for name in names)


def _name(imported, module, name):
    try:
        try:
            return getattr(imported, name)
        except AttributeError:
            return importlib.import_module(f"{module}.{name}")  # a submodule not imported yet
    except ImportError as error:  # a package that imports its names when first used (compare)
        return Missing(f"{module}.{name}", f"{type(error).__name__}: {error}")
