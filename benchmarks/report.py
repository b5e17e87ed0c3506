"""From records to what a reader sees: the tables, the crossovers, the goals, the JSON and the plot."""

import json
import textwrap

import numpy as np

from scratchnet.files import atomic_path

__all__ = ["SCHEMA_VERSION", "crossovers", "goal_table", "table", "write_json", "write_plot"]

#: Version of the JSON form (docs/benchmark-schema.md). Files without ``schema_version`` are version 1.
SCHEMA_VERSION = 2

#: Text sizes while the plot is drawn (``matplotlib.rc_context``: nothing global is changed).
STYLE = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8, "figure.titlesize": 10}


def _label(record):
    return f"{record['backend']}@{record['device']}"


def _workload(record):
    return record.get("workload", "forward")


def _series(records):
    """{(workload, net, dtype, threads): {label: {batch: median_s}}} over the timed records."""
    series = {}
    for r in records:
        if r["status"] == "ok":
            key = (_workload(r), r["net"], r["dtype"], r["threads"])
            series.setdefault(key, {}).setdefault(_label(r), {})[r["batch"]] = r["median_s"]
    return series


def crossovers(records):
    """Where one backend overtakes another: the first batch from which A is faster than B after being slower.

    Returns a list of dicts ``{net, dtype, threads, faster, slower, from_batch}`` (and ``workload`` for training).
    """
    found = []
    for (workload, net, dtype, threads), by_label in _series(records).items():
        labels = sorted(by_label)
        for a in labels:
            for b in labels:
                if a == b:
                    continue
                batches = sorted(set(by_label[a]) & set(by_label[b]))
                a_faster = [by_label[a][n] < by_label[b][n] for n in batches]
                for i in range(1, len(batches)):
                    if a_faster[i] and not a_faster[i - 1]:
                        found.append(
                            {
                                "net": net,
                                "dtype": dtype,
                                "threads": threads,
                                "faster": a,
                                "slower": b,
                                "from_batch": batches[i],
                                **({"workload": workload} if workload != "forward" else {}),
                            }
                        )
    return found


def _machine_line(machine):
    blas = ", ".join(f"{b['internal_api']} {b['version']}" for b in machine["numpy_blas"])
    line = (
        f"machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs, GPU: {machine['gpu'] or 'none'}; "
        f"numpy {machine['numpy']} ({blas}), torch {machine['torch']} ({machine['torch_blas']})"
    )
    start, end = machine.get("load_average"), machine.get("load_average_end")
    if (start is not None and start > 0.5) or (end is not None and end > 1.5):
        began = "unknown" if start is None else f"{start:.2f}"
        during = "" if end is None else f" and {end:.2f} at its end (this run itself counts about 1)"
        line += (
            f"\nnote: the 1-minute load average was {began} as this run started{during}: something else was "
            "using the CPU, and multi-threaded figures suffer most (a thread that waits for a busy core)"
        )
    return line


def _peak_lines(peaks):
    lines = ["", "measured limits:"]
    for p in peaks:
        if p["kind"] == "matmul":
            lines.append(
                f"  matmul {p['size']}^2 {p['dtype']} on {p['device']}, {p['threads']} threads: "
                f"{p['gflops']:.1f} GFLOP/s ({p['by']})"
            )
        else:
            lines.append(f"  copy on {p['device']}, {p['threads']} threads: {p['gbytes_per_s']:.1f} GB/s")
    return lines


def table(records, peaks, machine):
    """The terminal table of a plain run: one line per record, then peaks and crossovers."""
    lines = [
        _machine_line(machine),
        "",
        f"{'workload':<8} {'net':<8} {'dtype':<8} {'thr':>3} {'batch':>6}  {'backend':<26} {'median':>10} {'IQR':>9} "
        f"{'samples/s':>11} {'GFLOP/s':>9} {'of peak':>8}  note",
    ]
    for r in records:
        head = f"{_workload(r):<8} {r['net']:<8} {r['dtype']:<8} {r['threads']:>3} {r['batch']:>6}  {_label(r):<26}"
        if r["status"] == "ok":
            fraction = "" if r.get("peak_fraction") is None else f"{r['peak_fraction']:.1%}"
            lines.append(
                f"{head} {_seconds(r['median_s']):>10} {_seconds(r['iqr_s']):>9} {r['samples_per_s']:>11.4g} "
                f"{r['gflops']:>9.3g} {fraction:>8}  {r.get('detail', '')}"
            )
        else:
            lines.append(f"{head} {r['status'].upper():>10}  {r.get('detail', '')}")
    lines += _peak_lines(peaks) + _crossover_lines(records)
    lines += ["", "goals: python -m benchmarks --goals measures every one of them, in paired rounds"]
    return "\n".join(lines)


def goal_table(goals, peaks, machine):
    """The terminal table of ``--goals``: one line per goal, net, dtype, threads and batch, with its verdict."""
    from .goals import GOALS

    lines = [_machine_line(machine)] + _peak_lines(peaks) + ["", "goals (ratios of paired rounds: median, IQR):"]
    lines += [f"  {goal.label}: {goal.text}; target {goal.target_text()}" for goal in GOALS.values()]
    header = (
        f"{'goal':<22} {'net':<7} {'dtype':<7} {'thr':>6} {'batch':>7}  {'competitor':<22} "
        f"{'ratio (IQR)':>17} {'target':>7}  {'verdict':<12} note"
    )
    lines += ["", header, "-" * len(header)]
    for g in goals:
        ratio = "" if g["ratio"] is None else _ratio_text(g["ratio"], g["target"])
        if g.get("ratio_iqr") is not None and g["rounds"] > 1:
            ratio += f" ({g['ratio_iqr']:.2g})"
        threads = "" if g["threads"] is None else str(g["threads"])
        batch = "" if g["batch"] is None else str(g["batch"])
        lines.append(
            f"{g['label']:<22} {g['net']:<7} {g['dtype']:<7} {threads:>6} {batch:>7}  {g['competitor'] or '':<22} "
            f"{ratio:>17} {g['target']:>7}  {g['verdict']:<12} {g['note']}"
        )
    counts = {}
    for g in goals:
        counts[g["verdict"]] = counts.get(g["verdict"], 0) + 1
    lines += ["", "verdicts: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))]
    return "\n".join(lines)


def _ratio_text(ratio, target):
    """Three significant digits, or as many more as it takes to show on which side of its target a ratio is."""
    bound = float(target.split()[-1])
    for digits in (3, 4, 5, 6):
        text = f"{ratio:.{digits}g}"
        if ratio == bound or float(text) != bound:
            return text
    return text


def _headline(crossover):
    """The crossovers a reader asks about: NumPy against torch's eager mode, and the GPU against the CPU."""
    pair = {crossover["faster"], crossover["slower"]}
    return pair in (
        {"scratchnet@cpu", "torch-eager@cpu"},
        {"scratchnet@cpu", "torch-eager@cuda"},
        {"torch-eager@cpu", "torch-eager@cuda"},
    )


def _crossover_lines(records):
    found = [c for c in crossovers(records) if _headline(c)]
    if not found:
        return []
    return ["", "crossovers (from this batch on, the first is faster):"] + [
        f"  {c['net']} {c['dtype']} {c['threads']} thr: {c['faster']} overtakes {c['slower']} "
        f"at batch {c['from_batch']}"
        for c in found
    ]


def _seconds(value):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def write_json(path, document):
    """Write ``document`` as JSON, atomically (the old file stays whole until the new one is)."""
    with atomic_path(path) as temporary, open(temporary, "w") as out:
        json.dump(document, out, indent=1, default=_jsonable)
        out.write("\n")


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _colour(backend):
    """The same colour for a backend in every panel and every run's plot: one of ten distinct colours each."""
    from .backends import BACKENDS
    from .training import TRAINING_BACKENDS

    order = list(BACKENDS)
    if backend in order:
        return f"C{order.index(backend) % 10}"
    # scratchnet's step in scratchnet's blue; torch's three in colours no forward backend has (C9 is the last free one).
    training = dict(zip(TRAINING_BACKENDS, ("C0", "C9", "black", "saddlebrown")))
    return training.get(backend, "dimgrey")


def write_plot(path, records, machine):
    """Time per sample against batch size: a row per (workload, net, dtype), a column per thread count.

    Drawn on a ``matplotlib.figure.Figure`` without pyplot (no backend chosen,
    nothing global changed), its text sizes set by ``rc_context`` while it is
    drawn; one legend for the whole figure, under the panels, so that no
    legend covers a line. Returns the Figure.
    """
    import matplotlib
    import matplotlib.figure
    from matplotlib.lines import Line2D

    series = _series(records)
    threads = sorted({key[3] for key in series}) or [1]
    rows = sorted({key[:3] for key in series}, key=lambda k: (k[0] != "forward", k[1], k[2]))
    labels = sorted({label for by_label in series.values() for label in by_label}, key=_plot_order)
    with matplotlib.rc_context(STYLE):
        width = max(5.2 * len(threads), 9.0)  # room for the legend's columns and the title, even with one panel
        figure = matplotlib.figure.Figure(figsize=(width, 3.1 * max(len(rows), 1) + 1.4), layout="constrained")
        axes = figure.subplots(max(len(rows), 1), len(threads), squeeze=False)
        for i, (workload, net, dtype) in enumerate(rows):
            for j, count in enumerate(threads):
                axis = axes[i][j]
                by_label = series.get((workload, net, dtype, count))
                what = "forward" if workload == "forward" else "training step"
                axis.set_title(f"{what}, {net} net, {dtype}, {count} thread{'s' if count > 1 else ''}")
                if not by_label:
                    axis.text(0.5, 0.5, "nothing timed", ha="center", va="center", transform=axis.transAxes)
                    axis.set_axis_off()
                    continue
                for label in sorted(by_label, key=_plot_order):
                    points = sorted(by_label[label].items())
                    axis.plot(
                        [b for b, _ in points],
                        [s / b for b, s in points],
                        "-" if label.endswith("@cpu") else "--",
                        marker=_marker(label),
                        markersize=3,
                        linewidth=1.2,
                        color=_colour(label.rsplit("@", 1)[0]),
                    )
                axis.set_xscale("log", base=2)
                axis.set_yscale("log")
                axis.grid(True, which="major", linewidth=0.4)
                axis.grid(True, which="minor", linewidth=0.2, alpha=0.5)
                if i == len(rows) - 1 or not any(series.get((*rows[i + 1], c)) for c in threads):
                    axis.set_xlabel("batch size")
                if j == 0:
                    axis.set_ylabel("time per sample (s)")
        handles = [
            Line2D(
                [],
                [],
                color=_colour(label.rsplit("@", 1)[0]),
                marker=_marker(label),
                markersize=3,
                linestyle="-" if label.endswith("@cpu") else "--",
            )
            for label in labels
        ]
        if handles:
            columns = min(len(labels), int(width // 2.2))  # a legend entry takes about 2 inches at this size
            figure.legend(handles, labels, loc="outside lower center", ncols=columns, frameon=False)
        title = f"time per sample against batch size ({machine['cpu']}; GPU: {machine['gpu'] or 'none'})"
        figure.suptitle("\n".join(textwrap.wrap(title, int(width * 11))))
        figure.draw_without_rendering()
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=100, metadata={"Software": None})
    return figure


def _marker(label):
    """Circles for forward passes, squares for training steps (scratchnet's are blue in both)."""
    from .training import TRAINING_BACKENDS

    return "s" if label.rpartition("@")[0] in TRAINING_BACKENDS else "o"


def _plot_order(label):
    from .backends import BACKENDS
    from .training import TRAINING_BACKENDS

    backend, _, device = label.rpartition("@")
    order = [*BACKENDS, *TRAINING_BACKENDS]
    return (order.index(backend) if backend in order else len(order), device)
