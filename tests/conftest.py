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
    from .optional import HINT, Missing, available

    for value in getattr(getattr(item, "callspec", None), "params", {}).values():
        if isinstance(value, Missing):  # a parametrize value made from what is not installed
            value._use()
    try:
        return (yield)
    except ImportError as error:
        missing = getattr(error, "name", None) or ""
        optional_side = ("torch", "torchnet", "compare", "benchmarks", "matplotlib", "expecttest")
        if any(not available(name) and (name in missing or name in str(error)) for name in optional_side):
            pytest.skip(f"needs what is not installed here ({error}; {HINT})")
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Tell the stand-ins of tests/optional.py that a test runs: using one now skips it."""
    from .optional import RUNNING

    RUNNING["now"] = True
    try:
        return (yield)
    finally:
        RUNNING["now"] = False
