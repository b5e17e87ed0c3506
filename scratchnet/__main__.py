"""``python -m scratchnet``: the hand-written networks at work.

python -m scratchnet train --gate xor        learn a logic gate, by hand in NumPy
"""

import numpy as np

from ._cli import ArgumentParser, count_arg, sizes_arg
from ._progress import Progress
from .gates import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SEED, GATES, train_gate

TRAINABLE = ("relu", "sigmoid", "tanh", "identity")


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        from argparse import ArgumentTypeError

        raise ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser():
    parser = ArgumentParser(prog="python -m scratchnet", description="The hand-written NumPy networks at work.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    train = commands.add_parser(
        "train",
        help="learn a logic gate (OR, AND, NAND, XOR)",
        description=(
            "Train the article's network (or an MLP) on a logic gate's four examples with Adam and the binary "
            "cross-entropy, print the loss as it goes, then the truth table with the network's answers."
        ),
    )
    train.error = parser.error  # one line and status 2 for sub-command errors too
    train.add_argument("--gate", choices=(*GATES, "all"), required=True, help="the gate to learn, or all four")
    train.add_argument(
        "--backend", choices=("scratch", "torch"), default="scratch", help="NumPy by hand (default) or PyTorch"
    )
    train.add_argument("--sizes", type=sizes_arg, help="widths of an MLP, e.g. 2,8,1 (default: the article's 2,4,4,1)")
    train.add_argument(
        "--activation",
        choices=TRAINABLE,
        default="relu",
        help="activation between layers; identity makes the network linear (default: relu)",
    )
    train.add_argument("--epochs", type=count_arg(1), default=DEFAULT_EPOCHS, help=f"default: {DEFAULT_EPOCHS}")
    train.add_argument(
        "--lr", type=positive_float, default=DEFAULT_LR, help=f"Adam's learning rate (default: {DEFAULT_LR})"
    )
    train.add_argument(
        "--seed", type=count_arg(0), default=DEFAULT_SEED, help=f"seed of the initial weights (default: {DEFAULT_SEED})"
    )
    train.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    train.add_argument("--log-every", type=count_arg(1), help="print the loss every N epochs (default: epochs / 10)")
    figures = commands.add_parser(
        "figures",
        help="draw the article's pictures",
        description=(
            "Draw the article's pictures from the project's own networks: the neuron, the network diagram, the "
            "activations and their derivatives, linear against non-linear decision boundaries, and training in "
            "both backends. Needs matplotlib (pip install 'scratchnet[plot]'); the training figure needs torch."
        ),
    )
    figures.error = parser.error
    figures.add_argument("--out", default="figures", help="folder for the files (default: ./figures)")
    figures.add_argument("--format", choices=("png", "svg", "both"), default="png", help="default: png")
    figures.add_argument("--only", type=_figure_names, help="comma-separated subset, e.g. diagram,boundaries")
    figures.add_argument("--seed", type=count_arg(0), default=0, help="seed of the trained networks (default: 0)")
    figures.add_argument("--dpi", type=count_arg(20), default=100, help="PNG resolution (default: 100)")
    return parser


FIGURE_NAMES = ("neuron", "diagram", "activations", "boundaries", "training")


def _figure_names(text):
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in FIGURE_NAMES]
    if unknown or not names:
        from argparse import ArgumentTypeError

        raise ArgumentTypeError(f"expected names from {', '.join(FIGURE_NAMES)}, got {text!r}")
    return names


def figures_command(args):
    try:
        from . import figures
    except ImportError as missing:
        raise SystemExit(f"python -m scratchnet figures: error: {missing}; pip install 'scratchnet[plot]'") from None
    from pathlib import Path

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        build_parser().error(f"argument --out: cannot create {out}: {error.strerror}")
    names = args.only or list(FIGURE_NAMES)
    suffixes = {"png": [".png"], "svg": [".svg"], "both": [".png", ".svg"]}[args.format]
    seeded = {"boundaries", "training"}
    with Progress(len(names), "figures") as progress:
        for done, name in enumerate(names, start=1):
            paths = [out / f"{name}{suffix}" for suffix in suffixes]
            options = {"dpi": args.dpi, **({"seed": args.seed} if name in seeded else {})}
            try:
                data = figures.FIGURES[name](paths, **options)
            except ImportError as missing:  # torch, for the training figure
                print(f"{name}: skipped ({missing}; it compares against torch)")
                continue
            progress.update(done, name)
            print(f"wrote {', '.join(map(str, paths))}: {_summary(name, data)}")
    return 0


def _summary(name, data):
    if name == "boundaries":
        return ", ".join(f"{case} accuracy {accuracy:.0%}" for case, accuracy in data.items())
    if name == "diagram":
        return f"{data['edges']} edges for {data['weights']} weights, {data['biases']} biases, sizes {data['sizes']}"
    if name == "training":
        return (
            f"{data['steps']} steps, final loss {data['final_loss']:.4f}, weights apart by at most "
            f"{data['max_weight_difference']:.1e}"
        )
    if name == "neuron":
        return f"z = {data['z']:.2f}, sigmoid(z) = {data['output']:.2f}"
    return ", ".join(f"{fn}: f(0) = {v['value_at_0']:g}, f'(0) = {v['slope_at_0']:g}" for fn, v in data.items())


def train_command(args):
    gates = list(GATES) if args.gate == "all" else [args.gate]
    log_every = args.log_every or max(args.epochs // 10, 1)
    results = []
    for gate in gates:
        if args.backend == "torch":
            try:
                import torch  # noqa: F401
            except ImportError:
                raise SystemExit(
                    "python -m scratchnet: error: --backend torch needs PyTorch (pip install torch)"
                ) from None
        with Progress(args.epochs, f"{gate.upper():>4}") as progress:

            def on_epoch(epoch, loss):
                progress.update(epoch, f"loss {loss:.4f}")
                if epoch % log_every == 0 or epoch == 1:
                    print(f"  epoch {epoch:>{len(str(args.epochs))}}  loss {loss:.6f}", flush=True)

            description = (
                "the article's Net"
                if args.sizes is None and args.activation == "relu"
                else (f"MLP {','.join(map(str, args.sizes or (2, 4, 4, 1)))} ({args.activation})")
            )
            print(
                f"training {gate.upper()} with {description}, {args.backend} backend, Adam lr {args.lr}, "
                f"{args.epochs} epochs, seed {args.seed}, {args.dtype}"
            )
            result = train_gate(
                gate,
                backend=args.backend,
                sizes=args.sizes,
                activation=args.activation,
                epochs=args.epochs,
                lr=args.lr,
                seed=args.seed,
                dtype=np.dtype(args.dtype),
                on_epoch=on_epoch,
            )
        print(result.truth_table())
        if args.activation == "identity" and gate == "xor" and result.accuracy < 1:
            print(
                "(no activation: the network is one affine map, and no line separates XOR's true and false "
                "corners, so at most 3 of 4 can be right; try --activation relu)"
            )
        print()
        results.append(result)
    if len(results) > 1:
        print("summary: " + ", ".join(f"{r.gate.upper()} {r.accuracy:.0%}" for r in results))
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    return figures_command(args) if args.command == "figures" else train_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
