"""benchmarks: forward passes timed honestly, NumPy against PyTorch, CPU against GPU.

``python -m benchmarks`` (``--help`` for the options). Every backend runs the
same weights, is checked against the hand-written network before it is
timed, and is timed with ``torch.utils.benchmark.Timer`` at one reported
thread count, next to the machine's own measured limits (matmul FLOP/s,
memory bandwidth). The project README shows a full run's results.
"""
