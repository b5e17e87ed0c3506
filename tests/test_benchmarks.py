"""python -m benchmarks: the quick run writes a correct table, JSON and plot; wrong backends are not timed."""

import json

import numpy as np
import pytest

from .optional import optional_names

(cli,) = optional_names("benchmarks", "cli")
Backends, Prepared = optional_names("benchmarks.backends", "Backends", "Prepared")
GOALS, memory_goal = optional_names("benchmarks.goals", "GOALS", "memory_goal")
(crossovers,) = optional_names("benchmarks.report", "crossovers")
(WORKLOADS,) = optional_names("benchmarks.workloads", "WORKLOADS")


REQUIRED = {
    "median_s",
    "iqr_s",
    "samples_per_s",
    "gflops",
    "peak_fraction",
    "net",
    "backend",
    "device",
    "dtype",
    "batch",
    "threads",
}


def run_small(out, *, nets="article", dtypes="float32", batches="64", backends="scratchnet,torch-eager"):
    """A small --quick run into ``out``; returns the JSON document it wrote."""
    argv = ["--quick", "--nets", nets, "--dtypes", dtypes, "--batches", batches, "--backends", backends]
    assert cli.main([*argv, "--out", str(out)]) == 0
    return json.loads((out / "benchmarks.json").read_text())


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli.main(["--quick", "--out", str(out)])
    return status, printed.getvalue(), out


def test_quick_run_writes_table_json_and_plot(quick_run):
    status, printed, out = quick_run
    assert status == 0
    document = json.loads((out / "benchmarks.json").read_text())
    machine = document["machine"]
    for key in ("cpu", "threads", "numpy", "numpy_blas", "torch", "torch_blas", "gpu", "date"):
        assert key in machine
    ok = [r for r in document["records"] if r["status"] == "ok"]
    assert {r["net"] for r in ok} == {"article", "wide"} and {r["dtype"] for r in ok} == {"float32", "float64"}
    assert {"scratchnet", "scratchnet-forward", "torch-eager", "torch-jit"} <= {r["backend"] for r in ok}
    for r in ok:
        assert REQUIRED <= r.keys()
        assert r["median_s"] > 0 and r["iqr_s"] >= 0 and r["samples_per_s"] == pytest.approx(r["batch"] / r["median_s"])
        assert 0 < r["peak_fraction"] and r["check_ratio"] <= 1
    assert {p["kind"] for p in document["peaks"]} == {"matmul", "bandwidth"}
    assert len(document["goals"]) == 4 + 1  # four speed goals at the one default thread count, and memory
    assert document["memory"]
    png = (out / "benchmarks.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    for text in ("scratchnet@cpu", "torch-eager@cpu", "median", "IQR", "GFLOP/s", "measured limits", "goals"):
        assert text in printed


def test_a_wrong_backend_is_reported_not_timed(monkeypatch, tmp_path, capsys):
    original = Backends.prepare

    def broken(self, backend, device, x):
        prepared = original(self, backend, device, x)
        if backend == "torch-eager":
            return Prepared(prepared.fn, prepared.context, lambda: prepared.output() + 1e-3)
        return prepared

    monkeypatch.setattr(Backends, "prepare", broken)
    records = run_small(tmp_path)["records"]
    eager = [r for r in records if r["backend"] == "torch-eager"]
    assert eager and all(r["status"] == "wrong" and "median_s" not in r for r in eager)
    assert "WRONG" in capsys.readouterr().out


def test_unavailable_backends_say_why(monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch, "compile", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no compiler here")))
    (record,) = run_small(tmp_path, batches="4", backends="torch-compile")["records"]
    assert record["status"] == "unavailable" and "no compiler here" in record["detail"]


def test_cpu_calls_too_large_are_skipped(tmp_path):
    (record,) = run_small(tmp_path, nets="wide", batches="65536", backends="scratchnet")["records"]
    assert record["status"] == "skipped" and "GFLOP per call" in record["detail"]


def _record(backend, batch, seconds, net="article", device="cpu"):
    return {
        "net": net,
        "dtype": "float32",
        "threads": 2,
        "backend": backend,
        "device": device,
        "batch": batch,
        "status": "ok",
        "median_s": seconds,
        "peak_fraction": 0.9,
    }


def test_crossovers():
    records = [
        _record("scratchnet", 1, 1.0),
        _record("scratchnet", 64, 2.0),
        _record("scratchnet", 4096, 8.0),
        _record("torch-eager", 1, 5.0, device="cuda"),
        _record("torch-eager", 64, 3.0, device="cuda"),
        _record("torch-eager", 4096, 4.0, device="cuda"),
    ]
    assert crossovers(records) == [
        {
            "net": "article",
            "dtype": "float32",
            "threads": 2,
            "faster": "torch-eager@cuda",
            "slower": "scratchnet@cpu",
            "from_batch": 4096,
        }
    ]


def test_goals_are_paired_ratios(quick_run):
    status, printed, out = quick_run
    results = json.loads((out / "benchmarks.json").read_text())["goals"]
    article = [g for g in results if g["goal"].startswith("article net")]
    assert article and all(g["ratio"] > 0 and g["ratio_iqr"] >= 0 and g["rounds"] == 3 for g in article)
    wide = [g for g in results if g["goal"].startswith("wide net")]
    assert wide and all(g["ratio"] is None and not g["met"] for g in wide)  # --quick has no wide batch of 1024
    assert "paired rounds" in printed


def test_goal_directions_and_memory_goal():
    time_goal, _, throughput_goal, _ = GOALS
    assert time_goal.met(0.2) and not time_goal.met(0.3) and not time_goal.met(None)
    assert throughput_goal.met(1.2) and not throughput_goal.met(0.9)
    worst = memory_goal([{"buffers": 1.5}, {"buffers": 2.5}])
    assert worst["ratio"] == 2.5 and not worst["met"]


def test_workload_costs():
    article = WORKLOADS["article"]
    assert article.flops_per_sample() == 2 * (2 * 4 + 4 * 4 + 4 * 1) + (4 + 4 + 1)
    assert article.bytes_per_sample(4) == 4 * (2 + 1 + 2 * 8)
    assert article.small and not WORKLOADS["wide"].small


@pytest.mark.parametrize(
    "argv",
    [
        ["--nets", "huge"],
        ["--dtypes", "float16"],
        ["--batches", "0"],
        ["--threads", "x"],
        ["--min-run-time", "-1"],
        ["--devices", "tpu"],
        ["--sizes", "3"],
        ["--unknown"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_backends_share_the_same_weights():
    nets = Backends(WORKLOADS["article"], np.float32, seed=0)
    torch_state = nets.torch_net("cpu").state_dict()
    for name, value in nets.scratch.state_dict().items():
        np.testing.assert_array_equal(torch_state[name].numpy(), value)
