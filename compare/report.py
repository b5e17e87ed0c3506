"""Judging arrays against each other within derived tolerances, and reporting it readably."""

from dataclasses import dataclass

import numpy as np

__all__ = ["SCHEMA_VERSION", "LayerReport", "OutputComparison", "Report", "compare_outputs"]

#: The version of ``Report.to_dict()``'s form (and ``python -m compare --json``). Raised when a key changes meaning.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class OutputComparison:
    """One output judged against another, elementwise, within a derived tolerance.

    ``ratio`` is the largest ``|diff| / tolerance`` over the elements: at most 1
    passes, and how far below 1 it is shows the margin. NaN agrees with NaN and
    an infinity with the same infinity; any other non-finite value is a mismatch.
    ``non_finite`` counts those agreements: values that agree without being
    numbers, which the verdict says aloud (a PASS over NaN proves nothing).
    ``unbounded`` counts values that differ where the bound is infinite or
    NaN (an infinite input, a bound that overflowed): such a bound allows
    everything and so proves nothing; they count as mismatches.
    """

    name: str
    max_abs_diff: float
    max_rel_diff: float
    max_tolerance: float
    ratio: float
    mismatches: int
    size: int
    why: str
    non_finite: int = 0
    unbounded: int = 0

    @property
    def passed(self):
        return self.mismatches == 0

    @property
    def unjudged(self):
        """True when every mismatch lies where the bound is infinite: not a proof of a difference, nor of none."""
        return 0 < self.mismatches == self.unbounded

    def to_dict(self):
        """JSON-ready: numbers as numbers, non-finite ones as the strings ``"inf"``, ``"-inf"``, ``"nan"``."""
        return {
            "name": self.name,
            "passed": self.passed,
            "max_abs_diff": _number(self.max_abs_diff),
            "max_rel_diff": _number(self.max_rel_diff),
            "max_tolerance": _number(self.max_tolerance),
            "ratio": _number(self.ratio),
            "mismatches": self.mismatches,
            "size": self.size,
            "why": self.why,
            "non_finite": self.non_finite,
            "unbounded": self.unbounded,
        }


def _number(value):
    value = float(value)
    return value if np.isfinite(value) else ("nan" if np.isnan(value) else ("inf" if value > 0 else "-inf"))


@dataclass(frozen=True)
class LayerReport:
    """One layer's pre-activation ``z`` and output ``h``, from each framework, judged against the reference's."""

    name: str
    comparisons: tuple

    @property
    def passed(self):
        return all(c.passed for c in self.comparisons)

    def to_dict(self):
        return {"name": self.name, "passed": self.passed, "comparisons": [c.to_dict() for c in self.comparisons]}


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
        # Equal values agree even where the bound is NaN; different ones only within a finite bound (an infinite
        # one allows everything, even NaN against a number, and proves nothing).
        finite_bound = np.isfinite(tolerance)
        agree = (diff == 0) | ((diff <= tolerance) & finite_bound)
        rel = np.where(diff == 0, 0.0, diff / np.abs(theirs))
        ratio = np.where(diff == 0, 0.0, diff / tolerance)
    largest = lambda a: float(np.max(a)) if a.size else 0.0  # noqa: E731
    return OutputComparison(
        name,
        max_abs_diff=largest(diff),
        max_rel_diff=largest(np.nan_to_num(rel, nan=np.inf, posinf=np.inf)),
        # where both are numbers: the bound at a NaN or an infinity (agreeing or not by identity) says nothing
        max_tolerance=largest(
            np.nan_to_num(np.where(np.isfinite(mine) & np.isfinite(theirs), tolerance, 0.0), posinf=np.inf)
        ),
        ratio=largest(np.nan_to_num(ratio, nan=np.inf, posinf=np.inf)),  # inf stays inf: a bound of 0 exceeded
        mismatches=int(np.count_nonzero(~agree)),
        size=int(mine.size),
        why=why,
        non_finite=int(np.count_nonzero(both_nan | (np.isinf(mine) & (mine == theirs)))),
        unbounded=int(np.count_nonzero((diff != 0) & ~finite_bound)),
    )


def _between(name):
    """``"scratchnet vs torch"`` -> ``"scratchnet and torch"``; a gradient report's row ``"fc1.weight"`` ->
    ``"scratchnet and torch (fc1.weight gradient)"``."""
    return name.replace(" vs ", " and ") if " vs " in name else f"scratchnet and torch ({name} gradient)"


def _fail_line(what, c, rounding):
    """``verdict: FAIL, <what> by more than <rounding> allows: ...`` for the failing comparison ``c`` (or CANNOT
    JUDGE when its every mismatch lies where the bound is infinite)."""
    if c.unjudged:
        return (
            f"verdict: CANNOT JUDGE, {what.removesuffix(' differs').removesuffix(' differ')}: {c.unbounded} of "
            f"{c.size} values differ where the bound is infinite (an infinite or huge input, or sums that may "
            f"overflow {rounding.removesuffix(' rounding')}): nothing can be proved there, either way"
        )
    return (
        f"verdict: FAIL, {what} by more than {rounding} allows: {c.max_abs_diff:.2g} apart where at most "
        f"{c.max_tolerance:.2g} is allowed ({c.mismatches} of {c.size} values)" + _unbounded_note(c)
    )


def _unbounded_note(comparison):
    if not comparison.unbounded:
        return ""
    return (
        f"; {comparison.unbounded} of them differ where the bound is infinite (an infinite or huge input): "
        "nothing can be proved there"
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
    layers: tuple = ()  # LayerReport per layer, when the comparison was made layer by layer
    dtype: str = ""  # the dtype compared ("float32"), for the plain verdict

    def plain(self):
        """The verdict in plain words, for a learner: how far apart the outputs are, and how far rounding allows.

        ``verdict: PASS, the same to within rounding: at most 2.4e-08 apart, where float32 rounding allows
        5.1e-07``. The error analysis behind "allows" is ``str(report)`` (``python -m compare --explain``).
        """
        rounding = f"{self.dtype} rounding" if self.dtype else "rounding"
        if self.passed:
            between = [c for c in self.comparisons if " vs " in c.name and not c.name.endswith("reference")]
            between = [c for c in between if not c.name.startswith("weights")] or list(self.comparisons)
            pair = between[0]
            names = _between(pair.name)
            if pair.max_abs_diff == 0:
                said = f"{names} give exactly the same outputs ({rounding} would allow {pair.max_tolerance:.2g})"
            else:
                said = (
                    f"the same to within rounding: {names} are at most {pair.max_abs_diff:.2g} apart, where "
                    f"{rounding} allows {pair.max_tolerance:.2g}"
                )
            lines = [f"verdict: PASS, {said}"]
            alone = [c for layer in self.layers for c in layer.comparisons if c.name.endswith(" alone")]
            if alone:
                lines.append(
                    f"  and each of the {len(self.layers)} layers, run alone on the same input, is within its own "
                    f"bound (at most {max(c.ratio for c in alone):.2g} of it)"
                )
            if pair.non_finite:
                lines.append(
                    f"  but {pair.non_finite} of {pair.size} outputs are NaN or infinite on both sides: equal, but "
                    "not numbers, so they prove nothing (look at the input)"
                )
            for c in self.comparisons:  # witnesses beyond the pair (onnxruntime), said against the reference
                witness = c.name.split(" vs ")[0]
                if c.name.endswith("reference") and witness not in pair.name:
                    lines.append(
                        f"  and {witness} is at most {c.max_abs_diff:.2g} from the float64 reference, where "
                        f"{rounding} allows {c.max_tolerance:.2g}"
                    )
        else:
            lines = [_fail_line(f"{_between(c.name)} differ", c, rounding) for c in self.comparisons if not c.passed]
            if not lines:  # the outputs' chained bounds were too wide to see it; a layer's own bound is not
                layer = next(layer for layer in self.layers if not layer.passed)
                lines = [
                    _fail_line(f"in layer {layer.name}, {c.name} differs from the float64 reference", c, rounding)
                    for c in layer.comparisons
                    if not c.passed
                ]
        return "\n".join([self.title, *lines, *self._blame_lines()])

    def _blame_lines(self):
        lines = []
        if self.blamed:
            lines.append(
                f"blame: {', '.join(self.blamed)} (judged against the float64 reference computed independently)"
            )
        if self.first_failing_layer is not None:
            lines.append(
                f"first layer outside its bound: {self.first_failing_layer} (--layers, or report.layer_table())"
            )
        return lines

    @property
    def passed(self):
        """Every comparison, and every layer's (each rigorous: one outside its bound is a difference too)."""
        return all(c.passed for c in self.comparisons) and self.first_failing_layer is None

    @property
    def unjudged(self):
        """Not passed, but every difference lies where a bound is infinite: nothing proved, either way."""
        rows = [*self.comparisons, *(c for layer in self.layers for c in layer.comparisons)]
        failing = [c for c in rows if not c.passed]
        return bool(failing) and all(c.unjudged for c in failing)

    @property
    def first_failing_layer(self):
        """The state-dict prefix (``"fc3"``, ``"4"``) of the first layer outside its bound, or None."""
        return next((layer.name for layer in self.layers if not layer.passed), None)

    def layer_table(self):
        """Every layer's z and h, both frameworks, against the reference: one row each."""
        lines = [f"  {'layer':<10} {'compared':<24} {'max |diff|':>11} {'tolerance':>10} {'|diff|/tol':>10}  result"]
        for layer in self.layers:
            for c in layer.comparisons:
                result = "pass" if c.passed else f"FAIL ({c.mismatches} of {c.size} outside)"
                lines.append(
                    f"  {layer.name:<10} {c.name:<24} {c.max_abs_diff:>11.3g} {c.max_tolerance:>10.3g} "
                    f"{c.ratio:>10.3g}  {result}"
                )
        return "\n".join(lines)

    def to_dict(self):
        """The whole report in a stable JSON-ready form (``schema_version`` says which); see docs/report-schema.md."""
        return {
            "schema_version": SCHEMA_VERSION,
            "title": self.title,
            "passed": self.passed,
            "blamed": self.blamed,
            "first_failing_layer": self.first_failing_layer,
            "rule": self.rule,
            "dtype": self.dtype,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "layers": [layer.to_dict() for layer in self.layers],
        }

    @property
    def blamed(self):
        """The implementations outside their bound against the independent reference (rows ``X vs ... reference``;
        when every output is within its bound, the rows of the first layer outside its own)."""
        wrong = lambda c: not c.passed and not c.unjudged  # noqa: E731 (nothing proved where unjudged)
        blamed = [c.name.split(" vs ")[0] for c in self.comparisons if c.name.endswith("reference") and wrong(c)]
        if blamed or self.first_failing_layer is None:
            return blamed
        layer = next(layer for layer in self.layers if not layer.passed)
        return list(dict.fromkeys(c.name.split(" ")[0] for c in layer.comparisons if wrong(c)))

    def __str__(self):
        head = self.title
        columns = f"  {'compared':<32} {'max |diff|':>11} {'max rel':>10} {'tolerance':>10} {'|diff|/tol':>10}  result"
        rows = [
            f"  {c.name:<32} {c.max_abs_diff:>11.3g} {c.max_rel_diff:>10.3g} "
            f"{c.max_tolerance:>10.3g} {c.ratio:>10.3g}  "
            + ("pass" if c.passed else f"FAIL ({c.mismatches} of {c.size} outside)")
            for c in self.comparisons
        ]
        rows += [
            f"  {c.name}: {c.unbounded} of {c.size} values differ where the bound is infinite: nothing proved there"
            for c in self.comparisons
            if c.unbounded
        ]
        rows += [
            f"  {c.name}: {c.non_finite} of {c.size} values NaN or infinite on both sides (they agree as values only)"
            for c in self.comparisons
            if c.non_finite
        ]
        reasons = {c.why for c in self.comparisons}
        if len(reasons) == 1:
            why = [f"  each row: {reasons.pop()}"]
        else:
            why = [f"  {c.name}: {c.why}" for c in self.comparisons]
        failing = [c.name for c in self.comparisons if not c.passed]
        if self.first_failing_layer is not None:
            failing.append(f"layer {self.first_failing_layer}")
        if self.passed:
            verdict = "verdict: PASS, every comparison is within its derived tolerance"
        elif self.unjudged:
            verdict = "verdict: CANNOT JUDGE, " + ", ".join(failing) + " differ only where the bound is infinite"
        else:
            verdict = "verdict: FAIL, " + ", ".join(failing) + " outside tolerance"
        return "\n".join([head, columns, *rows, "tolerance:", f"  {self.rule}", *why, verdict, *self._blame_lines()])
