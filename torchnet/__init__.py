"""torchnet: the same networks as ``scratchnet``, written the way PyTorch users write them."""

from .nets import MLP, Heaviside, Net, make_activation

__all__ = ["Heaviside", "MLP", "Net", "make_activation"]
