"""``python -m benchmarks --goals``: every speed and memory goal of the hand-written network, measured in one run.

A ratio of two medians measured minutes apart mixes in whatever else the
machine did in between (this machine is shared). So each goal is measured in
paired rounds: for one net, dtype and batch, every participant (scratchnet
and its competitors) at every thread count is timed back to back, and that
is one round; the order is reversed every other round, so that a steady drift
cancels. Each round gives one ratio; a goal reports the median ratio and its
IQR over the rounds, with the raw per-round times in the JSON.

Every participant is checked before it is timed (forward: against the float64
reference within the derived bound; training: one step against scratchnet's
by ``compare.compare_training``). One that computes something else is not
timed; one that cannot run here (onnxruntime not installed, torch.compile
failing) is not timed either, and each goal that needed it names it as
missing. ``--quick`` measures fewer batches and skips torch.compile; what it
skips is reported "not measured", never "MISS".

The goals (see ``GOALS``), in float32 and float64, at each thread count:

- ``infer-fastest``: ``scratchnet.infer`` at least as fast as the fastest of
  naive NumPy, torch eager, torch.jit, torch.compile and onnxruntime (``run``
  and I/O binding), at every batch of the article net and the wide net;
- ``infer-limit``: the article net at 65536 and 1048576 samples within 8x
  of the machine's limit, the larger of input+output traffic at the measured
  copy bandwidth and its FLOPs at the measured matmul peak (both measured in
  the same run, at the same thread count);
- ``infer-threads``: with 2 threads, at least 1.7x the 1-thread throughput
  at 1048576 samples (needs thread counts 1 and 2);
- ``forward-eager``: ``net(x)`` under ``no_grad`` no slower than torch eager;
- ``infer-memory``: ``infer``'s extra allocation within two activation-sized buffers;
- ``train-default``: a full training step at least 4x faster than torch's
  default Adam step, at batches 4 and 256 of the article net;
- ``train-fastest``: no slower than the fastest of torch's Adam variants
  (default, ``foreach``, ``fused``) at 65536 (article net) and 64 (wide net).
"""

import tracemalloc
from dataclasses import dataclass

import numpy as np

import scratchnet

from .backends import Backends
from .timing import measure
from .training import TRAINING_BACKENDS, TrainingBackends
from .workloads import WORKLOADS

__all__ = [
    "FORWARD_GOAL_BATCHES",
    "GOALS",
    "Goal",
    "INFER_COMPETITORS",
    "TRAINING_GOAL_BATCHES",
    "evaluate_goals",
    "infer_memory",
    "machine_limit",
    "measure_goal_points",
]


@dataclass(frozen=True)
class Goal:
    """One goal: what its ratio is, and the target the ratio must meet (``<=`` or ``>=``)."""

    key: str
    label: str
    text: str
    direction: str
    target: float

    def met(self, ratio):
        return ratio <= self.target if self.direction == "<=" else ratio >= self.target

    def target_text(self):
        return f"{self.direction} {self.target:g}"


GOALS = {
    goal.key: goal
    for goal in (
        Goal(
            "infer-fastest",
            "infer fastest",
            "scratchnet.infer time / the fastest competitor's time in the same round (naive NumPy, torch eager, "
            "torch.jit, torch.compile, onnxruntime run and I/O binding; same thread count)",
            "<=",
            1.0,
        ),
        Goal(
            "infer-limit",
            "infer vs limit",
            "scratchnet.infer time / the machine's limit, the larger of input+output bytes at the measured copy "
            "bandwidth and the FLOPs at the measured matmul peak (this run, same threads and dtype)",
            "<=",
            8.0,
        ),
        Goal(
            "infer-threads",
            "infer 2 threads",
            "scratchnet.infer throughput with 2 threads / with 1 thread (paired in each round)",
            ">=",
            1.7,
        ),
        Goal("forward-eager", "net(x) vs eager", "net(x) under no_grad time / torch eager time", "<=", 1.0),
        Goal(
            "infer-memory",
            "infer memory",
            "scratchnet.infer's peak extra allocation beyond its output and 4 KiB of Python objects, in "
            "activation-sized buffers, at the worst batch (tracemalloc)",
            "<=",
            2.0,
        ),
        Goal(
            "train-default",
            "train vs torch default",
            "scratchnet training step time / torch's with torch.optim.Adam as it comes (forward, loss, backward, step)",
            "<=",
            0.25,
        ),
        Goal(
            "train-fastest",
            "train vs fastest torch",
            "scratchnet training step time / the fastest of torch's Adam variants (default, foreach, fused) in the "
            "same round",
            "<=",
            1.0,
        ),
    )
}

#: The competitors of ``infer-fastest``.
INFER_COMPETITORS = (
    "naive-numpy",
    "torch-eager",
    "torch-jit",
    "torch-compile",
    "onnxruntime",
    "onnxruntime-iobinding",
)
#: Everything timed in a forward round: scratchnet, its readable forward (for ``forward-eager``), the competitors.
FORWARD_PARTICIPANTS = ("scratchnet", "scratchnet-forward", *INFER_COMPETITORS)
#: What ``--quick`` leaves out (compiling takes longer than the whole quick run should).
QUICK_SKIPS = ("torch-compile",)

FORWARD_GOAL_BATCHES = {
    "article": (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576),
    "wide": (1, 64, 1024),
}
QUICK_FORWARD_GOAL_BATCHES = {"article": (1, 64, 4096, 65536, 1048576), "wide": (1,)}
LIMIT_BATCHES = (65536, 1048576)
SPEEDUP_BATCH = 1048576
TRAINING_GOAL_BATCHES = {"train-default": {"article": (4, 256)}, "train-fastest": {"article": (65536,), "wide": (64,)}}
QUICK_TRAINING_SKIPS = {"wide"}

#: Fixed overhead allowed on top of two activation buffers by the memory goal: Python objects (array headers, views).
OBJECT_SLACK = 4096


def infer_memory(net, x):
    """Peak extra allocation of one ``infer`` call beyond its output, against one activation-sized buffer."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        y = scratchnet.infer(net, x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    sizes = net.architecture.sizes
    widest = max(sizes[1:-1], default=sizes[-1])
    activation = x.shape[0] * widest * x.dtype.itemsize
    extra = peak - base - y.nbytes
    # Data buffers, in activation-sized units, once 4 KiB of Python objects (array headers, views) are set aside.
    return {"extra_bytes": extra, "activation_bytes": activation, "buffers": max(extra - OBJECT_SLACK, 0) / activation}


def machine_limit(workload, dtype, batch, threads, peaks):
    """The least time ``batch`` samples can take here: ``(seconds, what bounds it)``, or ``(None, why)``."""
    bandwidth = _peak(peaks, "bandwidth", threads)
    matmul = _peak(peaks, "matmul", threads, np.dtype(dtype).name)
    if bandwidth is None or matmul is None:
        return None, f"no measured peak at {threads} threads"
    traffic = workload.io_bytes_per_sample(np.dtype(dtype).itemsize) * batch / (bandwidth * 1e9)
    compute = workload.flops_per_sample() * batch / (matmul * 1e9)
    if traffic >= compute:
        return traffic, f"input+output bytes at {bandwidth:.1f} GB/s copy bandwidth"
    return compute, f"FLOPs at {matmul:.1f} GFLOP/s matmul peak"


def _peak(peaks, kind, threads, dtype=None):
    for p in peaks:
        if p["kind"] == kind and p["device"] == "cpu" and p["threads"] == threads and p.get("dtype") == dtype:
            return p["gflops"] if kind == "matmul" else p["gbytes_per_s"]
    return None


def _label(name, threads):
    return f"{name}@{threads}"


def _rounds(prepared, threads, rounds, run_time, on_measure=None):
    """``{label: [seconds per call, one per round]}`` for every prepared participant at every thread count.

    In each round every participant is timed at every thread count, back to
    back; odd rounds go in the reverse order. The first round warms each up
    (compiling, onnxruntime's session per thread count, first touch of
    memory); later ones rely on the Timer's own warm-up (its block-size
    estimate runs the statement first). A participant with ``reset`` is reset
    before each measurement (a training step moves the weights).
    """
    order = [(name, count) for name in prepared for count in threads]
    times = {_label(name, count): [] for name, count in order}
    for number in range(rounds):
        for name, count in order if number % 2 == 0 else order[::-1]:
            participant = prepared[name]
            if getattr(participant, "reset", None) is not None:
                participant.reset()
            timing = measure(
                participant.fn,
                threads=count,
                min_run_time=run_time,
                context=participant.context,
                warmup=2 if number == 0 else 0,
            )
            times[_label(name, count)].append(timing.median_s)
            if on_measure is not None:
                on_measure(f"round {number + 1}/{rounds} {name} at {count} thread{'s' if count > 1 else ''}")
    return times


def measure_goal_points(dtypes, threads, *, quick, rounds, run_time, seed, progress=None):
    """Time every participant of every goal in paired rounds; return the points (the JSON's ``paired``).

    A point is one workload (``forward`` or ``training``), net, dtype and
    batch: ``participants`` (each backend's status and detail), ``times_s``
    (``{"backend@threads": [seconds per call, one per round]}``) and, for
    forward points, ``memory`` (``infer_memory``).
    """
    forward = QUICK_FORWARD_GOAL_BATCHES if quick else FORWARD_GOAL_BATCHES
    training = {}
    for per_net in TRAINING_GOAL_BATCHES.values():
        for net, batches in per_net.items():
            if not (quick and net in QUICK_TRAINING_SKIPS):
                training.setdefault(net, set()).update(batches)
    total = (
        len(dtypes)
        * (
            sum(len(b) for b in forward.values()) * len(FORWARD_PARTICIPANTS)
            + sum(len(b) for b in training.values()) * len(TRAINING_BACKENDS)
        )
        * len(threads)
        * rounds
    )
    done = [0]

    def step(note):
        done[0] += 1
        if progress is not None:
            progress(done[0], total, note)

    points = []
    for dtype in dtypes:
        for net_name, batches in forward.items():
            nets = Backends(WORKLOADS[net_name], dtype, seed)
            for batch in batches:
                points.append(_forward_point(nets, batch, threads, quick, rounds, run_time, seed, step))
            del nets  # the wide net's copies take hundreds of MB: free them before the next
        for net_name, batches in training.items():
            nets = TrainingBackends(WORKLOADS[net_name], dtype, seed)
            for batch in sorted(batches):
                points.append(_training_point(nets, batch, threads, rounds, run_time, step))
            del nets
    return points


def _forward_point(nets, batch, threads, quick, rounds, run_time, seed, step):
    workload, dtype = nets.workload, nets.dtype
    x = np.random.default_rng([seed, batch]).standard_normal((batch, workload.sizes[0])).astype(dtype)
    reference = nets.reference(x)
    participants, prepared = {}, {}
    for name in FORWARD_PARTICIPANTS:
        if quick and name in QUICK_SKIPS:
            participants[name] = {"status": "not measured", "detail": "--quick skips it"}
            continue
        checked = nets.checked(name, "cpu", x, reference)
        participants[name] = {"status": checked.status, "detail": checked.detail, "check_ratio": checked.ratio}
        if checked.status == "ok":
            prepared[name] = checked.prepared
    skipped = len(FORWARD_PARTICIPANTS) - len(prepared)
    for _ in range(skipped * len(threads) * rounds):
        step(f"{workload.name} {dtype.name} batch {batch}")
    times = _rounds(
        prepared, threads, rounds, run_time, lambda note: step(f"{workload.name} {dtype.name} {batch}: {note}")
    )
    point = _point("forward", workload, dtype, batch, threads, rounds, participants, times)
    if participants["scratchnet"]["status"] == "ok":
        point["memory"] = infer_memory(nets.scratch, x)
    return point


def _training_point(nets, batch, threads, rounds, run_time, step):
    workload, dtype = nets.workload, nets.dtype
    x, target = nets.data(batch)
    checks = nets.check(batch, x, target)
    participants, prepared = {}, {}
    for name in TRAINING_BACKENDS:
        check = checks[name]
        participants[name] = {"status": check.status, "detail": check.detail, "check_ratio": check.ratio}
        if check.status == "ok":
            prepared[name] = nets.prepare(name, x, target)
            participants[name]["detail"] = f"{prepared[name].detail}; {check.detail}"
    for _ in range((len(TRAINING_BACKENDS) - len(prepared)) * len(threads) * rounds):
        step(f"training {workload.name} {dtype.name} batch {batch}")
    note = f"training {workload.name} {dtype.name} {batch}"
    times = _rounds(prepared, threads, rounds, run_time, lambda text: step(f"{note}: {text}"))
    point = _point("training", workload, dtype, batch, threads, rounds, participants, times)
    point["loss"] = nets.loss
    return point


def _point(kind, workload, dtype, batch, threads, rounds, participants, times):
    return {
        "workload": kind,
        "net": workload.name,
        "sizes": list(workload.sizes),
        "dtype": dtype.name,
        "batch": batch,
        "threads": list(threads),
        "rounds": rounds,
        "participants": participants,
        "times_s": times,
    }


# ----------------------------------------------------------------------------------------------------------------
# From the points to the goals.


def _quartiles(values):
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return float(median), float(q3 - q1)


def _row(
    goal, net, dtype, threads, batch, *, competitor=None, ratios=None, missing=None, note="", verdict=None, **extra
):
    """One goal's result. ``ratios``: per round; none (and no ``verdict``) means not measured, ``note`` says why."""
    missing = missing or {}
    row = {
        "goal": goal.key,
        "label": goal.label,
        "net": net,
        "dtype": dtype,
        "threads": threads,
        "batch": batch,
        "competitor": competitor,
        "target": goal.target_text(),
        "ratio": None,
        "ratio_iqr": None,
        "ratios": [],
        "rounds": 0,
        "missing": missing,
        "note": note,
        **extra,
    }
    if ratios:
        row["ratio"], row["ratio_iqr"] = _quartiles(ratios)
        row["ratios"], row["rounds"] = [float(r) for r in ratios], len(ratios)
        verdict = verdict or ("met" if goal.met(row["ratio"]) else "MISS")
    row["verdict"] = verdict or "not measured"
    row["met"] = {"met": True, "MISS": False, "WRONG": False}.get(row["verdict"])
    return row


def _find(points, workload, net, dtype, batch):
    for p in points:
        if (p["workload"], p["net"], p["dtype"], p["batch"]) == (workload, net, dtype, batch):
            return p
    return None


def _not_run(quick):
    return "--quick skips this batch" if quick else "this batch was not in the run"


def _mine(goal, point, name, where, quick):
    """The row to give when ``name`` (scratchnet's side) has no times in ``point``, or None when it has."""
    if point is None:
        return _row(goal, *where, note=_not_run(quick))
    status = point["participants"][name]
    if status["status"] == "ok":
        return None
    if status["status"] == "wrong":
        return _row(goal, *where, verdict="WRONG", note=f"{name}: {status['detail']} (not timed)")
    return _row(goal, *where, note=f"{name} {status['status']}: {status['detail']}")


def _against(goal, point, mine, theirs, where, quick, count):
    """Per-round ratios of ``mine`` over the fastest of ``theirs`` that ran (the others named as missing)."""
    early = _mine(goal, point, mine, where, quick)
    if early is not None:
        return early
    missing = {n: point["participants"][n]["detail"] for n in theirs if point["participants"][n]["status"] != "ok"}
    ran = [n for n in theirs if n not in missing]
    if not ran:
        return _row(goal, *where, missing=missing, note="no competitor ran: " + ", ".join(sorted(missing)))
    times = point["times_s"]
    own = times[_label(mine, count)]
    ratios = [own[r] / min(times[_label(n, count)][r] for n in ran) for r in range(len(own))]
    fastest = max(ran, key=lambda n: float(np.median([o / t for o, t in zip(own, times[_label(n, count)])])))
    theirs_median = float(np.median(times[_label(fastest, count)]))
    note = f"{mine} {_seconds(float(np.median(own)))}, {fastest} {_seconds(theirs_median)}"
    if len(ran) > 1:
        note += f"; fastest of {len(ran)}"
    if missing:
        note += "; missing: " + ", ".join(f"{n} ({_short(why)})" for n, why in missing.items())
    return _row(goal, *where, competitor=fastest, ratios=ratios, missing=missing, note=note)


def _short(text):
    return text if len(text) <= 60 else text[:57] + "..."


def _forward_points(points, dtype_names, threads):
    """Each forward goal's point and its place ``(net, dtype, threads, batch)``, in the table's order."""
    for dtype in dtype_names:
        for net, batches in FORWARD_GOAL_BATCHES.items():
            for batch in batches:
                point = _find(points, "forward", net, dtype, batch)
                for count in threads:
                    yield point, (net, dtype, count, batch)


def evaluate_goals(points, dtypes, threads, peaks, *, quick):
    """Every goal's rows, from the measured ``points`` (see ``measure_goal_points``) and the run's ``peaks``."""
    rows = []
    dtype_names = [np.dtype(d).name for d in dtypes]
    for point, where in _forward_points(points, dtype_names, threads):
        rows.append(_against(GOALS["infer-fastest"], point, "scratchnet", INFER_COMPETITORS, where, quick, where[2]))
    for dtype in dtype_names:
        for batch in LIMIT_BATCHES:
            point = _find(points, "forward", "article", dtype, batch)
            for count in threads:
                rows.append(_limit_row(point, dtype, batch, count, peaks, quick))
    for dtype in dtype_names:
        rows.append(_threads_row(_find(points, "forward", "article", dtype, SPEEDUP_BATCH), dtype, threads, quick))
    for point, where in _forward_points(points, dtype_names, threads):
        goal = GOALS["forward-eager"]
        rows.append(_against(goal, point, "scratchnet-forward", ("torch-eager",), where, quick, where[2]))
    for dtype in dtype_names:
        for net, batches in FORWARD_GOAL_BATCHES.items():
            rows.append(_memory_row(points, net, dtype, batches, quick))
    for key, per_net in TRAINING_GOAL_BATCHES.items():
        theirs = (
            ("torch-adam",) if key == "train-default" else tuple(n for n in TRAINING_BACKENDS if n.startswith("torch"))
        )
        for dtype in dtype_names:
            for net, batches in per_net.items():
                for batch in batches:
                    point = _find(points, "training", net, dtype, batch)
                    for count in threads:
                        where = (net, dtype, count, batch)
                        rows.append(_against(GOALS[key], point, "scratchnet-train", theirs, where, quick, count))
    return rows


def _limit_row(point, dtype, batch, count, peaks, quick):
    goal, where = GOALS["infer-limit"], ("article", dtype, count, batch)
    early = _mine(goal, point, "scratchnet", where, quick)
    if early is not None:
        return early
    limit, why = machine_limit(WORKLOADS["article"], dtype, batch, count, peaks)
    if limit is None:
        return _row(goal, *where, note=why)
    own = point["times_s"][_label("scratchnet", count)]
    note = f"limit {_seconds(limit)} ({why}); scratchnet {_seconds(float(np.median(own)))}"
    return _row(
        goal,
        *where,
        competitor="machine limit",
        ratios=[t / limit for t in own],
        note=note,
        limit_s=limit,
        limit_by=why,
    )


def _threads_row(point, dtype, threads, quick):
    goal, where = GOALS["infer-threads"], ("article", dtype, "1 vs 2", SPEEDUP_BATCH)
    if not {1, 2} <= set(threads):
        return _row(goal, *where, note="needs --threads with 1 and 2")
    early = _mine(goal, point, "scratchnet", where, quick)
    if early is not None:
        return early
    one, two = point["times_s"][_label("scratchnet", 1)], point["times_s"][_label("scratchnet", 2)]
    note = f"1 thread {_seconds(float(np.median(one)))}, 2 threads {_seconds(float(np.median(two)))}"
    return _row(goal, *where, competitor="itself, 1 thread", ratios=[a / b for a, b in zip(one, two)], note=note)


def _memory_row(points, net, dtype, batches, quick):
    goal = GOALS["infer-memory"]
    measured = []
    for batch in batches:
        point = _find(points, "forward", net, dtype, batch)
        if point is not None and "memory" in point:
            measured.append((point["memory"]["buffers"], batch, point["memory"]))
    if not measured:
        return _row(goal, net, dtype, None, None, note=_not_run(quick))
    buffers, batch, worst = max(measured, key=lambda m: m[0])
    note = f"worst of {len(measured)} batches: {worst['extra_bytes'] / 2**20:.3g} MiB extra"
    if len(measured) < len(batches):
        skipped = [b for b in batches if b not in {m[1] for m in measured}]
        note += f"; batches not measured: {', '.join(map(str, skipped))}"
    return _row(
        goal, net, dtype, None, batch, competitor="2 activation buffers", ratios=[buffers], note=note, where=worst
    )


def records_of(points, peaks):
    """The points as the records of a plain run (one per backend, threads): median and IQR over the rounds."""
    records = []
    for p in points:
        workload = WORKLOADS[p["net"]]
        for name, status in p["participants"].items():
            base = {
                "workload": p["workload"],
                "net": p["net"],
                "sizes": p["sizes"],
                "backend": name,
                "device": "cpu",
                "dtype": p["dtype"],
                "batch": p["batch"],
            }
            for count in p["threads"]:
                times = p["times_s"].get(_label(name, count))
                if not times:
                    records.append({**base, "threads": count, "status": status["status"], "detail": status["detail"]})
                    continue
                median, iqr = _quartiles(times)
                flops = (
                    workload.flops_per_sample() if p["workload"] == "forward" else workload.training_flops_per_sample()
                ) * p["batch"]
                peak = _peak(peaks, "matmul", count, p["dtype"])
                records.append(
                    {
                        **base,
                        "threads": count,
                        "status": "ok",
                        "detail": status["detail"],
                        "median_s": median,
                        "iqr_s": iqr,
                        "runs": len(times),
                        "timing": "paired rounds: one median per round",
                        "times_s": list(times),
                        "samples_per_s": p["batch"] / median,
                        "gflops": flops / median / 1e9,
                        "peak_fraction": flops / median / 1e9 / peak if peak else None,
                        "check_ratio": status.get("check_ratio"),
                    }
                )
    return records


def _seconds(value):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"
