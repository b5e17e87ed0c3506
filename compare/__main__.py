"""``python -m compare`` and the console script ``scratchnet-compare``: see ``compare.cli``.

Imports nothing heavy itself, so that a missing torch is said in one line.
"""

import sys


def main():
    """Run ``compare.cli.main``, or say in one line (status 2) that PyTorch is needed and how to get it."""
    from scratchnet.command_line import program_name

    try:
        import torch  # noqa: F401
    except ImportError as missing:
        prog = program_name("python -m compare")
        print(f"{prog}: error: needs PyTorch ({missing}); pip install 'scratchnet[torch]'", file=sys.stderr)
        return 2
    from .cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
