"""The match rules of SPEC.md as one table: (tool, asked address, socket) -> counts?"""

import ipaddress

import pytest

from healthcheck.match import match
from healthcheck.query import make_query
from healthcheck.record import SocketRecord
from healthcheck.tools import (
    AF_INET,
    AF_INET6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
)


def a(text):
    return ipaddress.ip_address(text).packed


def sock(proto, addr, state, v6only=None, raddr=None, rport=0, port=8080):
    packed = a(addr)
    family = AF_INET if len(packed) == 4 else AF_INET6
    if family == AF_INET6 and v6only is None:
        v6only = False
    return SocketRecord(family, proto, state, packed, port, a(raddr) if raddr else bytes(len(packed)),
                        rport, v6only=v6only)


def tcp(addr, **kw):
    return sock(IPPROTO_TCP, addr, TCP_LISTEN, **kw)


def udp(addr, **kw):
    return sock(IPPROTO_UDP, addr, TCP_CLOSE, **kw)


RULES = [
    # TCP: LISTEN only
    ("TCP", None, tcp("0.0.0.0"), True),
    ("TCP", None, sock(IPPROTO_TCP, "0.0.0.0", TCP_ESTABLISHED, raddr="1.2.3.4", rport=5), False),
    ("TCP", None, sock(IPPROTO_TCP, "0.0.0.0", TCP_CLOSE), False),           # bound, not listening
    ("TCP", None, udp("0.0.0.0"), False),                                     # other protocol
    # With ADDRESS: exactly that address, or the wildcard
    ("TCP", "127.0.0.1", tcp("127.0.0.1"), True),
    ("TCP", "127.0.0.1", tcp("0.0.0.0"), True),
    ("TCP", "10.0.0.1", tcp("127.0.0.1"), False),
    ("TCP", "0.0.0.0", tcp("127.0.0.1"), True),                               # 0.0.0.0 = any
    # IPv4 questions count dual-stack and IPv4-mapped IPv6 sockets
    ("TCP", None, tcp("::", v6only=False), True),
    ("TCP", "10.0.0.1", tcp("::", v6only=False), True),
    ("TCP", None, tcp("::", v6only=True), False),
    ("TCP", None, tcp("::1"), False),
    ("TCP", None, tcp("fd00::1"), False),
    ("TCP", None, tcp("::ffff:10.0.0.1"), True),
    ("TCP", "10.0.0.1", tcp("::ffff:10.0.0.1"), True),
    ("TCP", "10.0.0.2", tcp("::ffff:10.0.0.1"), False),
    # IPv6 questions never count IPv4 sockets
    ("TCP6", None, tcp("0.0.0.0"), False),
    ("TCP6", None, tcp("::", v6only=True), True),
    ("TCP6", None, tcp("::", v6only=False), True),
    ("TCP6", "::1", tcp("::"), True),
    ("TCP6", "::1", tcp("::1"), True),
    ("TCP6", "fd00::1", tcp("::1"), False),
    ("TCP6", "::", tcp("::1"), True),
    ("TCP6", None, tcp("::ffff:10.0.0.1"), False),                             # accepts only IPv4
    ("TCP6", "::ffff:10.0.0.1", tcp("::ffff:10.0.0.1"), True),
    ("TCP6", "::ffff:10.0.0.1", tcp("::", v6only=True), False),
    ("TCP6", "::ffff:10.0.0.1", tcp("::", v6only=False), True),
    # UDP: bound and not connected
    ("UDP", None, udp("0.0.0.0"), True),
    ("UDP", None, sock(IPPROTO_UDP, "0.0.0.0", TCP_ESTABLISHED, raddr="1.1.1.1", rport=53), False),
    ("UDP", None, udp("0.0.0.0", raddr="1.1.1.1", rport=53), False),          # connected, even in CLOSE
    ("UDP", None, udp("::", v6only=False), True),
    ("UDP", None, udp("::", v6only=True), False),
    ("UDP", "192.168.1.1", udp("192.168.1.1"), True),
    ("UDP6", None, udp("::"), True),
    ("UDP6", None, udp("0.0.0.0"), False),
    ("UDP6", None, tcp("::"), False),
]


@pytest.mark.parametrize("tool,addr,rec,counts", RULES)
def test_rule(tool, addr, rec, counts):
    verdict = match(make_query(tool, 8080, addr), [rec], explain=True)
    assert verdict.ok is counts, verdict.explain()
    ((res),) = verdict.results
    assert res.candidates == 1 and len(res.explained) == 1
    assert res.explained[0][1] is counts and res.explained[0][2]


def test_other_ports_are_not_candidates():
    verdict = match(make_query("TCP", 80), [tcp("0.0.0.0", port=8080)], explain=True)
    assert not verdict.ok and verdict.results[0].candidates == 0


def test_every_port_must_listen():
    recs = [tcp("0.0.0.0", port=80), tcp("0.0.0.0", port=443)]
    assert match(make_query("TCP", "80,443"), recs).ok
    verdict = match(make_query("TCP", "80,443,8443"), recs)
    assert not verdict.ok
    assert verdict.reason == "TCP port 8443 is not listening (80,443 are)"


def test_one_counting_socket_is_enough():
    recs = [tcp("::", v6only=True), tcp("127.0.0.1")]
    assert match(make_query("TCP", 8080, "127.0.0.1"), recs).ok


def test_reasons_are_short_and_name_the_near_miss():
    verdict = match(make_query("TCP", 8080, "10.0.0.1"), [tcp("127.0.0.1")])
    assert verdict.reason == ("TCP port 8080 is not listening on 10.0.0.1 "
                              "(127.0.0.1:8080: bound to 127.0.0.1, not 10.0.0.1)")
    verdict = match(make_query("TCP", 8080), [tcp("0.0.0.0")])
    assert verdict.reason == "TCP port 8080 is listening (0.0.0.0:8080)"
    many = match(make_query("UDP6", ",".join(str(p) for p in range(1, 400))), [])
    assert len(many.reason) < 200


def test_stops_reading_once_every_port_listens():
    consumed = []

    def records():
        for port in (80, 443, 80, 443, 8080):
            consumed.append(port)
            yield tcp("0.0.0.0", port=port)

    assert match(make_query("TCP", "80,443"), records()).ok
    assert consumed == [80, 443]
    consumed.clear()
    verdict = match(make_query("TCP", "80,443"), records(), explain=True)
    assert consumed == [80, 443, 80, 443, 8080]
    assert [r.candidates for r in verdict.results] == [2, 2]


def test_explanations_are_bounded():
    recs = [tcp("127.0.0.%d" % (i % 200 + 1)) for i in range(500)]
    verdict = match(make_query("TCP", 8080, "10.0.0.1"), recs, explain=True, limit=50)
    lines = verdict.explain()
    assert len(lines) < 60 and lines[-1] == "  ... and 450 more"
