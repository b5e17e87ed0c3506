"""``python -m benchmarks`` and the console script ``scratchnet-bench``: see ``benchmarks.cli``.

Imports nothing heavy itself, so that a missing extra is said in one line.
"""

import sys


def main():
    """Run ``benchmarks.cli.main``, or say in one line (status 2) what is missing and how to install it."""
    try:
        from scratchnet.command_line import launch  # imports NumPy: a Ctrl-C may come now too
    except KeyboardInterrupt:
        print("python -m benchmarks: interrupted", file=sys.stderr)
        return 130

    def load():
        from .cli import main as cli_main  # torch, threadpoolctl, matplotlib: the [bench] extra

        return cli_main

    return launch("python -m benchmarks", load, "bench", requires=("torch", "threadpoolctl", "matplotlib"))


if __name__ == "__main__":
    raise SystemExit(main())
