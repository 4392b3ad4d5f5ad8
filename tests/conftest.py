"""Test-wide settings. In CI the property tests are derandomized: the same
examples every run, so a landing never depends on luck. Locally they keep
exploring new examples (and remember failures in .hypothesis/)."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")
