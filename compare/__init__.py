"""compare: copy weights between scratchnet and torch, and prove that both compute the same thing.

- ``copy_weights(src, dst)``, ``twin(net)``: the same weights in the other framework.
- ``compare_forward(scratch_net, torch_net, x)``, ``compare_gradients(...)``,
  ``compare_training(...)``: reports judged with derived tolerances (see ``compare.tolerance``).
- ``load_network(path, activation)``, ``load_state_dict_file(path)``: checkpoints of both kinds.
- ``python -m compare``: the article's network in both frameworks, side by side; ``train``, ``figures``.
"""

from .checkpoint import load_network, load_state_dict_file
from .forward import compare_forward
from .gradients import compare_gradients
from .report import OutputComparison, Report, compare_outputs
from .training import TrainingReport, compare_training
from .weights import architecture_of, copy_weights, numpy_state, to_scratch, to_torch, twin

__all__ = [
    "OutputComparison",
    "architecture_of",
    "load_network",
    "load_state_dict_file",
    "Report",
    "TrainingReport",
    "compare_forward",
    "compare_gradients",
    "compare_training",
    "compare_outputs",
    "copy_weights",
    "numpy_state",
    "to_scratch",
    "to_torch",
    "twin",
]
