"""The machine: what it is (CPU, BLAS, GPU, versions) and what it can do at best (matmul FLOP/s, bandwidth)."""

import os
import platform
import re
import subprocess
from datetime import datetime, timezone

import numpy as np
import torch
from threadpoolctl import threadpool_info

from .timing import measure

__all__ = ["describe_machine", "load_average", "measure_peaks", "source_revision"]


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _torch_blas():
    config = torch.__config__.show()
    found = re.search(r"BLAS_INFO=(\w+)", config)
    return found.group(1) if found else "unknown"


def describe_machine(threads):
    """A dict of facts about this machine and software, for the JSON file."""
    numpy_blas = [
        {key: pool.get(key) for key in ("internal_api", "version", "architecture", "num_threads")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "threads": list(threads),
        "numpy": np.__version__,
        "numpy_blas": numpy_blas,
        "torch": torch.__version__,
        "torch_blas": _torch_blas(),
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "tf32_matmul": bool(torch.cuda.is_available() and torch.backends.cuda.matmul.allow_tf32),
        "load_average": load_average(),
    }


def load_average():
    """The 1-minute load average (others' work on a shared machine, and this run's own), None where unknown."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def source_revision():
    """``{"git_commit": ..., "git_dirty": ...}`` of the source being measured; both None outside a git checkout.

    Only a checkout whose top folder is this source's own counts (an installed
    copy inside some other repository is not that repository's commit).
    ``git_dirty`` says whether tracked files differ from that commit: then the
    figures are of the changed code. Never fails: no git, a timeout or any
    error gives None. Reads only (``--no-optional-locks``: not even git's index cache is rewritten).
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    unknown = {"git_commit": None, "git_dirty": None}
    if not os.path.exists(os.path.join(root, ".git")):
        return unknown
    try:

        def git(*args):
            return subprocess.run(
                ["git", "--no-optional-locks", "-C", root, *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()

        if os.path.realpath(git("rev-parse", "--show-toplevel")) != os.path.realpath(root):
            return unknown
        commit = git("rev-parse", "HEAD")
        if not re.fullmatch(r"[0-9a-f]{40,64}", commit):
            return unknown
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, ValueError, subprocess.SubprocessError):
        return unknown
    return {"git_commit": commit, "git_dirty": dirty}


def measure_peaks(devices, dtypes, threads, *, quick):
    """The best matmul FLOP/s per (device, dtype, threads), and memory bandwidth per (device, threads).

    CPU matmul is timed in NumPy and in torch (their BLAS libraries differ);
    the peak is the faster. Bandwidth is a large array copy: read plus write.
    """
    n_cpu, n_gpu = (1024, 4096) if quick else (2048, 8192)
    copy_bytes = 2**26 if quick else 2**28  # well beyond the last-level cache: this is memory, not cache
    run = 0.05 if quick else 0.3
    peaks = []
    for device in devices:
        for count in threads:
            n = n_gpu if device == "cuda" else n_cpu
            for dtype in dtypes:
                a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
                results = {}
                t = torch.from_numpy(a).to(device)
                results["torch"] = measure(lambda t=t: t @ t, threads=count, min_run_time=run).median_s
                if device == "cpu":
                    results["numpy"] = measure(lambda a=a: a @ a, threads=count, min_run_time=run).median_s
                best = min(results, key=results.get)
                peaks.append(
                    {
                        "kind": "matmul",
                        "device": device,
                        "dtype": np.dtype(dtype).name,
                        "threads": count,
                        "size": n,
                        "gflops": 2 * n**3 / results[best] / 1e9,
                        "by": best,
                        "gflops_by": {k: 2 * n**3 / v / 1e9 for k, v in results.items()},
                    }
                )
            source = torch.empty(copy_bytes // 4, dtype=torch.float32, device=device)
            target = torch.empty_like(source)
            seconds = measure(lambda s=source, t=target: t.copy_(s), threads=count, min_run_time=run).median_s
            peaks.append(
                {
                    "kind": "bandwidth",
                    "device": device,
                    "threads": count,
                    "bytes": copy_bytes,
                    "gbytes_per_s": 2 * copy_bytes / seconds / 1e9,
                }
            )
    return peaks
