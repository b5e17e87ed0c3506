"""benchmarks: forward passes and training steps timed honestly, NumPy against PyTorch, CPU against GPU.

``python -m benchmarks`` (``--help`` for the options). Every backend runs the
same weights, is checked against the hand-written network's float64
reference (a training step: against scratchnet's, by ``compare_training``)
before it is timed, and is timed with ``torch.utils.benchmark.Timer`` at one
reported thread count, next to the machine's own measured limits (matmul
FLOP/s, memory bandwidth). ``python -m benchmarks --goals`` judges the goals
in paired rounds. The project README shows a full run's results; the JSON's
form is in docs/benchmark-schema.md.
"""
