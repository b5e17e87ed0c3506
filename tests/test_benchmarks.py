"""python -m benchmarks: the quick run writes a correct table, JSON and plot; wrong backends are not timed;
--goals judges every goal, and says "not measured" for what it skipped."""

import contextlib
import io
import json
import re
import sys

import numpy as np
import pytest

from .optional import optional_names

(cli,) = optional_names("benchmarks", "cli")
Backends, Prepared = optional_names("benchmarks.backends", "Backends", "Prepared")
GOALS, INFER_COMPETITORS, evaluate_goals, FORWARD_GOAL_BATCHES = optional_names(
    "benchmarks.goals", "GOALS", "INFER_COMPETITORS", "evaluate_goals", "FORWARD_GOAL_BATCHES"
)
(goals_module,) = optional_names("benchmarks", "goals")
(machine_module,) = optional_names("benchmarks", "machine")
crossovers, write_plot = optional_names("benchmarks.report", "crossovers", "write_plot")
TRAINING_BACKENDS, TrainingBackends = optional_names("benchmarks.training", "TRAINING_BACKENDS", "TrainingBackends")
WORKLOADS, Workload = optional_names("benchmarks.workloads", "WORKLOADS", "Workload")


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
    "times_s",
    "workload",
}
VERDICTS = {"met", "MISS", "WRONG", "not measured"}
TORCH_ADAMS = ("torch-adam", "torch-adam-foreach", "torch-adam-fused")


def run_small(out, *, nets="article", dtypes="float32", batches="64", backends="scratchnet,torch-eager", extra=()):
    """A small --quick run into ``out``; returns the JSON document it wrote."""
    argv = ["--quick", "--nets", nets, "--dtypes", dtypes, "--batches", batches, "--backends", backends, *extra]
    assert cli.main([*argv, "--out", str(out)]) == 0
    return json.loads((out / "benchmarks.json").read_text())


def run_printed(argv):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli.main(argv)
    return status, printed.getvalue()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    status, printed = run_printed(["--quick", "--out", str(out)])
    return status, printed, out


@pytest.fixture(scope="module")
def goals_run(tmp_path_factory):
    """``--goals --quick`` at its smallest: one dtype, one thread count, two rounds of short measurements."""
    out = tmp_path_factory.mktemp("goals")
    argv = ["--goals", "--quick", "--dtypes", "float32", "--threads", "1", "--rounds", "2", "--min-run-time", "0.002"]
    status, printed = run_printed([*argv, "--out", str(out)])
    return status, printed, out


def test_quick_run_writes_table_json_and_plot(quick_run):
    status, printed, out = quick_run
    assert status == 0
    document = json.loads((out / "benchmarks.json").read_text())
    machine = document["machine"]
    for key in ("cpu", "threads", "numpy", "numpy_blas", "torch", "torch_blas", "gpu", "date", "load_average"):
        assert key in machine
    ok = [r for r in document["records"] if r["status"] == "ok"]
    forward = [r for r in ok if r["workload"] == "forward"]
    assert {r["net"] for r in forward} == {"article", "wide"} and {r["dtype"] for r in ok} == {"float32", "float64"}
    assert {"scratchnet", "scratchnet-forward", "naive-numpy", "torch-eager", "torch-jit"} <= {
        r["backend"] for r in forward
    }
    training = [r for r in ok if r["workload"] == "training"]
    assert {r["backend"] for r in training} == {"scratchnet-train", *TORCH_ADAMS}
    for r in ok:
        assert REQUIRED <= r.keys()
        assert r["median_s"] > 0 and r["iqr_s"] >= 0 and r["samples_per_s"] == pytest.approx(r["batch"] / r["median_s"])
        assert 0 < r["peak_fraction"] and r["check_ratio"] <= 1
        assert r["times_s"] and all(t > 0 for t in r["times_s"]) and len(r["times_s"]) == r["runs"]
    assert {p["kind"] for p in document["peaks"]} == {"matmul", "bandwidth"}
    assert document["goals"] == [] and document["paired"] == [] and document["mode"] == "plain"
    assert document["memory"]
    png = (out / "benchmarks.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    for text in ("scratchnet@cpu", "naive-numpy@cpu", "torch-adam-fused@cpu", "median", "IQR", "measured limits"):
        assert text in printed
    assert "--goals" in printed  # where the goals are measured


def test_the_json_says_its_version_source_and_command(quick_run):
    _, _, out = quick_run
    document = json.loads((out / "benchmarks.json").read_text())
    assert document["schema_version"] == 2
    commit = document["git_commit"]
    assert commit is None or re.fullmatch(r"[0-9a-f]{40,64}", commit)
    assert document["git_dirty"] in (True, False, None)
    assert document["command_line"].startswith("python -m benchmarks --quick --out ")


def test_the_revision_is_none_where_git_cannot_say(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(machine_module.subprocess, "run", no_git)
    assert machine_module.source_revision() == {"git_commit": None, "git_dirty": None}


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


def test_the_naive_backend_is_checked_and_timed(tmp_path):
    records = run_small(tmp_path, batches="1,64", backends="naive-numpy", dtypes="float32,float64")["records"]
    assert len(records) == 4 and all(r["status"] == "ok" and r["check_ratio"] <= 1 for r in records)


def test_a_wrong_naive_backend_is_reported_not_timed(monkeypatch, tmp_path):
    from benchmarks import backends

    monkeypatch.setattr(backends, "_naive_activation", lambda activation, h: np.abs(h))  # |h|: not ReLU
    (record,) = run_small(tmp_path, backends="naive-numpy")["records"]
    assert record["status"] == "wrong" and "median_s" not in record


@pytest.mark.parametrize(
    "activation", ["relu", "sigmoid", "tanh", "identity", "gelu", "silu", "elu", "softplus", "leaky_relu", "heaviside"]
)
def test_the_naive_backend_is_the_plain_formula(activation):
    from scratchnet.architecture import Activation, Architecture

    settings = {"leaky_relu": {"negative_slope": 0.2}, "heaviside": {"value": 0.0}}.get(activation, {})
    architecture = Architecture.mlp((3, 5, 4, 2), Activation(activation, **settings), output_activation="softmax")
    nets = Backends(Workload("custom", architecture), np.float64, seed=1)
    x = np.random.default_rng(2).standard_normal((16, 3))
    checked = nets.checked("naive-numpy", "cpu", x, nets.reference(x))
    assert checked.status == "ok", checked.detail
    if activation == "relu":
        layers = [nets.scratch.get_submodule(name) for name in architecture.layer_names]
        (w1, b1), (w2, b2), (w3, b3) = [(layer.weight.data, layer.bias.data) for layer in layers]
        h = np.maximum(np.maximum(x @ w1.T + b1, 0) @ w2.T + b2, 0) @ w3.T + b3
        expected = np.exp(h - h.max(-1, keepdims=True))
        np.testing.assert_allclose(checked.prepared.fn(), expected / expected.sum(-1, keepdims=True), rtol=1e-12)


def test_unavailable_backends_say_why(monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch, "compile", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no compiler here")))
    (record,) = run_small(tmp_path, batches="4", backends="torch-compile")["records"]
    assert record["status"] == "unavailable" and "no compiler here" in record["detail"]


def test_cpu_calls_too_large_are_skipped(tmp_path):
    """The wide net at 65536 rows is skipped (and not even made), the article net beside it measured; asked
    for alone, such a batch is refused (test_bad_arguments_exit_2_with_one_line)."""
    records = run_small(tmp_path, nets="article,wide", batches="65536", backends="scratchnet")["records"]
    (wide,) = [r for r in records if r["net"] == "wide"]
    assert wide["status"] == "skipped" and "GFLOP per call" in wide["detail"]
    assert [r["status"] for r in records if r["net"] == "article"] == ["ok"]


# --- the training workload -----------------------------------------------------------------------------------


def test_training_steps_are_checked_then_timed(tmp_path):
    backends = ",".join(TRAINING_BACKENDS)
    records = run_small(tmp_path, batches="4", backends=backends, dtypes="float32,float64")["records"]
    assert {r["backend"] for r in records} == set(TRAINING_BACKENDS) and len(records) == 4 * 2
    for r in records:
        assert r["workload"] == "training" and r["status"] == "ok", r
        assert r["check_ratio"] <= 1 and r["median_s"] > 0 and r["loss"] == "bce"


def _wrong_lr(factory):
    return lambda params, lr: factory(params, lr=lr * 1.5)


def test_a_wrong_torch_variant_is_reported_not_timed(monkeypatch, tmp_path):
    framework, factory = TRAINING_BACKENDS["torch-adam-fused"]
    monkeypatch.setitem(TRAINING_BACKENDS, "torch-adam-fused", (framework, _wrong_lr(factory)))
    records = run_small(tmp_path, batches="4", backends=",".join(TRAINING_BACKENDS))["records"]
    status = {r["backend"]: r for r in records}
    assert status["torch-adam-fused"]["status"] == "wrong" and "median_s" not in status["torch-adam-fused"]
    assert all(status[name]["status"] == "ok" for name in ("scratchnet-train", "torch-adam", "torch-adam-foreach"))


def test_a_wrong_scratchnet_step_is_blamed_and_nothing_is_timed(monkeypatch):
    framework, factory = TRAINING_BACKENDS["scratchnet-train"]
    monkeypatch.setitem(TRAINING_BACKENDS, "scratchnet-train", (framework, _wrong_lr(factory)))
    trainers = TrainingBackends(WORKLOADS["article"], np.float32, seed=0)
    x, target = trainers.data(8)
    checks = trainers.check(8, x, target)
    assert checks["scratchnet-train"].status == "wrong"
    assert all(checks[name].status == "unchecked" for name in TORCH_ADAMS)


@pytest.mark.parametrize("backend", ["scratchnet-train", "torch-adam-fused"])
def test_reset_puts_the_starting_weights_back(backend):
    trainers = TrainingBackends(WORKLOADS["article"], np.float64, seed=3)
    x, target = trainers.data(16)
    prepared = trainers.prepare(backend, x, target)
    first = [prepared.fn() for _ in range(3)]
    assert first[0] != first[-1]  # the steps moved the weights
    prepared.reset()
    assert prepared.fn() == first[0]  # the same loss from the same weights and a fresh optimizer


def test_the_training_data_and_loss_follow_the_net():
    article = TrainingBackends(WORKLOADS["article"], np.float32, seed=0)
    x, target = article.data(32)
    assert article.loss == "bce" and set(np.unique(target)) <= {0.0, 1.0} and x.dtype == target.dtype == np.float32
    from scratchnet.architecture import Architecture

    custom = TrainingBackends(Workload("custom", Architecture.mlp((4, 3, 2))), np.float64, seed=0)
    assert custom.loss == "mse"


# --- the goals -------------------------------------------------------------------------------------------------


def test_goals_quick_judges_every_goal_or_says_not_measured(goals_run):
    status, printed, out = goals_run
    assert status == 0
    document = json.loads((out / "benchmarks.json").read_text())
    assert document["mode"] == "goals" and "--goals" in document["command_line"]
    rows = document["goals"]
    assert {row["goal"] for row in rows} == set(GOALS)
    for row in rows:
        assert row["verdict"] in VERDICTS, row
        if row["ratio"] is None:
            assert row["verdict"] == "not measured" and row["note"], row
        else:
            assert row["verdict"] in ("met", "MISS") and len(row["ratios"]) == row["rounds"]
    quick = goals_module.QUICK_FORWARD_GOAL_BATCHES
    skipped = [
        r
        for r in rows
        if r["goal"] in ("infer-fastest", "infer-limit", "forward-eager") and r["batch"] not in quick[r["net"]]
    ]
    assert skipped and all(r["verdict"] == "not measured" and "--quick" in r["note"] for r in skipped)
    threads_goal = [r for r in rows if r["goal"] == "infer-threads"]
    assert threads_goal and all(r["verdict"] == "not measured" for r in threads_goal)  # needs threads 1 and 2
    fastest = [r for r in rows if r["goal"] == "infer-fastest" and r["ratio"] is not None]
    assert fastest and all("torch-compile" in r["missing"] for r in fastest)  # --quick skips it, and says so
    limit = [r for r in rows if r["goal"] == "infer-limit" and r["ratio"] is not None]
    assert limit and all(r["limit_s"] > 0 and "limit" in r["note"] for r in limit)
    trained = [r for r in rows if r["goal"].startswith("train") and r["ratio"] is not None]
    assert {r["goal"] for r in trained} == {"train-default", "train-fastest"}
    labels = tuple(goal.label for goal in GOALS.values())
    lines = [line for line in printed.splitlines() if line.startswith(labels)]
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows):
        assert row["verdict"] in line and row["target"] in line
        if row["ratio"] is None:
            assert "MISS" not in line and "not measured" in line


def test_goals_json_keeps_every_round(goals_run):
    _, _, out = goals_run
    document = json.loads((out / "benchmarks.json").read_text())
    assert document["schema_version"] == 2 and document["rounds"] == 2
    assert document["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40,64}", document["git_commit"])
    points = document["paired"]
    assert {p["workload"] for p in points} == {"forward", "training"}
    for point in points:
        for name, participant in point["participants"].items():
            times = point["times_s"].get(f"{name}@1")
            if participant["status"] == "ok":
                assert len(times) == 2 and all(t > 0 for t in times)
            else:
                assert times is None
    timed = [r for r in document["records"] if r["status"] == "ok"]
    assert timed and all(len(r["times_s"]) == 2 for r in timed)
    png = (out / "benchmarks.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000


def _point(workload, net, batch, times, statuses=None, threads=(1, 2), rounds=3):
    """A paired point as ``measure_goal_points`` returns it: ``times`` maps a backend to its per-round seconds."""
    names = INFER_COMPETITORS + ("scratchnet", "scratchnet-forward") if workload == "forward" else TRAINING_BACKENDS
    statuses = statuses or {}
    participants = {n: {"status": statuses.get(n, "ok"), "detail": f"{n} detail"} for n in names}
    series = {}
    for name, per_round in times.items():
        for count in threads:
            series[f"{name}@{count}"] = [t / count for t in per_round]
    return {
        "workload": workload,
        "net": net,
        "dtype": "float32",
        "batch": batch,
        "threads": list(threads),
        "rounds": rounds,
        "participants": participants,
        "times_s": series,
    }


def test_goal_verdicts_from_paired_rounds():
    slow = [2.0, 2.2, 1.8]
    forward = {name: slow for name in INFER_COMPETITORS}
    met = _point("forward", "article", 1, {**forward, "scratchnet": [1.0, 1.0, 1.0], "scratchnet-forward": slow})
    beaten = _point(
        "forward",
        "article",
        4,
        {**forward, "onnxruntime": [0.5, 0.5, 0.5], "scratchnet": [1, 1, 1], "scratchnet-forward": [3.0, 3.0, 3.0]},
    )
    missing = _point(
        "forward",
        "article",
        16,
        {**forward, "scratchnet": [1.0, 1.0, 1.0], "scratchnet-forward": slow},
        statuses={"torch-compile": "unavailable", "onnxruntime": "unavailable", "onnxruntime-iobinding": "unavailable"},
    )
    for name in ("torch-compile", "onnxruntime", "onnxruntime-iobinding"):
        del missing["times_s"][f"{name}@1"], missing["times_s"][f"{name}@2"]
    wrong = _point("forward", "article", 64, {**forward, "scratchnet-forward": slow}, statuses={"scratchnet": "wrong"})
    rows = evaluate_goals([met, beaten, missing, wrong], ["float32"], [1, 2], [], quick=False)

    def row(goal, batch, threads=1):
        (found,) = [
            r
            for r in rows
            if r["goal"] == goal and r["net"] == "article" and r["batch"] == batch and r["threads"] == threads
        ]
        return found

    assert row("infer-fastest", 1)["verdict"] == "met" and row("infer-fastest", 1)["ratio"] == pytest.approx(0.5)
    assert row("infer-fastest", 4)["verdict"] == "MISS" and row("infer-fastest", 4)["competitor"] == "onnxruntime"
    assert row("infer-fastest", 4)["ratio"] == pytest.approx(2.0) and row("infer-fastest", 4)["ratio_iqr"] == 0
    partial = row("infer-fastest", 16)
    assert partial["verdict"] == "met" and set(partial["missing"]) == {
        "torch-compile",
        "onnxruntime",
        "onnxruntime-iobinding",
    }
    assert "missing: torch-compile" in partial["note"]
    assert row("infer-fastest", 64)["verdict"] == "WRONG" and row("infer-fastest", 64)["ratio"] is None
    assert row("forward-eager", 1)["verdict"] == "met" and row("forward-eager", 4)["verdict"] == "MISS"
    unmeasured = row("infer-fastest", 1048576)
    assert unmeasured["verdict"] == "not measured" and unmeasured["met"] is None
    # No peaks were measured: the limit goal cannot be judged, and says why rather than guessing one.
    assert all(r["verdict"] == "not measured" for r in rows if r["goal"] == "infer-limit")


def test_the_thread_and_limit_goals():
    big = 1048576
    times = {name: [1.0, 1.0, 1.0] for name in (*INFER_COMPETITORS, "scratchnet", "scratchnet-forward")}
    point = _point("forward", "article", big, times)  # two threads take half the time: a speed-up of 2
    peaks = [
        {"kind": "bandwidth", "device": "cpu", "threads": 1, "gbytes_per_s": 10.0},
        {"kind": "matmul", "device": "cpu", "threads": 1, "dtype": "float32", "gflops": 100.0},
    ]
    rows = evaluate_goals([point], ["float32"], [1, 2], peaks, quick=False)
    (speedup,) = [r for r in rows if r["goal"] == "infer-threads"]
    assert speedup["ratio"] == pytest.approx(2.0) and speedup["verdict"] == "met"
    (limit,) = [r for r in rows if r["goal"] == "infer-limit" and r["batch"] == big and r["threads"] == 1]
    traffic = big * (2 + 1) * 4 / 10e9  # input and output bytes at the copy bandwidth
    compute = big * WORKLOADS["article"].flops_per_sample() / 100e9
    assert limit["limit_s"] == pytest.approx(max(traffic, compute))
    assert limit["ratio"] == pytest.approx(1.0 / max(traffic, compute)) and limit["verdict"] == "MISS"
    (no_peak,) = [r for r in rows if r["goal"] == "infer-limit" and r["batch"] == big and r["threads"] == 2]
    assert no_peak["verdict"] == "not measured" and "no measured peak" in no_peak["note"]
    one_thread = evaluate_goals([point], ["float32"], [1], peaks, quick=False)
    (speedup,) = [r for r in one_thread if r["goal"] == "infer-threads"]
    assert speedup["verdict"] == "not measured" and "1 and 2" in speedup["note"]


def test_the_training_goals():
    point_4 = _point("training", "article", 4, {"scratchnet-train": [1, 1, 1], **{n: [5, 5, 5] for n in TORCH_ADAMS}})
    point_big = _point(
        "training",
        "article",
        65536,
        {"scratchnet-train": [1, 1, 1], "torch-adam": [3, 3, 3], "torch-adam-foreach": [0.9, 0.9, 0.9]},
        statuses={"torch-adam-fused": "unavailable"},
    )
    rows = evaluate_goals([point_4, point_big], ["float32"], [1], [], quick=False)
    (four,) = [r for r in rows if r["goal"] == "train-default" and r["batch"] == 4]
    assert four["ratio"] == pytest.approx(0.2) and four["verdict"] == "met" and four["competitor"] == "torch-adam"
    (fastest,) = [r for r in rows if r["goal"] == "train-fastest" and r["batch"] == 65536]
    assert fastest["competitor"] == "torch-adam-foreach" and fastest["verdict"] == "MISS"
    assert set(fastest["missing"]) == {"torch-adam-fused"}
    (wide,) = [r for r in rows if r["goal"] == "train-fastest" and r["net"] == "wide"]
    assert wide["verdict"] == "not measured"


def test_missing_competitors_are_named_not_guessed(monkeypatch):
    import torch

    monkeypatch.setattr(torch, "compile", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no compiler here")))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    nets = Backends(WORKLOADS["article"], np.float32, seed=0)
    point = goals_module._forward_point(nets, 4, [1], False, 1, 0.001, 0, lambda note: None)
    rows = evaluate_goals([point], ["float32"], [1], [], quick=False)
    (row,) = [r for r in rows if r["goal"] == "infer-fastest" and r["batch"] == 4]
    assert row["verdict"] in ("met", "MISS") and row["ratio"] is not None
    assert set(row["missing"]) == {"torch-compile", "onnxruntime", "onnxruntime-iobinding"}
    assert "no compiler here" in row["missing"]["torch-compile"]
    assert "pip install 'scratchnet[onnx]'" in row["missing"]["onnxruntime"]


@pytest.mark.parametrize("planted", ["naive-numpy", "scratchnet"])
def test_goals_never_time_a_wrong_participant(monkeypatch, planted):
    original = Backends.prepare

    def broken(self, backend, device, x):
        prepared = original(self, backend, device, x)
        if backend == planted:
            return Prepared(prepared.fn, prepared.context, lambda: prepared.output() * 1.01)
        return prepared

    monkeypatch.setattr(Backends, "prepare", broken)
    nets = Backends(WORKLOADS["article"], np.float32, seed=0)
    point = goals_module._forward_point(nets, 64, [1], True, 2, 0.001, 0, lambda note: None)
    assert point["participants"][planted]["status"] == "wrong" and f"{planted}@1" not in point["times_s"]
    rows = evaluate_goals([point], ["float32"], [1], [], quick=True)
    (row,) = [r for r in rows if r["goal"] == "infer-fastest" and r["net"] == "article" and r["batch"] == 64]
    if planted == "scratchnet":
        assert row["verdict"] == "WRONG" and row["ratio"] is None and "not timed" in row["note"]
    else:
        assert "naive-numpy" in row["missing"] and "computes something else" in row["missing"]["naive-numpy"]


def test_goal_directions():
    assert GOALS["infer-fastest"].met(1.0) and not GOALS["infer-fastest"].met(1.01)
    assert GOALS["infer-threads"].met(1.7) and not GOALS["infer-threads"].met(1.69)
    assert GOALS["train-default"].target_text() == "<= 0.25" and GOALS["infer-memory"].met(2.0)
    assert FORWARD_GOAL_BATCHES["article"][-1] == 1048576 and FORWARD_GOAL_BATCHES["wide"] == (1, 64, 1024)


# --- the plot, the table, the options --------------------------------------------------------------------------


def test_the_plot_has_no_overlapping_text_and_changes_nothing_global(goals_run, tmp_path):
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    _, _, out = goals_run
    document = json.loads((out / "benchmarks.json").read_text())
    backend, font_size = matplotlib.get_backend(), matplotlib.rcParams["font.size"]
    figure = write_plot(tmp_path / "plot.png", document["records"], document["machine"])
    assert matplotlib.get_backend() == backend and matplotlib.rcParams["font.size"] == font_size
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")
    renderer = FigureCanvasAgg(figure).get_renderer()
    boxes = [text.get_window_extent(renderer) for text in figure.texts]  # the title
    boxes += [legend.get_window_extent(renderer) for legend in figure.legends]
    assert len(boxes) == 2
    for axis in figure.axes:
        if axis.get_visible() and axis.axison:
            boxes.append(axis.get_tightbbox(renderer))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    width, height = figure.bbox.width, figure.bbox.height
    for box in boxes:  # nothing cut off at the edges
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, box


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


def test_workload_costs():
    article = WORKLOADS["article"]
    assert article.flops_per_sample() == 2 * (2 * 4 + 4 * 4 + 4 * 1) + (4 + 4 + 1)
    assert article.bytes_per_sample(4) == 4 * (2 + 1 + 2 * 8)
    assert article.io_bytes_per_sample(8) == 8 * (2 + 1)
    assert article.training_flops_per_sample() == 3 * article.flops_per_sample()
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
        ["--sizes", "4,8,2", "--activation", "softmax"],
        ["--sizes", "4,8,2", "--activation", "log_softmax"],
        ["--sizes", "4,8,2", "--activation", "swish"],
        ["--activation", "tanh"],  # --activation is that of --sizes: alone it would be ignored
        ["--goals", "--nets", "article"],
        ["--goals", "--backends", "scratchnet"],
        ["--goals", "--rounds", "0"],
        ["--rounds", "3"],  # rounds are --goals' business
        ["--workloads", "inference"],
        # found by a hostile review: a batch the CPU skips was still made (763 GiB), a traceback and status 1
        ["--nets", "wide", "--batches", "100000000", "--workloads", "forward", "--backends", "scratchnet"],
        ["--batches", str(10**12)],
        ["--workloads", "training", "--nets", "wide", "--batches", "3000"],  # every training step skipped
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, capsys, tmp_path):
    with pytest.raises(SystemExit) as caught:
        cli.main([*argv, "--out", str(tmp_path)])
    assert caught.value.code == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_an_activation_that_may_only_come_last_says_so(capsys, tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["--sizes", "4,8,2", "--activation", "softmax", "--out", str(tmp_path)])
    (line,) = capsys.readouterr().err.splitlines()
    assert "only follow the last layer" in line and "relu" in line


def test_backends_share_the_same_weights():
    nets = Backends(WORKLOADS["article"], np.float32, seed=0)
    torch_state = nets.torch_net("cpu").state_dict()
    for name, value in nets.scratch.state_dict().items():
        np.testing.assert_array_equal(torch_state[name].numpy(), value)
