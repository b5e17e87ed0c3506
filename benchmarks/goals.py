"""The speed and memory goals of the hand-written forward, measured as paired ratios.

A ratio of two medians measured minutes apart mixes in whatever else the
machine did in between (shared machines are noisy). So each goal is measured
in rounds: in every round scratchnet and torch run back to back, giving one
ratio per round; the goal reports the median ratio and its IQR over rounds.
"""

from dataclasses import dataclass

import numpy as np

from .timing import measure

__all__ = ["GOALS", "Goal", "measure_goals", "memory_goal"]


@dataclass(frozen=True)
class Goal:
    text: str
    net: str
    batch: int
    kind: str  # "time": mine/theirs; "throughput": theirs/mine; "peak": my FLOP/s / measured peak
    target: float

    def met(self, ratio):
        return ratio is not None and (ratio <= self.target if self.kind == "time" else ratio >= self.target)

    def target_text(self):
        return f"{'<=' if self.kind == 'time' else '>='} {self.target}"


GOALS = (
    Goal("article net, batch 1: scratchnet time / torch-eager@cpu time", "article", 1, "time", 0.25),
    Goal("article net, batch 65536: scratchnet time / torch-eager@cpu time", "article", 65536, "time", 0.5),
    Goal("wide net, batch 1024: scratchnet throughput / torch-eager@cpu throughput", "wide", 1024, "throughput", 0.95),
    Goal("wide net, batch 1024: scratchnet FLOP/s / measured matmul peak", "wide", 1024, "peak", 0.85),
)


def _quartiles(values):
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return float(median), float(q3 - q1)


def measure_goals(nets, plans, threads, peaks, *, rounds, run_time):
    """Paired measurements for every goal whose net and batch are in ``plans``.

    Args:
        nets: ``{net name: Backends}`` for float32.
        plans: ``{net name: batch sizes}`` of this run.
        threads: thread counts.
        peaks: the run's measured peaks (for the FLOP/s goal).
        rounds, run_time: rounds per goal, and ``min_run_time`` of each measurement.
    """
    results = []
    for goal in GOALS:
        if goal.net not in nets or goal.batch not in plans.get(goal.net, ()):
            for count in threads:
                results.append(_result(goal, count, None, None, 0))
            continue
        backends = nets[goal.net]
        x = np.random.default_rng([0, goal.batch]).standard_normal((goal.batch, backends.workload.sizes[0]))
        x = x.astype(np.float32)
        mine, theirs = backends.prepare("scratchnet", "cpu", x), backends.prepare("torch-eager", "cpu", x)
        for count in threads:
            ratios = []
            for _ in range(rounds):
                t_mine = measure(mine.fn, threads=count, min_run_time=run_time, context=mine.context).median_s
                t_theirs = measure(theirs.fn, threads=count, min_run_time=run_time, context=theirs.context).median_s
                if goal.kind == "time":
                    ratios.append(t_mine / t_theirs)
                elif goal.kind == "throughput":
                    ratios.append(t_theirs / t_mine)
                else:
                    gflops = backends.workload.flops_per_sample() * goal.batch / t_mine / 1e9
                    peak = next(
                        p["gflops"]
                        for p in peaks
                        if p["kind"] == "matmul"
                        and p["device"] == "cpu"
                        and p["threads"] == count
                        and p["dtype"] == "float32"
                    )
                    ratios.append(gflops / peak)
            median, iqr = _quartiles(ratios)
            results.append(_result(goal, count, median, iqr, rounds))
    return results


def _result(goal, threads, ratio, iqr, rounds):
    return {
        "goal": goal.text,
        "threads": threads,
        "ratio": ratio,
        "ratio_iqr": iqr,
        "rounds": rounds,
        "target": goal.target_text(),
        "met": goal.met(ratio),
    }


def memory_goal(memory):
    """Worst batch's data buffers (beyond the output and 4 KiB of Python objects), in activation-sized units."""
    worst = max(memory, key=lambda m: m["buffers"], default=None)
    ratio = worst["buffers"] if worst else None
    return {
        "goal": "scratchnet.infer: peak extra allocation beyond output and 4 KiB of Python objects, "
        "in activation-sized buffers (worst batch)",
        "threads": None,
        "ratio": ratio,
        "ratio_iqr": None,
        "rounds": None,
        "target": "<= 2",
        "met": ratio is not None and ratio <= 2,
        "where": worst,
    }
