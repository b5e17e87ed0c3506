"""Hostile command lines: every option checked before any work, one line and status 2 for a bad one,
1 only for outputs that disagree, 130 on Ctrl-C with nothing half-written, quiet on a closed pipe."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratchnet.__main__ import main as scratchnet_main
from scratchnet.checkpoint import save_safetensors

from .optional import needs, optional_names

(benchmarks_main,) = optional_names("benchmarks.cli", "main")
(compare_main,) = optional_names("compare.cli", "main")


ROOT = Path(__file__).resolve().parent.parent
CLI_SETTINGS = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=300 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 40,
)


def outcome(main, argv, capsys, allowed=(0, 2)):
    """Run a command in-process; its status must be allowed, and a status 2 is one line on stderr."""
    try:
        status = main(argv)
    except SystemExit as caught:
        status = caught.code
    captured = capsys.readouterr()
    assert status in allowed, (argv, status, captured.err[-500:])
    assert "Traceback" not in captured.err
    if status == 2:
        assert len(captured.err.strip().splitlines()) == 1, (argv, captured.err)
    return status, captured


NUMBERS = ["0", "1", "3", "-1", "1.5", "nan", "inf", "-inf", "1e3", "", " ", "x", str(2**64), str(2**70), "9" * 5000]


@pytest.fixture
def files(tmp_path):
    """Paths a careless user may give: good, missing, empty, a folder, a FIFO, junk, a device."""
    good = tmp_path / "good.safetensors"
    import scratchnet

    save_safetensors(scratchnet.MLP((2, 3, 1), "tanh", rng=0), good)
    (tmp_path / "junk.pt").write_bytes(b"\x80\x02junk")
    os.mkfifo(tmp_path / "fifo")
    return [
        str(good),
        str(tmp_path / "missing.pt"),
        "",
        str(tmp_path),
        str(tmp_path / "fifo"),
        str(tmp_path / "junk.pt"),
        "/dev/zero",
    ]


@CLI_SETTINGS
@given(st.data())
def test_compare_with_random_options(files, capsys, data):
    options = {
        "--sizes": st.sampled_from(["2,3,1", "2", "2,0,1", "2,x", "3,4,4,2", "2,100000000000,1", "1," * 3 + "1"]),
        "--activation": st.sampled_from(["relu", "none", "tanh,none", "elu", "", "relu,sigmoid,tanh", "heaviside"]),
        "--batch": st.sampled_from(NUMBERS + [str(10**12)]),
        "--seed": st.sampled_from(NUMBERS),
        "--dtype": st.sampled_from(["float32", "float64", "float16", ""]),
        "--device": st.sampled_from(["cpu", "cuda", "cuda:7", "mps", "meta", "nonsense", ""]),
        "--direction": st.sampled_from(["torch-to-scratch", "scratch-to-torch", "up"]),
        "--checkpoint": st.sampled_from(files),
    }
    chosen = data.draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=4))
    argv = [item for name in chosen for item in (name, data.draw(options[name]))]
    outcome(compare_main, argv, capsys, allowed=(0, 1, 2))


@CLI_SETTINGS
@given(st.data())
def test_scratchnet_train_with_random_options(capsys, data):
    options = {
        "--gate": st.sampled_from(["or", "xor", "all", "xnor", ""]),
        "--sizes": st.sampled_from(["2,3,1", "3,4,1", "2,4,2", "2,99999,1", "2"]),
        "--activation": st.sampled_from(["relu", "tanh", "heaviside", "identity", "none"]),
        "--epochs": st.sampled_from(["1", "3", "0", "-2", "nan", str(10**7), str(2**64), "1e2"]),
        "--lr": st.sampled_from(["0.05", "0", "-1", "nan", "inf", "1e-3", "x"]),
        "--seed": st.sampled_from(NUMBERS),
        "--dtype": st.sampled_from(["float32", "float64", "int8"]),
    }
    chosen = data.draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=4))
    argv = ["train"] + [item for name in chosen for item in (name, data.draw(options[name]))]
    if "--epochs" not in chosen:
        argv += ["--epochs", "2"]  # the default would train for 300 epochs: the outcome, not the time, is tested
    outcome(scratchnet_main, argv, capsys)


@CLI_SETTINGS
@given(st.data())
def test_figure_commands_with_random_options(tmp_path, capsys, data):
    options = {
        "--only": st.sampled_from(["neuron", "pie", "", ",", "neuron,activations"]),
        "--format": st.sampled_from(["png", "svg", "gif"]),
        "--dpi": st.sampled_from(["20", "19", "600", "601", "10000000", "nan"]),
        "--seed": st.sampled_from(NUMBERS),
        "--out": st.sampled_from([str(tmp_path / "figs"), "", "/proc/version", "/dev/null/x"]),
    }
    chosen = data.draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=3))
    argv = [item for name in chosen for item in (name, data.draw(options[name]))]
    if "--only" not in chosen:
        argv += ["--only", "neuron"]  # one quick figure
    if "--out" not in chosen:
        argv += ["--out", str(tmp_path / "figs")]
    main = data.draw(st.sampled_from([scratchnet_main, compare_main]))
    outcome(main, ["figures"] + argv, capsys)


@CLI_SETTINGS
@given(st.data())
def test_benchmark_options_are_checked_before_any_measurement(tmp_path, capsys, data):
    """Only bad values are drawn here, so every run must stop at once with status 2 (a good run takes a minute)."""
    bad = {
        "--min-run-time": st.sampled_from(["0", "-1", "nan", "inf", "61", "x"]),
        "--batches": st.sampled_from(["0", "1,-1", str(10**13), str(10**12), "x", ""]),
        "--threads": st.sampled_from(["0", "100000", "x"]),
        "--seed": st.sampled_from(["-1", str(2**64), "x"]),
        "--out": st.sampled_from(["", "/proc/version", "/dev/null/x"]),
        "--dtypes": st.sampled_from(["float16", ""]),
        "--devices": st.sampled_from(["tpu", "cuda"]),
        "--sizes": st.sampled_from(["2", "2,x", "2,100000000000,1"]),
    }
    name = data.draw(st.sampled_from(sorted(bad)))
    started = time.monotonic()
    status, _ = outcome(benchmarks_main, ["--quick", "--out", str(tmp_path / "b"), name, data.draw(bad[name])], capsys)
    assert status == 2 and time.monotonic() - started < 5


def test_an_unwritable_output_folder_is_found_before_the_work(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions: use a path no one can create instead
        locked = Path("/proc/1/forbidden")
    for main, argv in (
        (benchmarks_main, ["--quick", "--out", str(locked)]),
        (scratchnet_main, ["figures", "--out", str(locked)]),
    ):
        started = time.monotonic()
        status, captured = outcome(main, argv, capsys)
        assert status == 2 and "cannot write into" in captured.err and time.monotonic() - started < 5


# -- signals, pipes and FIFOs: real processes ------------------------------------------------------


def start(*argv, cwd=None):
    return subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def old_files(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"the old file")


def whole_or_old(path):
    data = path.read_bytes()
    if data == b"the old file":
        return True
    if path.suffix == ".png":
        return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    if path.suffix == ".json":
        json.loads(data)
        return True
    return False


LONG_RUNNING = {
    "compare figures": (["-m", "compare", "figures", "--dpi", "40"], ["neuron.png", "diagram.png", "training.png"]),
    "benchmarks": (["-m", "benchmarks", "--quick", "--backends", "scratchnet,torch-eager"], ["benchmarks.json"]),
    "scratchnet train": (["-m", "scratchnet", "train", "--gate", "all", "--epochs", "200000"], []),
    "compare train": (["-m", "compare", "train", "--gate", "all", "--epochs", "5000"], []),
}


@needs("torch", "matplotlib")
@pytest.mark.parametrize("command", sorted(LONG_RUNNING))
def test_ctrl_c_at_a_random_moment(tmp_path, command):
    argv, outputs = LONG_RUNNING[command]
    out = tmp_path / "out"
    old_files(out, outputs)
    argv = argv + (["--out", str(out)] if outputs else [])
    process = start(*argv, cwd=ROOT)
    first = process.stdout.readline()  # it has started working
    time.sleep(random.Random(command).uniform(0.0, 1.5))
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=120)
    assert process.returncode in (130, 0), (first, rest[-300:], err[-1500:])
    assert "Traceback" not in err
    if process.returncode == 130:
        assert err.strip().splitlines()[-1].endswith("interrupted")
    for name in outputs:
        assert whole_or_old(out / name), name
    assert not [p.name for p in out.glob(".*")], "a temporary file was left behind"


@needs("torch")
def test_a_closed_pipe_ends_quietly():
    process = start("-m", "compare", cwd=ROOT)
    assert process.stdout.readline()
    process.stdout.close()  # python -m compare | head -1
    with process.stderr:
        err = process.stderr.read()
    process.wait(timeout=120)
    assert process.returncode == 141 and err == ""


@needs("torch")
def test_a_fifo_as_checkpoint_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    result = subprocess.run(
        [sys.executable, "-m", "compare", "--checkpoint", str(tmp_path / "fifo")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "not a regular file" in result.stderr and len(result.stderr.splitlines()) == 1


@needs("torch")
def test_stdout_closed_or_full(tmp_path):
    closed = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.close(1); sys.stdout = None; from compare.__main__ import main; "
         "raise SystemExit(main())"], capture_output=False, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert closed.returncode == 0 and closed.stderr == ""
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "compare"], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT
        )
    assert result.returncode == 74 and result.stderr.strip().splitlines() == [
        "python -m compare: error: No space left on device"
    ]


@needs("torch")
@pytest.mark.parametrize("delay", [0.2, 0.6])
def test_ctrl_c_while_torch_is_imported(delay):
    process = start("-m", "compare", cwd=ROOT)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode in (130, 0) and "Traceback" not in err, err[-1000:]


@needs("matplotlib")
def test_a_folder_where_a_figure_goes_is_found_before_drawing(tmp_path, capsys):
    (tmp_path / "neuron.png").mkdir()
    status, captured = outcome(scratchnet_main, ["figures", "--out", str(tmp_path), "--only", "neuron"], capsys)
    assert status == 2 and "is a directory" in captured.err


def test_an_output_folder_is_not_made_when_another_option_is_bad(tmp_path, capsys):
    status, _ = outcome(scratchnet_main, ["figures", "--out", str(tmp_path / "new" / "dir"), "--dpi", "9999"], capsys)
    assert status == 2 and not (tmp_path / "new").exists()


def test_control_characters_typed_by_the_user_are_shown_escaped(capsys):
    status, captured = outcome(scratchnet_main, ["train", "--gate", "x\x1b[2J"], capsys)
    assert status == 2 and "\x1b" not in captured.err and "\\x1b" in captured.err
