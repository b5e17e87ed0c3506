"""Timing with ``torch.utils.benchmark.Timer``, at a thread count that every backend shares."""

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from threadpoolctl import threadpool_limits
from torch.utils.benchmark import Timer

__all__ = ["Timing", "measure"]


@dataclass(frozen=True)
class Timing:
    median_s: float
    iqr_s: float
    runs: int


def measure(fn, *, threads, min_run_time, context=nullcontext, warmup=2):
    """Time ``fn()``: ``warmup`` calls, then ``Timer.blocked_autorange``; medians and IQR over blocks.

    ``threads`` caps both torch's intra-op threads (the Timer sets them) and
    every BLAS/OpenMP pool NumPy uses (threadpoolctl), so NumPy and torch run
    with the same number of threads. The Timer synchronizes CUDA before
    reading the clock. ``context`` (e.g. ``torch.inference_mode``) is entered
    around the warm-up and the measurement, not inside the timed statement.
    """
    with threadpool_limits(limits=threads), context():
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            for _ in range(warmup):
                fn()
            measurement = Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads).blocked_autorange(
                min_run_time=min_run_time
            )
        finally:
            torch.set_num_threads(previous)
    return Timing(measurement.median, measurement.iqr, len(measurement.times))
