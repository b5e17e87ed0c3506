"""``python -m benchmarks``: time every backend (forward passes and training steps), write a table, JSON and a plot.

``python -m benchmarks --goals`` measures the goals instead (``benchmarks.goals``): paired rounds, a table of verdicts.
"""

import argparse
import os
import shlex
import time
from pathlib import Path

import matplotlib  # noqa: F401  (needed for the plot: fail now rather than after the measurements)
import numpy as np
import torch

from scratchnet.architecture import ACTIVATION_NAMES, OUTPUT_ONLY, Architecture
from scratchnet.command_line import (
    ArgumentParser,
    count_arg,
    fits_in_memory,
    output_folder_arg,
    positive_float,
    run_command,
    seed_arg,
    sizes_arg,
)
from scratchnet.files import check_target
from scratchnet.progress import Progress

from .backends import BACKENDS, Backends
from .goals import evaluate_goals, infer_memory, measure_goal_points, records_of
from .machine import describe_machine, load_average, measure_peaks, source_revision
from .report import SCHEMA_VERSION, crossovers, goal_table, table, write_json, write_plot
from .timing import measure
from .training import TRAINING_BACKENDS, TrainingBackends
from .workloads import BATCHES, QUICK_BATCHES, QUICK_TRAINING_BATCHES, TRAINING_BATCHES, WORKLOADS, Workload

#: CPU calls above this many GFLOP are skipped (the wide net at a batch of 16384 would take seconds per call).
CPU_GFLOP_LIMIT = 250
#: Workloads of a plain run.
WORKLOAD_KINDS = ("forward", "training")
#: Activations that can sit between layers (``--activation`` goes after every layer of ``--sizes`` but the last).
HIDDEN_ACTIVATIONS = tuple(name for name in ACTIVATION_NAMES if name not in OUTPUT_ONLY)
#: Options that choose what a plain run measures: ``--goals`` measures its own nets, batches and backends.
PLAN_OPTIONS = ("nets", "sizes", "activation", "batches", "backends", "devices", "workloads")
#: Paired rounds per goal measurement, and seconds per measurement, of ``--goals`` (and with ``--quick``).
GOAL_ROUNDS, QUICK_GOAL_ROUNDS = 5, 3
GOAL_RUN_TIME, QUICK_GOAL_RUN_TIME = 0.05, 0.01


def _list_of(choices, name):
    def parse(text):
        items = [item for item in text.split(",") if item]
        unknown = [item for item in items if item not in choices]
        if unknown or not items:
            raise ValueError
        return items

    parse.__name__ = f"comma-separated {name} from {', '.join(choices)}"
    return parse


def _counts(text):
    return [count_arg(1, 2**40)(item) for item in text.split(",")]


def _hidden_activation(text):
    if text in OUTPUT_ONLY:
        raise argparse.ArgumentTypeError(
            f"{text} mixes the features of a sample, so it may only follow the last layer; --activation goes "
            f"between the layers of --sizes: choose from {', '.join(HIDDEN_ACTIVATIONS)}"
        )
    if text not in HIDDEN_ACTIVATIONS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(HIDDEN_ACTIVATIONS)}, got {text!r}")
    return text


_hidden_activation.__name__ = "activation"


def build_parser():
    parser = ArgumentParser(
        prog="python -m benchmarks",
        description="Time forward passes and training steps of the hand-written NumPy network and of PyTorch (and "
        "onnxruntime; CPU, and GPU when present), with the same weights, each checked before it is timed, next to "
        "the machine's measured limits. --goals measures the speed and memory goals in paired rounds.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer batches and shorter timings (about a minute)")
    parser.add_argument(
        "--goals",
        action="store_true",
        help="measure every goal (both nets, their goal batches, every backend) as paired ratios, and print one "
        "table of verdicts; about 15 minutes on 2 cores, under 2 with --quick",
    )
    parser.add_argument(
        "--rounds",
        type=count_arg(1, 1000),
        help=f"with --goals: paired rounds per measurement (default {GOAL_ROUNDS}, --quick {QUICK_GOAL_ROUNDS})",
    )
    parser.add_argument("--workloads", type=_list_of(WORKLOAD_KINDS, "workloads"), help="default: forward,training")
    parser.add_argument("--nets", type=_list_of(tuple(WORKLOADS), "nets"), help="default: article,wide")
    parser.add_argument("--sizes", type=sizes_arg, help="also time an MLP of these widths, e.g. 64,256,256,10")
    parser.add_argument(
        "--activation",
        type=_hidden_activation,
        help=f"activation between the layers of --sizes (default relu): {', '.join(HIDDEN_ACTIVATIONS)}",
    )
    parser.add_argument("--dtypes", type=_list_of(("float32", "float64"), "dtypes"), default=["float32", "float64"])
    parser.add_argument("--batches", type=_counts, help="batch sizes, e.g. 1,64,4096 (default: per net)")
    parser.add_argument(
        "--backends",
        type=_list_of((*BACKENDS, *TRAINING_BACKENDS), "backends"),
        help="default: all (forward and training ones)",
    )
    parser.add_argument(
        "--devices", type=_list_of(("cpu", "cuda"), "devices"), help="default: cpu, and cuda if available"
    )
    parser.add_argument(
        "--threads",
        type=lambda text: [count_arg(1, 1024)(t) for t in text.split(",")],
        help=f"thread counts, e.g. 1,2 (default: {os.cpu_count()}, all; with --goals 1,2)",
    )
    parser.add_argument(
        "--min-run-time",
        type=lambda text: positive_float(text, maximum=60),
        help=f"seconds per measurement, at most 60 (default 0.25, --quick 0.02; --goals {GOAL_RUN_TIME}, "
        f"--quick --goals {QUICK_GOAL_RUN_TIME})",
    )
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument(
        "--out",
        type=lambda text: Path(output_folder_arg(text)),
        default=Path("benchmark-results"),
        help="where the JSON and PNG go (checked writable before anything is measured)",
    )
    return parser


def _workloads(args):
    chosen = [WORKLOADS[name] for name in (args.nets or ([] if args.sizes else list(WORKLOADS)))]
    if args.sizes:
        chosen.append(Workload("custom", Architecture.mlp(args.sizes, args.activation or "relu")))
    return chosen


def _document(args, machine, revision):
    return {
        "schema_version": SCHEMA_VERSION,
        "mode": "goals" if args.goals else "plain",
        **revision,
        "command_line": shlex.join(["python", "-m", "benchmarks", *args.argv]),
        "machine": machine,
    }


def run(args):
    """Measure everything the options ask for; return the JSON document."""
    devices = _devices(args)
    threads = args.threads or [os.cpu_count() or 1]
    workloads = _workloads(args)
    kinds = args.workloads or list(WORKLOAD_KINDS)
    backends = args.backends or [*BACKENDS, *TRAINING_BACKENDS]
    if args.quick and args.backends is None:
        backends = [b for b in backends if b != "torch-compile"]  # compiling takes longer than --quick's minute
    forward_backends = [b for b in backends if b in BACKENDS] if "forward" in kinds else []
    training_backends = [b for b in backends if b in TRAINING_BACKENDS] if "training" in kinds else []
    run_time = args.min_run_time or (0.02 if args.quick else 0.25)
    document = _document(args, describe_machine(threads), source_revision())
    dtypes = [np.dtype(d) for d in args.dtypes]

    plan = []
    for workload in workloads:
        forward = args.batches or (QUICK_BATCHES if args.quick else BATCHES)[workload.name]
        training = args.batches or (QUICK_TRAINING_BATCHES if args.quick else TRAINING_BATCHES)[workload.name]
        for dtype in dtypes:
            plan.append((workload, dtype, forward if forward_backends else (), training if training_backends else ()))
    steps = 1 + sum(
        len(f) * len(forward_backends) * len(devices) + len(t) * len(training_backends) for _, _, f, t in plan
    )
    records, memory = [], []
    with Progress(steps, "benchmarks") as progress:
        progress.update(0, "measuring the machine's limits")
        peaks = measure_peaks(devices, dtypes, threads, quick=args.quick)
        done = 1
        for workload, dtype, forward, training in plan:
            nets = Backends(workload, dtype, args.seed) if forward else None
            for batch in forward:
                x = reference = None  # not made for a batch every device skips (_measure_forward says why)
                if not _skipped_everywhere(workload, batch, devices):
                    x = np.random.default_rng([args.seed, batch]).standard_normal((batch, workload.sizes[0]))
                    x = x.astype(dtype)
                    reference = nets.reference(x, devices)
                if x is not None and "scratchnet" in forward_backends and "cpu" in devices:
                    memory.append(
                        {"net": workload.name, "dtype": dtype.name, "batch": batch, **infer_memory(nets.scratch, x)}
                    )
                for backend in forward_backends:
                    for device in devices:
                        done += 1
                        progress.update(done, f"{workload.name} {dtype.name} batch {batch} {backend}@{device}")
                        if device in BACKENDS[backend]:
                            records += _measure_forward(
                                nets, workload, dtype, batch, backend, device, x, reference, threads, run_time, peaks
                            )
            del nets
            trainers = TrainingBackends(workload, dtype, args.seed) if training else None
            for batch in training:
                for backend in training_backends:
                    done += 1
                    progress.update(done, f"training {workload.name} {dtype.name} batch {batch} {backend}")
                    records += _measure_training(trainers, workload, dtype, batch, backend, threads, run_time, peaks)
            del trainers
    return {
        **document,
        "peaks": peaks,
        "records": records,
        "memory": memory,
        "crossovers": crossovers(records),
        "paired": [],
        "goals": [],
    }


def run_goals(args):
    """``--goals``: the machine's limits, then every goal's paired rounds; return the JSON document."""
    threads = args.threads or [1, 2]
    dtypes = [np.dtype(d) for d in args.dtypes]
    rounds = args.rounds or (QUICK_GOAL_ROUNDS if args.quick else GOAL_ROUNDS)
    run_time = args.min_run_time or (QUICK_GOAL_RUN_TIME if args.quick else GOAL_RUN_TIME)
    document = _document(args, describe_machine(threads), source_revision())
    with Progress(1000, "goals") as progress:
        progress.update(0, "measuring the machine's limits")
        peaks = measure_peaks(["cpu"], dtypes, threads, quick=args.quick)

        def report(done, total, note):
            progress.total = max(total, 1)
            progress.update(done, note)

        points = measure_goal_points(
            dtypes, threads, quick=args.quick, rounds=rounds, run_time=run_time, seed=args.seed, progress=report
        )
    records = records_of(points, peaks)
    memory = [
        {"net": p["net"], "dtype": p["dtype"], "batch": p["batch"], **p["memory"]} for p in points if "memory" in p
    ]
    return {
        **document,
        "rounds": rounds,
        "min_run_time": run_time,
        "peaks": peaks,
        "records": records,
        "memory": memory,
        "crossovers": crossovers(records),
        "paired": points,
        "goals": evaluate_goals(points, dtypes, threads, peaks, quick=args.quick),
    }


def _devices(args):
    """The devices measured: those asked for, else the CPU and CUDA where there is one."""
    return args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])


def _skipped_everywhere(workload, batch, devices):
    """True when every device skips this batch: the CPU alone, with more GFLOP per call than ``CPU_GFLOP_LIMIT``."""
    return set(devices) == {"cpu"} and workload.flops_per_sample() * batch / 1e9 > CPU_GFLOP_LIMIT


def _base(workload, dtype, batch, backend, device, kind):
    return {
        "workload": kind,
        "net": workload.name,
        "sizes": list(workload.sizes),
        "architecture": workload.architecture.to_dict(),
        "backend": backend,
        "device": device,
        "dtype": dtype.name,
        "batch": batch,
    }


def _measure_forward(nets, workload, dtype, batch, backend, device, x, reference, threads, run_time, peaks):
    base = _base(workload, dtype, batch, backend, device, "forward")
    gflop = workload.flops_per_sample() * batch / 1e9
    if device == "cpu" and gflop > CPU_GFLOP_LIMIT:
        detail = f"skipped: {gflop:.0f} GFLOP per call is more than the CPU limit of {CPU_GFLOP_LIMIT}"
        return [{**base, "threads": t, "status": "skipped", "detail": detail} for t in threads]
    checked = nets.checked(backend, device, x, reference)
    if checked.status != "ok":
        return [{**base, "threads": t, "status": checked.status, "detail": checked.detail} for t in threads]
    prepared = checked.prepared
    records = []
    for count in threads:
        timing = measure(prepared.fn, threads=count, min_run_time=run_time, context=prepared.context)
        moved = workload.bytes_per_sample(dtype.itemsize) * batch / timing.median_s
        bandwidth = _peak(peaks, "bandwidth", device, count)
        records.append(
            {
                **base,
                **_timed(
                    timing,
                    workload.flops_per_sample() * batch,
                    batch,
                    _peak(peaks, "matmul", device, count, dtype.name),
                ),
                "threads": count,
                "detail": prepared.detail,
                "gbytes_per_s": moved / 1e9,
                "bandwidth_fraction": moved / 1e9 / bandwidth if bandwidth else None,
                "check_ratio": checked.ratio,
            }
        )
    return records


def _measure_training(trainers, workload, dtype, batch, backend, threads, run_time, peaks):
    base = _base(workload, dtype, batch, backend, "cpu", "training")
    flops = workload.training_flops_per_sample() * batch
    if flops / 1e9 > CPU_GFLOP_LIMIT:
        detail = f"skipped: {flops / 1e9:.0f} GFLOP per step is more than the CPU limit of {CPU_GFLOP_LIMIT}"
        return [{**base, "threads": t, "status": "skipped", "detail": detail} for t in threads]
    x, target = trainers.data(batch)
    check = trainers.check(batch, x, target)[backend]
    if check.status != "ok":
        return [{**base, "threads": t, "status": check.status, "detail": check.detail} for t in threads]
    prepared = trainers.prepare(backend, x, target)
    records = []
    for count in threads:
        prepared.reset()  # every measurement starts from the same weights and a fresh optimizer
        timing = measure(prepared.fn, threads=count, min_run_time=run_time, context=prepared.context)
        records.append(
            {
                **base,
                **_timed(timing, flops, batch, _peak(peaks, "matmul", "cpu", count, dtype.name)),
                "threads": count,
                "detail": f"{prepared.detail}; {check.detail}",
                "loss": trainers.loss,
                "check_ratio": check.ratio,
            }
        )
    return records


def _timed(timing, flops, batch, peak):
    return {
        "status": "ok",
        "median_s": timing.median_s,
        "iqr_s": timing.iqr_s,
        "runs": timing.runs,
        "timing": "blocks of Timer.blocked_autorange: seconds per call in each",
        "times_s": list(timing.times_s),
        "samples_per_s": batch / timing.median_s,
        "gflops": flops / timing.median_s / 1e9,
        "peak_fraction": flops / timing.median_s / 1e9 / peak if peak else None,
    }


def _peak(peaks, kind, device, threads, dtype=None):
    for p in peaks:
        if p["kind"] == kind and p["device"] == device and p["threads"] == threads and p.get("dtype") == dtype:
            return p["gflops"] if kind == "matmul" else p["gbytes_per_s"]
    return None


def main(argv=None):
    import sys

    argv = sys.argv[1:] if argv is None else list(argv)
    return run_command(lambda: _main(argv), "python -m benchmarks")


def _check_options(parser, args):
    """Every combination of options that cannot be run, refused now in one line (status 2), before any work."""
    if args.goals:
        for name in PLAN_OPTIONS:
            if getattr(args, name) is not None:
                parser.error(
                    f"argument --{name}: --goals measures its own nets, batches and backends on the CPU "
                    "(it takes --quick, --dtypes, --threads, --rounds, --min-run-time, --seed and --out)"
                )
    elif args.rounds is not None:
        parser.error("argument --rounds: paired rounds are what --goals measures; add --goals")
    if args.activation is not None and not args.sizes:
        parser.error("argument --activation: it is the activation of --sizes; give --sizes too")
    if args.devices and "cuda" in args.devices and not torch.cuda.is_available():
        parser.error("argument --devices: CUDA is not available on this machine")
    try:
        chosen = _workloads(args)
    except ValueError as error:  # an Architecture that cannot be (what --sizes and --activation say together)
        parser.error(f"argument --activation: {error}")
    kinds = args.workloads or list(WORKLOAD_KINDS)
    for batch in args.batches or ():
        forward_skipped = "forward" not in kinds or all(_skipped_everywhere(w, batch, _devices(args)) for w in chosen)
        training_skipped = "training" not in kinds or all(
            w.training_flops_per_sample() * batch / 1e9 > CPU_GFLOP_LIMIT for w in chosen
        )  # training runs on the CPU alone
        if forward_skipped and training_skipped:
            parser.error(
                f"argument --batches: {batch} samples is more than {CPU_GFLOP_LIMIT} GFLOP per call on the CPU for "
                f"every net and workload asked for ({', '.join(w.name for w in chosen)}; {', '.join(kinds)}): "
                "nothing would be measured"
            )
        for workload in chosen:
            if _skipped_everywhere(workload, batch, _devices(args)):
                continue  # such a call (and its training step) is skipped, not run: nothing of its size is made
            try:  # every layer's output, in each backend (a few of them held at once), in float64
                fits_in_memory(8 * batch * sum(workload.sizes) * 4, f"a batch of {batch} of the {workload.name} net")
            except ValueError as error:
                parser.error(f"argument --batches: {error}")
    try:  # found now, not after minutes of measuring
        args.out.mkdir(parents=True, exist_ok=True)
        for name in ("benchmarks.json", "benchmarks.png"):
            check_target(args.out / name)
    except OSError as error:
        parser.error(f"argument --out: {error}")


def _main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    _check_options(parser, args)
    started = time.monotonic()
    document = run_goals(args) if args.goals else run(args)
    document["seconds"] = round(time.monotonic() - started, 1)
    document["machine"]["load_average_end"] = load_average()  # this run counts about 1 of it
    if args.goals:
        print(goal_table(document["goals"], document["peaks"], document["machine"]))
    else:
        print(table(document["records"], document["peaks"], document["machine"]))
    write_json(args.out / "benchmarks.json", document)
    write_plot(args.out / "benchmarks.png", document["records"], document["machine"])
    print(f"\nwrote {args.out / 'benchmarks.json'} and {args.out / 'benchmarks.png'} ({document['seconds']} s)")
    return 0
