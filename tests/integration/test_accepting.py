"""Serving, not just listening (docs/rules.md, "--accepting"): full accept
queues and full receive buffers, and --wait. Real sockets that are never
accepted from and never read, on every build and backend."""

import time

from tests.harness import V6_ADDR


def test_full_accept_queue(ns, tools):
    h = ns.holder()
    full, port = h.open("tcp", 4, "0.0.0.0", backlog=1)
    assert h.clients(full, 5) == 2  # the kernel queues backlog + 1, then drops handshakes
    _, roomy = h.open("tcp", 4, "0.0.0.0")
    tools.ok("TCP", port)  # a hung server still looks open to a plain check
    tools.ok("TCP", roomy, "--accepting")
    res = tools("TCP", port, "--accepting")
    if tools.on_proc():  # /proc shows the queue (2) but not its limit (1)
        assert res.rc == 0 and "queue limit not visible" in res.out, res
        ns.sysctl("net.core.somaxconn", 1)  # every limit is at most this: 2 is certainly full
        res = tools.no("TCP", port, "--accepting")
        assert "accept queue full (2, above net.core.somaxconn 1)" in res.err, res
    else:
        assert res.rc == 1, res
        assert res.err == ("TCP port %d is listening but not accepting (0.0.0.0:%d: accept queue full (2/1): "
                           "the server is not accepting connections)\n" % (port, port)), res
        res = tools.no("TCP", "%d,%d" % (roomy, port), "--accepting")  # every port of a list
        assert "TCP port %d is listening but not accepting" % port in res.err, res
        res = tools("TCP", port, "--debug")  # the queue and its limit, even without --accepting
        assert res.rc == 0 and "0.0.0.0:%d LISTEN queue 2/1" % port in res.err, res


def test_full_accept_queue_ipv6_and_every_listener_must_have_room(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 6, "::", v6only=1, reuseport=1)
    full, _ = h.open("tcp", 6, "::1", port, backlog=1, reuseport=1)  # a specific listener beside the wildcard
    h.clients(full, 4)
    tools.ok("TCP6", port)
    if tools.on_proc():
        ns.sysctl("net.core.somaxconn", 1)
    res = tools.no("TCP6", port, "--accepting")
    assert "[::1]:%d: accept queue full" % port in res.err, res
    tools.ok("TCP6", port, V6_ADDR, "--accepting")  # the queue of ::1 is not in the way there


def test_full_udp_receive_buffer(ns, tools):
    h = ns.holder()
    sid, port = h.open("udp", 4, "127.0.0.1", rcvbuf=2048)
    _, idle = h.open("udp", 4, "127.0.0.1", rcvbuf=2048)
    h.flood(sid, 200)  # never read: the buffer fills and the kernel drops the rest
    tools.ok("UDP", port)
    tools.ok("UDP", idle, "--accepting")
    res = tools("UDP", port, "--accepting")
    if tools.on_proc():  # /proc shows the queued bytes, not the buffer size
        assert res.rc == 0 and "queue limit not visible" in res.out, res
    else:
        assert res.rc == 1 and "receive buffer full" in res.err and "the server is not reading" in res.err, res


def test_wait_returns_soon_after_a_listener_appears(ns, tools):
    h = ns.holder()
    sid, port = h.open("tcp", 4, "127.0.0.1", nolisten=1)  # bound now, listening in 1 s
    h.later(1, "listen %d" % sid)
    start = time.monotonic()
    tools.ok("TCP", port, "--wait", "10")
    waited = time.monotonic() - start
    assert 0.9 < waited < 1.0 + 0.5 + 0.6, waited  # within one poll interval (0.5 s), plus start-up


def test_wait_gives_up_after_about_the_time_given(ns, tools):
    start = time.monotonic()
    res = tools.no("TCP", "1", "--wait", "1.5")
    waited = time.monotonic() - start
    assert 1.4 < waited < 2.6, waited
    assert "TCP port 1 is not listening" in res.err
    start = time.monotonic()
    tools.no("UDP", "1", "--wait", "0")
    assert time.monotonic() - start < 1.5


def test_wait_with_accepting_and_bad_values(ns, tools):
    h = ns.holder()
    _, port = h.open("tcp", 4, "0.0.0.0")
    tools.ok("TCP", port, "--wait", "5", "--accepting")
    for value in ("abc", "-3", "", "1e3", "0x10"):
        start = time.monotonic()
        res = tools("TCP", port, "--wait", value)
        assert res.rc == 1 and "--wait" in res.err and "usage:" in res.err, (value, res)
        assert time.monotonic() - start < 1.5
