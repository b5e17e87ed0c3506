"""The article's pictures, drawn from the project's own networks: ``python -m scratchnet figures --out DIR``.

1. ``activations``: sigmoid, ReLU, tanh and Heaviside with their derivatives
   (computed by ``functional``'s backward functions), kinks and values at 0 marked.
2. ``diagram``: a network as nodes and edges, edges coloured and sized by weight,
   biases on the nodes, layer sizes labelled.
3. ``boundaries``: what a linear network and a non-linear one learn on XOR and on
   two moons; only the non-linear one separates them.
4. ``neuron``: the article's bag example as one neuron: inputs times weights,
   their sum, and the activation's output.

Each ``*_figure(path, ...)`` draws one figure to ``path`` (PNG, or SVG by its
suffix; or a list of paths) and returns the data behind it, which the tests check. Figures are
deterministic for a given seed. matplotlib is needed here (the ``plot``
extra); ``import scratchnet`` does not need it. The figure that trains both
frameworks lives in ``compare.figures`` (``python -m compare figures``).
"""

import numpy as np

from . import functional as F
from . import optim
from .architecture import architecture_of
from .datasets import two_moons
from .files import atomic_path
from .gates import gate_data, train_gate
from .inference import infer
from .linear import Linear
from .loss import BCEWithLogitsLoss
from .nets import MLP, Net
from .training import fit

__all__ = [
    "FIGURES",
    "activations_figure",
    "boundaries_figure",
    "diagram_figure",
    "neuron_figure",
    "pyplot",
    "save_figure",
]

FONT = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9, "figure.titlesize": 13}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, works headless
    import matplotlib.pyplot as plt

    plt.rcParams.update(FONT)
    return plt


def save_figure(figure, paths, dpi):
    """Write the figure to each path (a path or a list of them; the suffix picks PNG or SVG), then free it."""
    for path in [paths] if isinstance(paths, (str, bytes)) or hasattr(paths, "suffix") else paths:
        # No "Software" stamp in PNGs: the same seed gives the same bytes, whatever else changed.
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=dpi, metadata={"Software": None} if str(path).endswith(".png") else None)
    figure.clf()
    pyplot().close(figure)


# -- 1. activations ----------------------------------------------------------------------------

#: Where the "f(0)" and "f'(0)" labels go (points from the dot), so that they clear the curves.
LABEL_OFFSETS = {
    "sigmoid": ((-75, 10), (12, -18)),
    "ReLU": ((-60, 12), (-70, -18)),
    "tanh": ((12, -6), (-75, -6)),
    "Heaviside (value 0.5 at 0)": ((12, 0), (12, -18)),
}


def activations_figure(path, *, dpi=100):
    """The four activations and their derivatives, from ``functional`` and its backward functions."""
    plt = pyplot()
    x = np.linspace(-5, 5, 1001)
    ones = np.ones_like(x)
    curves = {
        "sigmoid": (F.sigmoid(x), F.sigmoid_backward(ones, F.sigmoid(x))),
        "ReLU": (F.relu(x), F.relu_backward(ones, F.relu(x))),
        "tanh": (F.tanh(x), F.tanh_backward(ones, F.tanh(x))),
        "Heaviside (value 0.5 at 0)": (F.heaviside(x, 0.5), F.heaviside_backward(ones)),
    }
    at_zero = {
        "sigmoid": (F.sigmoid(np.zeros(1))[0], F.sigmoid_backward(np.ones(1), F.sigmoid(np.zeros(1)))[0]),
        "ReLU": (F.relu(np.zeros(1))[0], F.relu_backward(np.ones(1), F.relu(np.zeros(1)))[0]),
        "tanh": (F.tanh(np.zeros(1))[0], F.tanh_backward(np.ones(1), F.tanh(np.zeros(1)))[0]),
        "Heaviside (value 0.5 at 0)": (F.heaviside(np.zeros(1), 0.5)[0], 0.0),
    }
    figure, axes = plt.subplots(2, 2, figsize=(11, 8))
    for axis, (name, (value, slope)) in zip(axes.flat, curves.items()):
        kink = name.startswith(("ReLU", "Heaviside"))
        left, right = x < 0, x > 0
        for part in (left, right) if kink else (slice(None),):  # no line drawn across a kink or a jump
            axis.plot(x[part], value[part], color="C0", linewidth=2.2, label="f(x)" if part is not right else None)
            axis.plot(
                x[part], slope[part], "--", color="C1", linewidth=1.8, label="f'(x)" if part is not right else None
            )
        f0, d0 = at_zero[name]
        axis.plot([0], [f0], "o", color="C0", markersize=7)
        axis.plot([0], [d0], "o", color="C1", markersize=7)
        f_offset, d_offset = LABEL_OFFSETS[name]
        axis.annotate(f"f(0) = {f0:g}", (0, f0), xytext=f_offset, textcoords="offset points", color="C0")
        axis.annotate(f"f'(0) = {d0:g}", (0, d0), xytext=d_offset, textcoords="offset points", color="C1")
        if name == "ReLU":
            axis.plot([0], [1], "o", markerfacecolor="white", color="C1", markersize=7)
            axis.text(
                -4.8, 2.6, "kink at 0: slope 0 on the left, 1 on the right;\ntorch (and we) use f'(0) = 0", fontsize=9
            )
        if name.startswith("Heaviside"):
            axis.plot([0, 0], [0, 1], ":", color="C0")
            axis.text(
                -4.8, 0.62, "jump at 0; f' = 0 wherever it exists:\nno useful derivative (backward: zeros)", fontsize=9
            )
        axis.set_title(name)
        axis.set_xlabel("x")
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.axvline(0, color="grey", linewidth=0.5)
        axis.grid(True, linewidth=0.3)
        axis.legend(loc="upper left")
    figure.suptitle("Activation functions: non-linear, and easy to differentiate (almost everywhere)")
    figure.tight_layout()
    save_figure(figure, path, dpi)
    return {name: {"value_at_0": float(f0), "slope_at_0": float(d0)} for name, (f0, d0) in at_zero.items()}


# -- 2. network diagram --------------------------------------------------------------------------


def _layers_of(net):
    """``[(W, b), ...]`` as float64 arrays, read where ``net.architecture`` says its Linear layers are.

    Any network that states its architecture will do, a torchnet one too
    (its tensors are read through ``detach``, without importing torch here).
    """
    architecture = architecture_of(net, "diagram_figure()")

    def values(p):
        if p is None:
            return None
        p = p.detach().cpu() if hasattr(p, "detach") else p
        return np.asarray(p, dtype=np.float64)

    layers = [net.get_submodule(name) for name in architecture.layer_names]
    return architecture, [(values(layer.weight), values(layer.bias)) for layer in layers]


def diagram_figure(path, net=None, *, max_width=32, dpi=100):
    """Draw ``net`` (default: the article's ``Net``, seed 0) as a diagram; return counts of what was drawn."""
    plt = pyplot()
    from matplotlib import cm, colors

    net = Net(rng=0) if net is None else net
    architecture, layers = _layers_of(net)
    sizes = [layers[0][0].shape[1]] + [w.shape[0] for w, _ in layers]
    if max(sizes) > max_width:
        raise ValueError(f"a layer of {max(sizes)} units is too wide to draw (at most {max_width}); sizes {sizes}")
    largest = max(np.abs(w).max() for w, _ in layers) or 1.0
    norm = colors.TwoSlopeNorm(vmin=-largest, vcenter=0.0, vmax=largest)
    cmap = cm.coolwarm_r  # blue for positive weights, red for negative
    positions = [[(column, (size - 1) / 2 - row) for row in range(size)] for column, size in enumerate(sizes)]
    figure, axis = plt.subplots(figsize=(3 + 2.6 * len(sizes), 1.5 + 0.9 * max(sizes)))
    edges = 0
    for number, (weight, _) in enumerate(layers):
        for j, (x1, y1) in enumerate(positions[number + 1]):
            for i, (x0, y0) in enumerate(positions[number]):
                w = weight[j, i]
                axis.plot([x0, x1], [y0, y1], color=cmap(norm(w)), linewidth=0.4 + 4.0 * abs(w) / largest, zorder=1)
                edges += 1
    biases = 0
    for column, column_positions in enumerate(positions):
        bias = layers[column - 1][1] if column > 0 else None
        for row, (x, y) in enumerate(column_positions):
            face = "white" if bias is None else cmap(norm(bias[row]))
            axis.scatter([x], [y], s=900, color=face, edgecolors="black", zorder=2)
            if bias is not None:
                axis.text(x, y - 0.3, f"b = {bias[row]:+.2f}", ha="center", va="top", fontsize=9, zorder=3)
                biases += 1
            else:
                axis.text(x, y, f"x{row + 1}", ha="center", va="center", fontsize=10, zorder=3)
    top = (max(sizes) - 1) / 2 + 0.9
    for column, size in enumerate(sizes):
        kind = "input" if column == 0 else "output" if column == len(sizes) - 1 else f"hidden {column}"
        axis.text(column, top, f"{kind}\n{size} unit{'s' if size > 1 else ''}", ha="center", va="bottom")
    mappable = cm.ScalarMappable(norm=norm, cmap=cmap)
    figure.colorbar(mappable, ax=axis, shrink=0.7, fraction=0.04, pad=0.01, label="weight (colour; width ~ |weight|)")
    activations = ", ".join(str(a) for a in architecture.activations[:-1]) or "none"
    axis.set_title(
        f"{type(net).__name__} {' -> '.join(map(str, sizes))}, activations {activations}: "
        f"{edges} weights, {biases} biases",
        pad=40,
    )
    axis.set_xlim(-0.6, len(sizes) - 0.4)
    axis.set_ylim(-top, top + 0.8)
    axis.axis("off")
    figure.tight_layout()
    save_figure(figure, path, dpi)
    return {"sizes": sizes, "edges": edges, "weights": int(sum(w.size for w, _ in layers)), "biases": biases}


# -- 3. decision boundaries --------------------------------------------------------------------


def _train_moons(activation, seed):
    x, y = two_moons(200, noise=0.12, rng=seed)
    net = MLP((2, 16, 16, 1), activation, rng=seed)
    fit(net, BCEWithLogitsLoss(), optim.Adam(net.parameters(), lr=0.02), x, y, 400)
    return net, x, y


def _accuracy(net, x, y):
    return float(np.mean((infer(net, x) > 0) == (y > 0.5)))


def boundaries_figure(path, *, seed=0, dpi=100):
    """Linear against ReLU networks on XOR and on two moons; return their accuracies."""
    plt = pyplot()
    cases = []
    for activation in ("identity", "relu"):
        result = train_gate("xor", activation=activation, seed=seed)
        x, y = gate_data("xor")
        cases.append(("XOR", activation, result.net, x, y))
    for activation in ("identity", "relu"):
        net, x, y = _train_moons(activation, seed)
        cases.append(("two moons", activation, net, x, y))
    figure, axes = plt.subplots(2, 2, figsize=(11, 10))
    accuracies = {}
    for axis, (data, activation, net, x, y) in zip(axes.T.flat, cases):
        low, high = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
        g0, g1 = np.meshgrid(np.linspace(low[0], high[0], 300), np.linspace(low[1], high[1], 300))
        grid = np.stack([g0.ravel(), g1.ravel()], axis=1).astype(np.float32)
        probability = F.sigmoid(infer(net, grid).astype(np.float64)).reshape(g0.shape)
        axis.contourf(g0, g1, probability, levels=np.linspace(0, 1, 11), cmap="coolwarm", alpha=0.55)
        axis.contour(g0, g1, probability, levels=[0.5], colors="black", linewidths=1.5)
        classes = y.ravel() > 0.5
        axis.scatter(
            x[~classes, 0], x[~classes, 1], c="C0", edgecolors="black", s=60 if data == "XOR" else 22, label="class 0"
        )
        axis.scatter(
            x[classes, 0], x[classes, 1], c="C3", edgecolors="black", s=60 if data == "XOR" else 22, label="class 1"
        )
        accuracy = _accuracy(net, x, y)
        accuracies[(data, activation)] = accuracy
        kind = "linear (no activation)" if activation == "identity" else "non-linear (ReLU)"
        axis.set_title(
            f"{data}: {kind}\n{type(net).__name__} {' -> '.join(map(str, net.architecture.sizes))}, "
            f"accuracy {accuracy:.0%}"
        )
        axis.set_xlabel("x1")
        axis.set_ylabel("x2")
        axis.legend(loc="lower right")
    figure.suptitle("A linear network draws one straight boundary; a non-linear one bends it (black: p = 0.5)")
    figure.tight_layout()
    save_figure(figure, path, dpi)
    return {f"{data}/{activation}": accuracy for (data, activation), accuracy in accuracies.items()}


# -- 5. the neuron --------------------------------------------------------------------------------


BAG_FEATURES = ("durability", "capacity", "design", "familiarity")
BAG_WEIGHTS = (5.0, 5.0, 8.0, 5.0)


def neuron_figure(path, *, bag=(0.6, 0.5, 0.9, 0.3), bias=-10.0, dpi=100):
    """One neuron deciding to buy a bag: ``z = w . x + b``, then ``sigmoid(z)``; returns z and the output."""
    plt = pyplot()
    neuron = Linear(4, 1)
    neuron.load_state_dict({"weight": [BAG_WEIGHTS], "bias": [bias]})
    x = np.array(bag, dtype=np.float32)
    z = float(neuron(x)[0])
    output = float(F.sigmoid(np.array([z]))[0])
    contributions = np.array(BAG_WEIGHTS) * x
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 2]})
    labels = [f"{name}\nx={value:.1f}, w={weight:g}" for name, value, weight in zip(BAG_FEATURES, x, BAG_WEIGHTS)]
    bars = left.bar(
        labels + ["bias b", "sum z"],
        list(contributions) + [bias, z],
        color=["C0"] * 4 + ["C7", "C2"],
        edgecolor="black",
    )
    for bar, value in zip(bars, list(contributions) + [bias, z]):
        left.annotate(
            f"{value:+.2f}",
            (bar.get_x() + bar.get_width() / 2, value),
            ha="center",
            va="bottom" if value >= 0 else "top",
            xytext=(0, 3 if value >= 0 else -3),
            textcoords="offset points",
        )
    left.axhline(0, color="black", linewidth=0.8)
    left.margins(y=0.15)
    left.set_ylabel("w_i x_i  (each input times its weight)")
    left.set_title("The weights say what matters: design (8) counts most")
    left.tick_params(axis="x", labelsize=9)
    grid = np.linspace(-6, 6, 400)
    right.plot(grid, F.sigmoid(grid), color="C0", linewidth=2, label="sigmoid(z)")
    right.plot([z], [output], "o", color="C2", markersize=9, label=f"this bag: z = {z:.2f}")
    right.axhline(0.5, color="grey", linewidth=0.5, linestyle=":")
    right.set_xlabel("z = w . x + b")
    right.set_ylabel("output: probability of buying")
    right.set_title(f"Activation: sigmoid({z:.2f}) = {output:.2f}")
    right.legend(loc="upper left")
    right.grid(True, linewidth=0.3)
    figure.suptitle("A neuron is a weighted sum plus a bias (the intercept), then an activation")
    figure.tight_layout()
    save_figure(figure, path, dpi)
    return {"z": z, "output": output, "contributions": contributions.tolist()}


#: The figures the command writes, in the article's order of ideas: name -> drawing function.
FIGURES = {
    "neuron": neuron_figure,
    "diagram": diagram_figure,
    "activations": activations_figure,
    "boundaries": boundaries_figure,
}
