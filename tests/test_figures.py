"""The article's pictures: the data behind each one is right, each figure shows that data and no more, and
drawing changes nothing global (no backend switch, no rcParams)."""

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scratchnet
from scratchnet import figures
from scratchnet.__main__ import FIGURE_NAMES, main

from .optional import needs, optional

torchnet = optional("torchnet")
ROOT = Path(__file__).resolve().parent.parent


def png_size(path):
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def colour_map_of(bar):
    """The name of the colour map a colour bar's axes shows (its colour strip is a QuadMesh)."""
    from matplotlib.collections import QuadMesh

    (strip,) = [c for c in bar.collections if isinstance(c, QuadMesh)]
    return strip.get_cmap().name


def assert_class_colours(axis):
    """The points of class 0, then class 1, in the colours of p = 0 and p = 1 (every figure that shows them)."""
    from matplotlib.collections import PathCollection

    points = [c for c in axis.collections if isinstance(c, PathCollection)]
    assert len(points) == 2
    for label, collection in enumerate(points):
        assert np.allclose(collection.get_facecolor(), figures.class_colour(label))
    import matplotlib

    ends = matplotlib.colormaps[figures.COLOURS["probability"]]([0.0, 1.0])
    assert np.allclose([figures.class_colour(0), figures.class_colour(1)], ends)


def mlp(sizes, weights, biases, activation="relu"):
    """An MLP holding exactly these weights (float64, so that the boundary's shape is the only question)."""
    net = scratchnet.MLP(sizes, activation, dtype=np.float64)
    state = {}
    for number, (w, b) in enumerate(zip(weights, biases), start=1):
        state[f"fc{number}.weight"], state[f"fc{number}.bias"] = w, b
    net.load_state_dict(state)
    return net


def test_activations(tmp_path):
    data = figures.activations_data()
    assert data.at_zero["sigmoid"] == (0.5, 0.25)
    assert data.at_zero["ReLU"] == (0.0, 0.0)  # torch's slope at the kink
    assert data.at_zero["tanh"] == (0.0, 1.0)
    assert data.at_zero["Heaviside (value 0.5 at 0)"] == (0.5, 0.0)
    figures.save_figure(figures.activations_figure(data), tmp_path / "a.png", dpi=50)
    assert png_size(tmp_path / "a.png") == (11 * 50, 8 * 50)


# -- boundaries: the measure, on networks whose boundary is known ----------------------------------

WINDOW = ((-1.0, -1.0), (1.0, 1.0))
RELU_OF_EACH_SIGN = [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]  # relu(x1), relu(-x1), relu(x2), relu(-x2)


@pytest.mark.parametrize(
    "net, shape",
    [
        (mlp((2, 1), [[[1.0, 2.0]]], [[0.1]], "identity"), "one straight line"),  # x1 + 2 x2 + 0.1 = 0
        (mlp((2, 4, 1), [RELU_OF_EACH_SIGN, [[1.0, 1.0, -1.0, 1.0]]], [np.zeros(4), [-0.3]]), "one bent line"),
        (mlp((2, 4, 1), [RELU_OF_EACH_SIGN, [[0.0, 0.0, 1.0, -1.0]]], [np.zeros(4), [0.2]]), "one straight line"),
        (mlp((2, 4, 1), [RELU_OF_EACH_SIGN, [[1.0, 1.0, 0.0, 0.0]]], [np.zeros(4), [-0.5]]), "2 straight lines"),
        (mlp((2, 1), [[[1e-3, 1e-3]]], [[0.0]], "identity"), "no boundary"),  # p within 0.5 +- 5e-4
        (mlp((2, 1), [[[1.0, 1.0]]], [[5.0]], "identity"), "no boundary"),  # p > 0.5 over the whole window
    ],
    ids=["linear", "V: |x1| - x2 = 0.3", "ReLU but straight: x2 = -0.2", "|x1| = 0.5", "flat", "one class"],
)
def test_the_boundary_measured_is_the_one_known(net, shape):
    boundary = figures.boundary_of(net, *WINDOW)
    assert boundary.shape == shape
    assert boundary.drawn == (shape != "no boundary")
    if shape == "one straight line":
        assert boundary.straight and boundary.bends[0] < 1e-9  # points found on the net itself: exact
    if shape == "one bent line":
        # the V's arms meet at (0, -0.3); their line fit is off by a good part of the window
        assert boundary.straight is False and boundary.bends[0] > 10 * figures.STRAIGHT_TOLERANCE
    if shape == "no boundary":
        assert boundary.straight is None and boundary.bends == () and "no boundary" in boundary.describe()


# -- boundaries: the figure's data, across seeds ----------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 3, 7])
def test_boundaries_say_what_the_seed_drawn_shows(seed):
    data = figures.boundaries_data(seed=seed)
    linear_xor, relu_xor = data["XOR", "identity"], data["XOR", "relu"]
    linear_moons, relu_moons = data["two moons", "identity"], data["two moons", "relu"]
    # A linear net on XOR ends at p = 0.5 everywhere: no boundary, whatever the sign of its rounding says.
    assert linear_xor.boundary.p_max - linear_xor.boundary.p_min < figures.MIN_SPREAD
    assert not linear_xor.boundary.drawn and "no boundary" in linear_xor.boundary.describe()
    assert linear_xor.accuracy <= 0.75
    # A linear net that does separate something draws one straight line, to rounding.
    assert linear_moons.boundary.straight and max(linear_moons.boundary.bends) < 1e-6
    assert linear_moons.accuracy < 0.95 <= relu_moons.accuracy
    assert relu_moons.boundary.shape == "one bent line"
    title = data.title()
    linear_line, relu_line = title.splitlines()[:2]
    assert linear_line == f"Seed {seed}. Linear network: no boundary on XOR, one straight line on two moons."
    assert relu_xor.boundary.shape in relu_line and relu_moons.boundary.shape in relu_line
    if seed == 0:  # what docs/walkthrough.md says of the figure it shows
        assert max(abs(linear_xor.boundary.p_min - 0.5), abs(linear_xor.boundary.p_max - 0.5)) < 2e-4
        assert relu_xor.accuracy == 1.0 and relu_xor.boundary.shape == "2 straight lines"
    if seed == 1:
        assert linear_xor.boundary.p_min > 0.5  # not even a noisy crossing: all of it on one side
    if seed == 3:  # the ReLU net found only a straight boundary here, and the figure must not say it bends
        assert relu_xor.accuracy == 0.75 and relu_xor.boundary.straight
        assert relu_line == "Non-linear (ReLU): one straight line on XOR, one bent line on two moons."
    if seed == 7:
        assert relu_xor.accuracy == 0.75 and relu_xor.boundary.shape == "one bent line"


def test_the_boundaries_figure_draws_its_data(tmp_path):
    data = figures.boundaries_data(seed=0)
    figure = figures.boundaries_figure(data)
    panels = [axis for axis in figure.axes if axis.images]
    assert len(panels) == 4
    for axis, panel in zip(sorted(panels, key=lambda a: (a.get_position().x0, -a.get_position().y0)), data.panels):
        assert panel.data in axis.get_title() and panel.boundary.describe() in axis.get_title()
        (image,) = axis.images
        assert image.get_cmap().name == figures.COLOURS["probability"] and image.get_clim() == (0.0, 1.0)
        assert bool(axis.collections and any(hasattr(c, "levels") for c in axis.collections)) == panel.boundary.drawn
        assert_class_colours(axis)
    bar = [axis for axis in figure.axes if axis.get_ylabel().startswith("p: predicted probability")]
    assert len(bar) == 1 and tuple(bar[0].get_ylim()) == (0.0, 1.0)  # one colour bar, the fixed scale
    assert colour_map_of(bar[0]) == figures.COLOURS["probability"]
    assert figure.get_suptitle() == data.title()
    figures.save_figure(figure, tmp_path / "b.png", dpi=40)
    assert png_size(tmp_path / "b.png") == (11 * 40, 10 * 40)
    with pytest.raises(ValueError, match="not both"):
        figures.boundaries_figure(data, seed=1)


def test_deterministic_for_a_seed_and_svg_on_request(tmp_path):
    figures.save_figure(figures.boundaries_figure(seed=3), [tmp_path / "one.png", tmp_path / "one.svg"], dpi=30)
    figures.save_figure(figures.boundaries_figure(seed=3), tmp_path / "two.png", dpi=30)
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()
    assert (tmp_path / "one.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.png", "one.svg", "two.png"]  # no temporary left


# -- the diagram --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "net",
    [None, scratchnet.MLP((3, 5, 4, 2), "tanh", rng=0), torchnet.MLP((2, 6, 1), bias=False), scratchnet.Linear(3, 2)],
    ids=["article", "scratch-mlp", "torch-mlp-no-bias", "linear"],
)
def test_the_diagram_draws_one_arrow_per_weight_left_to_right(net):
    data = figures.diagram_data(net)
    figure = figures.diagram_figure(data)
    arrows = [p for axis in figure.axes for p in axis.patches if p.get_gid() == "weight"]
    assert len(arrows) == data.weights == sum(w.size for w, _ in data.layers)
    cmap, norm = figures.signed_colours(max(np.abs(a).max() for layer in data.layers for a in layer if a is not None))
    weights = [w[j, i] for w, _ in data.layers for j in range(w.shape[0]) for i in range(w.shape[1])]
    for arrow, w in zip(arrows, weights):  # drawn in that order: each arrow has its weight's colour on the bar
        assert np.allclose(arrow.get_edgecolor(), cmap(norm(w)))
        start, end = arrow._posA_posB
        assert end[0] == start[0] + 1  # from one column to the next: the way values flow
    (legend,) = figure.legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels[0] == "input (no bias)" and any("the way values flow" in label for label in labels)
    assert ("unit: fill = its bias (bar)" in labels) == (data.biases > 0)
    assert ("unit without a bias" in labels) == any(b is None for _, b in data.layers)
    (bar,) = [axis for axis in figure.axes if axis.get_ylabel().startswith("weight (arrow colour)")]
    assert colour_map_of(bar) == figures.COLOURS["signed"]
    if net is None:
        assert data.sizes == (2, 4, 4, 1) and data.weights == 2 * 4 + 4 * 4 + 4 * 1 and data.biases == 9
    if isinstance(net, torchnet.MLP):
        assert data.biases == 0


def test_diagram_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match="too wide to draw"):
        figures.diagram_data(scratchnet.MLP((2, 100, 1)))


# -- the neuron ---------------------------------------------------------------------------------------


def test_neuron_is_a_weighted_sum(tmp_path):
    data = figures.neuron_data()
    expected = np.dot([5, 5, 8, 5], [0.6, 0.5, 0.9, 0.3]) - 10
    assert data.z == pytest.approx(expected, rel=1e-6)
    assert data.output == pytest.approx(1 / (1 + np.exp(-expected)), rel=1e-6)
    assert max(data.contributions) == pytest.approx(8 * 0.9)  # design weighs most
    figure = figures.neuron_figure(data)
    bars = figure.axes[0].patches
    cmap, norm = figures.signed_colours(max(abs(v) for v in [*data.contributions, data.bias, data.z]))
    assert np.allclose(bars[4].get_facecolor(), cmap(norm(-10.0)))  # the bias, on the weights' colour map


# -- training, in both frameworks ---------------------------------------------------------------------


def test_training_shows_a_network_learning_then_both_frameworks_agreeing(tmp_path):
    from compare.figures import training_data, training_figure  # it trains both frameworks: it lives in compare

    data = training_data(steps=100)
    epochs = [snap.epoch for snap in data.snapshots]
    assert epochs == [0, 10, 50, 100]
    accuracies = [snap.accuracy for snap in data.snapshots]
    assert accuracies == [0.5, 0.75, 1.0, 1.0]  # 2, 3, then all 4 corners right, as docs/walkthrough.md says
    assert data.snapshots[0].loss > data.snapshots[-1].loss
    first, last = (snap.boundary.probability > 0.5 for snap in (data.snapshots[0], data.snapshots[-1]))
    assert np.mean(first != last) > 0.2  # the boundary moved: a quarter of the plane or more changed class
    assert data.snapshots[-1].boundary.drawn and data.snapshots[-1].boundary.shape == "2 straight lines"
    # The snapshots are of the very training both frameworks then ran, and the two agree.
    assert data.same_path and data.within_budget and data.max_weight_difference < 1e-5
    assert np.allclose(data.loss_scratch, data.loss_torch, rtol=1e-4) and data.final_loss < 0.1
    assert len(data.loss_scratch) == len(data.weight_difference) == 100

    figure = training_figure(data)
    top, bottom = figure.subfigs
    boundary_panels = [axis for axis in top.axes if axis.images]
    for axis in boundary_panels:  # p and the classes in the colours they have in the boundaries figure
        (image,) = axis.images
        assert image.get_cmap().name == figures.COLOURS["probability"] and image.get_clim() == (0.0, 1.0)
        assert_class_colours(axis)
    (bar,) = [axis for axis in top.axes if axis.get_ylabel().startswith("p: predicted probability")]
    assert colour_map_of(bar) == figures.COLOURS["probability"]
    assert [axis.get_title().split("\n")[0] for axis in boundary_panels] == [f"epoch {e}" for e in epochs]
    (agreement,) = [axis for axis in bottom.axes if axis.get_ylabel() == "binary cross-entropy"]
    assert [line.get_label() for line in agreement.get_lines()[:2]] == [
        "loss, scratchnet (by hand)",
        "loss, torch (autograd)",
    ]
    assert agreement.get_lines()[0].get_color() == figures.COLOURS["scratchnet"]
    figures.save_figure(figure, tmp_path / "t.png", dpi=30)
    assert png_size(tmp_path / "t.png") == (12 * 30, int(9.5 * 30))


# -- nothing global changes; figures are Figures ---------------------------------------------------

UNTOUCHED = """
import sys, matplotlib
from matplotlib.figure import Figure
from scratchnet import figures
backend, before = matplotlib.get_backend(), dict(matplotlib.rcParams)
drawn = [figures.FIGURES[name].draw(figures.FIGURES[name].compute()) for name in figures.FIGURES]
figures.save_figure(drawn[0], sys.argv[1], dpi=20)
assert all(type(figure) is Figure for figure in drawn), drawn
assert matplotlib.get_backend() == backend == "pdf", (backend, matplotlib.get_backend())
changed = {k: (v, matplotlib.rcParams[k]) for k, v in before.items() if matplotlib.rcParams[k] != v}
assert not changed, changed
assert "matplotlib.pyplot" not in sys.modules
print("untouched")
"""


@needs("matplotlib")
def test_drawing_leaves_the_backend_and_rcparams_as_they_were(tmp_path):
    # a fresh interpreter with a backend chosen by the user (a notebook would have its inline one)
    env = {**os.environ, "MPLBACKEND": "pdf"}
    result = subprocess.run(
        [sys.executable, "-c", UNTOUCHED, str(tmp_path / "n.png")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0 and result.stdout.strip() == "untouched", result.stderr[-2000:]
    assert png_size(tmp_path / "n.png")[0] == 12 * 20


# -- the commands ----------------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["scratchnet", pytest.param("compare", marks=needs("torch"))])
def test_without_matplotlib_the_command_exits_2_in_one_line(tmp_path, module):
    out = tmp_path / "new"
    program = (  # python -m MODULE figures --out OUT, where matplotlib cannot be imported
        f"import runpy, sys; sys.modules['matplotlib'] = None; sys.argv = ['-m', 'figures', '--out', {str(out)!r}]; "
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(result.stderr.splitlines()) == 1 and "pip install 'scratchnet[plot]'" in result.stderr
    assert result.stderr.startswith(f"python -m {module} figures: error: ") and result.stdout == ""
    assert not out.exists()  # nothing written, not even the folder


def test_without_matplotlib_the_library_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'scratchnet\[plot\]'"):
        figures.neuron_figure()


@needs("matplotlib")
def test_the_command_writes_every_figure(tmp_path, capsys):
    assert main(["figures", "--out", str(tmp_path), "--dpi", "30"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.png" for name in FIGURE_NAMES)
    out = capsys.readouterr().out
    assert "XOR/relu accuracy 100% (2 straight lines)" in out and "28 weights (one arrow each)" in out
    assert "XOR/identity accuracy 50% (no boundary)" in out


def test_compare_draws_the_training_figure_too(tmp_path, capsys):
    from compare.cli import main as compare_main
    from compare.figures import FIGURES

    assert compare_main(["figures", "--out", str(tmp_path), "--dpi", "30", "--only", "training,diagram"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diagram.png", "training.png"]
    assert sorted(FIGURES) == sorted([*FIGURE_NAMES, "training"])
    assert "300 steps, accuracy 50% at epoch 0 and 100% at epoch 300, final loss" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv", [["figures", "--only", "pie"], ["figures", "--format", "gif"], ["figures", "--dpi", "0"], ["figures", "x"]]
)
def test_the_command_refuses_bad_options_in_one_line(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2 and len(capsys.readouterr().err.splitlines()) == 1
