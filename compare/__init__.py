"""compare: copy weights between scratchnet and torch, and prove that both compute the same thing.

- ``copy_weights(src, dst)``, ``twin(net)``: the same weights in the other framework.
- ``compare_forward(scratch_net, torch_net, x)``: a report judged with derived tolerances
  (see ``compare.tolerance``).
- ``python -m compare``: the article's network in both frameworks, side by side.
"""

from .forward import ForwardReport, OutputComparison, compare_forward, compare_outputs
from .weights import copy_weights, numpy_state, to_scratch, to_torch, twin

__all__ = [
    "ForwardReport",
    "OutputComparison",
    "compare_forward",
    "compare_outputs",
    "copy_weights",
    "numpy_state",
    "to_scratch",
    "to_torch",
    "twin",
]
