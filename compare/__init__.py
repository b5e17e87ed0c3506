"""compare: copy weights between scratchnet and torch, and prove that both compute the same thing.

- ``copy_weights(src, dst)``, ``twin(net)``: the same weights in the other framework.
- ``assert_equivalent(a, b, x)``: the same, for a user's tests (``AssertionError`` with the report).
- ``compare_forward(scratch_net, torch_net, x)``, ``compare_gradients(...)``,
  ``compare_training(...)``: reports judged with derived tolerances (see ``compare.tolerance``).
- ``load_network(path, activation)``, ``load_state_dict_file(path)``: checkpoints of both kinds.
- ``python -m compare``: the article's network in both frameworks, side by side; ``train``, ``figures``.

compare needs PyTorch (``pip install 'scratchnet[torch]'``). Its names are
imported when first used, so that ``python -m compare`` can say so in one
line where torch is missing.
"""

import importlib

#: Each public name, and the module of this package that defines it.
_EXPORTS = {
    "OutputComparison": "report",
    "Report": "report",
    "compare_outputs": "report",
    "TrainingReport": "training",
    "compare_training": "training",
    "compare_forward": "forward",
    "assert_equivalent": "forward",
    "compare_gradients": "gradients",
    "load_network": "checkpoint",
    "load_state_dict_file": "checkpoint",
    "architecture_of": "weights",
    "copy_weights": "weights",
    "numpy_state": "weights",
    "to_scratch": "weights",
    "to_torch": "weights",
    "twin": "weights",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'compare' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    except ModuleNotFoundError as missing:
        if missing.name != "torch":
            raise
        raise ImportError(f"compare needs PyTorch ({missing}): pip install 'scratchnet[torch]'") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
