"""The machine: what it is (CPU, BLAS, GPU, versions) and what it can do at best (matmul FLOP/s, bandwidth)."""

import os
import platform
import re
from datetime import datetime, timezone

import numpy as np
import torch
from threadpoolctl import threadpool_info

from .timing import measure

__all__ = ["describe_machine", "measure_peaks"]


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
    }


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
