"""Checkpoint files of both kinds: safetensors (read by ``scratchnet``) and ``torch.save`` (read by ``torchnet``).

The format is decided from the file's layout (``scratchnet.checkpoint.format_of``),
never from its name, and each file is opened and read once: a file replaced
while it is read cannot give the weights of one and the architecture of another.
"""

from scratchnet.checkpoint import (
    CheckpointError,
    format_of,
    network_from_state_dict,
    open_regular,
    printable,
    read_safetensors,
)
from torchnet.checkpoint import read_torch_file

__all__ = ["CheckpointError", "load_network", "load_state_dict_file", "read_checkpoint"]


def read_checkpoint(path):
    """A checkpoint's tensors (an ordered ``{name: numpy array}``) and the ``Architecture`` it records, or None.

    safetensors files are read by ``scratchnet.checkpoint``, ``torch.save``
    files by ``torchnet.checkpoint`` (they record no architecture).
    """
    with open_regular(path) as file:
        kind = format_of(file)
        if kind == "torch":
            return read_torch_file(file, path), None
        if kind == "safetensors":
            return read_safetensors(file, path)
    raise CheckpointError(
        f"{printable(path)}: not a checkpoint (expected a .safetensors file or one written by torch.save)"
    )


def load_state_dict_file(path):
    """A checkpoint's tensors as an ordered ``{name: numpy array}``: safetensors or a ``torch.save`` file."""
    return read_checkpoint(path)[0]


def load_network(path, activation=None):
    """The scratchnet network a checkpoint holds, from one read of the file.

    A file that records its architecture (this project's safetensors) is
    rebuilt from it; for other files ``activation`` says what the tensors
    cannot: one name between layers, or one per layer (see
    ``scratchnet.checkpoint.architecture_for``).

    Raises:
        CheckpointError: an unusable file, a missing or contradicting ``activation``.
        OSError: the path cannot be read.
    """
    state, recorded = read_checkpoint(path)
    return network_from_state_dict(state, activation, recorded=recorded, source=str(path))
