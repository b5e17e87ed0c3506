"""Checkpoint files of both kinds: safetensors (read by ``scratchnet``) and ``torch.save`` (read by ``torchnet``).

The format is decided from the file's layout (``scratchnet.checkpoint.detect_format``),
never from its name.
"""

from scratchnet.checkpoint import (
    CheckpointError,
    detect_format,
    network_from_state_dict,
    recorded_architecture,
)
from scratchnet.checkpoint import load_state_dict_file as load_safetensors
from torchnet.checkpoint import load_torch_state_dict

__all__ = ["CheckpointError", "load_network", "load_state_dict_file"]


def load_state_dict_file(path):
    """A checkpoint's tensors as an ordered ``{name: numpy array}``: safetensors or a ``torch.save`` file."""
    if detect_format(path) == "torch":
        return load_torch_state_dict(path)
    return load_safetensors(path)  # safetensors, or a CheckpointError saying what the file is not


def load_network(path, activation=None):
    """The scratchnet network a checkpoint holds.

    A file that records its architecture (this project's safetensors) is
    rebuilt from it; for other files ``activation`` says what the tensors
    cannot: one name between layers, or one per layer (see
    ``scratchnet.checkpoint.architecture_for``).

    Raises:
        CheckpointError: an unusable file, a missing or contradicting ``activation``.
        OSError: the path cannot be read.
    """
    state = load_state_dict_file(path)
    return network_from_state_dict(state, activation, recorded=recorded_architecture(path), source=str(path))
