"""``python -m benchmarks`` and the console script ``scratchnet-bench``: see ``benchmarks.cli``.

Imports nothing heavy itself, so that a missing extra is said in one line.
"""

import sys


def main():
    try:
        return _main()
    except KeyboardInterrupt:  # during the imports (torch takes a second or two), before cli's own handling
        from scratchnet.command_line import program_name

        print(f"{program_name('python -m benchmarks')}: interrupted", file=sys.stderr)
        return 130


def _main():
    """Run ``benchmarks.cli.main``, or say in one line (status 2) what is missing and how to install it."""
    from scratchnet.command_line import interrupt_after, program_name

    try:
        with interrupt_after():  # a Ctrl-C inside torch's start-up would abort the process
            from .cli import main as cli_main
    except ImportError as missing:  # torch, threadpoolctl, matplotlib: the [bench] extra
        prog = program_name("python -m benchmarks")
        print(f"{prog}: error: {missing}; pip install 'scratchnet[bench]'", file=sys.stderr)
        return 2
    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
