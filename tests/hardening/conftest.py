"""Fixtures of the hardening suite (project issue 5): which builds of the
tools run, and how to start them in broken or locked-down environments.

Builds (tests/harness.py: build()): the `build` fixture runs a test on the
cpython console scripts and on the static binary; `qemu_build` is the other
architecture's binary under qemu-user. A missing build is a skip with the
reason, and a failure when CI=true (`make test` builds dist/ first).

Environments: `Jail` builds a throw-away root in a private mount namespace
(tmpfs, read-only, no /tmp, /dev or /etc, /proc optional or with
/proc/net/tcp6 hidden) and starts the tool there through hc-launch
(launch.c: chroot, uid, closed fds, seccomp filters that refuse or silence
netlink). Tests needing root skip with a reason off-CI and fail in CI.
"""

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests import harness
from tests.harness import LINKS, require, run

HERE = Path(__file__).resolve().parent


@pytest.fixture(params=["cpython", "static"])
def build(request):
    return harness.build(request.param)


@pytest.fixture
def qemu_build():
    return harness.build("qemu")


@pytest.fixture(scope="session")
def launcher(tmp_path_factory):
    """tests/hardening/launch.c, compiled statically (it also runs in an
    empty chroot)."""
    require("gcc", root=False)
    out = tmp_path_factory.mktemp("launch") / "hc-launch"
    proc = subprocess.run(["gcc", "-O1", "-Wall", "-static", "-o", str(out), str(HERE / "launch.c")],
                          capture_output=True, text=True)
    if proc.returncode != 0:  # no static libc: a dynamic one still works outside chroots
        proc = subprocess.run(["gcc", "-O1", "-Wall", "-o", str(out), str(HERE / "launch.c")],
                              capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out.chmod(0o755)
    return out


def python_roots():
    """What a CPython console script needs to run: the interpreter's prefix,
    the venv and where the (editable) package lives."""
    import healthcheck

    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(sysconfig.get_paths()["stdlib"]).resolve(),
             Path(healthcheck.__file__).resolve().parents[1],
             Path(sys.executable).resolve().parent}
    out = []
    for p in sorted(paths, key=lambda p: len(p.parts)):
        if not any(p == q or q in p.parents for q in out) and p != Path("/"):
            out.append(p)
    return out


def launch_argv(launcher, argv, chroot=None, cwd=None, uid=None, close=(), seccomp=None):
    """hc-launch's command line for running `argv` (see launch.c)."""
    cmd = [str(launcher)]
    for flag, value in (("--chroot", chroot), ("--chdir", cwd), ("--uid", uid)):
        cmd += [flag, str(value)] if value is not None else []
    for fd in close:
        cmd += ["--close", str(fd)]
    if seccomp is not None:
        cmd += ["--silent-netlink"] if seccomp == "silent" else ["--refuse-netlink", str(seccomp)]
    return cmd + ["--"] + [a if isinstance(a, bytes) else str(a) for a in argv]


def launch(launcher, build, tool, *args, ns, env=None, timeout=30, **opts):
    """Run a tool through hc-launch (no jail), in network namespace `ns`."""
    return ns.run(launch_argv(launcher, build.argv(tool, *args), **opts), env, timeout=timeout)


class Jail:
    """A root of its own for one run of a tool, built in a private mount
    namespace (inside network namespace `ns`, if given):

    - a tmpfs root, remounted read-only: no /tmp, /dev, /etc, /home
    - the static build: only /healthcheck/TCP and its links, like the
      FROM scratch image; the CPython build: /usr (and /lib links) plus the
      interpreter, venv and package directories, bound read-only
    - proc: "full" (a /proc of the network namespace), "none" (nothing
      mounted on /proc) or "no-ipv6" (/proc/net/tcp6, udp6 and
      /proc/sys/net/ipv6 hidden, as on a kernel booted with ipv6.disable=1)
    - extra_dirs: {path in jail: mode} made before the root turns read-only
    Started with hc-launch, so uid, cwd, closed fds and seccomp filters work
    without a shell or libc inside.
    """

    def __init__(self, launcher, build, tmp_path, ns=None, proc="full", extra_dirs=None):
        self.launcher = launcher
        self.build = build
        self.root = tmp_path / ("jail-%d" % len(list(tmp_path.glob("jail-*"))))
        self.root.mkdir()
        self.ns = ns
        self.proc = proc
        self.extra_dirs = extra_dirs or {}

    def script(self):
        r = shlex.quote(str(self.root))
        lines = ["set -eu", "R=%s" % r,
                 "mount -t tmpfs -o mode=755 hcjail $R",
                 "mkdir -p $R/proc $R/hc-launch-dir",
                 "cp %s $R/hc-launch-dir/hc-launch" % shlex.quote(str(self.launcher))]
        if self.build.static:
            lines.append("mkdir -p $R/healthcheck")
            lines.append("cp %s $R/healthcheck/TCP" % shlex.quote(str(self.build.path("TCP").resolve())))
            lines += ["ln -s TCP $R/healthcheck/%s" % t for t in LINKS]
            if self.build.wrapper:
                qemu = self.build.wrapper[0]
                lines.append("mkdir -p $R%s && cp %s $R%s" % (
                    shlex.quote(os.path.dirname(qemu)), shlex.quote(qemu), shlex.quote(qemu)))
        else:
            lines += ["mkdir -p $R/usr", "mount --rbind -o ro /usr $R/usr"]
            for link in ("bin", "lib", "lib64", "sbin"):
                if os.path.islink("/" + link):
                    lines.append("ln -s %s $R/%s" % (shlex.quote(os.readlink("/" + link)), link))
                elif os.path.isdir("/" + link):
                    lines.append("mkdir -p $R/%s && mount --rbind -o ro /%s $R/%s" % (link, link, link))
            for p in python_roots():
                if str(p).startswith("/usr/"):
                    continue
                q = shlex.quote(str(p))
                lines.append("mkdir -p $R%s && mount --rbind -o ro %s $R%s" % (q, q, q))
        for path, mode in self.extra_dirs.items():
            q = shlex.quote(path)
            lines.append("mkdir -p $R%s && chmod %o $R%s" % (q, mode, q))
        if self.proc in ("full", "no-ipv6"):
            lines.append("mount -t proc proc $R/proc")
        if self.proc == "no-ipv6":
            # $$ is the pid the tool will have: sh execs hc-launch, which
            # execs the tool. Its /proc/PID/net gets a tmpfs holding only the
            # real tcp and udp tables.
            lines += [
                "F=$R/hc-launch-dir/net && mkdir $F && mount -t tmpfs -o mode=755 hcnet $F",
                "touch $F/tcp $F/udp",
                "mount --bind $R/proc/$$/net/tcp $F/tcp",
                "mount --bind $R/proc/$$/net/udp $F/udp",
                "mount --rbind $F $R/proc/$$/net",
                "mount -t tmpfs -o ro,mode=755 hcnoipv6 $R/proc/sys/net/ipv6",
            ]
        lines.append("mount -o remount,ro $R")
        lines.append("if touch $R/probe 2>/dev/null; then echo 'jail root is writable' >&2; exit 124; fi")
        return "\n".join(lines)

    def command(self, tool, args, **opts):
        cmd = []
        if self.ns is not None:
            cmd += ["ip", "netns", "exec", self.ns.name]
        cmd += ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                self.script() + '\nexec "$@"', "hc-jail"]
        tool_path = "/healthcheck/" + tool if self.build.static else str(self.build.path(tool))
        return cmd + launch_argv(self.launcher, self.build.wrapper + [tool_path] + list(args),
                                 chroot=str(self.root), **opts)

    def run(self, tool, *args, env=None, timeout=30, **opts):
        return run(self.command(tool, args, **opts), env, timeout)


@pytest.fixture
def jail(launcher, tmp_path):
    """jail(build, ns=None, proc="full", extra_dirs=None) -> Jail"""
    require("ip", "unshare")

    def make(build, ns=None, proc="full", extra_dirs=None):
        return Jail(launcher, build, tmp_path, ns, proc, extra_dirs)

    return make
