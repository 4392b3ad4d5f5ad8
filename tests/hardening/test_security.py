"""The tools never run code they were not built with, and the static binary
touches only what it needs.

Planted modules (healthcheck/, TCP.py, main.py, struct.py, socket.py, ...)
wait in the working directory, in MICROPYPATH, PYTHONPATH and HOME-based
paths (~/.micropython/lib, ~/.local/lib/pythonX.Y/site-packages). Each one,
if imported, writes a marker file and prints PLANTED. strace -f lists every
file and socket the static binary touches (docs/reliability.md has the list).
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.harness import build, clean_env, require

PLANTED_NAMES = ["healthcheck/__init__.py", "healthcheck/cli.py", "healthcheck/netlink.py", "TCP.py",
                 "main.py", "boot.py", "struct.py", "socket.py", "_socket.py", "errno.py", "os.py",
                 "sys.py", "usocket.py", "ustruct.py", "sitecustomize.py", "usercustomize.py"]


def plant(where, marks):
    """Put every planted module under `where`; importing one writes marks/<name>."""
    for name in PLANTED_NAMES:
        path = where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tag = "%s-%s" % (where.name, name.replace("/", "."))
        path.write_text("f = open(%r, 'w')\nf.write('ran')\nf.close()\nprint('PLANTED %s')\n"
                        "raise SystemExit(0)\n" % (str(marks / tag), tag))
    return where


@pytest.fixture
def planted(tmp_path):
    """(cwd, env) with planted code everywhere a Python might look."""
    marks = tmp_path / "marks"
    marks.mkdir()
    cwd = plant(tmp_path / "cwd", marks)
    mpath = plant(tmp_path / "micropypath", marks)
    ppath = plant(tmp_path / "pythonpath", marks)
    home = tmp_path / "home"
    plant(home / ".micropython" / "lib", marks)
    plant(home / ".local" / "lib" / ("python%d.%d" % sys.version_info[:2]) / "site-packages", marks)
    for d in (tmp_path, cwd, marks, home):
        d.chmod(0o777)
    env = clean_env(MICROPYPATH="%s:%s" % (mpath, cwd), HOME=str(home), MICROPYINSPECT="1",
                    PYTHONSTARTUP=str(ppath / "main.py"), PYTHONUSERBASE=str(home / ".local"))
    return cwd, env, marks, ppath


def assert_not_run(res, marks):
    assert "PLANTED" not in res.out + res.err, res
    assert sorted(os.listdir(marks)) == [], "planted code ran: %s" % os.listdir(marks)


@pytest.mark.parametrize("which", ["static", "qemu"])
def test_static_binary_never_imports_planted_code(which, ns, planted):
    tested = build(which)
    cwd, env, marks, ppath = planted
    env = dict(env, PYTHONPATH=str(ppath))
    h = ns.holder()
    _, port = h.open("tcp", 4, "127.0.0.1")
    for args, rc in [((port,), 0), ((port + 1 if port < 65535 else 1,), 1), (("--help",), 0),
                     (("x",), 1), ((port, "--debug"), 0)]:
        res = ns.run(tested.argv("TCP", *args), env, cwd=str(cwd))
        assert res.rc == rc, (args, res)
        assert_not_run(res, marks)
    res = ns.run(tested.argv("UDP6", "53"), env, cwd=str(cwd), uid=65534)
    assert res.rc == 1 and "not listening" in res.err, res
    assert_not_run(res, marks)


def test_console_scripts_ignore_cwd_and_home(ns, planted):
    """The console scripts put their own directory first on sys.path, never
    the working directory; the venv has no user site-packages. (PYTHONPATH
    and PYTHONSTARTUP-like variables are CPython's documented behaviour:
    whoever sets the environment of a CPython program can run code in it.
    The static binary is the one for untrusted environments.)"""
    script = build("cpython").path("TCP")
    cwd, env, marks, _ = planted
    h = ns.holder()
    _, port = h.open("tcp", 4, "127.0.0.1")
    for args, rc in [((port,), 0), (("x",), 1), ((port, "--debug"), 0)]:
        res = ns.run([script, *args], env, cwd=str(cwd))
        assert res.rc == rc, (args, res)
        assert_not_run(res, marks)


def test_static_binary_under_another_name_is_not_an_interpreter(tmp_path, planted):
    """The tool is chosen by the name it was started as (README, Usage). A copy under
    another name (tcp-check, healthcheck) must say so and exit 1, like the
    console scripts do, not turn into a MicroPython interpreter that runs
    files named on the command line (exit 2 when they are missing) or
    imports from the working directory, MICROPYPATH or ~/.micropython."""
    static = build("static")
    cwd, env, marks, _ = planted
    for name in ("tcp-check", "healthcheck"):
        copy = tmp_path / name
        shutil.copy(static.path("TCP"), copy)
        for args in (["80"], ["-c", "import main"], ["main.py"], []):
            proc = subprocess.run([str(copy)] + args, capture_output=True, text=True, env=env, cwd=str(cwd),
                                  stdin=subprocess.DEVNULL, timeout=20)
            assert proc.returncode == 1, (name, args, proc)
            assert "PLANTED" not in proc.stdout + proc.stderr and os.listdir(marks) == [], (name, args, proc)
            assert "TCP, UDP, TCP6, UDP6" in proc.stderr, (name, args, proc)


# ---- strace: what the static binary touches ---------------------------------

FILE_CALLS = {"open", "openat", "openat2", "stat", "lstat", "newfstatat", "statx", "access", "faccessat",
              "faccessat2", "readlink", "readlinkat", "execve", "execveat", "chdir", "mkdir", "mkdirat",
              "unlink", "unlinkat", "rename", "renameat", "renameat2", "creat", "truncate", "chmod",
              "fchmodat", "chown", "fchownat", "symlink", "symlinkat", "link", "linkat", "getdents64",
              "statfs", "mount", "chroot", "pivot_root"}
NET_CALLS = {"socket", "connect", "bind", "listen", "accept", "accept4", "sendto", "sendmsg", "sendmmsg",
             "recvfrom", "recvmsg", "setsockopt", "getsockopt", "socketpair", "shutdown"}
# /sys/kernel/notes: the kernel's byte order, read once on the /proc path
# (procnet.py: it differs from the CPU's under cross-endian qemu-user).
PROC_FILES = {"/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6",
              "/proc/sys/net/ipv6/bindv6only", "/proc/net/if_inet6", "/sys/kernel/notes"}
NETLINK_SOCKET = "socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG)"
ROUTE_SOCKET = "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)"  # IPv6 questions: is IPv6 on here?


def strace(ns, argv, env, cwd, out):
    cmd = ns.prefix + ["strace", "-f", "-qq", "-s", "200", "-o", str(out)] + argv
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=30)
    calls = []
    for line in out.read_text().splitlines():
        m = re.match(r"^(?:\d+\s+)?(\w+)\((.*)$", line)
        if m:
            calls.append((m.group(1), m.group(2)))
    return proc, calls


@pytest.mark.parametrize("backend", ["auto", "netlink", "proc"])
@pytest.mark.parametrize("tool", ["TCP", "UDP6"])
def test_static_binary_touches_only_what_it_needs(tool, backend, ns, planted, tmp_path):
    require("strace")
    static = build("static")
    cwd, env, marks, ppath = planted
    env = dict(env, PYTHONPATH=str(ppath))
    if backend != "auto":
        env["HEALTHCHECK_BACKEND"] = backend
    h = ns.holder()
    if tool == "TCP":
        _, port = h.open("tcp", 4, "0.0.0.0")
    else:
        _, port = h.open("udp", 6, "::")
    proc, calls = strace(ns, static.argv(tool, port, "--debug"), env, str(cwd), tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    names = {name for name, _ in calls}
    files, sockets, problems = set(), [], []
    for name, args in calls:
        if name in FILE_CALLS:
            m = re.search(r'"([^"]*)"', args)
            path = m.group(1) if m else args
            if name == "execve" and path == str(static.path(tool)):
                continue
            files.add(path)
        elif name == "socket":
            sockets.append("socket(" + args.split(")")[0] + ")")
        elif name in ("connect", "bind", "listen", "accept", "accept4", "sendmmsg", "socketpair"):
            problems.append("%s(%s" % (name, args))
        elif name in ("write", "writev", "pwrite64") and not re.match(r"^[12],", args):
            problems.append("%s(%s" % (name, args[:80]))
        elif name in ("sendto", "sendmsg") and not re.search(
                r"nlmsg_type=(SOCK_DIAG_BY_FAMILY|0x14|TCPDIAG_GETSOCK|0x12|RTM_GETADDR|0x16)\b", args):
            problems.append("%s(%s" % (name, args[:120]))
    if backend == "proc":
        assert files <= PROC_FILES and sockets == [], (files, sockets)
        assert "/proc/net/" + tool.lower()[:3] + "6" in files
    else:
        assert files == set(), files  # netlink needs no file at all
        assert sockets == [NETLINK_SOCKET] + ([ROUTE_SOCKET] if tool.endswith("6") else []), sockets
    assert not problems, problems
    assert not [c for c in names if c in ("fork", "vfork", "clone", "clone3", "execveat")], names
    assert_not_run(type("R", (), {"out": proc.stdout, "err": proc.stderr})(), marks)


def test_static_binary_reads_proc_tables_in_chunks(ns, tmp_path):
    """MicroPython reads an iterated file one byte per read(2): 15 million
    system calls (5 s here) for 100,000 sockets. The tables are read in
    64 KB chunks instead (procnet.scan_table)."""
    require("strace")
    static = build("static")
    h = ns.holder()
    sid, port = h.open("tcp", 4, "127.0.0.1")
    h.establish(sid, 300)
    size = len(ns.run(["cat", "/proc/net/tcp"]).out)
    assert size > 40000
    out = tmp_path / "trace"
    cmd = ns.prefix + ["strace", "-qq", "-e", "trace=read", "-o", str(out)]
    proc = subprocess.run(cmd + static.argv("TCP", port + 1 if port < 65535 else 1),
                          env=clean_env(HEALTHCHECK_BACKEND="proc"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "not listening" in proc.stderr, proc
    reads = out.read_text().count("read(")
    assert reads < 100, "%d read() calls for a %d-byte table" % (reads, size)
