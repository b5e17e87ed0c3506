"""The main job: the article's network in PyTorch and in NumPy, the same weights, the same outputs.

``python -m compare`` builds the article's ``Net`` in both frameworks, copies
the weights from one to the other, prints both nets and their state_dict sizes
as the article does, runs both on a few inputs side by side, and prints the
comparison report. ``--checkpoint FILE`` does the same with a user's own MLP
(``.safetensors``, or ``.pt``/``.pth`` from ``torch.save``, read safely).
Exit status: 0 when the outputs agree within the derived tolerance, 1 when
they do not, 2 for bad options or an unusable file.
"""

import numpy as np
import torch

import scratchnet
import torchnet
from scratchnet._checks import ACTIVATION_NAMES
from scratchnet._cli import ArgumentParser, count_arg, sizes_arg
from scratchnet.checkpoint import CheckpointError, load_mlp, load_state_dict_file

from .forward import compare_forward
from .weights import copy_weights, to_torch

DIRECTIONS = ("torch-to-scratch", "scratch-to-torch")


def build_parser():
    parser = ArgumentParser(
        prog="python -m compare",
        description="Build the article's network (or an MLP) in torch and in NumPy, copy the weights, "
        "and check that both compute the same outputs.",
    )
    parser.add_argument(
        "--sizes", type=sizes_arg, help="layer widths of an MLP, e.g. 2,8,8,1 (default: the article's Net)"
    )
    parser.add_argument("--activation", choices=ACTIVATION_NAMES, help="activation of an MLP (default: relu)")
    parser.add_argument(
        "--checkpoint", metavar="FILE", help="compare your own MLP: a .safetensors file or a torch.save state dict"
    )
    parser.add_argument("--dtype", choices=("float32", "float64"), help="default: float32, or the checkpoint's")
    parser.add_argument("--batch", type=count_arg(0), default=4, help="number of random inputs (default: 4)")
    parser.add_argument("--seed", type=count_arg(0), default=0, help="seed of the weights and inputs (default: 0)")
    parser.add_argument(
        "--direction", choices=DIRECTIONS, default=DIRECTIONS[0], help="which way the weights are copied"
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: cpu)")
    return parser


def _build(args):
    """The torch and scratchnet networks the options ask for, each with its own random weights."""
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.sizes is None and args.activation is None:
        return torchnet.Net(), scratchnet.Net(rng=rng)
    sizes, activation = args.sizes or scratchnet.Net.sizes, args.activation or "relu"
    return torchnet.MLP(sizes, activation), scratchnet.MLP(sizes, activation, rng=rng)


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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        device = torch.device(args.device)
    except RuntimeError as error:
        parser.error(f"argument --device: {error}")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("argument --device: CUDA is not available on this machine")
    if args.checkpoint and args.sizes:
        parser.error("argument --sizes: not with --checkpoint (the file says the sizes)")

    if args.checkpoint:
        scratch_net, torch_net = _from_checkpoint(parser, args, device)
    else:
        scratch_net, torch_net = _from_scratch(args, device)

    _print_net(f"torch ({type(torch_net).__module__}.{type(torch_net).__name__})", torch_net, lambda t: t.size())
    _print_net(
        f"scratchnet ({type(scratch_net).__module__}.{type(scratch_net).__name__})", scratch_net, lambda a: a.shape
    )
    dtype = scratch_net.layers[0].weight.dtype
    x = np.random.default_rng(args.seed).standard_normal((args.batch, scratch_net.layers[0].in_features)).astype(dtype)
    report = compare_forward(scratch_net, torch_net, x)
    outputs = {k: report.values[k] for k in ("torch", "scratchnet")}
    outputs["|diff|"] = np.abs(outputs["torch"].astype(np.float64) - outputs["scratchnet"])
    _print_side_by_side(x, outputs)
    print(report)
    return 0 if report.passed else 1


def _from_scratch(args, device):
    """The article's Net (or an MLP) built in both frameworks, one's weights copied into the other."""
    torch_net, scratch_net = _build(args)
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
    """The user's MLP, read from the file into scratchnet, and its torch twin."""
    try:
        keys = list(load_state_dict_file(args.checkpoint))
        scratch_net = load_mlp(args.checkpoint, args.activation or "relu")
    except (CheckpointError, OSError) as error:
        parser.error(f"argument --checkpoint: {error}")
    if args.dtype:
        scratch_net.to(np.dtype(args.dtype))
    torch_net = to_torch(scratch_net, device=device)
    sizes = " -> ".join(map(str, scratch_net.sizes))
    print(
        f"== checkpoint {args.checkpoint}: an MLP {sizes}, {scratch_net.layers[0].weight.dtype}, "
        f"activation {scratch_net.activation_name} (the file does not record it: --activation says) =="
    )
    print("its keys, in order: " + ", ".join(keys))
    for name, array in scratch_net.state_dict().items():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            print(f"note: {name} holds {bad} non-finite value{'s' if bad > 1 else ''} (NaN or inf): they propagate")
    print()
    return scratch_net, torch_net
