"""``python -m benchmarks``: time forward passes of every backend, write a table, a JSON file and a plot."""

import os
import time
import tracemalloc
from pathlib import Path

import matplotlib  # noqa: F401  (needed for the plot: fail now rather than after the measurements)
import numpy as np
import torch

import scratchnet
from compare import compare_outputs
from compare.forward import torch_unit_roundoff
from compare.tolerance import linear_chain, reference_with_bounds, unit_roundoff
from scratchnet.architecture import ACTIVATION_NAMES, Architecture
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

from .backends import BACKENDS, Backends, Unavailable
from .goals import measure_goals, memory_goal
from .machine import describe_machine, measure_peaks
from .report import crossovers, table, write_json, write_plot
from .timing import measure
from .workloads import BATCHES, QUICK_BATCHES, WORKLOADS, Workload

#: Rows of each output checked against the float64 reference before timing (all of them for small batches).
CHECK_ROWS = 64
#: Fixed overhead allowed on top of two activation buffers by the memory goal: Python objects (array headers, views).
OBJECT_SLACK = 4096
#: CPU calls above this many GFLOP are skipped (the wide net at a batch of 16384 would take seconds per call).
CPU_GFLOP_LIMIT = 250


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


def build_parser():
    parser = ArgumentParser(
        prog="python -m benchmarks",
        description="Time forward passes of the hand-written NumPy network and of PyTorch (CPU, and GPU when present), "
        "with the same weights, each checked before it is timed, next to the machine's measured limits.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer batches and shorter timings (under a minute)")
    parser.add_argument("--nets", type=_list_of(tuple(WORKLOADS), "nets"), help="default: article,wide")
    parser.add_argument("--sizes", type=sizes_arg, help="also time an MLP of these widths, e.g. 64,256,256,10")
    parser.add_argument("--activation", choices=ACTIVATION_NAMES, default="relu", help="activation of --sizes")
    parser.add_argument("--dtypes", type=_list_of(("float32", "float64"), "dtypes"), default=["float32", "float64"])
    parser.add_argument("--batches", type=_counts, help="batch sizes, e.g. 1,64,4096 (default: per net)")
    parser.add_argument("--backends", type=_list_of(tuple(BACKENDS), "backends"), help="default: all")
    parser.add_argument(
        "--devices", type=_list_of(("cpu", "cuda"), "devices"), help="default: cpu, and cuda if available"
    )
    parser.add_argument(
        "--threads",
        type=lambda text: [count_arg(1, 1024)(t) for t in text.split(",")],
        help=f"thread counts, e.g. 1,2 (default: {os.cpu_count()}, all)",
    )
    parser.add_argument(
        "--min-run-time",
        type=lambda text: positive_float(text, maximum=60),
        help="seconds per measurement, at most 60 (default 0.25, --quick 0.02)",
    )
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument(
        "--out",
        type=lambda text: Path(output_folder_arg(text)),
        default=Path("benchmark-results"),
        help="where the JSON and PNG go (checked writable before anything is measured)",
    )
    return parser


def _check(backend_output, reference, bound, bound_ref, label):
    rows = np.asarray(backend_output)[: reference.shape[0]]
    return compare_outputs(label, rows, reference, bound + bound_ref, "derived bound + float64 reference bound")


def _memory(net, x):
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


def run(args):
    """Measure everything the options ask for; return the JSON document."""
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    threads = args.threads or [os.cpu_count() or 1]
    workloads = [WORKLOADS[name] for name in (args.nets or ([] if args.sizes else list(WORKLOADS)))]
    if args.sizes:
        workloads.append(Workload("custom", Architecture.mlp(args.sizes, args.activation)))
    backends = args.backends or list(BACKENDS)
    if args.quick and args.backends is None:
        backends = [b for b in backends if b != "torch-compile"]  # compiling takes longer than --quick's minute
    run_time = args.min_run_time or (0.02 if args.quick else 0.25)
    machine = describe_machine(threads)
    dtypes = [np.dtype(d) for d in args.dtypes]

    plan = []
    for workload in workloads:
        batches = args.batches or (QUICK_BATCHES if args.quick else BATCHES)[workload.name]
        for dtype in dtypes:
            plan.append((workload, dtype, batches))
    steps = sum(len(b) * len(backends) * len(devices) for _, _, b in plan) + 1
    records, memory = [], []
    with Progress(steps, "benchmarks") as progress:
        progress.update(0, "measuring the machine's limits")
        peaks = measure_peaks(devices, dtypes, threads, quick=args.quick)
        done = 1
        float32_nets = {}
        for workload, dtype, batches in plan:
            nets = Backends(workload, dtype, args.seed)
            if dtype == np.float32:
                float32_nets[workload.name] = nets
            chain = linear_chain(nets.scratch)
            u_of = {
                "cpu": unit_roundoff(dtype),
                "cuda": torch_unit_roundoff(nets.torch_net("cuda"), dtype) if "cuda" in devices else 0.0,
            }
            for batch in batches:
                x = np.random.default_rng([args.seed, batch]).standard_normal((batch, workload.sizes[0])).astype(dtype)
                reference, (bound_cpu, bound_cuda, bound_ref) = reference_with_bounds(
                    chain, x[:CHECK_ROWS], [u_of["cpu"], u_of["cuda"], unit_roundoff(np.float64)]
                )
                bounds = {"cpu": bound_cpu, "cuda": bound_cuda}
                if "scratchnet" in backends and "cpu" in devices:
                    memory.append(
                        {"net": workload.name, "dtype": dtype.name, "batch": batch, **_memory(nets.scratch, x)}
                    )
                for backend in backends:
                    for device in devices:
                        done += 1
                        progress.update(done, f"{workload.name} {dtype.name} batch {batch} {backend}@{device}")
                        if device not in BACKENDS[backend]:
                            continue
                        records += _measure_one(
                            nets,
                            workload,
                            dtype,
                            batch,
                            backend,
                            device,
                            x,
                            reference,
                            bounds[device],
                            bound_ref,
                            threads,
                            run_time,
                            peaks,
                        )
        goal_results = []
        if {"scratchnet", "torch-eager"} <= set(backends) and "cpu" in devices:
            progress.update(done, "goals: paired rounds of scratchnet and torch-eager")
            plans = {workload.name: batches for workload, _, batches in plan}
            goal_results = measure_goals(
                float32_nets, plans, threads, peaks, rounds=3 if args.quick else 7, run_time=run_time
            )
    return {
        "machine": machine,
        "command": "python -m benchmarks " + " ".join(args.argv),
        "peaks": peaks,
        "records": records,
        "memory": memory,
        "crossovers": crossovers(records),
        "goals": goal_results + [memory_goal(memory)],
    }


def _measure_one(
    nets, workload, dtype, batch, backend, device, x, reference, bound, bound_ref, threads, run_time, peaks
):
    base = {
        "net": workload.name,
        "sizes": list(workload.sizes),
        "architecture": workload.architecture.to_dict(),
        "backend": backend,
        "device": device,
        "dtype": dtype.name,
        "batch": batch,
    }
    gflop = workload.flops_per_sample() * batch / 1e9
    if device == "cpu" and gflop > CPU_GFLOP_LIMIT:
        detail = f"skipped: {gflop:.0f} GFLOP per call is more than the CPU limit of {CPU_GFLOP_LIMIT}"
        return [{**base, "threads": t, "status": "skipped", "detail": detail} for t in threads]
    try:
        prepared = nets.prepare(backend, device, x)
        check = _check(prepared.output(), reference, bound, bound_ref, f"{backend}@{device}")
    except Unavailable as reason:
        return [{**base, "threads": t, "status": "unavailable", "detail": str(reason)} for t in threads]
    if not check.passed:
        detail = f"computes something else: max |diff| {check.max_abs_diff:.3g} vs tolerance {check.max_tolerance:.3g}"
        return [{**base, "threads": t, "status": "wrong", "detail": detail} for t in threads]
    records = []
    for count in threads:
        timing = measure(prepared.fn, threads=count, min_run_time=run_time, context=prepared.context)
        flops = workload.flops_per_sample() * batch / timing.median_s
        moved = workload.bytes_per_sample(dtype.itemsize) * batch / timing.median_s
        peak = _peak(peaks, "matmul", device, count, dtype.name)
        bandwidth = _peak(peaks, "bandwidth", device, count)
        records.append(
            {
                **base,
                "threads": count,
                "status": "ok",
                "detail": prepared.detail,
                "median_s": timing.median_s,
                "iqr_s": timing.iqr_s,
                "runs": timing.runs,
                "samples_per_s": batch / timing.median_s,
                "gflops": flops / 1e9,
                "peak_fraction": flops / 1e9 / peak if peak else None,
                "gbytes_per_s": moved / 1e9,
                "bandwidth_fraction": moved / 1e9 / bandwidth if bandwidth else None,
                "check_ratio": check.ratio,
            }
        )
    return records


def _peak(peaks, kind, device, threads, dtype=None):
    for p in peaks:
        if p["kind"] == kind and p["device"] == device and p["threads"] == threads and p.get("dtype") == dtype:
            return p["gflops"] if kind == "matmul" else p["gbytes_per_s"]
    return None


def main(argv=None):
    import sys

    argv = sys.argv[1:] if argv is None else list(argv)
    return run_command(lambda: _main(argv), "python -m benchmarks")


def _main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    if args.devices and "cuda" in args.devices and not torch.cuda.is_available():
        parser.error("argument --devices: CUDA is not available on this machine")
    chosen = [WORKLOADS[name] for name in (args.nets or ([] if args.sizes else list(WORKLOADS)))]
    chosen += [Workload("custom", Architecture.mlp(args.sizes, args.activation))] if args.sizes else []
    for batch in args.batches or ():
        for workload in chosen:
            if workload.flops_per_sample() * batch > CPU_GFLOP_LIMIT * 1e9:
                continue  # such a call is skipped on the CPU, not run
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
    started = time.monotonic()
    document = run(args)
    document["seconds"] = round(time.monotonic() - started, 1)
    print(table(document["records"], document["peaks"], document["goals"], document["machine"]))
    write_json(args.out / "benchmarks.json", document)
    write_plot(args.out / "benchmarks.png", document["records"], document["machine"])
    print(f"\nwrote {args.out / 'benchmarks.json'} and {args.out / 'benchmarks.png'} ({document['seconds']} s)")
    return 0
