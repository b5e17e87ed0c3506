"""A one-line progress bar on stderr, for long runs (no dependency: scratchnet needs NumPy only)."""

import sys
import time

__all__ = ["Progress"]


class Progress:
    """``with Progress(total, "training") as bar: bar.update(done, "loss 0.1")``.

    Draws ``label [#####.....] 50% 500/1000 note`` on one line of stderr,
    redrawn at most ten times a second, and only when stderr is a terminal
    (or ``enabled=True``): logs and test output stay clean.
    """

    def __init__(self, total, label, *, enabled=None, stream=None, width=30):
        self.total, self.label, self.width = max(int(total), 1), label, width
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._last_draw = 0.0

    def update(self, done, note=""):
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        filled = int(self.width * min(done, self.total) / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        percent = 100 * min(done, self.total) // self.total
        self.stream.write(f"\r{self.label} [{bar}] {percent:3d}% {done}/{self.total} {note}\033[K")
        self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
