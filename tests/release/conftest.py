"""Fixtures of the release tests (tests/release/README.md).

Off CI a missing prerequisite (root, qemu-user, docker, buildah, dist/) skips
with the reason; with CI=true it fails, because these tests must run there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("HEALTHCHECK_DIST", REPO / "dist"))
IN_CI = os.environ.get("CI") == "true"
HELPER = REPO / "tests" / "sockhelper.py"
SIZE_LIMIT = 307200


class Platform:
    """One line of static/platforms."""

    def __init__(self, line: str):
        f = line.split(None, 8)
        self.arch, self.platform, self.zig_target, self.mcpu = f[0], f[1], f[2], f[3]
        self.qemu = [f[4]] + ([] if f[5] == "-" else ["-cpu", f[5]])
        self.elf_class, self.elf_data, self.machine = f[6], f[7], f[8].strip()
        self.dir = DIST / ("linux-" + self.arch) / "healthcheck"

    def __repr__(self):
        return self.arch


def read_platforms() -> list[Platform]:
    lines = (REPO / "static" / "platforms").read_text().splitlines()
    return [Platform(x) for x in lines if x.strip() and not x.startswith("#")]


PLATFORMS = read_platforms()


def unavailable(reason: str):
    if IN_CI:
        pytest.fail("CI=true but " + reason, pytrace=False)
    pytest.skip(reason)


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


class Namespace:
    """A fresh network namespace with loopback up and a sockhelper in it."""

    def __init__(self):
        self.name = "hcrel-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.exec = ["ip", "netns", "exec", self.name]
        subprocess.run(self.exec + ["ip", "link", "set", "lo", "up"], check=True)
        self.helper = subprocess.Popen(self.exec + [sys.executable, str(HELPER)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
        assert self.helper.stdout.readline().strip() == "ready"

    def open(self, line: str) -> int:
        """A listener as tests/sockhelper.py describes it; its port."""
        self.helper.stdin.write(line + "\n")
        self.helper.stdin.flush()
        reply = self.helper.stdout.readline().split()
        assert reply[0] == "ok", reply
        return int(reply[2])

    def close(self):
        if self.helper.poll() is None:
            self.helper.stdin.write("quit\n")
            self.helper.stdin.close()
            self.helper.wait(10)
        subprocess.run(["ip", "netns", "del", self.name], check=False)


@pytest.fixture(scope="module")
def netns():
    need_root()
    need_tool("ip", "iproute2")
    ns = Namespace()
    yield ns
    ns.close()
