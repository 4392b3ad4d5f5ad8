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
from tests.harness import LINKS, TLS_TOOLS, Netns, Platform, missing
from tests.harness import PLATFORMS as PLATFORMS

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI") == "true"
# The two binaries of a platform (static/dist.sh), each with its size budget:
# TCP and its links, healthcheck-tls (static/tls/README.md) and HTTPS.
TLS_BINARY = "healthcheck-tls"
SIZE_LIMIT = 348160          # TCP: 340 KiB, and 300 KiB on amd64 (limit())
AMD64_SIZE_LIMIT = 307200
TLS_SIZE_LIMIT = 716800      # healthcheck-tls: 700 KB, so both stay under 1 MB
BINARIES = {"TCP": SIZE_LIMIT, TLS_BINARY: TLS_SIZE_LIMIT}


def limit(arch, binary):
    """The size budget of `binary` on `arch` (static/dist.sh holds the same)."""
    if binary == "TCP" and arch == "amd64":
        return AMD64_SIZE_LIMIT
    return BINARIES[binary]


def link_target(tool: str) -> str:
    """What the symlink `tool` in a platform's healthcheck/ points to."""
    return TLS_BINARY if tool in TLS_TOOLS else "TCP"


# Every symlink of a platform's healthcheck/ folder (and of the image's
# /healthcheck): the TCP ones, then the healthcheck-tls ones.
ALL_LINKS = LINKS + TLS_TOOLS


unavailable = missing  # fails under CI=true, skips elsewhere (tests/harness.py)


def need_tool(name: str, package: str):
    if shutil.which(name) is None:
        unavailable("%s not found (Debian package %s; scripts/deps.sh installs it)" % (name, package))


def need_root():
    if os.geteuid() != 0:
        unavailable("needs root (network namespaces, docker)")


def need_dist(p: Platform):
    """Both binaries of platform p (a dist.sh run with HEALTHCHECK_TLS=0 is
    not a release)."""
    for binary in BINARIES:
        if not (p.dir / binary).is_file():
            unavailable("%s missing: run make dist" % (p.dir / binary))


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
