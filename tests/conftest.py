"""Hypothesis profiles: ``HYPOTHESIS_PROFILE=ci`` (set by .ci/run) runs a fixed, derandomized budget."""

import os

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
