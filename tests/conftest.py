"""Hypothesis profiles: ``HYPOTHESIS_PROFILE=ci`` (set by .ci/run) runs a fixed, derandomized budget."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,  # shared 2-core machines: timing is not what these tests judge
    derandomize=True,  # the same examples on every CI run: main stays green or fails for a reason
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Where torch (or matplotlib, or expecttest) is not installed, a test that imports it inside is skipped."""
    from .optional import Missing, available, hint_for

    for value in getattr(getattr(item, "callspec", None), "params", {}).values():
        if isinstance(value, Missing):  # a parametrize value made from what is not installed
            value._use()
    try:
        return (yield)
    except ImportError as error:
        missing = getattr(error, "name", None) or ""
        optional_side = ("torch", "torchnet", "compare", "benchmarks", "matplotlib", "expecttest")
        torch_side = ("torch", "torchnet", "compare", "benchmarks")
        if missing.split(".")[0] in torch_side and _raised_in_the_core(error):  # the core never needs torch
            raise
        if any(not available(name) and (name in missing or name in str(error)) for name in optional_side):
            pytest.skip(f"needs what is not installed here ({error}; {hint_for(str(error))})")
        raise


def _raised_in_the_core(error):
    """Whether the import that failed was written in scratchnet's own source (not in a test or the torch side)."""
    from pathlib import Path

    core = Path(__file__).resolve().parent.parent / "scratchnet"
    frames = []
    traceback = error.__traceback__
    while traceback is not None:
        frames.append(traceback.tb_frame.f_code.co_filename)
        traceback = traceback.tb_next
    ours = [name for name in frames if not name.startswith("<")]  # importlib's own frames are "<frozen ...>"
    return bool(ours) and Path(ours[-1]).resolve().is_relative_to(core)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Tell the stand-ins of tests/optional.py that a test runs: using one now skips it."""
    from .optional import RUNNING

    RUNNING["now"] = True
    try:
        return (yield)
    finally:
        RUNNING["now"] = False
