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
    return parser


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
    return train_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
