"""Fixtures of the release tests (tests/release/README.md).

Off CI a missing prerequisite (root, qemu-user, docker, buildah, dist/) skips
with the reason; with CI=true it fails, because these tests must run there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# The one map of architectures and dist/ are the harness's; the tests import
# them from here.
from tests.harness import DIST as DIST
from tests.harness import PLATFORMS as PLATFORMS
from tests.harness import Netns, Platform, missing

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI") == "true"
SIZE_LIMIT = 307200


unavailable = missing  # fails under CI=true, skips elsewhere (tests/harness.py)


def need_tool(name: str, package: str):
    if shutil.which(name) is None:
        unavailable("%s not found (Debian package %s; scripts/deps.sh installs it)" % (name, package))


def need_root():
    if os.geteuid() != 0:
        unavailable("needs root (network namespaces, docker)")


def need_dist(p: Platform):
    if not (p.dir / "TCP").is_file():
        unavailable("%s missing: run make dist" % (p.dir / "TCP"))


def run(argv, timeout=60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, text=True, **kw)


class Listeners:
    """A namespace of tests/harness.py with a holder: open("tcp 4 ADDR 0") -> port."""

    def __init__(self):
        self.ns = Netns(peer=False)
        self.exec = self.ns.prefix
        self.holder = self.ns.holder()

    def open(self, line: str) -> int:
        return self.holder.cmd(line)[1]


@pytest.fixture(scope="module")
def netns():
    need_root()
    need_tool("ip", "iproute2")
    listeners = Listeners()
    yield listeners
    listeners.ns.delete()
