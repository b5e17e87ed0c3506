"""python -m compare: the main job's printout, its options, and one-line errors with status 2."""

import subprocess
import sys

import pytest

from .optional import needs, optional_names
from .test_article import ARTICLE_PRINT_NET

(main,) = optional_names("compare.cli", "main")


def run_main(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr().out
    return status, out


def test_default_prints_the_article_twice_and_passes(capsys):
    status, out = run_main(capsys)
    assert status == 0
    assert out.count(ARTICLE_PRINT_NET) == 2
    assert "fc1.weight \t torch.Size([4, 2])" in out and "fc1.weight \t (4, 2)" in out
    assert "weights copied from torch to scratchnet: 6 tensors, 37 values" in out
    assert "outputs on 4 random inputs" in out
    assert "verdict: PASS" in out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--sizes", "3,16,16,2", "--activation", "tanh"], "MLP 3 -> 16 -> 16 -> 2: fc1 tanh, fc2 tanh, fc3,"),
        (["--activation", "sigmoid"], "MLP 2 -> 4 -> 4 -> 1: fc1 sigmoid, fc2 sigmoid, fc3,"),
        (["--activation", "relu,tanh,sigmoid"], "Sequential 2 -> 4 -> 4 -> 1: 0 relu, 2 tanh, 4 sigmoid,"),
        (["--activation", "none,tanh,none"], "Sequential 2 -> 4 -> 4 -> 1: 0, 1 tanh, 3,"),
        (["--dtype", "float64", "--batch", "100"], "float64, input shape (100, 2)"),
        (["--direction", "scratch-to-torch", "--seed", "7"], "weights copied from scratchnet to torch"),
        (["--batch", "0"], "input shape (0, 2)"),
        (["--activation", "heaviside", "--batch", "50"], "fc1 heaviside, fc2 heaviside"),
    ],
)
def test_options(capsys, argv, expected):
    status, out = run_main(capsys, *argv)
    assert status == 0, out
    assert expected in out


def test_same_seed_same_output(capsys):
    first = run_main(capsys, "--seed", "3")[1]
    assert run_main(capsys, "--seed", "3")[1] == first
    assert run_main(capsys, "--seed", "4")[1] != first


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sizes", "2,x"], "--sizes"),
        (["--sizes", "2"], "--sizes"),
        (["--sizes", "2,0,1"], "--sizes"),
        (["--batch", "-1"], "--batch"),
        (["--batch", "many"], "--batch"),
        (["--dtype", "float16"], "--dtype"),
        (["--activation", "swish"], "--activation"),
        (["--activation", "relu,relu"], "--activation"),
        (["--activation", ""], "--activation"),
        (["--direction", "sideways"], "--direction"),
        (["--device", "nonsense"], "--device"),
        (["--unknown"], "unrecognized arguments"),
    ],
)
def test_bad_options_exit_2_with_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in captured.err


@needs("torch")
def test_module_entry_point_runs_as_a_program():
    result = subprocess.run(
        [sys.executable, "-m", "compare", "--batch", "2"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "verdict: PASS" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "compare", "--batch", "x"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
