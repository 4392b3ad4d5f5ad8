"""Real sockets in real network namespaces, checked by the real tools.

Which tools: HC_BIN_DIR (default: the directory of the running Python,
where `pip install .` put the console scripts), optionally run through
HC_WRAPPER (e.g. "qemu-aarch64-static"). Which kernel interfaces:
HC_BACKENDS, default "netlink,proc" ("auto" leaves HEALTHCHECK_BACKEND
unset). Needs root and iproute2: skipped with a reason on a laptop,
a failure when CI=true.
"""

import itertools
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "tests" / "sockhelper.py"
BIN_DIR = Path(os.environ.get("HC_BIN_DIR") or Path(sys.executable).parent).resolve()
WRAPPER = shlex.split(os.environ.get("HC_WRAPPER", ""))
BACKENDS = [b for b in os.environ.get("HC_BACKENDS", "netlink,proc").split(",") if b]
IN_CI = os.environ.get("CI") == "true"
TIMEOUT = 20

# The namespace's own "LAN" addresses, on a veth whose peer lives in a second
# namespace we made: specific-address cases use them.
V4_ADDR, V4_PEER = "10.77.0.1", "10.77.0.2"
V6_ADDR, V6_PEER = "fd77::1", "fd77::2"

_counter = itertools.count()


def require_root():
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    if not shutil.which("ip"):
        missing.append("iproute2 (ip)")
    if missing:
        reason = "needs %s for network namespaces" % " and ".join(missing)
        if IN_CI:
            pytest.fail(reason + " (CI=true: these tests must run)")
        pytest.skip(reason)


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=TIMEOUT, **kw)


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r)" % (self.rc, self.out, self.err)


class Helper:
    """A sockhelper.py process inside the namespace, holding sockets."""

    def __init__(self, ns):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, str(HELPER)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        assert reply.startswith("ok"), "%s -> %s" % (line, reply)
        return reply[3:].split()

    def open(self, kind, fam, addr, port=0, **opts):
        """-> (socket id, port)"""
        words = [kind, str(fam), addr, str(port)]
        words += ["%s=%s" % (k, v) for k, v in opts.items()]
        sid, got = self.cmd(" ".join(words))
        return int(sid), int(got)

    def client(self, kind, fam, addr, port):
        sid, got = self.cmd("client %s %s %s %d" % (kind, fam, addr, port))
        return int(sid), int(got)

    def establish(self, sid, count):
        return int(self.cmd("established %d %d" % (sid, count))[0])

    def close(self, sid):
        self.cmd("close %d" % sid)

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(5)
        except Exception:
            self.proc.kill()
            self.proc.wait()


class Namespace:
    """A fresh network namespace with lo up and a veth to a peer namespace:
    10.77.0.1/24 and fd77::1/64 here, .2 and ::2 there."""

    def __init__(self):
        n = next(_counter)
        self.name = "hc%d-%d" % (os.getpid(), n)
        self.peer = self.name + "p"
        self.helpers = []
        sh("ip", "netns", "add", self.name)
        sh("ip", "netns", "add", self.peer)
        self.ip("link", "set", "lo", "up")
        self.ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", self.peer)
        self.ip("addr", "add", V4_ADDR + "/24", "dev", "veth0")
        self.ip("addr", "add", V6_ADDR + "/64", "dev", "veth0", "nodad")
        self.ip("link", "set", "veth0", "up")
        sh("ip", "-n", self.peer, "link", "set", "lo", "up")
        sh("ip", "-n", self.peer, "addr", "add", V4_PEER + "/24", "dev", "veth1")
        sh("ip", "-n", self.peer, "addr", "add", V6_PEER + "/64", "dev", "veth1", "nodad")
        sh("ip", "-n", self.peer, "link", "set", "veth1", "up")

    def ip(self, *args):
        return sh("ip", "-n", self.name, *args)

    def sysctl(self, key, value):
        sh("ip", "netns", "exec", self.name, "sysctl", "-qw", "%s=%s" % (key, value))

    def helper(self, peer=False):
        h = Helper(self.peer if peer else self.name)
        self.helpers.append(h)
        return h

    def run(self, argv, env=None, uid=None, timeout=TIMEOUT):
        cmd = ["ip", "netns", "exec", self.name]
        if uid is not None:
            cmd += ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"]
        proc = subprocess.run(cmd + list(argv), capture_output=True, text=True,
                              env=env, timeout=timeout)
        return Result(proc)

    def delete(self):
        for h in self.helpers:
            h.stop()
        sh("ip", "netns", "del", self.name, check=False)
        sh("ip", "netns", "del", self.peer, check=False)


def tool_env(backend):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCHECK_")}
    if backend != "auto":
        env["HEALTHCHECK_BACKEND"] = backend
    return env


class Tools:
    """Runs TCP/UDP/TCP6/UDP6 from BIN_DIR inside a namespace."""

    def __init__(self, ns, backend, bin_dir=BIN_DIR):
        self.ns = ns
        self.backend = backend
        self.bin_dir = bin_dir

    def __call__(self, tool, *args, uid=None, backend=None):
        argv = WRAPPER + [str(self.bin_dir / tool)] + [str(a) for a in args]
        return self.ns.run(argv, env=tool_env(backend or self.backend), uid=uid)

    def ok(self, tool, *args):
        res = self(tool, *args)
        assert res.rc == 0, "expected listening: %s %s -> %r" % (tool, args, res)
        assert res.err == "" and res.out.count("\n") == 1, res
        return res

    def no(self, tool, *args):
        res = self(tool, *args)
        assert res.rc == 1, "expected not listening: %s %s -> %r" % (tool, args, res)
        assert res.out == "" and res.err.count("\n") == 1, res
        assert "Traceback" not in res.err
        return res


@pytest.fixture
def ns():
    require_root()
    space = Namespace()
    try:
        yield space
    finally:
        space.delete()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def tools(ns, backend):
    return Tools(ns, backend)
