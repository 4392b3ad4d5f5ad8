"""Truthful answers at the edges (docs/rules.md): v6only that /proc cannot
see, addresses that are not here, IPv6 switched off, loopback-only
listeners, what --debug shows of the sockets that do not count, and the
program's names. Real sockets in real namespaces, every build and backend
(the qemu pass runs these on /proc under qemu-user)."""

import os
import tempfile
from pathlib import Path

from tests.harness import ROOT, V4_ADDR, V6_ADDR, Tools, run

# ---- 1. v6only unknown on /proc: settled by one connect(), never guessed

def test_v6only_listener_with_bindv6only_0(ns, tools):
    # nginx `listen [::]:80` sets IPV6_V6ONLY itself on a host whose default is 0
    h = ns.holder()
    _, port = h.open("tcp", 6, "::", v6only=1)
    res = tools.no("TCP", port)
    assert "IPv6-only" in res.err, res
    tools.no("TCP", port, V4_ADDR)
    tools.ok("TCP6", port)
    if tools.on_proc():
        res = tools("TCP", port, "--debug")
        assert "a connect() to 127.0.0.1:%d was refused" % port in res.err, res
        res = tools("TCP", port, V4_ADDR, "--debug")
        assert "a connect() to %s:%d was refused" % (V4_ADDR, port) in res.err, res


def test_dual_stack_listener_with_bindv6only_1(ns, tools):
    # a Node server (dual-stack by choice) on a host whose default is v6only
    ns.sysctl("net.ipv6.bindv6only", 1)
    h = ns.holder()
    _, port = h.open("tcp", 6, "::", v6only=0)
    res = tools.ok("TCP", port)
    assert "assumed" not in res.out  # exact on every interface
    tools.ok("TCP", port, V4_ADDR)
    if tools.on_proc():
        assert "a connect() to 127.0.0.1:%d was accepted" % port in tools("TCP", port, "--debug").err


def test_udp_on_proc_says_it_rests_on_bindv6only(ns, tools):
    on_proc = tools.on_proc()
    h = ns.holder()
    _, port = h.open("udp", 6, "::", v6only=0)
    res = tools.ok("UDP", port)
    if on_proc:
        assert "dual-stack assumed from net.ipv6.bindv6only=0" in res.out, res
    else:
        assert "assumed" not in res.out, res  # netlink sees v6only
    _, port6 = h.open("udp", 6, "::", v6only=1)
    res = tools("UDP", port6)
    if on_proc:  # the documented limit of /proc: the line says what it rests on
        assert res.rc == 0 and "assumed from net.ipv6.bindv6only=0" in res.out, res
    else:
        assert res.rc == 1 and "IPv6-only" in res.err, res
    ns.sysctl("net.ipv6.bindv6only", 1)
    if on_proc:
        res = tools.no("UDP", port)
        assert "IPv6-only assumed from net.ipv6.bindv6only=1" in res.err, res


# ---- 4. an ADDRESS that is not an address of this namespace

def test_address_that_is_not_here(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 6, "::", v6only=0)
    _, uport = h.open("udp", 4, "0.0.0.0")
    for tool, p, addr in (("TCP", port, "10.9.9.9"), ("TCP6", port, "2001:db8::1"), ("UDP", uport, "10.77.0.2"),
                          ("TCP6", port, "fd77::2")):  # the peer's: on the link, not here
        res = tools.no(tool, p, addr)
        assert "%s is not an address of this network namespace" % addr in res.err, res
    tools.ok("TCP", port, V4_ADDR)
    tools.ok("TCP6", port, V6_ADDR)
    tools.ok("UDP", uport, "127.0.0.1")


# ---- 5. IPv6 questions where IPv6 is off

def test_ipv6_off(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 6, "::", v6only=0)  # made while IPv6 was on
    _, uport = h.open("udp", 6, "::", v6only=0)
    for dev in ("all", "default", "lo", "veth0"):
        ns.sysctl("net.ipv6.conf.%s.disable_ipv6" % dev, 1)
    for tool, p in (("TCP6", port), ("UDP6", uport)):
        res = tools.no(tool, p)
        assert "IPv6 is off in this network namespace" in res.err, res
    res = tools.no("TCP6", port, "::1")
    assert "::1 is not an address of this network namespace" in res.err, res
    tools.ok("TCP", port)  # IPv4 through the dual-stack socket still works
    tools.ok("UDP", uport)


# ---- 6. loopback-only listeners and --external

def test_loopback_only_and_external(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 4, "127.0.0.1")  # redis' default bind
    res = tools.ok("TCP", port)
    assert res.out.rstrip().endswith("(127.0.0.1:%d, loopback only)" % port), res
    res = tools.no("TCP", port, "--external")
    assert "on loopback: not reachable from outside" in res.err, res
    h.open("tcp", 4, V4_ADDR, port)  # and one on the namespace's own address
    res = tools.ok("TCP", port, "--external")
    assert "loopback only" not in res.out
    assert "loopback only" not in tools.ok("TCP", port).out
    _, port6 = h.open("tcp", 6, "::1")
    assert "loopback only" in tools.ok("TCP6", port6).out
    tools.no("TCP6", port6, "--external")
    _, wild = h.open("tcp", 6, "::", v6only=0)
    tools.ok("TCP", wild, "--external")
    tools.ok("TCP6", wild, "--external")
    _, mapped = h.open("tcp", 6, "::ffff:127.0.0.1")
    tools.no("TCP", mapped, "--external")
    _, udp = h.open("udp", 4, "127.0.0.1")
    assert "loopback only" in tools.ok("UDP", udp).out
    tools.no("UDP", udp, "--external")


# ---- 7. --debug shows what does not count, and why

def test_debug_lists_the_sockets_that_do_not_count(ns, tools):
    h = ns.holder()
    lid, port = h.open("tcp", 4, "127.0.0.1")
    h.establish(lid, 1)
    _, uport = h.open("udp", 4, "127.0.0.1", connect="127.0.0.1,9")
    res = tools("UDP", uport, "--debug")
    assert res.rc == 1, res
    line = [x for x in res.err.splitlines() if "127.0.0.1:%d ESTABLISHED peer 127.0.0.1:9 " % uport in x]
    assert line and line[0].endswith("-> does not count: connected to a peer: a client, not a listener"), res
    h.close(lid)
    res = tools("TCP", port, "--debug")
    assert res.rc == 1 and "ESTABLISHED peer 127.0.0." in res.err, res  # the holder connects from 127.0.0.2-9
    assert "does not count: state ESTABLISHED: a connection, not the listener" in res.err, res
    res = tools("TCP", port)  # the normal path: one line, nothing else
    assert res.err.count("\n") == 1


# ---- 8. input messages from the real program

def test_input_messages(ns, tools):
    for args, words in ((["80", "localhost"], "host names are not supported"),
                        (["127.0.0.1:80"], "write the port and the address apart: 80 127.0.0.1"),
                        (["80,"], "an empty entry")):
        res = tools("TCP", *args)
        assert res.rc == 1 and words in res.err and res.out == "", res
    for args, words in ((["80", "[::1]"], "without brackets: ::1"),
                        (["80", "fe80::1%eth0"], "zones (%eth0) are not supported")):
        res = tools("TCP6", *args)
        assert res.rc == 1 and words in res.err, res


# ---- 9, 10. names, several ports, --debug over --quiet, --version

def test_names_any_case_and_first_argument(ns, tools):
    h = ns.holder()
    _, port = h.open("udp", 4, "0.0.0.0")
    res = tools("healthcheck", "udp", port)
    assert res.rc == 0 and res.out.startswith("UDP port %d is listening" % port), res
    res = tools("healthcheck", "--help")
    assert res.rc == 0 and "TCP, UDP, TCP6, UDP6, UNIX" in res.out
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        for name in ("udp", "Udp", "renamed-copy"):
            (Path(tmp) / name).symlink_to(tools.build.path("UDP"))
        lower = Tools(ns, type(tools.build)("links", tmp, tools.build.wrapper, tools.build.static), tools.backend)
        assert lower("udp", port).rc == 0 and lower("Udp", port).rc == 0
        assert lower("renamed-copy", "UDP", port).rc == 0
        res = lower("renamed-copy", port)
        assert res.rc == 1 and "unknown tool" in res.err, res


def test_debug_wins_over_quiet_and_version_names_the_build(ns, tools):
    res = tools("TCP", "1", "--quiet", "--debug")
    assert res.rc == 1 and "debug: kernel interface" in res.err and "port 1 is not listening" in res.err
    res = tools("TCP", "--version")
    assert res.rc == 0 and res.out.startswith("TCP (healthcheck) ")
    assert ("MicroPython" if tools.build.static else "CPython") in res.out, res
    if tools.build.static:  # the build names its source and platform (static/bundle.py)
        revision = run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"]).out.strip()
        platform = "linux/" + tools.build.bin_dir.parent.name[len("linux-"):].replace("-", "/")
        assert "revision %s, " % revision in res.out and res.out.rstrip().endswith(platform + ")"), res
