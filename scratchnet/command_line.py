"""Command-line helpers shared by ``python -m scratchnet``, ``python -m compare`` and ``python -m benchmarks``."""

import argparse
import math

from .checks import check_count, check_sizes

__all__ = [
    "ArgumentParser",
    "add_figure_arguments",
    "add_gate_arguments",
    "count_arg",
    "positive_float",
    "sizes_arg",
]

#: Activations a gate network can be trained with (Heaviside has no useful gradient).
TRAINABLE = ("relu", "sigmoid", "tanh", "identity")


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line on stderr and exit status 2, never a traceback."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def sizes_arg(text):
    """Parse ``"2,4,4,1"`` into layer widths."""
    try:
        return check_sizes(int(part) for part in text.split(","))
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive widths such as 2,4,4,1, got {text!r} ({error})"
        ) from None


def count_arg(minimum):
    """An argparse type: an integer >= ``minimum``."""

    def parse(text):
        try:
            return check_count(int(text), "value", minimum=minimum)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None

    parse.__name__ = f"integer >= {minimum}"
    return parse


def positive_float(text):
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def gate_sizes_arg(text):
    """Widths of a gate network: two inputs, one output."""
    sizes = sizes_arg(text)
    if sizes[0] != 2 or sizes[-1] != 1:
        raise argparse.ArgumentTypeError(f"a gate network takes 2 inputs and gives 1 output, e.g. 2,8,1; got {text!r}")
    return sizes


def add_gate_arguments(parser):
    """The options of the commands that train a logic gate."""
    from .gates import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SEED, GATES

    parser.add_argument("--gate", choices=(*GATES, "all"), required=True, help="the gate to learn, or all four")
    parser.add_argument(
        "--sizes", type=gate_sizes_arg, help="widths of an MLP, e.g. 2,8,1 (default: the article's 2,4,4,1)"
    )
    parser.add_argument(
        "--activation",
        choices=TRAINABLE,
        default="relu",
        help="activation between layers; identity makes the network linear (default: relu)",
    )
    parser.add_argument("--epochs", type=count_arg(1), default=DEFAULT_EPOCHS, help=f"default: {DEFAULT_EPOCHS}")
    parser.add_argument(
        "--lr", type=positive_float, default=DEFAULT_LR, help=f"Adam's learning rate (default: {DEFAULT_LR})"
    )
    parser.add_argument(
        "--seed", type=count_arg(0), default=DEFAULT_SEED, help=f"seed of the initial weights (default: {DEFAULT_SEED})"
    )
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")


def add_figure_arguments(parser, names):
    """The options of the commands that draw figures; ``names`` are the figures they know."""

    def figure_names(text):
        chosen = [name for name in text.split(",") if name]
        unknown = [name for name in chosen if name not in names]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"expected names from {', '.join(names)}, got {text!r}")
        return chosen

    figure_names.__name__ = "figure names"
    parser.add_argument("--out", default="figures", help="folder for the files (default: ./figures)")
    parser.add_argument("--format", choices=("png", "svg", "both"), default="png", help="default: png")
    parser.add_argument("--only", type=figure_names, help="comma-separated subset, e.g. diagram,boundaries")
    parser.add_argument("--seed", type=count_arg(0), default=0, help="seed of the trained networks (default: 0)")
    parser.add_argument("--dpi", type=count_arg(20), default=100, help="PNG resolution (default: 100)")
