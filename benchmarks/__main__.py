"""``python -m benchmarks`` and the console script ``scratchnet-bench``: see ``benchmarks.cli``.

Imports nothing heavy itself, so that a missing extra is said in one line.
"""

import sys


def main():
    """Run ``benchmarks.cli.main``, or say in one line (status 2) what is missing and how to install it."""
    from scratchnet.command_line import program_name

    try:
        from .cli import main as cli_main
    except ImportError as missing:  # torch, threadpoolctl, matplotlib: the [bench] extra
        prog = program_name("python -m benchmarks")
        print(f"{prog}: error: {missing}; pip install 'scratchnet[bench]'", file=sys.stderr)
        return 2
    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
