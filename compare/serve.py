"""``python -m compare playground`` (and the console script ``scratchnet-playground``): serve the playground.

The playground is the marimo notebook ``compare/playground.py``, run as an app (marimo's ASGI app under
uvicorn, both of which marimo brings) on this machine. It prints its address and, unless ``--no-browser``,
opens it in a browser. Ctrl-C stops it (status 130).
"""

import logging
import os
import socket
import sys
import threading
import webbrowser
from importlib.util import find_spec
from pathlib import Path

from scratchnet.command_line import ArgumentParser, program_name, run_command

__all__ = ["NOTEBOOK", "main", "playground_main"]

#: The notebook the playground serves.
NOTEBOOK = Path(__file__).with_name("playground.py")
#: marimo's own default port.
DEFAULT_PORT = 2718
HINT = "pip install 'scratchnet[playground]'"


def build_parser(prog):
    parser = ArgumentParser(
        prog=prog,
        description="Serve the playground: one neuron, the bias as the intercept, forward propagation through the "
        "article's Net, the activations, and a network learning live beside its torch twin; every number computed "
        "by the hand-written NumPy network. Needs marimo (pip install 'scratchnet[playground]').",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free port)"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser, only print the address")
    return parser


def _port(text):
    import argparse

    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {port}")
    return port


def playground_main(argv):
    """Parse ``argv``, bind the address (or exit 2 saying why), serve until Ctrl-C."""
    prog = "python -m compare playground"
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    missing = [name for name in ("marimo", "uvicorn") if find_spec(name) is None]
    if missing:
        print(f"{program_name(prog)}: error: needs {', '.join(missing)} (not installed); {HINT}", file=sys.stderr)
        return 2
    try:
        listening = socket.create_server((args.host, args.port))
    except OSError as error:  # the port is taken, the address is not this machine's, ...
        parser.error(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}")
    host, port = listening.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"

    import marimo
    import uvicorn

    app = marimo.create_asgi_app(quiet=True).with_app(path="", root=str(NOTEBOOK)).build()
    # An open browser tab keeps a websocket: without a limit, stopping (SIGTERM) would wait for it forever.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    # asyncio warns for every message a closed browser tab can no longer receive: not the user's concern
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    print(f"scratchnet playground: {url}  (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    try:
        server.run(sockets=[listening])
    except KeyboardInterrupt:
        # The notebook's kernels run in threads that may be inside torch right now; letting the interpreter
        # tear them down can abort the process (std::terminate). Say it in one line and leave at once.
        print(f"{program_name(prog)}: interrupted", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)
    return 0


def main():
    """The console script ``scratchnet-playground``: what ``python -m compare playground`` runs."""
    from scratchnet.command_line import launch

    def load():
        import torch  # noqa: F401  (the playground's twins need it: said first, in one line)

        return lambda: run_command(lambda: playground_main(sys.argv[1:]), "python -m compare playground")

    return launch("python -m compare playground", load, "playground", requires=("torch", "marimo"))
