"""The playground: see and touch what the network computes (a marimo notebook).

``python -m compare playground`` serves it as an app; ``marimo edit compare/playground.py`` opens it as a
notebook; ``python compare/playground.py`` runs every cell once as a plain script (the tests do). Every
number on the page is computed by the project's own code (``compare.live``): the hand-written NumPy networks,
and their torch twins alongside.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="scratchnet playground")


@app.cell
def _():
    import base64
    import io
    import time

    import marimo as mo
    import numpy as np
    from matplotlib.contour import ContourSet
    from matplotlib.figure import Figure

    from compare import live
    from scratchnet import figures
    from scratchnet.architecture import ACTIVATION_NAMES, OUTPUT_ONLY

    EPOCHS_PER_TICK = 2  # training epochs of both twins per 0.1 s tick of the timer, while it runs

    def live_picture(figure):
        """The live panel's figure as an inline PNG at 90 dpi: marimo's own rendering (twice the pixels, a tight
        bounding box) would double the redraw, and a file it serves can be gone before the browser asks."""
        memory = io.BytesIO()  # in memory: no file is written
        figure.savefig(memory, format="png", dpi=90)
        encoded = base64.b64encode(memory.getvalue()).decode("ascii")
        return mo.Html(f"<img src='data:image/png;base64,{encoded}' style='max-width: 100%'>")

    def panel(name, content):
        """A panel of the page, with an id the browser test (and its screenshots) find it by."""
        return mo.Html(f"<div id='panel-{name}'>{content.text}</div>")

    return (
        ACTIVATION_NAMES, ContourSet, EPOCHS_PER_TICK, Figure, OUTPUT_ONLY, figures, live, live_picture, mo, np, panel,
        time,
    )  # fmt: skip


@app.cell
def _(mo):
    mo.md(
        """
        # scratchnet playground

        Every number here is computed by the hand-written NumPy network (`scratchnet`), with PyTorch computing
        the same thing alongside. Five panels, in the article's order: one neuron, the bias as the intercept,
        forward propagation through the article's `Net`, the activations, and a network learning live.
        """
    )
    return


@app.cell
def _(live, mo):
    bag_inputs = mo.ui.array(
        [mo.ui.slider(0.0, 1.0, step=0.05, value=v, label=f"{name} (input)", show_value=True)
         for name, v in zip(live.BAG_FEATURES, (0.6, 0.5, 0.9, 0.3))]
    )  # fmt: skip
    bag_weights = mo.ui.array(
        [mo.ui.slider(-10.0, 10.0, step=0.5, value=w, label=f"{name} (weight)", show_value=True)
         for name, w in zip(live.BAG_FEATURES, live.BAG_WEIGHTS)]
    )  # fmt: skip
    bag_bias = mo.ui.slider(-20.0, 20.0, step=0.5, value=-10.0, label="bias", show_value=True)
    bag_activation = mo.ui.dropdown(["sigmoid", "relu", "tanh", "heaviside", "identity"], value="sigmoid",
                                    label="activation")  # fmt: skip
    return bag_activation, bag_bias, bag_inputs, bag_weights


@app.cell
def _(bag_activation, bag_bias, bag_inputs, bag_weights, figures, live, mo, panel):
    one = live.neuron(bag_inputs.value, bag_weights.value, bag_bias.value, bag_activation.value)
    neuron_picture = figures.neuron_figure(
        figures.neuron_data(
            bag=bag_inputs.value, bias=bag_bias.value, weights=bag_weights.value, activation=bag_activation.value
        )
    )
    panel(
        "neuron",
        mo.vstack(
            [
                mo.md("## 1. One neuron: the bag example"),
                mo.md(
                    "Buying a bag: durability, capacity, design and name recognition each matter, and each **weight** "
                    "says how much (the article gives design 8, the others 5). The neuron multiplies each input by its "
                    "weight, adds them, adds the **bias**, and passes the sum through the **activation**."
                ),
                mo.hstack([mo.vstack(list(bag_inputs)), mo.vstack([*bag_weights, bag_bias, bag_activation])]),
                mo.as_html(neuron_picture),
                mo.md(
                    f"`z = x @ W.T + b` = {one.sum_written_out}  \n"
                    f"output = {one.activation}(z) = <span id='neuron-output'>{one.output:.6f}</span> "
                    f"(PyTorch: <span id='neuron-torch'>{one.torch_output:.6f}</span>)"
                ),
            ]
        ),
    )
    return (one,)


@app.cell
def _(mo):
    line_w1 = mo.ui.slider(-4.0, 4.0, step=0.25, value=2.0, label="w1", show_value=True)
    line_w2 = mo.ui.slider(-4.0, 4.0, step=0.25, value=-1.0, label="w2", show_value=True)
    line_b = mo.ui.slider(-6.0, 6.0, step=0.25, value=3.0, label="bias b", show_value=True)
    return line_b, line_w1, line_w2


@app.cell
def _(Figure, figures, line_b, line_w1, line_w2, live, mo, np, panel):
    _grid = np.linspace(-3, 3, 121)
    _x1, _x2 = np.meshgrid(_grid, _grid)
    _p = live.neuron_outputs(
        np.stack([_x1.ravel(), _x2.ravel()], axis=1), (line_w1.value, line_w2.value), line_b.value
    ).reshape(_x1.shape)
    line_picture = Figure(figsize=(4.6, 3.8), layout="constrained")
    _ax = line_picture.subplots()
    _image = _ax.imshow(
        _p, origin="lower", extent=(-3, 3, -3, 3), cmap=figures.COLOURS["probability"], vmin=0, vmax=1, alpha=0.6
    )
    figures.probability_colourbar(line_picture, _image, _ax)
    _line = live.decision_line(line_w1.value, line_w2.value, line_b.value)
    if _line is not None:
        _ax.plot(_grid, _line[0] * _grid + _line[1], "k-", lw=1.5)
        _ax.plot([0], [_line[1]], "ko")
        _text = f"line: x2 = {_line[0]:.3g} x1 + {_line[1]:.3g} (intercept {_line[1]:.3g} = -b / w2)"
    elif line_w1.value != 0:
        _ax.axvline(-line_b.value / line_w1.value, color="k")
        _text = f"w2 = 0: the line is vertical, at x1 = -b / w1 = {-line_b.value / line_w1.value:.3g}"
    else:
        _text = "w1 = w2 = 0: the output is sigmoid(b) everywhere, no line"
    _ax.set_xlim(-3, 3)
    _ax.set_ylim(-3, 3)
    _ax.set_xlabel("x1")
    _ax.set_ylabel("x2")
    panel(
        "intercept",
        mo.vstack(
            [
                mo.md("## 2. The bias is the intercept"),
                mo.md(
                    "In `2x + 3` the 3 is the **bias**: the translation calls it the *section* (a word-for-word "
                    "rendering of the Japanese for *intercept*: where the line crosses the axis). A 2-input neuron "
                    "draws the line `w1 x1 + w2 x2 + b = 0` between its two "
                    "answers: moving **b** moves the line, moving the **weights** turns it."
                ),
                mo.hstack([mo.vstack([line_w1, line_w2, line_b]), mo.as_html(line_picture)]),
                mo.md(f"<span id='line-equation'>{_text}</span>"),
            ]
        ),
    )
    return


@app.cell
def _(mo):
    net_x1 = mo.ui.slider(0.0, 1.0, step=0.05, value=0.0, label="x1", show_value=True)
    net_x2 = mo.ui.slider(0.0, 1.0, step=0.05, value=1.0, label="x2", show_value=True)
    net_seed = mo.ui.number(0, 999, value=0, label="seed of the weights")
    return net_seed, net_x1, net_x2


@app.cell
def _(live, mo, net_seed, net_x1, net_x2, np, panel):
    steps, torch_output = live.forward_steps([net_x1.value, net_x2.value], seed=int(net_seed.value))

    def _vector(v):
        return "[" + ", ".join(f"{value:+.3f}" for value in np.ravel(v)) + "]"

    _rows = []
    for _step in steps:
        _weights = "<br>".join(_vector(row) for row in _step["W"])
        _after = "ReLU" if _step["name"] != "fc3" else "nothing (the output layer)"
        _rows.append(
            f"<tr><td><b>{_step['name']}</b><br>W: {_step['W'].shape}</td><td><code>{_weights}</code></td>"
            f"<td><code>{_vector(_step['b'])}</code></td><td><code>{_vector(_step['h_in'])}</code></td>"
            f"<td><code>{_vector(_step['z'])}</code></td><td>{_after}<br><code>{_vector(_step['h'])}</code></td></tr>"
        )
    panel(
        "forward",
        mo.vstack(
            [
                mo.md("## 3. Forward propagation through the article's Net (2 → 4 → 4 → 1)"),
                mo.md(
                    "Each layer computes `z = h @ W.T + b` (W is `(out_features, in_features)`: `fc1.weight` is "
                    "`[4, 2]`, 4 neurons with 2 weights each), then ReLU, and passes `h` on: **forward propagation**."
                ),
                mo.hstack([net_x1, net_x2, net_seed]),
                mo.Html(
                    "<table><tr><th>layer</th><th>W (one row per neuron)</th><th>b</th><th>input h</th>"
                    "<th>z = h @ W.T + b</th><th>after</th></tr>" + "".join(_rows) + "</table>"
                ),
                mo.md(
                    f"output: <span id='net-output'>{steps[-1]['h'][0]:.6f}</span>; PyTorch's `torchnet.Net` with the "
                    f"same weights: {torch_output[0]:.6f}"
                ),
            ]
        ),
    )
    return steps, torch_output


@app.cell
def _(ACTIVATION_NAMES, OUTPUT_ONLY, mo):
    curve_activation = mo.ui.dropdown(
        [name for name in ACTIVATION_NAMES if name not in OUTPUT_ONLY], value="relu", label="activation"
    )
    curve_point = mo.ui.slider(-4.0, 4.0, step=0.25, value=0.0, label="z", show_value=True)
    return curve_activation, curve_point


@app.cell
def _(Figure, curve_activation, curve_point, figures, live, mo, np, panel):
    _z = np.linspace(-5, 5, 801)
    _values, _slopes = live.activation_curve(curve_activation.value, _z)
    _at_value, _at_slope = live.activation_curve(curve_activation.value, np.array([curve_point.value]))
    curve_picture = Figure(figsize=(7.0, 2.8), layout="constrained")
    _left, _right = curve_picture.subplots(1, 2)
    _left.plot(_z, _values, color=figures.COLOURS["f(x)"])
    _left.plot([curve_point.value], _at_value, "ko")
    _left.set_title(f"{curve_activation.value}(z)")
    _right.plot(_z, _slopes, color=figures.COLOURS["f'(x)"])
    _right.plot([curve_point.value], _at_slope, "ko")
    _right.set_title("its derivative (from its backward)")
    for _ax in (_left, _right):
        _ax.axhline(0, color="0.8", lw=0.8)
        _ax.axvline(0, color="0.8", lw=0.8)
        _ax.set_xlabel("z")
    _note = {
        "relu": "At z = 0 ReLU's slope is **0**, as in torch (the derivative does not exist there; torch picks 0).",
        "heaviside": "The step has no useful derivative: its backward is 0 everywhere, so nothing before it learns.",
        "identity": "The identity is linear: a network of identities is one straight line, whatever its depth.",
    }.get(curve_activation.value, "Smooth: its slope exists everywhere.")
    panel(
        "activations",
        mo.vstack(
            [
                mo.md("## 4. Activations and their derivatives"),
                mo.md(
                    "The article asks two things of an activation: that it is **not linear**, and that it is **easy to "
                    "differentiate**. The curves are computed by the module's own forward and backward."
                ),
                mo.hstack([curve_activation, curve_point]),
                mo.as_html(curve_picture),
                mo.md(
                    f"f({curve_point.value:g}) = <span id='curve-value'>{_at_value[0]:.6f}</span>, "
                    f"f'({curve_point.value:g}) = <span id='curve-slope'>{_at_slope[0]:.6f}</span>. {_note}"
                ),
            ]
        ),
    )
    return


@app.cell
def _(live, mo):
    train_data = mo.ui.dropdown(list(live.DATASETS), value="xor", label="dataset")
    train_hidden = mo.ui.text(value="4,4", label="hidden sizes")
    train_activation = mo.ui.dropdown(["relu", "tanh", "sigmoid", "identity"], value="relu", label="activation")
    train_lr = mo.ui.dropdown(["0.005", "0.01", "0.05", "0.1"], value="0.05", label="learning rate (Adam)")
    train_seed = mo.ui.number(0, 999, value=0, label="seed")
    train_running = mo.ui.switch(label="train (start / pause)")
    train_step_button = mo.ui.button(value=0, on_click=lambda count: count + 1, label="one step")
    return train_activation, train_data, train_hidden, train_lr, train_running, train_seed, train_step_button


@app.cell
def _(mo, train_running):
    # The timer runs only while training runs: paused, nothing recomputes.
    train_ticker = mo.ui.refresh(options=["0.1s"], default_interval="0.1s" if train_running.value else None)
    return (train_ticker,)


@app.cell
def _(live, mo, train_activation, train_data, train_hidden, train_lr, train_seed):
    try:
        _hidden = tuple(int(part) for part in train_hidden.value.split(",") if part.strip())
        if any(not 1 <= width <= 64 for width in _hidden) or len(_hidden) > 4:
            raise ValueError
        hidden_problem = None
    except ValueError:
        _hidden, hidden_problem = (
            (4, 4),
            f"hidden sizes: up to 4 widths of 1 to 64, such as 4,4 (not {train_hidden.value!r})",
        )
    training = live.TwinTraining(
        train_data.value, _hidden, train_activation.value, float(train_lr.value), int(train_seed.value)
    )
    get_epoch, set_epoch = mo.state(0)
    get_clicks, set_clicks = mo.state(0)
    return get_clicks, get_epoch, hidden_problem, set_clicks, set_epoch, training


@app.cell
def _(EPOCHS_PER_TICK, get_clicks, set_clicks, set_epoch, train_running, train_step_button, train_ticker, training):
    _tick = train_ticker.value  # every tick of the timer runs this cell
    if train_step_button.value > get_clicks():
        set_clicks(train_step_button.value)
        training.step(1)
    elif train_running.value and training.epoch < 3000:
        training.step(EPOCHS_PER_TICK)
    set_epoch(training.epoch)
    return


@app.cell
def _(ContourSet, Figure, figures, get_epoch, hidden_problem, live_picture, mo, np, panel, time, train_activation,
      train_data, train_hidden, train_lr, train_running, train_seed, train_step_button, train_ticker,
      training):  # fmt: skip
    get_epoch()
    _started = time.perf_counter()
    _low, _high = training.x.min(axis=0) - 0.5, training.x.max(axis=0) + 0.5
    _boundary = figures.boundary_of(training.net, _low, _high, n=80)
    # One figure per training, kept and updated: making a new one (its axes and ticks) is most of a redraw.
    _kept = training.__dict__.setdefault("picture", {})
    if not _kept:
        _kept["figure"] = Figure(figsize=(8.0, 3.4))  # fixed margins: the automatic layout doubles the redraw
        _kept["figure"].subplots_adjust(left=0.07, right=0.97, bottom=0.15, top=0.84, wspace=0.3)
        _kept["board"], _kept["curve"] = _kept["figure"].subplots(1, 2, width_ratios=(1.1, 1))
        _kept["image"] = figures.draw_boundary(_kept["board"], _boundary, training.x, training.target, size=30)
        figures.probability_colourbar(_kept["figure"], _kept["image"], _kept["board"])
        _kept["lines"] = (
            _kept["curve"].plot([], [], color=figures.COLOURS["scratchnet"], lw=3, label="scratchnet (by hand)")[0],
            _kept["curve"].plot([], [], "--", color=figures.COLOURS["torch"], label="torch twin")[0],
        )
        _kept["curve"].legend(fontsize=8, loc="upper right")
        _kept["curve"].set_xlabel("epoch")
        _kept["curve"].set_title("loss (binary cross-entropy)")
    else:  # the same points and window: new colours, a new p = 0.5 line
        _kept["image"].set_data(_boundary.probability)
        for _old in _kept["board"].findobj(ContourSet):
            _old.remove()
        if _boundary.drawn:
            _kept["board"].contour(
                _boundary.x1, _boundary.x2, _boundary.probability, levels=[0.5], colors="black", linewidths=1.5
            )
    _epochs = np.arange(len(training.losses))
    _kept["lines"][0].set_data(_epochs, training.losses)
    _kept["lines"][1].set_data(_epochs, training.torch_losses)
    _kept["curve"].set_xlim(0, max(len(training.losses), 1))
    _kept["curve"].set_ylim(0, max(training.losses, default=1.0) * 1.05 or 1.0)
    _kept["board"].set_title(
        f"epoch {training.epoch}: accuracy {training.accuracy:.0%}\n{_boundary.describe()}", fontsize=10
    )
    training_picture = _kept["figure"]
    _dead = training.dead_units()
    _dead_text = (
        "dead ReLU units (output 0 at every point, so they never learn): "
        + ", ".join(f"layer {layer} unit {unit + 1}" for layer, unit in _dead)
        if _dead
        else "no dead ReLU units"
        if training.activation == "relu"
        else ""
    )
    _difference = training.weight_differences[-1] if training.weight_differences else 0.0
    _stepped = f"one training step of both twins {training.step_seconds * 1000:.1f} ms, " if training.epoch else ""
    _picture = live_picture(training_picture)  # drawn to an image here, inside the timing
    draw_seconds = time.perf_counter() - _started
    _timing = f"{_stepped}drawing this {draw_seconds * 1000:.1f} ms"
    panel(
        "training",
        mo.vstack(
            [
                mo.md("## 5. Linear against non-linear, trained live"),
                mo.md(
                    "Pick a dataset and press **train**. With `identity` the network is one straight line whatever "
                    "its depth, and cannot separate XOR; with ReLU it bends. Beside it, the torch twin trains from the "
                    "same start: the largest weight difference shows the hand-written network *is* PyTorch's."
                ),
                mo.hstack([train_data, train_hidden, train_activation, train_lr, train_seed]),
                mo.hstack([train_running, train_step_button, train_ticker]),
                mo.md(f"**{hidden_problem}**") if hidden_problem else mo.md(""),
                _picture,
                mo.md(
                    f"epoch <span id='train-epoch'>{training.epoch}</span>, accuracy "
                    f"<span id='train-accuracy'>{training.accuracy:.0%}</span>; largest weight difference from the "
                    f"torch twin: <span id='train-difference'>{_difference:.3g}</span>. {_dead_text}  \n" + _timing
                ),
            ]
        ),
    )
    return


if __name__ == "__main__":
    app.run()
