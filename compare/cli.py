"""``python -m compare``: the two frameworks side by side.

python -m compare                       the article's network in torch and in NumPy: same weights, same outputs
python -m compare --checkpoint FILE     the same with your own network (.safetensors, or .pt/.pth from torch.save)
python -m compare --onnx                onnxruntime as a third witness (pip install 'scratchnet[onnx]')
python -m compare train --gate xor      learn a gate by hand and with the torch twin, from the same start
python -m compare figures --out DIR     the article's pictures, and training in both frameworks

The main job builds the article's ``Net`` in both frameworks, copies the
weights from one to the other, prints both nets and their state_dict sizes as
the article does, runs both on a few inputs side by side, and prints the
comparison report. Exit status: 0 when the outputs agree within the derived
tolerance, 1 when they do not, 2 for bad options or an unusable file.
"""

import argparse
import contextlib
import io
import json
import sys

import numpy as np
import torch

import scratchnet
import torchnet
from scratchnet.__main__ import LINEAR_XOR, figures_command
from scratchnet.architecture import Architecture, Layer, parse_activations
from scratchnet.checkpoint import first_line, network_from_state_dict, printable
from scratchnet.command_line import (
    ArgumentParser,
    add_figure_arguments,
    add_gate_arguments,
    count_arg,
    fits_in_memory,
    gate_options,
    path_arg,
    program_name,
    run_command,
    seed_arg,
    sizes_arg,
)
from scratchnet.gates import GATES

from .checkpoint import read_checkpoint
from .forward import ONNX_HINT, compare_forward, describe, onnxruntime_session
from .weights import architecture_of, copy_weights, to_torch

DIRECTIONS = ("torch-to-scratch", "scratch-to-torch")
COMMANDS = ("train", "figures", "playground")


def activations_arg(text):
    """``--activation``: one name, or one per layer such as ``relu,relu,none``."""
    try:
        return parse_activations(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser():
    parser = ArgumentParser(
        prog="python -m compare",
        description="Build the article's network (or an MLP, or your own checkpoint) in torch and in NumPy, copy the "
        "weights, and check that both compute the same outputs.",
        epilog="Commands: 'python -m compare train --help' (learn a gate in both frameworks), "
        "'python -m compare figures --help' (the article's pictures).",
    )
    parser.add_argument(
        "--sizes", type=sizes_arg, help="layer widths of an MLP, e.g. 2,8,8,1 (default: the article's Net)"
    )
    parser.add_argument(
        "--activation",
        type=activations_arg,
        help="activation between layers (relu, sigmoid, tanh, heaviside, identity, leaky_relu, elu, gelu, silu, "
        "softplus; default: relu; settings as leaky_relu(negative_slope=0.2)), or one per layer such as "
        "relu,gelu,softmax (none: no activation; softmax and log_softmax only last)",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="FILE",
        type=path_arg,
        help="compare your own network: a .safetensors file or a torch.save state dict",
    )
    parser.add_argument("--dtype", choices=("float32", "float64"), help="default: float32, or the checkpoint's")
    parser.add_argument("--batch", type=count_arg(0), default=4, help="number of random inputs (default: 4)")
    parser.add_argument("--seed", type=seed_arg, default=0, help="seed of the weights and inputs (default: 0)")
    parser.add_argument(
        "--direction", choices=DIRECTIONS, default=DIRECTIONS[0], help="which way the weights are copied"
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: cpu)")
    parser.add_argument("--layers", action="store_true", help="also show every layer's z and h, both frameworks")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="show the error analysis behind the verdict: every comparison, its bound and how it is derived "
        "(gamma, unit roundoff, Lipschitz constants; docs/tolerances.md)",
    )
    parser.add_argument(
        "--onnx",
        action="store_true",
        help="also run the network in onnxruntime (CPU), exported with scratchnet.onnx.save_onnx, and judge it "
        "against the same float64 reference (needs pip install 'scratchnet[onnx]')",
    )
    parser.add_argument(
        "--json", action="store_true", help="print only the report, as JSON (see docs/report-schema.md)"
    )
    return parser


def _architecture(args):
    """The architecture ``--sizes`` and ``--activation`` ask for, or None for the article's Net."""
    if args.sizes is None and args.activation is None:
        return None
    sizes = args.sizes or (2, 4, 4, 1)
    if args.activation == "none":  # no activation anywhere
        args.activation = [None] * (len(sizes) - 1)
    if not isinstance(args.activation, list):
        return Architecture.mlp(sizes, args.activation or "relu")
    if len(args.activation) != len(sizes) - 1:
        raise ValueError(f"{len(sizes) - 1} layers need {len(sizes) - 1} activations, got {len(args.activation)}")
    pairs = zip(sizes[:-1], sizes[1:], args.activation)
    return Architecture(tuple(Layer(n_in, n_out, True, act) for n_in, n_out, act in pairs), "sequential")


def _print_net(title, net, size_of):
    print(f"== {title} ==")
    print("print(net):")
    print(net)
    print("state_dict sizes:")
    state = net.state_dict()
    for name in state:
        print(name, "\t", size_of(state[name]))
    print()


def _print_side_by_side(x, outputs, limit=8):
    print(f"== outputs on {len(x)} random input{'s' if len(x) != 1 else ''} (seeded) ==")
    fmt = lambda a: np.array2string(np.asarray(a), precision=7, floatmode="fixed", suppress_small=False)  # noqa: E731
    names = list(outputs)
    print("  ".join([f"{'input':<26}"] + [f"{n:<16}" for n in names]))
    for i in range(min(len(x), limit)):
        print("  ".join([f"{fmt(x[i]):<26}"] + [f"{fmt(outputs[n][i]):<16}" for n in names]))
    if len(x) > limit:
        print(f"... ({len(x) - limit} more)")
    print()


def main(argv=None):
    """``python -m compare [train | figures | playground] ...``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "train":
        return run_command(lambda: train_main(argv[1:]), "python -m compare train")
    if argv and argv[0] == "figures":
        return run_command(lambda: figures_main(argv[1:]), "python -m compare figures")
    if argv and argv[0] == "playground":
        from .serve import playground_main

        return run_command(lambda: playground_main(argv[1:]), "python -m compare playground")
    return run_command(lambda: compare_main(argv), "python -m compare")


def check_device(text):
    """A torch device this machine has: ``cpu``, or ``cuda``/``cuda:N`` where CUDA is present; else ValueError."""
    try:
        device = torch.device(text)
    except (RuntimeError, TypeError, ValueError) as error:
        raise ValueError(str(error).splitlines()[0] if str(error) else text) from None
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise ValueError(f"{text!r}: this command runs on cpu or cuda")
    if not torch.cuda.is_available():
        raise ValueError("CUDA is not available on this machine")
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"{text!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


#: What a comparison keeps per sample and unit of width, in float64 values: both forward passes with their
#: recorded intermediates, and the reference trace with one error bound per implementation (measured: about 21).
VALUES_PER_ACTIVATION = 24
#: Copies of each weight: both networks, the float64 reference, its absolute values, the state dicts.
COPIES_PER_WEIGHT = 8


def check_memory(parser, sizes, batch):
    """Exit 2, before any work, if comparing a network of ``sizes`` on ``batch`` inputs cannot fit in memory."""
    weights = sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])) * 8 * COPIES_PER_WEIGHT
    activations = batch * sum(sizes) * 8 * VALUES_PER_ACTIVATION
    try:
        fits_in_memory(weights + activations, f"comparing {' -> '.join(map(str, sizes))} on {batch} inputs")
    except ValueError as error:
        parser.error(f"arguments --batch and --sizes (or the checkpoint's sizes): {error}")


def compare_main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        device = check_device(args.device)
    except ValueError as error:
        parser.error(f"argument --device: {error}")
    if args.checkpoint and args.sizes:
        parser.error("argument --sizes: not with --checkpoint (the file says the sizes)")
    if not args.checkpoint:
        check_memory(parser, args.sizes or (2, 4, 4, 1), args.batch)
    if args.onnx:
        missing = _missing(("onnx", "onnxruntime"))
        if missing:  # said before any work, in one line, as a missing torch is (scratchnet.command_line.launch)
            prog = program_name("python -m compare")
            print(f"{prog}: error: --onnx needs {', '.join(missing)} (not installed); {ONNX_HINT}", file=sys.stderr)
            return 2

    shown = io.StringIO() if args.json else sys.stdout  # with --json, stdout holds the JSON document alone
    building = io.StringIO()  # what building the nets prints, held back until --onnx is known to be possible
    with contextlib.redirect_stdout(building):
        if args.checkpoint:
            scratch_net, torch_net = _from_checkpoint(parser, args, device)
        else:
            try:
                architecture = _architecture(args)
            except ValueError as error:
                parser.error(f"argument --activation: {error}")
            scratch_net, torch_net = _from_scratch(args, architecture, device)
    _check_settings_fit(parser, scratch_net)
    if args.onnx:
        try:  # an operator onnxruntime has no kernel for in this dtype: said now, in one line, before any output
            onnxruntime_session(scratch_net)
        except ValueError as error:
            parser.error(f"argument --onnx: {first_line(error)}")
    with contextlib.redirect_stdout(shown):
        print(building.getvalue(), end="")
        _print_net(f"torch ({type(torch_net).__module__}.{type(torch_net).__name__})", torch_net, lambda t: t.size())
        _print_net(
            f"scratchnet ({type(scratch_net).__module__}.{type(scratch_net).__name__})", scratch_net, lambda a: a.shape
        )
        first = next(scratch_net.parameters())
        x = np.random.default_rng(args.seed).standard_normal((args.batch, first.shape[1])).astype(first.dtype)
        report = compare_forward(scratch_net, torch_net, x, onnx=args.onnx)
        outputs = {k: report.values[k] for k in ("torch", "scratchnet", "onnxruntime") if k in report.values}
        with np.errstate(invalid="ignore"):  # inf - inf: the report says what NaN and inf mean
            outputs["|diff|"] = np.abs(outputs["torch"].astype(np.float64) - outputs["scratchnet"])
        _print_side_by_side(x, outputs)
        print(report if args.explain else report.plain() + "\n(the error analysis behind it: --explain)")
        if args.layers:
            print("per layer, against the float64 reference:")
            print(report.layer_table())
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    return 0 if report.passed else 1


def _check_settings_fit(parser, net):
    """Exit 2 if an activation's setting (ELU's alpha, softplus's beta, ...) overflows the network's dtype: torch
    cannot even convert it (float32 holds at most 3.4e38)."""
    largest = float(np.finfo(next(net.parameters()).dtype).max)
    for activation in architecture_of(net).activations:
        for key, value in (activation.kwargs if activation is not None else {}).items():
            if isinstance(value, float) and not abs(value) <= largest:
                parser.error(
                    f"argument --activation: {activation.name} {key}={value:g} does not fit in "
                    f"{next(net.parameters()).dtype} (at most {largest:.3g} in size)"
                )


def _missing(modules):
    """The modules among ``modules`` that cannot be imported here."""
    missing = []
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    return missing


def _from_scratch(args, architecture, device):
    """The article's Net (or the architecture asked for) in both frameworks, one's weights copied into the other."""
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if architecture is None:
        torch_net, scratch_net = torchnet.Net(), scratchnet.Net(rng=rng)
    else:
        torch_net, scratch_net = torchnet.build(architecture), scratchnet.build(architecture, rng=rng)
    dtype = args.dtype or "float32"
    scratch_net.to(np.dtype(dtype))
    torch_net.to(device=device, dtype=getattr(torch, dtype))
    if args.direction == "torch-to-scratch":
        copy_weights(torch_net, scratch_net)
        source, destination = "torch", "scratchnet"
    else:
        copy_weights(scratch_net, torch_net)
        source, destination = "scratchnet", "torch"
    copied = scratch_net.state_dict()
    n_values = sum(array.size for array in copied.values())
    print(f"== weights copied from {source} to {destination}: {len(copied)} tensors, {n_values} values ==")
    if n_values <= 64:
        for name, array in copied.items():
            prefix = f"{name} = "
            print(prefix + np.array2string(array, precision=4, separator=", ", prefix=prefix))
    print()
    return scratch_net, torch_net


def _from_checkpoint(parser, args, device):
    """The user's network, read from the file into scratchnet, and its torch twin."""
    try:
        state, recorded = read_checkpoint(args.checkpoint)  # one read of the file
        keys = [printable(key) for key in state]
        scratch_net = network_from_state_dict(state, args.activation, recorded=recorded, source=args.checkpoint)
    except (ValueError, TypeError, OSError) as error:  # CheckpointError is a ValueError
        parser.error(f"argument --checkpoint: {printable(first_line(error))}")
    if args.dtype:
        scratch_net.to(np.dtype(args.dtype))
    check_memory(parser, scratch_net.architecture.sizes, args.batch)
    torch_net = to_torch(scratch_net, device=device)
    source = "as the file records them" if recorded else "as --activation says (the file does not record them)"
    print(f"== checkpoint {args.checkpoint}: {describe(scratch_net)}, {next(scratch_net.parameters()).dtype} ==")
    print(f"activations {source}")
    print("its keys, in order: " + ", ".join(keys))
    for name, array in scratch_net.state_dict().items():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            print(f"note: {name} holds {bad} non-finite value{'s' if bad > 1 else ''} (NaN or inf): they propagate")
    print()
    return scratch_net, torch_net


# -- python -m compare train --------------------------------------------------------------------


def train_main(argv):
    """Learn a gate by hand and with the torch twin, from the same start; exit 1 if the weights drift apart."""
    from .gates import train_twins

    parser = ArgumentParser(
        prog="python -m compare train",
        description="Train the article's network (or an MLP) on a logic gate by hand in NumPy and its torch twin "
        "from the same start (Adam, binary cross-entropy), then show both truth tables and how far the weights "
        "drifted apart against the rounding budget.",
    )
    add_gate_arguments(parser)
    args = parser.parse_args(argv)
    status = 0
    for gate in list(GATES) if args.gate == "all" else [args.gate]:
        mine, theirs, report = train_twins(gate, **gate_options(args))
        print(
            f"training {gate.upper()} with {mine.network}, by hand and in torch from the same start, Adam lr "
            f"{args.lr}, {args.epochs} epochs, seed {args.seed}, {args.dtype}"
        )
        for result, title in ((mine, "by hand (scratchnet)"), (theirs, "torch twin (autograd)")):
            print(f"== {title}: final loss {result.losses[-1]:.6f} ==")
            print(result.truth_table())
        if args.activation == "identity" and gate == "xor" and mine.accuracy < 1:
            print(LINEAR_XOR)
        worst = report.worst
        print(
            f"weights apart by at most {max(s.max_abs_diff for s in report.steps):.3g} after {len(report.steps)} "
            f"steps; largest drift {worst.ratio:.3g} of the rounding budget (step {worst.step}, {worst.worst_tensor})"
        )
        print(report.verdict)
        print()
        status = max(status, 0 if report.passed else 1)
    return status


# -- python -m compare figures ------------------------------------------------------------------


def figures_main(argv):
    from .figures import FIGURES

    parser = ArgumentParser(
        prog="python -m compare figures",
        description="Draw the article's pictures from the project's own networks (the neuron, the network diagram, "
        "the activations, linear against non-linear boundaries) and training by hand and in torch from the same "
        "start. Needs matplotlib (pip install 'scratchnet[plot]').",
    )
    add_figure_arguments(parser, tuple(FIGURES))
    return figures_command(parser.parse_args(argv), FIGURES, prog="python -m compare")
