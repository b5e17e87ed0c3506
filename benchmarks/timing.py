"""Timing with ``torch.utils.benchmark.Timer``, at a thread count that every backend shares."""

import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from threadpoolctl import threadpool_limits
from torch.utils.benchmark import Timer

import scratchnet

__all__ = ["Timing", "measure"]


@dataclass(frozen=True)
class Timing:
    """The median and IQR over the timed blocks, how many blocks, and each block's time per call (seconds)."""

    median_s: float
    iqr_s: float
    runs: int
    times_s: tuple[float, ...] = ()


def measure(fn, *, threads, min_run_time, context=nullcontext, warmup=2):
    """Time ``fn()``: up to ``warmup`` calls, then ``Timer.blocked_autorange``; medians and IQR over blocks.

    ``threads`` caps torch's intra-op threads (the Timer sets them), every
    BLAS/OpenMP pool NumPy uses (threadpoolctl) and ``scratchnet.infer``'s own
    (``scratchnet.set_num_threads``), so NumPy, scratchnet and torch run with
    the same number of threads. The Timer synchronizes CUDA before
    reading the clock. ``context`` (e.g. ``torch.inference_mode``) is entered
    around the warm-up and the measurement, not inside the timed statement.

    The warm-up stops early once it has taken ``min_run_time``: a call that
    long is warm after one run. The Timer warms up too: it finds its block
    size by running the statement (one call, for a call longer than
    ``min_run_time``; then it times at least one more). ``warmup=0`` relies on
    that alone, as the later rounds of ``benchmarks.goals`` do.
    """
    with threadpool_limits(limits=threads), context():
        previous, previous_scratch = torch.get_num_threads(), scratchnet.get_num_threads()
        torch.set_num_threads(threads)
        scratchnet.set_num_threads(threads)
        try:
            started = time.perf_counter()
            for _ in range(warmup):
                fn()
                if time.perf_counter() - started >= min_run_time:
                    break
            measurement = Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads).blocked_autorange(
                min_run_time=min_run_time
            )
        finally:
            torch.set_num_threads(previous)
            scratchnet.set_num_threads(previous_scratch)
    return Timing(measurement.median, measurement.iqr, len(measurement.times), tuple(measurement.times))
