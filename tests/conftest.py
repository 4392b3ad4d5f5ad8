"""Test-wide settings and the fixtures every namespace test uses.

In CI the property tests are derandomized: the same examples every run, so
a landing never depends on luck. Locally they keep exploring new examples
(and remember failures in .hypothesis/).

`ns` is a fresh network namespace (tests/harness.py: Netns), `tools` runs the
build under test in it (HEALTHCHECK_TEST_BUILD: cpython, static or qemu) once
per kernel interface of HEALTHCHECK_TEST_BACKENDS (default netlink,proc;
"auto" leaves HEALTHCHECK_BACKEND unset)."""

import os

import pytest
from hypothesis import settings

from tests import harness

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


@pytest.fixture
def ns():
    harness.require("ip", "setpriv")
    space = harness.Netns()
    try:
        yield space
    finally:
        space.delete()


@pytest.fixture(params=harness.BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def tested_build():
    return harness.build(harness.BUILD)


@pytest.fixture
def tools(ns, tested_build, backend):
    return harness.Tools(ns, tested_build, backend)
