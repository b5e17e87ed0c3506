"""torchnet: the same networks as ``scratchnet``, written the way PyTorch users write them."""

from .nets import MLP, Chain, Heaviside, Net, activation_of, architecture_of, build, make_activation

__all__ = ["Chain", "Heaviside", "MLP", "Net", "activation_of", "architecture_of", "build", "make_activation"]
