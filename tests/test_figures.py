"""The article's pictures: each drawn headless, a valid image of the expected size, and the data behind it right."""

import struct

import numpy as np
import pytest

import scratchnet
from scratchnet import figures
from scratchnet.__main__ import FIGURE_NAMES, main

from .optional import needs, optional

torchnet = optional("torchnet")


def png_size(path):
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_activations(tmp_path):
    data = figures.activations_figure(tmp_path / "a.png", dpi=50)
    assert png_size(tmp_path / "a.png") == (11 * 50, 8 * 50)
    assert data["sigmoid"] == {"value_at_0": 0.5, "slope_at_0": 0.25}
    assert data["ReLU"] == {"value_at_0": 0.0, "slope_at_0": 0.0}  # torch's slope at the kink
    assert data["tanh"] == {"value_at_0": 0.0, "slope_at_0": 1.0}
    assert data["Heaviside (value 0.5 at 0)"] == {"value_at_0": 0.5, "slope_at_0": 0.0}


@pytest.mark.parametrize(
    "net",
    [None, scratchnet.MLP((3, 5, 4, 2), "tanh", rng=0), torchnet.MLP((2, 6, 1), bias=False), scratchnet.Linear(3, 2)],
    ids=["article", "scratch-mlp", "torch-mlp-no-bias", "linear"],
)
def test_diagram_draws_one_edge_per_weight(tmp_path, net):
    data = figures.diagram_figure(tmp_path / "d.png", net, dpi=40)
    assert data["edges"] == data["weights"]
    if net is None:
        assert data["sizes"] == [2, 4, 4, 1] and data["edges"] == 2 * 4 + 4 * 4 + 4 * 1 and data["biases"] == 9
    if isinstance(net, torchnet.MLP):
        assert data["biases"] == 0
    assert png_size(tmp_path / "d.png")[0] > 100


def test_diagram_refuses_what_it_cannot_draw(tmp_path):
    with pytest.raises(ValueError, match="too wide to draw"):
        figures.diagram_figure(tmp_path / "d.png", scratchnet.MLP((2, 100, 1)))


def test_boundaries_show_what_only_a_non_linear_net_can_do(tmp_path):
    data = figures.boundaries_figure(tmp_path / "b.png", dpi=40)
    assert png_size(tmp_path / "b.png") == (11 * 40, 10 * 40)
    assert data["XOR/identity"] <= 0.75 and data["XOR/relu"] == 1.0
    assert data["two moons/identity"] < 0.95 <= data["two moons/relu"]


def test_training_curves_agree(tmp_path):
    from compare.figures import training_figure  # it trains both frameworks, so it lives in compare

    data = training_figure(tmp_path / "t.png", steps=100, dpi=40)
    assert data["within_budget"] and data["max_weight_difference"] < 1e-5 and data["final_loss"] < 0.1


def test_neuron_is_a_weighted_sum(tmp_path):
    data = figures.neuron_figure(tmp_path / "n.png", dpi=40)
    expected = np.dot([5, 5, 8, 5], [0.6, 0.5, 0.9, 0.3]) - 10
    assert data["z"] == pytest.approx(expected, rel=1e-6)
    assert data["output"] == pytest.approx(1 / (1 + np.exp(-expected)), rel=1e-6)
    assert max(data["contributions"]) == pytest.approx(8 * 0.9)  # design weighs most


def test_deterministic_for_a_seed_and_svg_on_request(tmp_path):
    figures.boundaries_figure([tmp_path / "one.png", tmp_path / "one.svg"], seed=3, dpi=30)
    figures.boundaries_figure(tmp_path / "two.png", seed=3, dpi=30)
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()
    assert (tmp_path / "one.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_without_matplotlib_the_command_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    assert main(["figures", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "pip install 'scratchnet[plot]'" in err and not list(tmp_path.iterdir())


@needs("matplotlib")
def test_the_command_writes_every_figure(tmp_path, capsys):
    assert main(["figures", "--out", str(tmp_path), "--dpi", "30"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.png" for name in FIGURE_NAMES)
    out = capsys.readouterr().out
    assert "XOR/relu accuracy 100%" in out and "28 edges for 28 weights" in out


def test_compare_draws_the_training_figure_too(tmp_path, capsys):
    from compare.cli import main as compare_main
    from compare.figures import FIGURES

    assert compare_main(["figures", "--out", str(tmp_path), "--dpi", "30", "--only", "training,diagram"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diagram.png", "training.png"]
    assert sorted(FIGURES) == sorted([*FIGURE_NAMES, "training"])
    assert "300 steps, final loss" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv", [["figures", "--only", "pie"], ["figures", "--format", "gif"], ["figures", "--dpi", "0"], ["figures", "x"]]
)
def test_the_command_refuses_bad_options_in_one_line(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2 and len(capsys.readouterr().err.splitlines()) == 1
