"""The article's pictures, drawn from the project's own networks: ``python -m scratchnet figures --out DIR``.

1. ``neuron``: the article's bag example as one neuron: inputs times weights,
   their sum, and the activation's output.
2. ``diagram``: a network as nodes and arrows (the direction values flow),
   arrows coloured and sized by weight, units filled by their bias.
3. ``activations``: sigmoid, ReLU, tanh and Heaviside with their derivatives
   (computed by ``functional``'s backward functions), kinks and values at 0 marked.
4. ``boundaries``: what a linear network and a non-linear one learn on XOR and on
   two moons, and what each boundary is (none, straight or bent), measured.

Each figure is two steps: ``*_data(...)`` computes the data behind it (a
dataclass the tests check, with a one-line ``summary()``), and
``*_figure(data)`` draws that data into a ``matplotlib.figure.Figure`` and
returns it, without pyplot: nothing global changes (no backend switch, no
``rcParams`` left changed), so a notebook shows it as it is. ``save_figure``
writes one to files. Figures are deterministic for a given seed. matplotlib is
needed to draw (the ``plot`` extra); ``import scratchnet`` does not need it.
The figure that trains both frameworks lives in ``compare.figures``
(``python -m compare figures``).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import functional as F
from . import optim
from .activation import make_activation
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
    "COLOURS",
    "FIGURES",
    "Activations",
    "Boundaries",
    "Boundary",
    "Diagram",
    "Drawing",
    "Neuron",
    "Panel",
    "activations_data",
    "activations_figure",
    "boundaries_data",
    "boundaries_figure",
    "boundary_legend_handles",
    "boundary_of",
    "class_colour",
    "diagram_data",
    "diagram_figure",
    "draw_boundary",
    "neuron_data",
    "neuron_figure",
    "new_figure",
    "probability_colourbar",
    "save_figure",
    "signed_colours",
    "styled",
]

INSTALL_HINT = "pip install 'scratchnet[plot]'"

#: What each colour means, in every figure (each figure reads it here, so a colour means one thing throughout).
COLOURS = {
    # colour map of p, the predicted probability of class 1, always on the fixed scale 0..1:
    # blue at 0 (class 0), white at 0.5, red at 1 (class 1); the class colours are its two ends
    "probability": "coolwarm",
    # colour map of signed values (weights, biases, w_i x_i): purple below 0, white at 0, green above
    "signed": "PRGn",
    "f(x)": "black",  # an activation's value
    "f'(x)": "tab:orange",  # its derivative
    "scratchnet": "tab:gray",  # the NumPy implementation
    "torch": "tab:brown",  # the PyTorch one
    "weight difference": "tab:olive",  # how far apart their weights are
}

#: Sizes of the text, applied with ``matplotlib.rc_context`` while a figure is drawn, never globally.
STYLE = {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "legend.fontsize": 9, "figure.titlesize": 13}

#: A network whose p varies by less than this over the whole plotted window has no boundary worth drawing:
#: it answers about the same p everywhere, and the 0.5 level (if it crosses it at all) is rounding noise.
MIN_SPREAD = 0.01
#: A piece of a boundary is called straight when all its points lie within this fraction of the window's
#: diagonal from one straight line: about two pixels at --dpi 72, so a bend left unclaimed is one you cannot see.
STRAIGHT_TOLERANCE = 0.005
#: Grid points per side where the figures compute p.
GRID = 300


def _matplotlib():
    """matplotlib, or an ``ImportError`` that says how to install it."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401
    except ImportError as error:
        raise ImportError(f"drawing figures needs matplotlib ({error}); {INSTALL_HINT}", name="matplotlib") from error
    return matplotlib


def new_figure(**options):
    """A ``matplotlib.figure.Figure`` made without pyplot (no backend is chosen, nothing global is registered)."""
    return _matplotlib().figure.Figure(layout="constrained", **options)


def styled(draw):
    """Run ``draw()`` (which returns a Figure) with the house text sizes, and lay it out while they hold.

    ``rc_context`` restores ``rcParams`` afterwards. The figure is drawn once
    inside it, so that what matplotlib creates only when drawing (tick
    labels) takes the same sizes, whenever and wherever the figure is saved.
    """
    with _matplotlib().rc_context(STYLE):
        figure = draw()
        figure.draw_without_rendering()
    return figure


def save_figure(figure, paths, dpi=100):
    """Write ``figure`` to each path (a path or a list of them; the suffix picks PNG or SVG), each atomically."""
    for path in [paths] if isinstance(paths, (str, bytes)) or hasattr(paths, "suffix") else paths:
        # No "Software" stamp in PNGs: the same seed gives the same bytes, whatever else changed.
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=dpi, metadata={"Software": None} if str(path).endswith(".png") else None)


def _colormap(meaning):
    return _matplotlib().colormaps[COLOURS[meaning]]


def class_colour(label):
    """The colour of class 0 or 1: the end of the probability colour map that p tends to for it."""
    return _colormap("probability")(float(label))


def signed_colours(largest):
    """``(colormap, norm)`` for signed values up to ``largest`` in size, white at 0 (weights, biases, w_i x_i)."""
    cmap = _colormap("signed")
    largest = float(largest) or 1.0
    return cmap, _matplotlib().colors.TwoSlopeNorm(vmin=-largest, vcenter=0.0, vmax=largest)


# -- what a network answers over the plane ------------------------------------------------------


@dataclass(frozen=True)
class Boundary:
    """What a network with one output answers over a window of the plane, and what its boundary is.

    ``probability[i, j]`` is p (sigmoid of the output) at ``(x1[j], x2[i])``.
    ``drawn``: whether p = 0.5 is a boundary worth drawing: p spans at least
    ``MIN_SPREAD`` over the window and crosses 0.5 in it. ``bends``: one per
    connected piece of that boundary (none without one), the largest distance
    of the piece's points from the straight line fitted to them, as a fraction
    of the window's diagonal; a piece is straight when that is at most
    ``STRAIGHT_TOLERANCE``.
    """

    x1: np.ndarray = field(repr=False, compare=False)
    x2: np.ndarray = field(repr=False, compare=False)
    probability: np.ndarray = field(repr=False, compare=False)
    p_min: float
    p_max: float
    drawn: bool
    bends: tuple[float, ...]

    @property
    def pieces(self):
        return len(self.bends)

    @property
    def straight(self):
        """Whether the boundary is one straight line (None without a boundary)."""
        return None if not self.drawn else self.pieces == 1 and self.bends[0] <= STRAIGHT_TOLERANCE

    @property
    def shape(self):
        """What the boundary is, in a few words.

        ``"no boundary"``, ``"one straight line"``, ``"one bent line"``,
        ``"2 straight lines"``, ``"2 bent lines"``, ``"3 lines (1 bent)"``...
        """
        if not self.drawn:
            return "no boundary"
        if self.pieces == 1:
            return "one straight line" if self.straight else "one bent line"
        bent = sum(bend > STRAIGHT_TOLERANCE for bend in self.bends)
        if bent in (0, self.pieces):
            return f"{self.pieces} {'bent' if bent else 'straight'} lines"
        return f"{self.pieces} lines ({bent} bent)"

    def describe(self):
        """What the boundary is, in words, as a panel's title says it."""
        if self.p_max - self.p_min < MIN_SPREAD:
            middle, half = (self.p_max + self.p_min) / 2, (self.p_max - self.p_min) / 2
            return f"no boundary: p = {middle:.4f} ± {half:.0e} everywhere"
        if not self.drawn:
            return f"no boundary: p from {self.p_min:.2f} to {self.p_max:.2f}, one class everywhere"
        return f"boundary: {self.shape}"


def _logits(net, points):
    """The network's output at ``points``, computed in its own dtype, returned as float64."""
    dtype = next(net.parameters()).data.dtype
    return infer(net, points.astype(dtype)).astype(np.float64).reshape(-1)


def _bends(net, x1, x2, logit):
    """For each connected piece of the zero set of ``net``'s output (p = 0.5): how far it is from a straight line.

    Its points are found where the sign of the logit changes between two
    neighbouring grid points, each refined by bisection on the network itself
    (not interpolated), so that a truly straight piece measures as float
    rounding. The points are grouped into pieces by the grid cells they cross
    (cells touching, diagonals included, make one piece). One line is fitted
    to each piece (total least squares: the principal axis through the
    points' mean), and the largest distance from it, as a fraction of the
    window's diagonal, is that piece's bend. A ReLU net's logit is piecewise
    affine, so its boundary is made of straight segments: a corner between
    two of them shows as a bend; a linear net's boundary is one line by
    construction, and measures so.
    """
    n1, n2 = len(x1), len(x2)
    g1, g2 = np.meshgrid(x1, x2)
    points = np.stack([g1, g2], axis=-1)
    positive = logit > 0
    # Cells are named by their lower left grid point: (i, j) spans rows i..i+1 and columns j..j+1.
    corners = positive[:-1, :-1].astype(int) + positive[1:, :-1] + positive[:-1, 1:] + positive[1:, 1:]
    crossed = (corners > 0) & (corners < 4)
    starts, ends, signs, cells = [], [], [], []
    for a, b in ((np.s_[:, :-1], np.s_[:, 1:]), (np.s_[:-1, :], np.s_[1:, :])):  # edges along x1, then x2
        change = positive[a] != positive[b]
        rows, columns = np.nonzero(change)
        starts.append(points[a][change])
        ends.append(points[b][change])
        signs.append(positive[a][change])
        # the cell beside the edge, above it or to its right (the last row or column has only the other one)
        cells.append(np.stack([np.minimum(rows, n2 - 2), np.minimum(columns, n1 - 2)], axis=1))
    start, end, sign = np.concatenate(starts), np.concatenate(ends), np.concatenate(signs)
    for _ in range(40):  # keep the sign change between start and end, halving the gap each time
        middle = (start + end) / 2
        same = (_logits(net, middle) > 0) == sign
        start = np.where(same[:, None], middle, start)
        end = np.where(same[:, None], end, middle)
    found = (start + end) / 2
    piece = _pieces(crossed)[tuple(np.concatenate(cells).T)]
    diagonal = float(np.hypot(x1[-1] - x1[0], x2[-1] - x2[0]))
    bends = []
    for number in range(piece.max() + 1):
        centred = found[piece == number] - found[piece == number].mean(axis=0)
        normal = np.linalg.svd(centred, full_matrices=False)[2][-1]
        bends.append(float(np.abs(centred @ normal).max()) / diagonal)
    return tuple(bends)


def _pieces(crossed):
    """Number the connected groups of True cells (neighbours in 8 directions), 0, 1, ... in reading order."""
    label = np.full(crossed.shape, -1)
    count = 0
    for start in zip(*np.nonzero(crossed)):
        if label[start] >= 0:
            continue
        label[start], stack = count, [start]
        while stack:
            i, j = stack.pop()
            for k in range(max(i - 1, 0), min(i + 2, crossed.shape[0])):
                for m in range(max(j - 1, 0), min(j + 2, crossed.shape[1])):
                    if crossed[k, m] and label[k, m] < 0:
                        label[k, m] = count
                        stack.append((k, m))
        count += 1
    return label


def boundary_of(net, low, high, n=GRID):
    """The ``Boundary`` of ``net`` (2 inputs, 1 output: a logit) over the window from ``low`` to ``high``."""
    x1 = np.linspace(low[0], high[0], n)
    x2 = np.linspace(low[1], high[1], n)
    g1, g2 = np.meshgrid(x1, x2)
    logit = _logits(net, np.stack([g1.ravel(), g2.ravel()], axis=1)).reshape(g1.shape)
    probability = F.sigmoid(logit)
    p_min, p_max = float(probability.min()), float(probability.max())
    drawn = p_max - p_min >= MIN_SPREAD and p_min < 0.5 < p_max
    return Boundary(x1, x2, probability, p_min, p_max, drawn, _bends(net, x1, x2, logit) if drawn else ())


def draw_boundary(axis, boundary, x, y, *, size=60):
    """Colour ``axis`` by p (fixed scale 0..1), draw p = 0.5 where it is a boundary, and the points by class."""
    extent = (boundary.x1[0], boundary.x1[-1], boundary.x2[0], boundary.x2[-1])
    image = axis.imshow(
        boundary.probability,
        origin="lower",
        extent=extent,
        aspect="auto",
        cmap=COLOURS["probability"],
        vmin=0.0,
        vmax=1.0,
        alpha=0.6,  # the points, drawn in the colour map's full ends, stand out from it
        interpolation="nearest",
    )
    if boundary.drawn:
        axis.contour(boundary.x1, boundary.x2, boundary.probability, levels=[0.5], colors="black", linewidths=1.5)
    classes = np.asarray(y).ravel() > 0.5
    for label in (0, 1):
        chosen = classes == bool(label)
        axis.scatter(
            x[chosen, 0], x[chosen, 1], color=class_colour(label), edgecolors="black", s=size, zorder=3, clip_on=False
        )
    return image


def probability_colourbar(figure, image, axes, **options):
    """The colour bar of p beside ``axes``: the same scale, 0 to 1, in every figure."""
    bar = figure.colorbar(image, ax=axes, **options)
    bar.set_label("p: predicted probability of class 1")
    bar.set_ticks([0, 0.25, 0.5, 0.75, 1])
    return bar


def boundary_legend_handles():
    """Legend entries for what ``draw_boundary`` draws: the two classes and the p = 0.5 line."""
    from matplotlib.lines import Line2D

    def point(label):
        return Line2D([], [], marker="o", linestyle="", markeredgecolor="black", color=class_colour(label))

    return [point(0), point(1), Line2D([], [], color="black", linewidth=1.5)], [
        "class 0 (target 0)",
        "class 1 (target 1)",
        "boundary, p = 0.5 (drawn only where p varies)",
    ]


# -- 1. the neuron --------------------------------------------------------------------------------


BAG_FEATURES = ("durability", "capacity", "design", "familiarity")
BAG_WEIGHTS = (5.0, 5.0, 8.0, 5.0)


@dataclass(frozen=True)
class Neuron:
    """One neuron deciding about a bag: each ``w_i x_i``, the bias, ``z = w . x + b``, ``activation(z)``."""

    bag: tuple[float, ...]
    bias: float
    contributions: tuple[float, ...]
    z: float
    output: float
    weights: tuple[float, ...] = BAG_WEIGHTS
    activation: str = "sigmoid"

    def summary(self):
        return f"z = {self.z:.2f}, {self.activation}(z) = {self.output:.2f}"


def neuron_data(*, bag=(0.6, 0.5, 0.9, 0.3), bias=-10.0, weights=BAG_WEIGHTS, activation="sigmoid"):
    """Run the article's bag example (or other ``weights``) through a ``Linear(4, 1)`` and ``activation``."""
    neuron = Linear(len(weights), 1)
    neuron.load_state_dict({"weight": [list(weights)], "bias": [bias]})
    x = np.array(bag, dtype=np.float32)
    z = float(neuron(x)[0])
    contributions = tuple(float(c) for c in np.array(weights, dtype=np.float32) * x)
    output = float(make_activation(activation)(np.array([z], dtype=np.float32))[0])
    return Neuron(
        tuple(float(v) for v in x), float(bias), contributions, z, output, tuple(map(float, weights)), activation
    )


def neuron_figure(data=None):
    """Bars of ``w_i x_i``, the bias and their sum (coloured by sign), and where ``z`` lands on the sigmoid."""
    data = neuron_data() if data is None else data
    return styled(lambda: _neuron(data))


def _neuron(data):
    figure = new_figure(figsize=(12, 5))
    left, right = figure.subplots(1, 2, width_ratios=[3, 2])
    values = [*data.contributions, data.bias, data.z]
    cmap, norm = signed_colours(max(abs(v) for v in values))
    labels = [
        f"{name}\nx={value:.2f}, w={weight:g}" for name, value, weight in zip(BAG_FEATURES, data.bag, data.weights)
    ]
    bars = left.bar(labels + ["bias b", "sum z"], values, color=[cmap(norm(v)) for v in values], edgecolor="black")
    bars[-1].set_linewidth(2.0)  # the sum stands apart from its terms
    for bar, value in zip(bars, values):
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
    left.set_title("The weights say what matters: design (8) counts most\n(colour: sign and size, green > 0 > purple)")
    left.tick_params(axis="x", labelsize=9)
    grid = np.linspace(min(-6.0, data.z - 1), max(6.0, data.z + 1), 400)
    curve = make_activation(data.activation)(grid)
    right.plot(grid, curve, color=COLOURS["f(x)"], linewidth=2, label=f"{data.activation}(z)")
    right.scatter(
        [data.z],
        [data.output],
        s=110,
        color=_colormap("probability")(min(max(data.output, 0.0), 1.0)),
        edgecolors="black",
        zorder=3,
        label=f"this bag: z = {data.z:.2f}\n(fill: p, as in the boundaries)",
    )
    right.axhline(0.5, color="grey", linewidth=0.5, linestyle=":")
    right.set_xlabel("z = w . x + b")
    right.set_ylabel("output" + (": probability of buying" if data.activation == "sigmoid" else ""))
    right.set_title(f"Activation: {data.activation}({data.z:.2f}) = {data.output:.2f}")
    right.legend(loc="upper left")
    right.grid(True, linewidth=0.3)
    figure.suptitle("A neuron is a weighted sum plus a bias (the intercept), then an activation")
    return figure


# -- 2. network diagram --------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagram:
    """A network as the diagram draws it: its class, widths, activations and each layer's ``(W, b)``."""

    name: str
    sizes: tuple[int, ...]
    activations: str
    layers: tuple = field(repr=False, compare=False)

    @property
    def weights(self):
        return int(sum(w.size for w, _ in self.layers))

    @property
    def biases(self):
        return int(sum(0 if b is None else b.size for _, b in self.layers))

    def summary(self):
        return f"{self.weights} weights (one arrow each), {self.biases} biases, sizes {list(self.sizes)}"


def diagram_data(net=None, *, max_width=32):
    """Read ``net`` (default: the article's ``Net``, seed 0) for the diagram; a torchnet network will do too.

    Its ``(W, b)`` are read where ``net.architecture`` says its Linear layers
    are (a torch tensor through ``detach``, without importing torch here).
    """
    net = Net(rng=0) if net is None else net
    architecture = architecture_of(net, "diagram_data()")

    def values(p):
        if p is None:
            return None
        p = p.detach().cpu() if hasattr(p, "detach") else p
        return np.asarray(p, dtype=np.float64)

    layers = [net.get_submodule(name) for name in architecture.layer_names]
    pairs = tuple((values(layer.weight), values(layer.bias)) for layer in layers)
    sizes = (pairs[0][0].shape[1], *(w.shape[0] for w, _ in pairs))
    if max(sizes) > max_width:
        raise ValueError(
            f"a layer of {max(sizes)} units is too wide to draw (at most {max_width}); sizes {list(sizes)}"
        )
    activations = ", ".join(str(a) for a in architecture.activations[:-1]) or "none"
    return Diagram(type(net).__name__, sizes, activations, pairs)


#: Node marker area (points^2) and its radius in points, where arrows stop.
NODE_AREA = 900
NODE_RADIUS = NODE_AREA**0.5 / 2


def diagram_figure(data=None):
    """Nodes in columns, one arrow per weight from input to output, units filled by their bias.

    ``data`` is a ``Diagram`` (``diagram_data(net)``) or a network to read.
    """
    data = diagram_data() if data is None else data if isinstance(data, Diagram) else diagram_data(data)
    return styled(lambda: _diagram(data))


def _diagram(data):
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    sizes, layers = data.sizes, data.layers
    largest = max(max(np.abs(w).max(initial=0), 0 if b is None else np.abs(b).max(initial=0)) for w, b in layers)
    cmap, norm = signed_colours(largest)
    scale = float(largest) or 1.0
    positions = [[(column, (size - 1) / 2 - row) for row in range(size)] for column, size in enumerate(sizes)]
    figure = new_figure(figsize=(3.5 + 2.6 * len(sizes), 2.6 + 0.9 * max(sizes)))
    axis = figure.add_subplot()
    for number, (weight, _) in enumerate(layers):
        for j, end in enumerate(positions[number + 1]):
            for i, start in enumerate(positions[number]):
                w = weight[j, i]
                width = 0.4 + 3.6 * abs(w) / scale
                arrow = FancyArrowPatch(
                    start,
                    end,
                    arrowstyle="-|>",
                    mutation_scale=8 + 2 * width,
                    shrinkA=NODE_RADIUS,
                    shrinkB=NODE_RADIUS + 1,
                    color=cmap(norm(w)),
                    linewidth=width,
                    zorder=1,
                    gid="weight",
                )
                axis.add_patch(arrow)
    for column, column_positions in enumerate(positions):
        bias = layers[column - 1][1] if column > 0 else None
        for row, (x, y) in enumerate(column_positions):
            if column == 0:
                axis.scatter([x], [y], s=NODE_AREA, marker="s", color="white", edgecolors="black", zorder=2)
                axis.text(x, y, f"x{row + 1}", ha="center", va="center", zorder=3)
            elif bias is None:
                axis.scatter([x], [y], s=NODE_AREA, color="white", edgecolors="black", linestyle="--", zorder=2)
            else:
                axis.scatter([x], [y], s=NODE_AREA, color=cmap(norm(bias[row])), edgecolors="black", zorder=2)
                axis.text(x, y - 0.3, f"b = {bias[row]:+.2f}", ha="center", va="top", fontsize=9, zorder=3)
    top = (max(sizes) - 1) / 2 + 0.45
    for column, size in enumerate(sizes):
        kind = "input" if column == 0 else "output" if column == len(sizes) - 1 else f"hidden {column}"
        axis.text(column, top, f"{kind}\n{size} unit{'s' if size > 1 else ''}", ha="center", va="bottom")
    axis.set_xlim(-0.5, len(sizes) - 0.5)
    axis.set_ylim(-top - 0.25, top + 0.6)
    axis.axis("off")
    with_bias, without_bias = data.biases > 0, any(b is None for _, b in layers)
    axis.set_title(
        f"{data.name} {' -> '.join(map(str, sizes))}, activations {data.activations}: "
        f"{data.weights} weights, {data.biases} biases\nvalues flow left to right: "
        f"each unit computes x . w{' + b' if with_bias else ''} over its arrows, then the activation"
    )
    mappable = _matplotlib().cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = figure.colorbar(mappable, ax=axis, shrink=0.8, fraction=0.04, pad=0.01)
    bar.set_label("weight (arrow colour) and bias (unit fill)" if with_bias else "weight (arrow colour)")

    def node(marker, face, style="-"):
        return Line2D(
            [], [], marker=marker, markersize=12, linestyle=style, linewidth=0, color=face, markeredgecolor="black"
        )

    entries = [(node("s", "white"), "input (no bias)")]
    if with_bias:
        entries.append((node("o", cmap(norm(scale))), "unit: fill = its bias (bar)"))
    if without_bias:
        entries.append((node("o", "white", "--"), "unit without a bias"))
    entries += [
        (
            Line2D([], [], color=cmap(norm(scale)), linewidth=4.0, marker=">", markersize=9),
            "arrow: one weight, the way values flow",
        ),
        (
            Line2D([], [], color=cmap(norm(-scale / 3)), linewidth=0.4 + 3.6 / 3, marker=">", markersize=6),
            "colour: its sign and size (bar); width ~ |weight|",
        ),
    ]
    handles, labels = zip(*entries)
    figure.legend(handles, labels, loc="outside lower center", ncols=len(entries), frameon=False)
    return figure


# -- 3. activations ----------------------------------------------------------------------------

#: Where the "f(0)" and "f'(0)" labels go (points from the dot), so that they clear the curves.
LABEL_OFFSETS = {
    "sigmoid": ((-75, 10), (12, 8)),
    "ReLU": ((-60, 12), (12, -18)),
    "tanh": ((12, -6), (-75, -6)),
    "Heaviside (value 0.5 at 0)": ((12, 0), (12, -18)),
}


@dataclass(frozen=True)
class Activations:
    """Each activation's value and derivative over ``x``, and at 0: ``{name: (value, slope)}``."""

    x: np.ndarray = field(repr=False, compare=False)
    curves: dict = field(repr=False, compare=False)
    at_zero: dict

    def summary(self):
        return ", ".join(f"{name}: f(0) = {f0:g}, f'(0) = {d0:g}" for name, (f0, d0) in self.at_zero.items())


def activations_data():
    """The four activations and their derivatives, from ``functional`` and its backward functions."""
    x = np.linspace(-5, 5, 1001)
    ones, zero, one = np.ones_like(x), np.zeros(1), np.ones(1)
    curves = {
        "sigmoid": (F.sigmoid(x), F.sigmoid_backward(ones, F.sigmoid(x))),
        "ReLU": (F.relu(x), F.relu_backward(ones, F.relu(x))),
        "tanh": (F.tanh(x), F.tanh_backward(ones, F.tanh(x))),
        "Heaviside (value 0.5 at 0)": (F.heaviside(x, 0.5), F.heaviside_backward(ones)),
    }
    at_zero = {
        "sigmoid": (F.sigmoid(zero)[0], F.sigmoid_backward(one, F.sigmoid(zero))[0]),
        "ReLU": (F.relu(zero)[0], F.relu_backward(one, F.relu(zero))[0]),
        "tanh": (F.tanh(zero)[0], F.tanh_backward(one, F.tanh(zero))[0]),
        "Heaviside (value 0.5 at 0)": (F.heaviside(zero, 0.5)[0], F.heaviside_backward(one)[0]),
    }
    return Activations(x, curves, {name: (float(f0), float(d0)) for name, (f0, d0) in at_zero.items()})


def activations_figure(data=None):
    """The four activations, value and derivative, with kinks and jumps shown as such."""
    data = activations_data() if data is None else data
    return styled(lambda: _activations(data))


def _activations(data):
    value_colour, slope_colour = COLOURS["f(x)"], COLOURS["f'(x)"]
    x = data.x
    figure = new_figure(figsize=(11, 8))
    axes = figure.subplots(2, 2)
    for axis, (name, (value, slope)) in zip(axes.flat, data.curves.items()):
        kink = name.startswith(("ReLU", "Heaviside"))
        left, right = x < 0, x > 0
        for part in (left, right) if kink else (slice(None),):  # no line drawn across a kink or a jump
            first = part is not right
            axis.plot(x[part], value[part], color=value_colour, linewidth=2.2, label="f(x)" if first else None)
            axis.plot(x[part], slope[part], "--", color=slope_colour, linewidth=1.8, label="f'(x)" if first else None)
        f0, d0 = data.at_zero[name]
        axis.plot([0], [f0], "o", color=value_colour, markersize=7)
        axis.plot([0], [d0], "o", color=slope_colour, markersize=7)
        f_offset, d_offset = LABEL_OFFSETS[name]
        axis.annotate(f"f(0) = {f0:g}", (0, f0), xytext=f_offset, textcoords="offset points", color=value_colour)
        axis.annotate(f"f'(0) = {d0:g}", (0, d0), xytext=d_offset, textcoords="offset points", color=slope_colour)
        if name == "ReLU":
            axis.plot([0], [1], "o", markerfacecolor="white", color=slope_colour, markersize=7)
            axis.text(
                -4.8, 2.6, "kink at 0: slope 0 on the left, 1 on the right;\ntorch (and we) use f'(0) = 0", fontsize=9
            )
        if name.startswith("Heaviside"):
            axis.plot([0, 0], [0, 1], ":", color=value_colour)
            axis.text(
                -4.8, 0.62, "jump at 0; f' = 0 wherever it exists:\nno useful derivative (backward: zeros)", fontsize=9
            )
        axis.set_title(name)
        axis.set_xlabel("x")
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.axvline(0, color="grey", linewidth=0.5)
        axis.grid(True, linewidth=0.3)
        axis.margins(y=0.1)  # room for the labels below 0
        axis.legend(loc="upper left")
    figure.suptitle("Activation functions: non-linear, and easy to differentiate (almost everywhere)")
    return figure


# -- 4. decision boundaries --------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """One trained network on one data set: its accuracy and its ``Boundary`` over the plotted window."""

    data: str
    activation: str
    network: str
    accuracy: float
    boundary: Boundary
    x: np.ndarray = field(repr=False, compare=False)
    y: np.ndarray = field(repr=False, compare=False)

    @property
    def kind(self):
        return "linear (no activation)" if self.activation == "identity" else "non-linear (ReLU)"


@dataclass(frozen=True)
class Boundaries:
    """The four panels, linear and ReLU networks on XOR and on two moons, trained from ``seed``."""

    seed: int
    panels: tuple[Panel, ...]

    def __getitem__(self, key):
        """``boundaries["XOR", "relu"]``: the panel of that data set and activation."""
        data, activation = key
        return next(p for p in self.panels if (p.data, p.activation) == (data, activation))

    def title(self):
        """What the panels show, measured (no claim that the seed drawn does not bear out), then why."""

        def shapes(activation):
            shown = {p.data: p.boundary.shape for p in self.panels if p.activation == activation}
            if len(set(shown.values())) == 1:
                return f"{next(iter(shown.values()))} on both"
            return ", ".join(f"{shape} on {data}" for data, shape in shown.items())

        return (
            f"Seed {self.seed}. Linear network: {shapes('identity')}.\n"
            f"Non-linear (ReLU): {shapes('relu')}.\n"
            "Stacked linear layers are one affine map, so at most one straight line; an activation allows more."
        )

    def summary(self):
        return ", ".join(f"{p.data}/{p.activation} accuracy {p.accuracy:.0%} ({p.boundary.shape})" for p in self.panels)


def _train_moons(activation, seed):
    x, y = two_moons(200, noise=0.12, rng=seed)
    net = MLP((2, 16, 16, 1), activation, rng=seed)
    fit(net, BCEWithLogitsLoss(), optim.Adam(net.parameters(), lr=0.02), x, y, 400)
    return net, x, y


def _accuracy(net, x, y):
    return float(np.mean((infer(net, x) > 0) == (y > 0.5)))


def boundaries_data(*, seed=0):
    """Train linear and ReLU networks on XOR and on two moons from ``seed``; measure what each answers."""
    cases = []
    for activation in ("identity", "relu"):
        result = train_gate("xor", activation=activation, seed=seed)
        x, y = gate_data("xor")
        cases.append(("XOR", activation, result.net, x, y))
    for activation in ("identity", "relu"):
        net, x, y = _train_moons(activation, seed)
        cases.append(("two moons", activation, net, x, y))
    panels = []
    for data, activation, net, x, y in cases:
        low, high = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
        network = f"{type(net).__name__} {' -> '.join(map(str, net.architecture.sizes))}"
        panels.append(Panel(data, activation, network, _accuracy(net, x, y), boundary_of(net, low, high), x, y))
    return Boundaries(int(seed), tuple(panels))


def boundaries_figure(data=None, *, seed=None):
    """The four panels, each coloured by p with the boundary where there is one; a ``Figure``.

    ``data`` is what ``boundaries_data`` returns; without it the networks are
    trained now, from ``seed`` (default 0).
    """
    if data is not None and seed is not None:
        raise ValueError("boundaries_figure() takes data or a seed to train from, not both")
    data = boundaries_data(seed=seed or 0) if data is None else data
    return styled(lambda: _boundaries(data))


def _boundaries(data):
    figure = new_figure(figsize=(11, 10))
    axes = figure.subplots(2, 2)
    image = None
    for axis, panel in zip(axes.T.flat, data.panels):  # columns: XOR, two moons; rows: linear, ReLU
        image = draw_boundary(axis, panel.boundary, panel.x, panel.y, size=60 if panel.data == "XOR" else 22)
        axis.set_title(
            f"{panel.data}, {panel.kind}: {panel.network}\naccuracy {panel.accuracy:.0%}\n{panel.boundary.describe()}"
        )
        axis.locator_params(nbins=5)
        axis.set_xlabel("x1")
        axis.set_ylabel("x2")
    probability_colourbar(figure, image, axes, shrink=0.6, aspect=30)
    handles, labels = boundary_legend_handles()
    figure.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    figure.suptitle(data.title())
    return figure


# -- the command's table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawing:
    """One figure of the commands: ``compute(**options)`` makes its data, ``draw(data)`` the ``Figure``.

    ``seeded``: whether ``compute`` takes ``seed`` (the command's ``--seed``).
    The data's ``summary()`` is the line the command prints.
    """

    compute: Callable[..., Any]
    draw: Callable[[Any], Any]
    seeded: bool = False


#: The figures the command writes, in the article's order of ideas.
FIGURES = {
    "neuron": Drawing(neuron_data, neuron_figure),
    "diagram": Drawing(diagram_data, diagram_figure),
    "activations": Drawing(activations_data, activations_figure),
    "boundaries": Drawing(boundaries_data, boundaries_figure, seeded=True),
}
