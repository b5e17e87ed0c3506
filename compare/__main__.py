"""``python -m compare`` and the console script ``scratchnet-compare``: see ``compare.cli``.

Imports nothing heavy itself, so that a missing torch is said in one line.
"""

import sys


def main():
    """Run ``compare.cli.main``, or say in one line (status 2) that PyTorch is needed and how to get it."""
    try:
        from scratchnet.command_line import launch  # imports NumPy: a Ctrl-C may come now too
    except KeyboardInterrupt:
        print("python -m compare: interrupted", file=sys.stderr)
        return 130

    def load():
        import torch  # noqa: F401  (compare needs it: say so first, in one line)

        from .cli import main as cli_main

        return cli_main

    return launch("python -m compare", load, "torch", requires=("torch",))


if __name__ == "__main__":
    raise SystemExit(main())
