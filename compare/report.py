"""Judging arrays against each other within derived tolerances, and reporting it readably."""

from dataclasses import dataclass

import numpy as np

__all__ = ["OutputComparison", "Report", "compare_outputs"]


@dataclass(frozen=True)
class OutputComparison:
    """One output judged against another, elementwise, within a derived tolerance.

    ``ratio`` is the largest ``|diff| / tolerance`` over the elements: at most 1
    passes, and how far below 1 it is shows the margin. NaN agrees with NaN and
    an infinity with the same infinity; any other non-finite value is a mismatch.
    """

    name: str
    max_abs_diff: float
    max_rel_diff: float
    max_tolerance: float
    ratio: float
    mismatches: int
    size: int
    why: str

    @property
    def passed(self):
        return self.mismatches == 0


def compare_outputs(name, mine, theirs, tolerance, why):
    """Judge ``mine`` against ``theirs`` elementwise: pass where ``|mine - theirs| <= tolerance``."""
    mine = np.asarray(mine, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    if mine.shape != theirs.shape:
        size = max(mine.size, theirs.size)
        return OutputComparison(
            name, np.inf, np.inf, np.nan, np.inf, size, size, f"shapes differ: {mine.shape} vs {theirs.shape}"
        )
    tolerance = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), mine.shape)
    with np.errstate(all="ignore"):
        diff = np.abs(mine - theirs)
        diff = np.where(mine == theirs, 0.0, diff)  # equal infinities give inf - inf = nan otherwise
        both_nan = np.isnan(mine) & np.isnan(theirs)
        diff = np.where(both_nan, 0.0, np.where(np.isnan(diff), np.inf, diff))
        agree = (diff == 0) | (diff <= tolerance)  # equal values agree even where the bound is NaN
        rel = np.where(diff == 0, 0.0, diff / np.abs(theirs))
        ratio = np.where(diff == 0, 0.0, diff / tolerance)
    largest = lambda a: float(np.max(a)) if a.size else 0.0  # noqa: E731
    return OutputComparison(
        name,
        max_abs_diff=largest(diff),
        max_rel_diff=largest(np.nan_to_num(rel, nan=np.inf)),
        max_tolerance=largest(np.nan_to_num(tolerance, nan=0.0)),
        ratio=largest(np.nan_to_num(ratio, nan=np.inf)),
        mismatches=int(np.count_nonzero(~agree)),
        size=int(mine.size),
        why=why,
    )


@dataclass(frozen=True)
class Report:
    """Several ``OutputComparison``s, what they compared, and how their tolerance was derived.

    ``values`` holds the compared arrays by name (e.g. ``values["torch"]``);
    ``str(report)`` is a readable table ending with the verdict.
    """

    title: str
    comparisons: tuple
    rule: str
    values: dict

    @property
    def passed(self):
        return all(c.passed for c in self.comparisons)

    @property
    def blamed(self):
        """The implementations outside their bound against the independent reference (rows ``X vs ... reference``)."""
        return [c.name.split(" vs ")[0] for c in self.comparisons if c.name.endswith("reference") and not c.passed]

    def __str__(self):
        head = self.title
        columns = f"  {'compared':<32} {'max |diff|':>11} {'max rel':>10} {'tolerance':>10} {'|diff|/tol':>10}  result"
        rows = [
            f"  {c.name:<32} {c.max_abs_diff:>11.3g} {c.max_rel_diff:>10.3g} "
            f"{c.max_tolerance:>10.3g} {c.ratio:>10.3g}  "
            + ("pass" if c.passed else f"FAIL ({c.mismatches} of {c.size} outside)")
            for c in self.comparisons
        ]
        reasons = {c.why for c in self.comparisons}
        if len(reasons) == 1:
            why = [f"  each row: {reasons.pop()}"]
        else:
            why = [f"  {c.name}: {c.why}" for c in self.comparisons]
        verdict = (
            "verdict: PASS, every comparison is within its derived tolerance"
            if self.passed
            else "verdict: FAIL, " + ", ".join(c.name for c in self.comparisons if not c.passed) + " outside tolerance"
        )
        blame = []
        if self.blamed:
            blame = [f"blame: {', '.join(self.blamed)} (judged against the float64 reference computed independently)"]
        return "\n".join([head, columns, *rows, "tolerance:", f"  {self.rule}", *why, verdict, *blame])
