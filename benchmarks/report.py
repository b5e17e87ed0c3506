"""From records to what a reader sees: the table, the crossovers, the goals, the JSON and the plot."""

import json

import numpy as np

from scratchnet.files import atomic_path

__all__ = ["crossovers", "table", "write_json", "write_plot"]


def _label(record):
    return f"{record['backend']}@{record['device']}"


def _series(records):
    """{(net, dtype, threads): {label: {batch: median_s}}} over the timed records."""
    series = {}
    for r in records:
        if r["status"] == "ok":
            key = (r["net"], r["dtype"], r["threads"])
            series.setdefault(key, {}).setdefault(_label(r), {})[r["batch"]] = r["median_s"]
    return series


def crossovers(records):
    """Where one backend overtakes another: the first batch from which A is faster than B after being slower.

    Returns a list of dicts ``{net, dtype, threads, faster, slower, from_batch}``.
    """
    found = []
    for (net, dtype, threads), by_label in _series(records).items():
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
                            }
                        )
    return found


def table(records, peaks, goal_results, machine):
    """The terminal table: one line per record, then peaks, crossovers and goals."""
    blas = ", ".join(f"{b['internal_api']} {b['version']}" for b in machine["numpy_blas"])
    lines = [
        f"machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs, GPU: {machine['gpu'] or 'none'}; "
        f"numpy {machine['numpy']} ({blas}), torch {machine['torch']} ({machine['torch_blas']})",
        "",
        f"{'net':<8} {'dtype':<8} {'thr':>3} {'batch':>6}  {'backend':<26} {'median':>10} {'IQR':>9} "
        f"{'samples/s':>11} {'GFLOP/s':>9} {'of peak':>8}  note",
    ]
    for r in records:
        head = f"{r['net']:<8} {r['dtype']:<8} {r['threads']:>3} {r['batch']:>6}  {_label(r):<26}"
        if r["status"] == "ok":
            lines.append(
                f"{head} {_seconds(r['median_s']):>10} {_seconds(r['iqr_s']):>9} {r['samples_per_s']:>11.4g} "
                f"{r['gflops']:>9.3g} {r['peak_fraction']:>8.1%}  {r.get('detail', '')}"
            )
        else:
            lines.append(f"{head} {r['status'].upper():>10}  {r.get('detail', '')}")
    lines += ["", "measured limits:"]
    for p in peaks:
        if p["kind"] == "matmul":
            lines.append(
                f"  matmul {p['size']}^2 {p['dtype']} on {p['device']}, {p['threads']} threads: "
                f"{p['gflops']:.1f} GFLOP/s ({p['by']})"
            )
        else:
            lines.append(f"  copy on {p['device']}, {p['threads']} threads: {p['gbytes_per_s']:.1f} GB/s")
    return "\n".join(lines + _crossover_lines(records) + _goal_lines(goal_results))


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


def _goal_lines(goal_results):
    lines = ["", "goals of the hand-written forward (ratios measured in this run):"]
    for g in goal_results:
        ratio = "not measured" if g["ratio"] is None else f"{g['ratio']:.3f}"
        if g.get("ratio_iqr") is not None:
            ratio += f" (IQR {g['ratio_iqr']:.3f} over {g['rounds']} paired rounds)"
        threads = "" if g["threads"] is None else f" [{g['threads']} thr]"
        lines.append(f"  {'met ' if g['met'] else 'MISS'} {g['goal']}{threads}: {ratio} (target {g['target']})")
    return lines


def _seconds(value):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def write_json(path, document):
    with atomic_path(path) as temporary, open(temporary, "w") as out:
        json.dump(document, out, indent=1, default=_jsonable)
        out.write("\n")


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _colour(label):
    """The same colour for a backend in every panel (and in every run's plot)."""
    from .backends import BACKENDS

    order = [f"{b}@{d}" for b in BACKENDS for d in ("cpu", "cuda")]
    return f"C{order.index(label) % 10}" if label in order else "black"


def write_plot(path, records, machine):
    """Time per sample against batch size, one line per backend, one panel per (net, dtype, threads)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = _series(records)
    keys = sorted(series)
    columns = min(len(keys), 2) or 1
    rows = max((len(keys) + columns - 1) // columns, 1)
    figure, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, 4.5 * rows), squeeze=False)
    found = crossovers(records)
    for axis, key in zip(axes.flat, keys):
        net, dtype, threads = key
        for label in sorted(series[key]):
            points = sorted(series[key][label].items())
            batches = [b for b, _ in points]
            style = "-" if label.endswith("@cpu") else "--"
            axis.plot(
                batches, [s / b for b, s in points], style, marker="o", markersize=3, label=label, color=_colour(label)
            )
        for c in found:
            if (c["net"], c["dtype"], c["threads"]) == key and _headline(c):
                axis.axvline(c["from_batch"], color="grey", linewidth=0.6, linestyle=":")
                axis.annotate(
                    f"{c['faster']} < {c['slower']}",
                    (c["from_batch"], axis.get_ylim()[1]),
                    fontsize=6,
                    rotation=90,
                    va="top",
                    ha="right",
                    color="grey",
                )
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("batch size")
        axis.set_ylabel("time per sample (s)")
        axis.set_title(f"{net} net, {dtype}, {threads} thread{'s' if threads > 1 else ''}")
        axis.grid(True, which="both", linewidth=0.3)
        axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(keys) :]:
        axis.set_visible(False)
    figure.suptitle(f"forward pass: time per sample ({machine['cpu']}; GPU: {machine['gpu'] or 'none'})", fontsize=10)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
