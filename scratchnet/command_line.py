"""Command-line helpers shared by ``python -m scratchnet``, ``python -m compare`` and ``python -m benchmarks``."""

import _thread
import argparse
import contextlib
import math
import os
import signal
import sys
import tempfile
import threading

from .checks import check_count, check_sizes, printable

__all__ = [
    "ArgumentParser",
    "MAX_SEED",
    "add_figure_arguments",
    "add_gate_arguments",
    "count_arg",
    "fits_in_memory",
    "gate_options",
    "interrupt_after",
    "launch",
    "output_folder_arg",
    "path_arg",
    "positive_float",
    "program_name",
    "run_command",
    "seed_arg",
    "sizes_arg",
]

#: Seeds are what both NumPy and torch accept: 0 to 2**64 - 1.
MAX_SEED = 2**64 - 1
#: The most a single array a command makes may take: half of this machine's memory.
MEMORY_BUDGET = (os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")) // 2 if hasattr(os, "sysconf") else 2**33

#: Activations a gate network can be trained with (Heaviside has no useful gradient).
TRAINABLE = ("relu", "sigmoid", "tanh", "identity")


#: The console scripts, by the module each runs as: their --help and errors use the name the user typed.
#: Each console script, and the command it stands for.
CONSOLE_SCRIPTS = {
    "scratchnet": "python -m scratchnet",
    "scratchnet-compare": "python -m compare",
    "scratchnet-bench": "python -m benchmarks",
    "scratchnet-playground": "python -m compare playground",
}


def program_name(module_form):
    """A command's name as the user typed it: ``module_form`` (``python -m compare train``), or with the console
    script that was typed in place of what it stands for (``scratchnet-compare train``, ``scratchnet-playground``)."""
    typed = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    form = CONSOLE_SCRIPTS.get(typed)
    if form is not None and (module_form + " ").startswith(form + " "):
        return typed + module_form[len(form) :]
    return module_form


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line on stderr and exit status 2, never a traceback.

    ``prog`` is given in its ``python -m`` form and shown as the user typed
    the command; every parser answers ``--version``.
    """

    def __init__(self, *args, prog=None, **kwargs):
        from . import __version__

        if prog is not None:  # "python -m compare train", or "scratchnet-compare train" where that was typed
            prog = program_name(prog)
        super().__init__(*args, prog=prog, **kwargs)
        self.add_argument("--version", action="version", version=f"%(prog)s (scratchnet) {__version__}")

    def error(self, message):
        self.exit(2, f"{printable(self.prog)}: error: {printable(message)} (see --help)\n")


def sizes_arg(text):
    """Parse ``"2,4,4,1"`` into layer widths, each small enough for its weights to fit in memory."""
    try:
        sizes = check_sizes(int(part) if len(part.strip()) <= 12 else -1 for part in text.split(","))
        weights = sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        fits_in_memory(8 * weights, f"{weights} weights")
        return sizes
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive widths such as 2,4,4,1, got {text!r} ({error})"
        ) from None


def count_arg(minimum, maximum=None):
    """An argparse type: an integer from ``minimum`` to ``maximum`` (None: no upper limit)."""
    span = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"

    def parse(text):
        value = None
        if len(text.strip()) <= 40:  # int() of a huge string is slow, or refused
            try:
                value = check_count(int(text), "value", minimum=minimum)
            except (TypeError, ValueError):
                pass
        if value is None or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected an integer {span}, got {text!r}")
        return value

    parse.__name__ = f"integer {span}"
    return parse


#: ``--seed``: what NumPy and torch both accept.
seed_arg = count_arg(0, MAX_SEED)


def positive_float(text, maximum=math.inf):
    """An argparse type: a finite number > 0 (and <= ``maximum``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= maximum):
        limit = "" if maximum == math.inf else f" at most {maximum:g}"
        raise argparse.ArgumentTypeError(f"expected a positive finite number{limit}, got {text!r}")
    return value


def fits_in_memory(nbytes, what):
    """``ValueError`` unless an array of ``nbytes`` fits in half of this machine's memory."""
    if nbytes > MEMORY_BUDGET:
        raise ValueError(f"{what} would take {nbytes / 2**30:.3g} GiB, more than half of this machine's memory")


def path_arg(text):
    """An argparse type: a path to read, not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty one")
    return text


def output_folder_arg(text):
    """An argparse type: a folder that can be written into (or created), checked now, before any work.

    Nothing is created here (the command creates the folder once every
    option is known good): a real probe, a temporary folder made and removed
    in the folder or its nearest existing ancestor, says whether it can be.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder, got an empty path")
    probe = os.path.abspath(text)
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise argparse.ArgumentTypeError(f"cannot write into {text!r}: {probe!r} is not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(dir=probe, prefix=".probe-"))
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot write into {text!r}: {error.strerror or error}") from None
    return text


@contextlib.contextmanager
def interrupt_after():
    """Hold a Ctrl-C until the block is done, then raise ``KeyboardInterrupt``.

    For importing torch: an interrupt raised inside its C++ start-up aborts
    the process (SIGABRT) instead of unwinding. Python signal handlers run
    between bytecodes, so this one only notes the signal.
    """
    caught = []
    try:
        previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    except ValueError:  # not the main thread: nothing to hold
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def launch(prog, load_main, extra, requires):
    """Import a command's heavy part with ``load_main()`` and run the ``main`` it returns.

    The packages it ``requires`` are looked for first: every missing one is
    named in one line with the ``pip install 'scratchnet[extra]'`` that brings
    them (status 2); ``--version`` still answers. A Ctrl-C while importing is
    one line and status 130 (see ``interrupt_after``). ``python -m compare``
    and ``python -m benchmarks`` start here.
    """
    from importlib.util import find_spec

    from . import __version__

    missing = [name for name in requires if find_spec(name) is None]
    if missing:
        if sys.argv[1:] == ["--version"]:
            print(f"{program_name(prog)} (scratchnet) {__version__}")
            return 0
        hint = f"pip install 'scratchnet[{extra}]'"
        print(f"{program_name(prog)}: error: needs {', '.join(missing)} (not installed); {hint}", file=sys.stderr)
        return 2
    try:
        with interrupt_after():  # a Ctrl-C inside torch's start-up would abort the process
            main = load_main()
    except KeyboardInterrupt:
        print(f"{program_name(prog)}: interrupted", file=sys.stderr)
        return 130
    return main()


def _interrupt_again(unraisable):
    """A Ctrl-C that lands in a finalizer (a weakref callback, a ``__del__``) cannot be raised there: Python
    prints "Exception ignored" with a traceback and goes on. Deliver it again to the main thread instead,
    where ``run_command`` says it in one line; anything else is printed as Python would."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        # From another thread, a moment later: raised now, it would land in this hook again.
        timer = threading.Timer(0.05, _thread.interrupt_main)
        timer.daemon = True
        timer.start()
        return
    sys.__unraisablehook__(unraisable)


def run_command(main, prog):
    """Run ``main()`` as a command: Ctrl-C is one line and status 130, a closed pipe ends it quietly (141).

    Bad arguments are argparse's business (one line, status 2); status 1 stays
    for "the outputs disagree". Files are written by rename (``files.atomic_path``),
    so an interrupted command leaves each file as it was or whole.
    """
    if sys.stdout is None:  # started with stdout closed (command >&-): nothing is shown, nothing breaks
        sys.stdout = open(os.devnull, "w")
    sys.unraisablehook = _interrupt_again
    try:
        status = main()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # The reader went away (python -m compare | head -1): nothing more to say, and no one to say it to.
        _drop_stdout()
        return 141
    except KeyboardInterrupt:
        print(f"{program_name(prog)}: interrupted", file=sys.stderr)
        return 130
    except OSError as error:  # a file that cannot be written, a full disk, an output that takes no more
        where = f": {error.filename}" if error.filename else ""
        print(f"{program_name(prog)}: error: {error.strerror or error}{where}", file=sys.stderr)
        if error.filename is None:
            _drop_stdout()  # stdout itself failed: what is left in its buffer cannot be written at exit either
        return 74  # EX_IOERR: 1 is for outputs that disagree, 2 for bad arguments


def _drop_stdout():
    """Point stdout at /dev/null, so that flushing what is left at exit neither fails nor warns."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        sys.stdout = open(os.devnull, "w")


#: Enough for any gate; more would only make a command that seems to hang.
MAX_EPOCHS = 1_000_000
#: Widths of a gate network: more would only use memory (a 2 -> w -> w -> 1 net holds w*w weights).
MAX_GATE_WIDTH = 4096


def gate_sizes_arg(text):
    """Widths of a gate network: two inputs, one output, hidden widths up to ``MAX_GATE_WIDTH``."""
    sizes = sizes_arg(text)
    if max(sizes) > MAX_GATE_WIDTH:
        raise argparse.ArgumentTypeError(f"widths of a gate network go up to {MAX_GATE_WIDTH}; got {text!r}")
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
    parser.add_argument(
        "--epochs", type=count_arg(1, MAX_EPOCHS), default=DEFAULT_EPOCHS, help=f"default: {DEFAULT_EPOCHS}"
    )
    parser.add_argument(
        "--lr", type=positive_float, default=DEFAULT_LR, help=f"Adam's learning rate (default: {DEFAULT_LR})"
    )
    parser.add_argument(
        "--seed", type=seed_arg, default=DEFAULT_SEED, help=f"seed of the initial weights (default: {DEFAULT_SEED})"
    )
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")


def gate_options(args):
    """The training settings ``add_gate_arguments`` read, as keyword arguments of the gate trainers."""
    import numpy as np

    return {
        "sizes": args.sizes,
        "activation": args.activation,
        "epochs": args.epochs,
        "lr": args.lr,
        "seed": args.seed,
        "dtype": np.dtype(args.dtype),
    }


def add_figure_arguments(parser, names):
    """The options of the commands that draw figures; ``names`` are the figures they know."""

    def figure_names(text):
        chosen = [name for name in text.split(",") if name]
        unknown = [name for name in chosen if name not in names]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"expected names from {', '.join(names)}, got {text!r}")
        return chosen

    figure_names.__name__ = "figure names"
    parser.add_argument(
        "--out", type=output_folder_arg, default="figures", help="folder for the files (default: ./figures)"
    )
    parser.add_argument("--format", choices=("png", "svg", "both"), default="png", help="default: png")
    parser.add_argument("--only", type=figure_names, help="comma-separated subset, e.g. diagram,boundaries")
    parser.add_argument("--seed", type=seed_arg, default=0, help="seed of the trained networks (default: 0)")
    parser.add_argument("--dpi", type=count_arg(20, 600), default=100, help="PNG resolution, 20 to 600 (default: 100)")
