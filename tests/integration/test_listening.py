"""Every rule of the README's "What counts as listening", against real sockets.

Each test spells out its questions one line each (tools.ok / tools.no), so
tests alike in shape (the duplicates tool pairs a few) are alike on purpose:
a failing line names the rule and the question, with no table to decode."""

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.harness import BACKENDS, LINKS, V4_ADDR, V4_PEER, V6_ADDR, Build, Tools


def test_wildcard_v4_counts_for_every_address(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 4, "0.0.0.0")
    tools.ok("TCP", port)
    tools.ok("TCP", port, "127.0.0.1")
    tools.ok("TCP", port, V4_ADDR)
    tools.ok("TCP", port, "0.0.0.0")
    tools.no("TCP6", port)
    tools.no("UDP", port)


def test_loopback_listener_is_not_on_other_addresses(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 4, "127.0.0.1")
    tools.ok("TCP", port)
    tools.ok("TCP", port, "127.0.0.1")
    res = tools.no("TCP", port, V4_ADDR)
    assert "bound to 127.0.0.1" in res.err


def test_specific_v4_address(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 4, V4_ADDR)
    tools.ok("TCP", port, V4_ADDR)
    tools.ok("TCP", port)
    tools.no("TCP", port, "127.0.0.1")


def test_specific_v6_address_in_any_text_form(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 6, V6_ADDR, v6only=1)
    tools.ok("TCP6", port, V6_ADDR)
    tools.ok("TCP6", port, "FD77:0:0:0:0:0:0:1")
    tools.ok("TCP6", port, "fd77:0000::0001")
    tools.ok("TCP6", port)
    tools.no("TCP6", port, "::1")
    tools.no("TCP", port)


def test_v6_loopback_and_wildcard(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 6, "::1")
    tools.ok("TCP6", port, "::1")
    tools.ok("TCP6", port, "::")
    tools.no("TCP6", port, V6_ADDR)
    tools.no("TCP", port)
    _, port2 = h.open("tcp", 6, "::", v6only=1)
    tools.ok("TCP6", port2, V6_ADDR)
    tools.ok("TCP6", port2, "::1")


def test_dual_stack_listener_counts_for_ipv4(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 6, "::", v6only=0)
    tools.ok("TCP", port)
    tools.ok("TCP", port, "127.0.0.1")
    tools.ok("TCP", port, V4_ADDR)
    tools.ok("TCP6", port)
    _, uport = h.open("udp", 6, "::", v6only=0)
    tools.ok("UDP", uport)
    tools.ok("UDP", uport, V4_ADDR)
    tools.ok("UDP6", uport)


def test_v6only_listener_does_not_count_for_ipv4(ns, tools):
    # bindv6only is per namespace: new sockets are v6-only, which netlink
    # reports; on /proc a TCP question is settled by one connect(), a UDP one
    # follows this very sysctl (docs/rules.md).
    ns.sysctl("net.ipv6.bindv6only", 1)
    h = ns.holder()
    _, port = h.open("tcp", 6, "::")
    res = tools.no("TCP", port)
    assert "v6only" in res.err
    tools.ok("TCP6", port)
    _, uport = h.open("udp", 6, "::")
    tools.no("UDP", uport)
    tools.ok("UDP6", uport)


@pytest.mark.skipif("netlink" not in BACKENDS, reason="netlink is not among HEALTHCHECK_TEST_BACKENDS")
def test_v6only_socket_option_seen_by_netlink(ns, tested_build):
    tools = Tools(ns, tested_build, "netlink")
    h = ns.holder()
    _, port = h.open("tcp", 6, "::", v6only=1)
    tools.no("TCP", port)
    _, port2 = h.open("tcp", 6, "::", v6only=0)
    ns.sysctl("net.ipv6.bindv6only", 1)
    tools.ok("TCP", port2)


def test_ipv4_mapped_bind(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 6, "::ffff:127.0.0.1", v6only=0)
    tools.ok("TCP", port)
    tools.ok("TCP", port, "127.0.0.1")
    tools.no("TCP", port, V4_ADDR)
    tools.no("TCP6", port)
    tools.ok("TCP6", port, "::ffff:127.0.0.1")


def test_established_and_client_ports_are_not_listening(ns, tools):
    h = ns.holder()
    lid, port = h.open("tcp", 4, "0.0.0.0")
    assert h.establish(lid, 3) == 3
    _, cport = ns.peer.holder().client("tcp", 4, V4_ADDR, port)  # from the other namespace
    conns = ns.run(["ss", "-tnH", "state", "established", "sport", "= :%d" % port]).out
    assert "%s:%d" % (V4_PEER, cport) in conns, conns  # the peer's connection arrived here
    tools.ok("TCP", port)
    in_peer = Tools(ns.peer, tools.build, tools.backend)
    in_peer.no("TCP", cport)  # a client socket, and the listener is in the other namespace
    in_peer.no("TCP", port)
    h.close(lid)  # accepted connections stay, on the same local port
    res = tools.no("TCP", port)
    assert "not listening" in res.err
    _, port2 = h.open("tcp", 4, "127.0.0.1")
    _, client_port = h.client("tcp", 4, "127.0.0.1", port2)
    tools.no("TCP", client_port)


def test_bound_but_not_listening_tcp(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 4, "0.0.0.0", nolisten=1)
    tools.no("TCP", port)
    _, port6 = h.open("tcp", 6, "::", nolisten=1)
    tools.no("TCP6", port6)


def test_udp_bound_vs_connected(ns, tools):
    h = ns.holder()
    _, port = h.open("udp", 4, "0.0.0.0")
    tools.ok("UDP", port)
    tools.ok("UDP", port, V4_ADDR)
    tools.no("TCP", port)
    _, cport = h.open("udp", 4, "0.0.0.0", connect="%s,53" % V4_PEER)
    res = tools.no("UDP", cport)
    assert "not listening" in res.err
    _, client = h.client("udp", 4, "127.0.0.1", port)
    tools.no("UDP", client)
    _, port6 = h.open("udp", 6, V6_ADDR)
    tools.ok("UDP6", port6, V6_ADDR)
    tools.no("UDP6", port6, "::1")
    tools.no("UDP", port6)


def test_ports_1_and_65535(ns, tools):
    h = ns.holder()
    h.open("tcp", 4, "0.0.0.0", 1)
    h.open("tcp", 4, "0.0.0.0", 65535)
    h.open("udp", 6, "::", 65535)
    tools.ok("TCP", 1)
    tools.ok("TCP", 65535)
    tools.ok("TCP", "1,65535")
    tools.ok("UDP6", 65535)
    tools.no("UDP6", 1)


def test_reuseport_duplicates(ns, tools):
    h = ns.holder()
    a, port = h.open("tcp", 4, "0.0.0.0", reuseport=1)
    b, _ = h.open("tcp", 4, "0.0.0.0", port, reuseport=1)
    res = tools("TCP", port, "--debug")
    assert res.rc == 0 and "port %d: 2 sockets" % port in res.err, res
    h.close(a)
    tools.ok("TCP", port)
    h.close(b)
    tools.no("TCP", port)


def test_thousands_of_established_connections(ns, tools):
    h = ns.holder()
    lid, port = h.open("tcp", 4, "127.0.0.1")
    assert h.establish(lid, 3000) == 3000
    tools.ok("TCP", port)
    tools.no("TCP", port, V4_ADDR)
    h.close(lid)
    tools.no("TCP", port)


def test_thousands_of_listeners_on_one_port(ns, tools):
    # SO_REUSEPORT lets every one of them count: memory and --debug output
    # must stay bounded however many there are.
    h = ns.holder()
    _, port = h.open("tcp", 6, "::1", reuseport=1)
    h.cmd("repeat 3000 tcp 6 ::1 %d reuseport=1" % port)
    tools.ok("TCP6", port)
    tools.no("TCP", port)
    res = tools("TCP6", port, "--debug")
    assert res.rc == 0 and "3001 sockets" in res.err and "... and 2951 more" in res.err, res
    assert len(res.err) < 10000


def test_several_ports(ns, tools):
    h = ns.holder()
    _, p1 = h.open("tcp", 4, "0.0.0.0")
    _, p2 = h.open("tcp", 6, "::", v6only=0)
    _, p3 = h.open("tcp", 4, "0.0.0.0", nolisten=1)
    res = tools.ok("TCP", "%d,%d" % (p1, p2))
    assert res.out == "TCP ports %d,%d are listening (0.0.0.0:%d, [::]:%d)\n" % (p1, p2, p1, p2)
    res = tools.no("TCP", "%d,%d,%d" % (p1, p2, p3))
    assert "port %d is not listening" % p3 in res.err


def test_quiet_prints_nothing(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 4, "0.0.0.0")
    for args, rc in (([port], 0), ([port + 1 if port < 65535 else 1], 1), (["80abc"], 1),
                     ([port, "::1"], 1), (["--bogus", port], 1)):
        res = tools("TCP", "--quiet", *args)
        assert (res.rc, res.out, res.err) == (rc, "", ""), (args, res)
        res = tools("TCP", *args, "-q")
        assert (res.rc, res.out, res.err) == (rc, "", ""), (args, res)


def test_debug_names_interface_and_candidates(ns, tools):
    ns.sysctl("net.ipv6.bindv6only", 1)  # so that /proc's guess is right too
    h = ns.holder()
    _, port = h.open("tcp", 4, "127.0.0.1")
    h.open("tcp", 6, "::", port)
    res = tools("TCP", port, V4_ADDR, "--debug")
    assert res.rc == 1
    assert "kernel interface:" in res.err
    assert "127.0.0.1:%d LISTEN" % port in res.err
    assert "[::]:%d LISTEN" % port in res.err
    assert "does not count" in res.err


def test_runs_as_nobody(ns, tested_build, backend):
    h = ns.holder()
    _, port = h.open("tcp", 4, "0.0.0.0")
    _, uport = h.open("udp", 6, "::", v6only=1)
    build = world_runnable_copy(tested_build)
    try:
        tools = Tools(ns, build, backend)
        res = tools("TCP", port, uid=65534)
        assert res.rc == 0, res
        res = tools("UDP6", uport, uid=65534)
        assert res.rc == 0, res
        res = tools("TCP", port + 1 if port < 65535 else 1, uid=65534)
        assert res.rc == 1 and "Traceback" not in res.err, res
    finally:
        shutil.rmtree(build.bin_dir)


def test_auto_backend(ns, tested_build):
    h = ns.holder()
    _, port = h.open("tcp", 4, "0.0.0.0")
    res = Tools(ns, tested_build, "auto")("TCP", port, "--debug")
    assert res.rc == 0, res
    if tested_build.wrapper:
        assert "kernel interface: /proc (fallback)" in res.err  # qemu-user has no sock_diag
    else:
        assert "kernel interface: netlink sock_diag\n" in res.err
        # --debug says how the kernel was asked (a plain check does not format it)
        assert "netlink dump: AF_INET + AF_INET6 in one (TCPDIAG_GETSOCK), every state, port filter in kernel\n" \
            in res.err, res


def world_runnable_copy(build):
    """The tools, runnable by uid 65534: a copy of the static binary, or for
    the console scripts a copy of the package behind a world-readable
    Python (the venv's may live under a root-only home). It is made outside
    pytest's tmp_path, whose parents only root may enter; the caller removes it."""
    tmp = Path(tempfile.mkdtemp(dir="/tmp" if Path("/tmp").is_dir() else None))
    tmp.chmod(0o755)
    if build.static:
        shutil.copy(build.path("TCP"), tmp / "TCP")
        for name in LINKS:
            (tmp / name).symlink_to("TCP")
    else:
        import healthcheck

        pkg = Path(healthcheck.__file__).parent
        shutil.copytree(pkg, tmp / "lib" / "healthcheck", ignore=shutil.ignore_patterns("__pycache__"))
        python = Path("/usr/bin/python3") if Path("/usr/bin/python3").exists() else None
        assert python, "no world-readable python3 for the uid 65534 test"
        for name in ("TCP",) + LINKS:
            script = tmp / name
            script.write_text("#!%s\nimport sys\nsys.path.insert(0, %r)\n"
                              "from healthcheck.cli import run\nrun()\n" % (python, str(tmp / "lib")))
            script.chmod(0o755)
    for path in tmp.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or path.stat().st_mode & 0o100 else 0o644)
    return Build(build.name, tmp, build.wrapper, build.static)
