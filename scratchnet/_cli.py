"""Command-line helpers shared by ``python -m compare``, ``python -m benchmarks`` and friends."""

import argparse

from ._checks import check_count, check_sizes

__all__ = ["ArgumentParser", "sizes_arg", "count_arg"]


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line on stderr and exit status 2, never a traceback."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def sizes_arg(text):
    """Parse ``"2,4,4,1"`` into layer widths."""
    try:
        return check_sizes(int(part) for part in text.split(","))
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive widths such as 2,4,4,1, got {text!r} ({error})"
        ) from None


def count_arg(minimum):
    """An argparse type: an integer >= ``minimum``."""

    def parse(text):
        try:
            return check_count(int(text), "value", minimum=minimum)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None

    parse.__name__ = f"integer >= {minimum}"
    return parse
