"""Fixtures of the hardening suite (project issue 5): which builds of the
tools run, and how to start them in broken or locked-down environments.

Builds (the `build` fixture, parametrized):
  cpython  the console scripts next to the running Python (.venv/bin/TCP, ...)
  static   dist/linux-<host arch>/healthcheck/TCP, the static MicroPython binary
  qemu     dist/linux-<other arch>/healthcheck/TCP under qemu-user (only where a
           test asks for it with the `qemu_build` fixture)
A missing static binary is a skip with the reason, and a failure when
CI=true (`make test` builds dist/ first). HC_HARDENING_DIST overrides dist/.

Environments: `Jail` builds a throw-away root in a private mount namespace
(tmpfs, read-only, no /tmp, /dev or /etc, /proc optional or with
/proc/net/tcp6 hidden) and starts the tool there through hc-launch
(launch.c: chroot, uid, closed fds, seccomp filters that refuse or silence
netlink). Tests needing root skip with a reason off-CI and fail in CI.
"""

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.integration.conftest import Namespace

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI") == "true"
TOOLS = ("TCP", "UDP", "TCP6", "UDP6")
DIST = Path(os.environ.get("HC_HARDENING_DIST") or ROOT / "dist")
ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}
HOST_ARCH = ARCHES.get(os.uname().machine, os.uname().machine)
OTHER_ARCH = "arm64" if HOST_ARCH == "amd64" else "amd64"
QEMU = {"arm64": "qemu-aarch64-static", "amd64": "qemu-x86_64-static"}


def missing(reason):
    """Skip with a visible reason; in CI a missing prerequisite is a failure."""
    if IN_CI:
        pytest.fail(reason + " (CI=true: this must run)")
    pytest.skip(reason)


class Build:
    """One build of the four tools.

    bin_dir: the directory holding TCP, UDP, TCP6, UDP6
    wrapper: argv prefix (qemu-user for the other architecture)
    static: True for the MicroPython binary (one file, symlinks)
    """

    def __init__(self, name, bin_dir, wrapper=(), static=False):
        self.name = name
        self.bin_dir = Path(bin_dir)
        self.wrapper = list(wrapper)
        self.static = static

    def path(self, tool="TCP"):
        return self.bin_dir / tool

    def argv(self, tool, *args):
        return self.wrapper + [str(self.path(tool))] + [a if isinstance(a, bytes) else str(a) for a in args]

    def __repr__(self):
        return "Build(%s: %s)" % (self.name, self.bin_dir)


def cpython_build():
    return Build("cpython", Path(sys.executable).parent)


def static_build():
    bin_dir = DIST / ("linux-%s" % HOST_ARCH) / "healthcheck"
    if not (bin_dir / "TCP").is_file():
        missing("no static binary at %s (run `make dist`)" % bin_dir)
    return Build("static", bin_dir, static=True)


def qemu_build():
    bin_dir = DIST / ("linux-%s" % OTHER_ARCH) / "healthcheck"
    wrapper = shutil.which(QEMU[OTHER_ARCH])
    if not (bin_dir / "TCP").is_file():
        missing("no static %s binary at %s (run `make dist`)" % (OTHER_ARCH, bin_dir))
    if not wrapper:
        missing("%s is not installed" % QEMU[OTHER_ARCH])
    return Build("qemu-" + OTHER_ARCH, bin_dir, [wrapper], static=True)


@pytest.fixture(params=["cpython", "static"])
def build(request):
    if request.param == "cpython":
        b = cpython_build()
        if not b.path().exists():
            missing("console scripts not installed next to %s" % sys.executable)
        return b
    return static_build()


@pytest.fixture(name="qemu_build")
def qemu_build_fixture():
    return qemu_build()


def require_root():
    lack = [what for what, ok in [
        ("root", os.geteuid() == 0), ("iproute2", shutil.which("ip")),
        ("unshare", shutil.which("unshare")), ("gcc", shutil.which("gcc")),
    ] if not ok]
    if lack:
        missing("needs %s for namespaces and jails" % ", ".join(lack))


def clean_env(**extra):
    """The caller's environment minus HEALTHCHECK_*, PYTHON*, MICROPY*,
    plus `extra` (a value of None removes the key)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HEALTHCHECK_", "PYTHON", "MICROPY"))}
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


@pytest.fixture(scope="session")
def launcher(tmp_path_factory):
    """tests/hardening/launch.c, compiled statically (it also runs in an
    empty chroot)."""
    if not shutil.which("gcc"):
        missing("gcc is needed to build tests/hardening/launch.c")
    out = tmp_path_factory.mktemp("launch") / "hc-launch"
    proc = subprocess.run(["gcc", "-O1", "-Wall", "-static", "-o", str(out), str(HERE / "launch.c")],
                          capture_output=True, text=True)
    if proc.returncode != 0:  # no static libc: a dynamic one still works outside chroots
        proc = subprocess.run(["gcc", "-O1", "-Wall", "-o", str(out), str(HERE / "launch.c")],
                              capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out.chmod(0o755)
    return out


@pytest.fixture
def ns():
    require_root()
    space = Namespace()
    try:
        yield space
    finally:
        space.delete()


class Result:
    def __init__(self, rc, out, err, seconds=0.0):
        self.rc, self.out, self.err, self.seconds = rc, out, err, seconds

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r, %.2fs)" % (self.rc, self.out, self.err, self.seconds)


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


def launch_argv(launcher, argv, chroot=None, cwd=None, uid=None, close=(), seccomp=None, argv0=None):
    """hc-launch's command line for running `argv` (see launch.c)."""
    cmd = [str(launcher)]
    if chroot:
        cmd += ["--chroot", chroot]
    if cwd:
        cmd += ["--chdir", cwd]
    if uid is not None:
        cmd += ["--uid", str(uid)]
    for fd in close:
        cmd += ["--close", str(fd)]
    if seccomp == "silent":
        cmd += ["--silent-netlink"]
    elif seccomp is not None:
        cmd += ["--refuse-netlink", str(seccomp)]
    if argv0:
        cmd += ["--argv0", argv0]
    return cmd + ["--"] + [a if isinstance(a, bytes) else str(a) for a in argv]


def launch(launcher, build, tool, *args, ns=None, env=None, timeout=30, **opts):
    """Run a tool through hc-launch (no jail), in network namespace `ns`."""
    cmd = (["ip", "netns", "exec", ns.name] if ns is not None else [])
    cmd += launch_argv(launcher, build.argv(tool, *args), **opts)
    return timed_run(cmd, env, timeout)


def timed_run(cmd, env=None, timeout=30, **kw):
    import time

    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env if env is not None else clean_env(),
                          timeout=timeout, **kw)
    return Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def ns_run(ns, argv, env=None, cwd=None, uid=None, timeout=30):
    """Run argv in network namespace `ns` (as `uid`, in `cwd`)."""
    cmd = ["ip", "netns", "exec", ns.name]
    if uid is not None:
        cmd += ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"]
    return timed_run(cmd + list(argv), env, timeout, cwd=cwd)


class Jail:
    """A root of its own for one run of a tool, built in a private mount
    namespace (inside network namespace `ns`, if given):

    - a tmpfs root, remounted read-only: no /tmp, /dev, /etc, /home
    - the static build: only /healthcheck/{TCP,UDP,TCP6,UDP6}, like the
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
            lines += ["ln -s TCP $R/healthcheck/%s" % t for t in TOOLS[1:]]
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
        return timed_run(self.command(tool, args, **opts), env, timeout)


@pytest.fixture
def jail(launcher, tmp_path):
    """jail(build, ns=None, proc="full", extra_dirs=None) -> Jail"""
    require_root()

    def make(build, ns=None, proc="full", extra_dirs=None):
        return Jail(launcher, build, tmp_path, ns, proc, extra_dirs)

    return make
