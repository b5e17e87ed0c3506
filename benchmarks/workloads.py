"""What is timed: the article's tiny network and a wide one, and what one sample of each costs."""

from dataclasses import dataclass

from scratchnet.architecture import Architecture

__all__ = ["Workload", "WORKLOADS", "BATCHES", "QUICK_BATCHES", "TRAINING_BATCHES", "QUICK_TRAINING_BATCHES"]


@dataclass(frozen=True)
class Workload:
    """A network to time, named, and described by its ``Architecture``."""

    name: str
    architecture: Architecture

    @property
    def sizes(self):
        return self.architecture.sizes

    def flops_per_sample(self):
        """``2 in out`` multiply-adds per layer, plus ``out`` bias additions (activations not counted)."""
        return sum(
            2 * layer.in_features * layer.out_features + layer.out_features * layer.bias
            for layer in self.architecture.layers
        )

    def training_flops_per_sample(self):
        """One training step, the usual estimate: the forward's products three times (forward, ``dx``, ``dW``).

        Losses, activations and the optimizer's elementwise work are not counted.
        """
        return 3 * self.flops_per_sample()

    def io_bytes_per_sample(self, itemsize):
        """What an inference call cannot avoid moving: read the input, write the output."""
        return itemsize * (self.sizes[0] + self.sizes[-1])

    def bytes_per_sample(self, itemsize):
        """Memory traffic of a layer-by-layer pass: read the input, write the output, and write
        then read back every hidden activation (weights, read once per call, are not per sample)."""
        hidden = sum(self.sizes[1:-1])
        return itemsize * (self.sizes[0] + self.sizes[-1] + 2 * hidden)

    @property
    def small(self):
        """Small enough for CUDA graphs to matter (launch overhead dominates): under a million FLOPs per sample."""
        return self.flops_per_sample() < 1_000_000

    def describe(self):
        return str(self.architecture)


WORKLOADS = {
    "article": Workload("article", Architecture.mlp((2, 4, 4, 1), "relu")),
    "wide": Workload("wide", Architecture.mlp((1024, 4096, 4096, 1024), "relu")),
}

#: Batch sizes of a full run. The wide net stops at 4096 on the CPU (one forward is ~200 GFLOP there).
BATCHES = {
    "article": (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536),
    "wide": (1, 4, 16, 64, 256, 1024, 4096),
    "custom": (1, 16, 256, 4096, 65536),
}
QUICK_BATCHES = {"article": (1, 64, 4096, 65536), "wide": (1, 16), "custom": (1, 256, 4096)}

#: Batch sizes of the training workload (one full step: forward, loss, backward, Adam).
TRAINING_BATCHES = {"article": (1, 4, 256, 4096, 65536), "wide": (1, 64), "custom": (4, 256, 4096)}
QUICK_TRAINING_BATCHES = {"article": (4, 256), "wide": (), "custom": (4, 256)}
