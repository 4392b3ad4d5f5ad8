"""The rules of "listening" (README.md, "What counts as listening") as
tables: (tool, asked address, socket) -> counts?, and the options that
change them. Pure: records in, PortResults out."""

from kit import a4, a6

from healthcheck.kernel_abi import (
    AF_INET,
    AF_INET6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SOCK_DGRAM,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
)
from healthcheck.match import UNSURE, is_loopback, match
from healthcheck.query import make_query
from healthcheck.record import SocketRecord, UnixRecord
from healthcheck.verdict import Verdict


def a(text):
    return a6(text) if ":" in text else a4(text)


def sock(proto, addr, state, v6only=False, raddr=None, rport=0, port=8080, queue=None, limit=None, drops=None):
    packed = a(addr)
    family = AF_INET if len(packed) == 4 else AF_INET6
    rec = SocketRecord(family, proto, state, packed, port, a(raddr) if raddr else bytes(len(packed)),
                       rport, v6only if family == AF_INET6 else None, queue, limit)
    if drops is not None:
        rec.drops = drops  # as the backends set it
    return rec


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
    ("TCP", None, tcp("::", v6only=None), UNSURE),                            # v6only not known
    ("TCP", None, tcp("::1"), False),
    ("TCP", None, tcp("fd00::1"), False),
    ("TCP", None, tcp("::ffff:10.0.0.1"), True),
    ("TCP", None, tcp("::ffff:10.0.0.1", v6only=None), True),                 # mapped: certain
    ("TCP", "10.0.0.1", tcp("::ffff:10.0.0.1"), True),
    ("TCP", "10.0.0.2", tcp("::ffff:10.0.0.1"), False),
    # IPv6 questions never count IPv4 sockets
    ("TCP6", None, tcp("0.0.0.0"), False),
    ("TCP6", None, tcp("::", v6only=True), True),
    ("TCP6", None, tcp("::", v6only=False), True),
    ("TCP6", None, tcp("::", v6only=None), True),
    ("TCP6", "::1", tcp("::"), True),
    ("TCP6", "::1", tcp("::1"), True),
    ("TCP6", "fd00::1", tcp("::1"), False),
    ("TCP6", "::", tcp("::1"), True),
    ("TCP6", None, tcp("::ffff:10.0.0.1"), False),                             # accepts only IPv4
    ("TCP6", "::ffff:10.0.0.1", tcp("::ffff:10.0.0.1"), True),
    ("TCP6", "::ffff:10.0.0.1", tcp("::", v6only=True), False),
    ("TCP6", "::ffff:10.0.0.1", tcp("::", v6only=False), True),
    ("TCP6", "::ffff:10.0.0.1", tcp("::", v6only=None), UNSURE),
    # UDP: bound and not connected
    ("UDP", None, udp("0.0.0.0"), True),
    ("UDP", None, sock(IPPROTO_UDP, "0.0.0.0", TCP_ESTABLISHED, raddr="1.1.1.1", rport=53), False),
    ("UDP", None, udp("0.0.0.0", raddr="1.1.1.1", rport=53), False),          # connected, even in CLOSE
    ("UDP", None, udp("::", v6only=False), True),
    ("UDP", None, udp("::", v6only=True), False),
    ("UDP", None, udp("::", v6only=None), UNSURE),
    ("UDP", "192.168.1.1", udp("192.168.1.1"), True),
    ("UDP6", None, udp("::"), True),
    ("UDP6", None, udp("0.0.0.0"), False),
    ("UDP6", None, tcp("::"), False),
]


def test_rules():
    for tool, addr, rec, counts in RULES:
        (res,) = match(make_query(tool, 8080, addr), [rec], explain=True)
        assert res.candidates == 1 and len(res.explained) == 1, (tool, addr, rec)
        got, why = res.explained[0][1:]
        assert got is counts and why, (tool, addr, rec, got, why)
        assert (res.listening is rec) is (counts is True), (tool, addr, rec)
        assert (res.unsure is not None) is (counts is UNSURE), (tool, addr, rec)


def test_other_ports_are_not_candidates():
    (res,) = match(make_query("TCP", 80), [tcp("0.0.0.0", port=8080)], explain=True)
    assert not res.ok() and res.candidates == 0


def test_every_port_must_listen():
    recs = [tcp("0.0.0.0", port=80), tcp("0.0.0.0", port=443)]
    assert [r.ok() for r in match(make_query("TCP", "80,443"), recs)] == [True, True]
    assert [r.ok() for r in match(make_query("TCP", "80,443,8443"), recs)] == [True, True, False]


def test_loopback_and_external():
    assert is_loopback(a("127.0.0.1")) and is_loopback(a("127.9.9.9")) and is_loopback(a("::1"))
    assert is_loopback(a("::ffff:127.0.0.1")) and not is_loopback(a("0.0.0.0")) and not is_loopback(a("::"))
    (res,) = match(make_query("TCP", 6379), [tcp("127.0.0.1", port=6379)])
    assert res.ok() and res.loopback_only
    (res,) = match(make_query("TCP", 6379), [tcp("127.0.0.1", port=6379), tcp("0.0.0.0", port=6379)])
    assert res.ok() and not res.loopback_only  # read on past the loopback one
    (res,) = match(make_query("TCP", 6379, external=True), [tcp("127.0.0.1", port=6379)], explain=True)
    assert not res.ok() and "loopback" in res.near_miss[1]
    (res,) = match(make_query("TCP6", 80, external=True), [tcp("::1", port=80), tcp("::", port=80)])
    assert res.ok() and res.listening.addr == bytes(16)


# (socket, counts with --accepting?, its room unknown?)
ACCEPTING = [
    (tcp("0.0.0.0", queue=0, limit=4096), True, False),
    (tcp("0.0.0.0", queue=4096, limit=4096), True, False),     # the kernel drops only at queue > limit
    (tcp("0.0.0.0", queue=2, limit=1), False, False),
    (tcp("0.0.0.0", queue=5, limit=None), True, True),         # /proc: the limit is not known
    (tcp("0.0.0.0", queue=5000, limit=None), False, False),    # above somaxconn (4096): certainly full
    # UDP, netlink: memory in use, the buffer, the datagrams dropped
    (udp("0.0.0.0", queue=0, limit=212992, drops=0), True, False),
    (udp("0.0.0.0", queue=0, limit=212992), True, False),          # a kernel that counts no drops
    (udp("0.0.0.0", queue=3328, limit=4096, drops=0), True, False),
    (udp("0.0.0.0", queue=3840, limit=4096, drops=0), False, False),  # no room for one more datagram
    (udp("0.0.0.0", queue=212992, limit=212992), False, False),
    (udp("0.0.0.0", queue=8320, limit=8192), False, False),         # flooded, kernel before 6.x: above it
    # Flooded and never read, Linux 6.18 (issue 19): 1-byte, 1000-byte datagrams
    # into 8192; 1000-byte into 131072; 8000-byte ones (one always gets in)
    (udp("0.0.0.0", queue=7488, limit=8192, drops=1991), False, False),
    (udp("0.0.0.0", queue=6912, limit=8192, drops=1997), False, False),
    (udp("0.0.0.0", queue=129024, limit=131072, drops=1944), False, False),
    (udp("0.0.0.0", queue=16640, limit=8192, drops=1999), False, False),
    (udp("0.0.0.0", queue=6912, limit=8192, drops=0), True, False),     # the same queue, nothing lost yet
    (udp("0.0.0.0", queue=0, limit=8192, drops=1997), True, False),     # dropped, then read it all
    (udp("0.0.0.0", queue=18432, limit=131072, drops=944), True, False),  # dropped, then read most
    (udp("0.0.0.0", queue=65536, limit=131072, drops=5), True, False),  # half full: a reader can be there
    (udp("0.0.0.0", queue=65537, limit=131072, drops=5), False, False),
    # UDP, /proc: no buffer size
    (udp("0.0.0.0", queue=0, limit=None, drops=0), True, False),        # an empty queue takes the next one
    (udp("0.0.0.0", queue=0, limit=None, drops=1997), True, False),
    (udp("0.0.0.0", queue=9000, limit=None, drops=0), True, True),      # full or not: not visible
    (udp("0.0.0.0", queue=9000, limit=None), True, True),
    (udp("0.0.0.0", queue=6912, limit=None, drops=1997), False, False),
    (udp("0.0.0.0", queue=832, limit=None, drops=1), False, False),
]


def test_accepting():
    for rec, counts, unknown in ACCEPTING:
        query = make_query("TCP" if rec.proto == IPPROTO_TCP else "UDP", 8080, accepting=True)
        (res,) = match(query, [rec], somaxconn=4096)
        assert res.ok() is counts, (rec, res.blocked)
        assert (res.blocked is not None) is (not counts)
        assert res.limit_unknown is unknown, rec
        (plain,) = match(make_query(query.tool.name, 8080), [rec])
        assert plain.ok()  # without --accepting a full queue still listens
    (res,) = match(make_query("TCP", 8080, accepting=True), [tcp("0.0.0.0", queue=2, limit=1)])
    assert res.blocked[1] == "accept queue full (2/1): the server is not accepting connections"


UDP_WHY = [
    (udp("0.0.0.0", queue=6912, limit=8192, drops=1997),
     "6912 of 8192 bytes queued, 1997 datagrams dropped: the server is not reading"),
    (udp("0.0.0.0", queue=3840, limit=4096, drops=0),
     "3840 of 4096 bytes queued, no room for another datagram: the server is not reading"),
    (udp("0.0.0.0", queue=6912, limit=None, drops=1997),
     "6912 bytes queued (buffer size not visible), 1997 datagrams dropped: the server is not reading"),
]


def test_udp_reasons_read_right_at_a_glance():
    query = make_query("UDP", 8080, accepting=True)
    for rec, why in UDP_WHY:
        results = match(query, [rec], explain=True)
        assert results[0].blocked[1] == why
        v = Verdict(query, results, "test", [])
        assert v.reason == "UDP port 8080 is listening but not accepting (0.0.0.0:8080: %s)" % why, v.reason
    lines = Verdict(query, match(query, [UDP_WHY[0][0]], explain=True), "test", []).explain()
    assert "  0.0.0.0:8080 CLOSE queue 6912/8192 drops 1997 -> does not count: " in "\n".join(lines), lines
    lines = Verdict(query, match(query, [UDP_WHY[2][0]], explain=True), "test", []).explain()
    assert "  0.0.0.0:8080 CLOSE queue 6912/? drops 1997 -> " in "\n".join(lines), lines
    assert udp("0.0.0.0", queue=0, limit=8192).describe() == "0.0.0.0:8080 CLOSE queue 0/8192"  # drops unknown
    assert tcp("0.0.0.0", queue=0, limit=8).describe() == "0.0.0.0:8080 LISTEN queue 0/8"


def test_accepting_needs_room_in_every_counting_listener():
    roomy, full = tcp("0.0.0.0", queue=0, limit=10), tcp("127.0.0.1", queue=11, limit=10)
    (res,) = match(make_query("TCP", 8080, accepting=True), [roomy, full])
    assert not res.ok() and res.blocked[0] is full
    other = tcp("127.0.0.2", queue=11, limit=10)  # does not count for 127.0.0.1
    (res,) = match(make_query("TCP", 8080, "127.0.0.1", accepting=True), [roomy, other])
    assert res.ok()


def test_stops_reading_once_every_port_listens():
    consumed = []

    def records():
        for port in (80, 443, 80, 443, 8080):
            consumed.append(port)
            yield tcp("0.0.0.0", port=port)

    assert [r.ok() for r in match(make_query("TCP", "80,443"), records())] == [True, True]
    assert consumed == [80, 443]
    del consumed[:]
    results = match(make_query("TCP", "80,443"), records(), explain=True)
    assert consumed == [80, 443, 80, 443, 8080]
    assert [r.candidates for r in results] == [2, 2]
    del consumed[:]
    match(make_query("TCP", "80,443", accepting=True), records())
    assert len(consumed) == 5  # every counting listener must have room: all are read


def test_explanations_are_bounded():
    recs = [tcp("127.0.0.%d" % (i % 200 + 1)) for i in range(500)]
    query = make_query("TCP", 8080, "10.0.0.1")
    results = match(query, recs, explain=True, limit=50)
    lines = Verdict(query, results, "test", []).explain()
    assert len(lines) < 60 and lines[-1] == "  ... and 450 more"


# (socket, counts) for `UNIX /run/app.sock`; identity (7, 99) is the file's
NAME = b"/run/app.sock"
UNIX_RULES = [
    (UnixRecord(SOCK_STREAM, TCP_LISTEN, NAME, (7, 99)), True),
    (UnixRecord(SOCK_SEQPACKET, TCP_LISTEN, NAME, (7, 99)), True),
    (UnixRecord(SOCK_DGRAM, TCP_CLOSE, NAME, (7, 99)), True),
    (UnixRecord(SOCK_STREAM, TCP_CLOSE, NAME, (7, 99)), False),          # bound, never listen()ed
    (UnixRecord(SOCK_STREAM, TCP_ESTABLISHED, NAME, (7, 99)), False),    # an accepted connection
    (UnixRecord(SOCK_DGRAM, TCP_ESTABLISHED, NAME, (7, 99)), False),     # a connected dgram socket
    (UnixRecord(SOCK_STREAM, TCP_LISTEN, b"app.sock", (7, 99)), True),   # bound by a relative path
    (UnixRecord(SOCK_STREAM, TCP_LISTEN, NAME, (7, 100)), None),         # another file of that name
    (UnixRecord(SOCK_STREAM, TCP_LISTEN, b"/other", (8, 1)), None),
]


def test_unix_rules():
    query = make_query("UNIX", NAME.decode())
    for rec, counts in UNIX_RULES:
        (res,) = match(query, [rec], explain=True, identity=(7, 99))
        if counts is None:
            assert res.candidates == 0, rec
        else:
            assert res.candidates == 1 and res.ok() is counts, (rec, res.explained)


def test_unix_by_name_where_no_identity_is_known():
    query = make_query("UNIX", "@hc")
    (res,) = match(query, [UnixRecord(SOCK_STREAM, TCP_LISTEN, b"\0hc")])
    assert res.ok()
    (res,) = match(query, [UnixRecord(SOCK_STREAM, TCP_LISTEN, b"\0hc2"), UnixRecord(SOCK_STREAM, TCP_LISTEN, b"hc")])
    assert res.candidates == 0
    (res,) = match(make_query("UNIX", "/s", accepting=True),
                   [UnixRecord(SOCK_STREAM, TCP_LISTEN, b"/s", None, 3, 2)])
    assert not res.ok() and "accept queue full (3/2)" in res.blocked[1]


def test_accepting_leaves_unix_datagram_sockets_alone_and_says_what_it_could_not_see():
    dgram = UnixRecord(SOCK_DGRAM, TCP_CLOSE, b"/d")
    (res,) = match(make_query("UNIX", "/d", accepting=True), [dgram])
    assert res.ok() and not res.limit_unknown
    (res,) = match(make_query("UNIX", "/s", accepting=True), [UnixRecord(SOCK_STREAM, TCP_LISTEN, b"/s")])
    assert res.ok() and res.limit_unknown  # /proc/net/unix: no queue at all
