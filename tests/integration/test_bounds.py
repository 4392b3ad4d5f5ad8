"""A check always ends in bounded time (docs/rules.md, "Time"): the /proc
v6only settle spends at most one connect() timeout however many ports are
asked; --wait tries again after a kernel error until its deadline; Ctrl-C
ends a check with a line and exit 1, never a traceback."""

import os
import shlex
import signal
import subprocess
import time

from tests.harness import Tools, clean_env, require


def test_the_settle_is_bounded_however_many_ports_are_asked(ns, tested_build):
    # Five dual-stack listeners whose accept queues are full: on /proc their
    # v6only is unknown and a connect() to them gets no answer. The first
    # settle that fails decides (every port must listen); the others are not
    # tried, so the check takes one connect() timeout (1 s), not five.
    tools = Tools(ns, tested_build, "proc")
    h = ns.holder()
    ports = []
    for _ in range(5):
        sid, port = h.open("tcp", 6, "::", v6only=0, backlog=0)
        h.clients(sid, 4)
        ports.append(str(port))
    res = tools("TCP", ",".join(ports), "--debug")
    assert res.rc == 1 and "Traceback" not in res.err, res
    assert res.seconds < 2.5, res
    assert res.err.count("TCP debug: port %s: v6only unknown; a connect() to 127.0.0.1:" % ports[0]) == 1, res
    assert res.err.count("v6only unknown; a connect()") == 2, res  # that note and the line
    line = res.err.splitlines()[-1]
    assert line.startswith("TCP port %s is not listening ([::]:%s: v6only unknown; a connect() to 127.0.0.1:%s "
                           "got no answer within 1s" % (ports[0], ports[0], ports[0])), line
    assert line.endswith("also not: %s" % ",".join(ports[1:])), line


def fake_proc(tmp_path, port):
    """A directory to mount over /proc whose net/tcp holds a row on `port`
    that is no row the kernel writes: reading it fails as a torn table would."""
    net = tmp_path / "proc" / "net"
    net.mkdir(parents=True)
    for name in ("tcp", "tcp6"):
        (net / name).write_text("  sl  local_address\n   0: 00000000:%04X 00000000:0000 0A not-a-queue\n" % port)
    return net.parent


def in_mount_ns(ns, tools, proc, script_tail, *args):
    """Run the tool in `ns` with `proc` mounted over /proc (ip netns exec
    gives the command a mount namespace of its own), `script_tail` after the
    mount, as shell text; -> Result."""
    argv = " ".join(shlex.quote(str(a)) for a in tools.build.argv(*args))
    script = "mount --bind %s /proc || exit 3; %s exec %s" % (shlex.quote(str(proc)), script_tail, argv)
    return ns.run(["sh", "-c", script], clean_env(HEALTHCHECK_BACKEND="proc"))


def test_wait_tries_again_after_a_kernel_error(ns, tested_build, tmp_path):
    require("busybox")  # its umount needs no /proc/self/mountinfo, which the fake /proc lacks
    tools = Tools(ns, tested_build, "proc")
    _, port = ns.holder().open("tcp", 4, "0.0.0.0")
    proc = fake_proc(tmp_path, port)
    res = in_mount_ns(ns, tools, proc, "", "TCP", port)
    assert res.rc == 1 and "no tx_queue:rx_queue column" in res.err, res  # the error it starts with
    # The real /proc comes back after 0.6 s: the wait goes on through the errors and then holds.
    res = in_mount_ns(ns, tools, proc, "(sleep 0.6; busybox umount -l /proc) &", "TCP", port, "--wait", "10")
    assert res.rc == 0 and "is listening" in res.out and res.err == "", res
    assert 0.5 < res.seconds < 5, res
    # It never comes back: the wait ends at its deadline with the last error.
    res = in_mount_ns(ns, tools, proc, "", "TCP", port, "--wait", "1")
    assert res.rc == 1 and "no tx_queue:rx_queue column" in res.err and res.err.count("\n") == 1, res
    assert res.seconds >= 1, res
    # A usage error ends the wait at once.
    res = tools("TCP", "0", "--wait", "10")
    assert res.rc == 1 and "bad port" in res.err and res.seconds < 2, res


def test_ctrl_c_ends_with_a_line_and_exit_1(ns, tested_build):
    tools = Tools(ns, tested_build, "auto")
    argv = ns.prefix + tools.build.argv("TCP", "1", "--wait", "60")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
                            start_new_session=True)
    time.sleep(0.8)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the whole foreground group
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1 and out == "" and err == "TCP: interrupted\n", (proc.returncode, out, err)
