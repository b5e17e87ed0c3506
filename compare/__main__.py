"""``python -m compare`` and the console script ``scratchnet-compare``: see ``compare.cli``.

Imports nothing heavy itself, so that a missing torch is said in one line.
"""

import sys


def main():
    try:
        return _main()
    except KeyboardInterrupt:  # during the imports (torch takes a second or two), before cli's own handling
        from scratchnet.command_line import program_name

        print(f"{program_name('python -m compare')}: interrupted", file=sys.stderr)
        return 130


def _main():
    """Run ``compare.cli.main``, or say in one line (status 2) that PyTorch is needed and how to get it."""
    from scratchnet.command_line import interrupt_after, program_name

    try:
        with interrupt_after():  # a Ctrl-C inside torch's start-up would abort the process
            import torch  # noqa: F401

            from . import cli  # noqa: F401
    except ImportError as missing:
        prog = program_name("python -m compare")
        print(f"{prog}: error: needs PyTorch ({missing}); pip install 'scratchnet[torch]'", file=sys.stderr)
        return 2
    from .cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
