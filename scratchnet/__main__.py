"""``python -m scratchnet``: the hand-written networks at work, with NumPy alone.

python -m scratchnet train --gate xor        learn a logic gate, by hand in NumPy
python -m scratchnet figures --out DIR       draw the article's pictures (needs matplotlib)

The commands that show both frameworks side by side are ``python -m compare
train`` and ``python -m compare figures``.
"""

import sys

from .command_line import (
    ArgumentParser,
    add_figure_arguments,
    add_gate_arguments,
    count_arg,
    gate_options,
    program_name,
    run_command,
)
from .files import check_target
from .gates import GATES, describe_network, gate_network, train_gate
from .progress import Progress

FIGURE_NAMES = ("neuron", "diagram", "activations", "boundaries")


def build_parser():
    parser = ArgumentParser(prog="python -m scratchnet", description="The hand-written NumPy networks at work.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    train = commands.add_parser(
        "train",
        help="learn a logic gate (OR, AND, NAND, XOR)",
        description=(
            "Train the article's network (or an MLP) on a logic gate's four examples with Adam and the binary "
            "cross-entropy, by hand in NumPy; print the loss as it goes, then the truth table with the network's "
            "answers. (python -m compare train trains its torch twin beside it.)"
        ),
    )
    add_gate_arguments(train)
    train.add_argument("--log-every", type=count_arg(1), help="print the loss every N epochs (default: epochs / 10)")
    figures = commands.add_parser(
        "figures",
        help="draw the article's pictures",
        description=(
            "Draw the article's pictures from the project's own networks: the neuron, the network diagram, the "
            "activations and their derivatives, linear against non-linear decision boundaries. Needs matplotlib "
            "(pip install 'scratchnet[plot]'). python -m compare figures adds training in both frameworks."
        ),
    )
    add_figure_arguments(figures, FIGURE_NAMES)
    return parser


def figures_command(args, table=None, prog="python -m scratchnet"):
    """Draw ``args.only`` (default: every figure of ``table``) into ``args.out``; ``table`` maps names to Drawings."""
    try:
        from . import figures

        figures.new_figure()  # imports matplotlib: if it is missing, say so now (with the hint), before any work
    except ImportError as missing:
        print(f"{program_name(prog)} figures: error: {missing}", file=sys.stderr)
        return 2
    from pathlib import Path

    table = figures.FIGURES if table is None else table
    out = Path(args.out)  # checked writable when the options were read; made now that all of them are good
    out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(table)
    suffixes = {"png": [".png"], "svg": [".svg"], "both": [".png", ".svg"]}[args.format]
    try:  # a folder or a FIFO where a figure goes is found now, before any drawing
        for name in names:
            for suffix in suffixes:
                check_target(out / f"{name}{suffix}")
    except OSError as error:
        print(f"{program_name(prog)} figures: error: argument --out: {error}", file=sys.stderr)
        return 2
    with Progress(len(names), "figures") as progress:
        for done, name in enumerate(names, start=1):
            paths = [out / f"{name}{suffix}" for suffix in suffixes]
            drawing = table[name]
            data = drawing.compute(**({"seed": args.seed} if drawing.seeded else {}))
            figures.save_figure(drawing.draw(data), paths, dpi=args.dpi)
            progress.update(done, name)
            print(f"wrote {', '.join(map(str, paths))}: {data.summary()}")
    return 0


def train_command(args):
    gates = list(GATES) if args.gate == "all" else [args.gate]
    log_every = args.log_every or max(args.epochs // 10, 1)
    results = []
    for gate in gates:
        with Progress(args.epochs, f"{gate.upper():>4}") as progress:

            def on_epoch(epoch, loss):
                progress.update(epoch, f"loss {loss:.4f}")
                if epoch % log_every == 0 or epoch == 1:
                    print(f"  epoch {epoch:>{len(str(args.epochs))}}  loss {loss:.6f}", flush=True)

            description = describe_network(gate_network(args.sizes, args.activation))
            print(
                f"training {gate.upper()} with {description}, by hand in NumPy, Adam lr {args.lr}, "
                f"{args.epochs} epochs, seed {args.seed}, {args.dtype}"
            )
            result = train_gate(gate, **gate_options(args), on_epoch=on_epoch)
        print(result.truth_table())
        if args.activation == "identity" and gate == "xor" and result.accuracy < 1:
            print(LINEAR_XOR)
        print()
        results.append(result)
    if len(results) > 1:
        print("summary: " + ", ".join(f"{r.gate.upper()} {r.accuracy:.0%}" for r in results))
    return 0


LINEAR_XOR = (
    "(no activation: the network is one affine map, and no line separates XOR's true and false "
    "corners, so at most 3 of 4 can be right; try --activation relu)"
)


def main(argv=None):
    def command():
        args = build_parser().parse_args(argv)
        return figures_command(args) if args.command == "figures" else train_command(args)

    return run_command(command, "python -m scratchnet")


if __name__ == "__main__":
    raise SystemExit(main())
