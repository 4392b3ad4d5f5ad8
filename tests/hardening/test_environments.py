"""Broken and locked-down environments, for both builds: the right answer
or a clear exit 1, never a hang, a traceback or another exit code.

Every run happens in a fresh network namespace holding known sockets, so
the right answer is known. See docs/reliability.md for the table."""

import errno
import fcntl
import os
import signal
import subprocess
import time

import pytest

from tests.harness import clean_env

from .conftest import launch

BACKENDS = ["auto", "netlink", "proc"]


def env_for(backend, **extra):
    return clean_env(HEALTHCHECK_BACKEND=None if backend == "auto" else backend, **extra)


@pytest.fixture
def world(ns):
    """A namespace with: TCP 127.0.0.1:P4, TCP [::]:P6 v6only=1, UDP
    0.0.0.0:U4, TCP [::]:PD dual-stack; FREE is listening nowhere."""
    h = ns.holder()
    w = {}
    _, w["P4"] = h.open("tcp", 4, "127.0.0.1")
    _, w["P6"] = h.open("tcp", 6, "::", v6only=1)
    _, w["U4"] = h.open("udp", 4, "0.0.0.0")
    _, w["PD"] = h.open("tcp", 6, "::", v6only=0)
    w["FREE"] = next(p for p in range(20000, 30000) if p not in w.values())
    w["ns"] = ns
    return w


def expect(res, rc, text=None, stream="any"):
    assert res.rc == rc, res
    assert "Traceback" not in res.out + res.err, res
    limit = 2000 if " debug: " in res.err else 400  # one line, or the --debug explanation
    assert len(res.out) + len(res.err) < limit, res
    if text is not None:
        where = {"out": res.out, "err": res.err, "any": res.out + res.err}[stream]
        assert text in where, res


def assert_right_answers(run, w, v6_tables=True, **kw):
    """The answers every environment must still get right (or, if it
    cannot read the kernel, fail with one clear line: tested elsewhere).
    Where /proc answers, the v6only it cannot see is settled by one
    loopback connect() (docs/rules.md), so the answers are the same."""
    expect(run("TCP", w["P4"], **kw), 0, "is listening", "out")
    expect(run("TCP", w["P4"], "10.77.0.1", **kw), 1, "not listening", "err")
    expect(run("TCP", w["FREE"], **kw), 1, "not listening", "err")
    expect(run("UDP", w["U4"], **kw), 0)
    expect(run("TCP6", w["P4"], **kw), 1)
    if v6_tables:
        expect(run("TCP6", w["P6"], **kw), 0)
        expect(run("TCP", w["P6"], **kw), 1)  # v6only=1: no IPv4
        expect(run("TCP", w["PD"], **kw), 0)  # dual-stack


@pytest.mark.parametrize("backend", BACKENDS)
def test_scratch_like_root_read_only_no_tmp_as_nobody(build, jail, world, backend):
    """The deployment target: a read-only root with nothing in it (no /tmp,
    /dev, /etc, shell or libc), uid 65534, only /proc mounted."""
    j = jail(build, world["ns"])
    run = lambda *a: j.run(*a, uid=65534, env=env_for(backend))  # noqa: E731
    assert_right_answers(run, world)


def test_unreadable_working_directory(build, jail, world):
    """cwd is a 0700 root-owned directory while the tool runs as uid 65534."""
    j = jail(build, world["ns"], extra_dirs={"/secret": 0o700})
    run = lambda *a: j.run(*a, uid=65534, cwd="/secret", env=env_for("auto"))  # noqa: E731
    assert_right_answers(run, world)


def test_proc_not_mounted(build, jail, world):
    """No /proc at all: netlink still answers; forcing /proc, or refusing
    netlink too, is one clear line and exit 1."""
    j = jail(build, world["ns"], proc="none")
    assert_right_answers(lambda *a: j.run(*a, env=env_for("auto")), world)
    res = j.run("TCP", world["P4"], env=env_for("proc"))
    expect(res, 1, "cannot read /proc/net/tcp", "err")
    assert res.err.count("\n") == 1
    res = j.run("TCP", world["P4"], env=env_for("auto"), seccomp=errno.EPERM)
    expect(res, 1, "cannot read /proc/net/tcp", "err")
    res = j.run("TCP6", world["P6"], "--quiet", env=env_for("proc"))
    assert (res.rc, res.out, res.err) == (1, "", "")


def test_ipv6_tables_absent(build, jail, world):
    """/proc/net/tcp6, udp6 and /proc/sys/net/ipv6 gone (IPv6 disabled at
    boot): IPv4 questions are answered from tcp/udp, IPv6 ones say "not
    listening"; --debug tells why."""
    j = jail(build, world["ns"], proc="no-ipv6")
    for backend in ("proc", "auto-refused"):
        opts = {"seccomp": errno.EPERM} if backend == "auto-refused" else {}
        env = env_for("auto" if backend == "auto-refused" else backend)
        res = j.run("TCP", world["P4"], "--debug", env=env, **opts)
        expect(res, 0, "is listening", "out")
        assert "no /proc/net/tcp6: IPv6 is off" in res.err, res
        expect(j.run("UDP", world["U4"], env=env, **opts), 0)
        expect(j.run("TCP", world["FREE"], env=env, **opts), 1, "not listening", "err")
        expect(j.run("TCP6", world["P6"], env=env, **opts), 1, "not listening", "err")
        expect(j.run("UDP6", world["U4"], env=env, **opts), 1, "not listening", "err")


@pytest.mark.parametrize("err", [errno.EPERM, errno.EACCES, errno.EAFNOSUPPORT,
                                 errno.EPROTONOSUPPORT, errno.EINVAL, errno.ENOMEM])
def test_netlink_refused_by_seccomp_falls_back_to_proc(build, launcher, world, err):
    res = launch(launcher, build, "TCP", world["P4"], "--debug", ns=world["ns"],
                 env=env_for("auto"), seccomp=err)
    expect(res, 0, "kernel interface: /proc (fallback)", "err")
    assert "errno %d" % err in res.err, res
    assert_right_answers(lambda *a: launch(launcher, build, *a, ns=world["ns"], env=env_for("auto"),
                                           seccomp=err), world)


def test_netlink_forced_but_refused_is_a_clear_error(build, launcher, world):
    res = launch(launcher, build, "TCP", world["P4"], ns=world["ns"], env=env_for("netlink"),
                 seccomp=errno.EPERM)
    expect(res, 1, "netlink socket refused", "err")
    assert res.err.count("\n") == 1


def test_netlink_refused_under_qemu_user(qemu_build, jail, world):
    """qemu-user has no NETLINK_SOCK_DIAG: the /proc fallback answers, also
    in the scratch-like jail."""
    res = jail(qemu_build, world["ns"]).run("TCP", world["P4"], "--debug", env=env_for("auto"))
    expect(res, 0, "kernel interface: /proc (fallback)", "err")
    j = jail(qemu_build, world["ns"])
    assert_right_answers(lambda *a: j.run(*a, uid=65534, env=env_for("auto")), world)


def test_netlink_silent_is_a_bounded_clear_error(build, launcher, world):
    """The netlink socket opens but nothing ever comes back (seccomp makes
    sendto/sendmsg "succeed" without sending): a bounded wait (2 s receive
    timeout), then exit 1 and one line."""
    for backend in ("auto", "netlink"):
        res = launch(launcher, build, "TCP", world["P4"], ns=world["ns"], env=env_for(backend),
                     seccomp="silent", timeout=30)
        expect(res, 1, "no answer within 2s", "err")
        assert res.err.count("\n") == 1, res
        assert res.seconds < 10, res  # one 2 s receive timeout, plus start-up
    res = launch(launcher, build, "TCP", world["P4"], ns=world["ns"], env=env_for("proc"), seccomp="silent")
    expect(res, 0)  # /proc needs no netlink


@pytest.mark.parametrize("fds", [(1,), (2,), (1, 2)])
@pytest.mark.parametrize("backend", ["netlink", "proc"])
def test_closed_stdout_stderr_keep_the_exit_code(build, launcher, world, fds, backend):
    """A closed fd 1 or 2 (the next open() or socket() may reuse the
    number): the exit code is still the answer, nothing lands in the kernel
    tables' place."""
    env = env_for(backend)
    for args, rc in [((world["P4"],), 0), ((world["FREE"],), 1), ((world["P4"], "--debug"), 0),
                     (("80x",), 1), (("--help",), 0), ((world["FREE"], "--debug"), 1)]:
        res = launch(launcher, build, "TCP", *args, ns=world["ns"], env=env, close=fds)
        assert res.rc == rc, (args, res)
        assert "Traceback" not in res.out + res.err


def run_with_pipes(cmd, stdout_fd, stderr_fd, env, timeout=20):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout_fd, stderr=stderr_fd, env=env)
    rc = proc.wait(timeout)
    return rc, time.monotonic() - start


@pytest.mark.parametrize("sigpipe", ["default", "ignored"])
def test_broken_pipe_is_not_a_wrong_exit_code(build, world, sigpipe):
    """stdout and stderr are pipes whose readers are gone (EPIPE, SIGPIPE):
    the exit code is still 0/1 by the answer, not 141 or death by signal,
    whether the parent left SIGPIPE at default or ignored it."""
    env = env_for("auto")
    pre = None
    if sigpipe == "ignored":
        pre = lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # noqa: E731
    for args, rc in [((world["P4"],), 0), ((world["FREE"],), 1), ((world["P4"], "--debug"), 0),
                     (("--help",), 0), (("junk",), 1)]:
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        os.close(r1)
        os.close(r2)
        cmd = ["ip", "netns", "exec", world["ns"].name] + build.argv("TCP", *args)
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=w1, stderr=w2, env=env,
                                    preexec_fn=pre)
            got = proc.wait(20)
        finally:
            os.close(w1)
            os.close(w2)
        assert got == rc, (args, got)


F_SETPIPE_SZ = 1031


def full_pipe(room):
    """A pipe of 4096 bytes with only `room` bytes free, and its read end."""
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    fl = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    written = 0
    while True:
        try:
            written += os.write(w, b"x" * (4096 - room - written if room else 4096))
        except BlockingIOError:
            break
        if room and written >= 4096 - room:
            break
    fcntl.fcntl(w, fcntl.F_SETFL, fl)
    return r, w


def test_full_pipe(build, world):
    """stdout is a pipe nobody reads, already full. Writing blocks, as it
    does for every program: the tool finishes when the reader drains it,
    with the right exit code. --quiet writes nothing, so it never blocks.
    (Docker reads its pipes; a reader that never drains meets the
    orchestrator's health-check timeout, like any blocked check.)"""
    env = env_for("auto")
    ns = world["ns"].name
    for args, rc in [((world["P4"],), 0), ((world["FREE"],), 1)]:
        # --quiet: nothing written, nothing blocks
        r, w = full_pipe(0)
        try:
            got, _ = run_with_pipes(["ip", "netns", "exec", ns] + build.argv("TCP", *args, "--quiet"), w, w, env)
            assert got == rc
        finally:
            os.close(r)
            os.close(w)
        # a full pipe: blocked until drained, then the right code
        r, w = full_pipe(0)
        try:
            proc = subprocess.Popen(["ip", "netns", "exec", ns] + build.argv("TCP", *args), stdin=subprocess.DEVNULL,
                                    stdout=w, stderr=w, env=env)
            try:
                proc.wait(1.5)
                blocked = False
            except subprocess.TimeoutExpired:
                blocked = True
            os.set_blocking(r, False)
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    os.read(r, 65536)
                except BlockingIOError:
                    time.sleep(0.01)
            got = proc.wait(10)
        finally:
            os.close(r)
            os.close(w)
        assert got == rc, (args, got, blocked)
        assert blocked, "a full pipe was expected to block the write (see docs/reliability.md)"
