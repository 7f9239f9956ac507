"""Shared test configuration: Hypothesis profiles.

Select one with the HYPOTHESIS_PROFILE environment variable:

``dev`` (default)
    Quick enough for every local run.
``ci``
    Twice the examples and no per-example deadline (shared CI machines are
    slow and noisy); the fuzz harnesses, not this profile, do the long
    random searches.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    max_examples=200,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=400,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
