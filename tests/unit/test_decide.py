"""decide(): the kernel-interface policy (netlink first; /proc when netlink
is refused at any point of any dump; a forced netlink re-raises), the
settle of unknown v6only for UDP, the names and notes reported, and the
one-line reasons. The backends are injected: recorded /proc tables from
tests/fixtures, records written here for netlink."""

from kit import FIXTURES, a4, a6, raises

import healthcheck
from healthcheck.decide import decide
from healthcheck.errors import KernelError, Refused, UsageError
from healthcheck.kernel_abi import AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, TCP_CLOSE, TCP_LISTEN
from healthcheck.query import make_query
from healthcheck.record import SocketRecord

PROC = FIXTURES + "/proc-basic"


def rec(addr, port, proto=IPPROTO_TCP, v6only=False, queue=None, limit=None):
    family = AF_INET if len(addr) == 4 else AF_INET6
    state = TCP_LISTEN if proto == IPPROTO_TCP else TCP_CLOSE
    return SocketRecord(family, proto, state, addr, port, bytes(len(addr)), 0,
                        v6only if family == AF_INET6 else None, queue, limit)


def netlink_giving(*records, refuse_after=None, refuse_at_open=False):
    """A netlink backend that yields `records`, optionally refusing (like an
    NLMSG_ERROR answer to a later dump) after `refuse_after` of them."""
    def backend(query, notes, explain, sock):
        if refuse_at_open:
            raise Refused("netlink socket refused: errno 93")
        notes.append("netlink dumps: test")
        return stream()

    def stream():
        for i, r in enumerate(records):
            if i == refuse_after:
                raise Refused("netlink refused the request (errno 2)")
            yield r
        if refuse_after == len(records):
            raise Refused("netlink refused the request (errno 2)")
    return backend


def ask(tool, ports, backend=None, netlink_backend=None, explain=False, shortcut=None, **kw):
    kwargs = {"netlink_backend": netlink_backend} if netlink_backend else {}
    opener = shortcut or Shortcut(None)
    return decide(make_query(tool, ports, **kw), backend, explain, PROC, netlink_shortcut=shortcut,
                  netlink_open=opener.open, **kwargs)


class Shortcut:
    """A netlink_shortcut answering `found` (a record per port, or None),
    and the netlink socket it is asked on: decide opens it, hands it to the
    lookup and the dumps, and closes it once, whatever happens."""

    def __init__(self, found):
        self.found, self.asked, self.opened, self.closed = found, 0, 0, 0

    def open(self):
        self.opened += 1
        return self

    def __call__(self, sock, query):
        assert sock is self and self.opened == 1 and not self.closed
        self.asked += 1
        return self.found

    def close(self):
        self.closed += 1


def test_the_lookup_answers_a_plain_question_when_every_port_has_a_wildcard_socket():
    udp = [rec(bytes(16), 80, IPPROTO_UDP), rec(bytes(4), 443, IPPROTO_UDP)]
    tcp6 = [rec(bytes(16), 80, v6only=True), rec(bytes(16), 443)]
    for tool, found in (("TCP", [rec(bytes(4), 80), rec(bytes(16), 443)]), ("UDP", udp), ("TCP6", tcp6)):
        short = Shortcut(found)
        v = ask(tool, "80,443", netlink_backend=netlink_giving(refuse_at_open=True), shortcut=short)
        assert v.ok and short.asked == 1 and short.closed == 1 and v.backend == "netlink sock_diag", v.explain()
        assert v.notes[0] == "netlink lookup: the wildcard socket of each port"
        assert v.reason.startswith("%s ports 80,443 are listening (" % tool), v.reason


def test_without_a_counting_wildcard_socket_on_every_port_the_dumps_decide_alone():
    dumped = [rec(a4("10.0.0.5"), 80), rec(a4("127.0.0.1"), 443)]
    plain = ask("TCP", "80,443", netlink_backend=netlink_giving(*dumped))
    cases = (None,  # a port had none
             [rec(bytes(4), 80), rec(a4("127.0.0.1"), 443)],  # loopback only
             [rec(bytes(4), 80), rec(bytes(16), 443, v6only=None)],  # v6only unknown
             [rec(bytes(4), 80), rec(bytes(16), 443, v6only=True)])  # IPv6-only: not for IPv4
    for found in cases:
        short = Shortcut(found)
        v = ask("TCP", "80,443", netlink_backend=netlink_giving(*dumped), shortcut=short)
        assert short.asked == 1 and short.closed == 1, found
        assert (v.ok, v.reason, v.notes) == (plain.ok, plain.reason, plain.notes), (found, v.explain())


def test_the_lookup_is_not_asked_where_it_cannot_answer():
    short = Shortcut([rec(bytes(4), 8080)])
    for kw in ({"explain": True}, {"accepting": True}, {"address": "127.0.0.1"}):
        dumps = netlink_giving(rec(bytes(4), 8080, queue=0, limit=8))
        v = ask("TCP", 8080, netlink_backend=dumps, shortcut=short, **kw)
        assert v.ok and "netlink dumps: test" in v.notes, kw
    v = ask("TCP", 8080, "proc", shortcut=short)
    assert v.ok and v.backend == "/proc (forced)"
    assert short.asked == 0


def test_netlink_answers_when_it_can():
    v = ask("TCP", 8080, netlink_backend=netlink_giving(rec(bytes(4), 8080)))
    assert v.ok and v.backend == "netlink sock_diag" and v.notes == ["netlink dumps: test"]
    assert v.reason == "TCP port 8080 is listening (0.0.0.0:8080)"


def test_a_refusal_anywhere_falls_back_to_proc():
    # Refused at the socket, on the first dump, or on the second dump after
    # the first gave records: the answer is /proc's every time.
    for backend in (netlink_giving(refuse_at_open=True), netlink_giving(refuse_after=0),
                    netlink_giving(rec(a4("127.0.0.9"), 8080), refuse_after=1)):
        v = ask("TCP", 8080, netlink_backend=backend)
        assert v.ok and v.backend == "/proc (fallback)", v.explain()
        assert v.notes[-2].endswith("; using /proc") and v.notes[-1] == "read %s/net/tcp" % PROC
        assert v.reason == "TCP port 8080 is listening (0.0.0.0:8080)"


def test_forced_backends():
    v = ask("TCP", 8081, "proc", netlink_backend=netlink_giving(refuse_at_open=True))
    assert v.ok and v.backend == "/proc (forced)" and v.reason.endswith("(127.0.0.1:8081, loopback only)")
    raises(Refused, ask, "TCP", 8081, "netlink", netlink_giving(refuse_at_open=True))
    raises(Refused, ask, "TCP", 8081, "netlink", netlink_giving(rec(bytes(4), 1), refuse_after=1))
    v = ask("TCP", 8081, "netlink", netlink_giving(rec(bytes(4), 8081)))
    assert v.backend == "netlink sock_diag (forced)"
    assert "use netlink or proc" in str(raises(UsageError, ask, "TCP", 80, "ebpf"))


def test_other_kernel_errors_do_not_fall_back():
    def broken(query, notes, explain, sock=None):
        raise KernelError("netlink: no answer within 2s")
    raises(KernelError, ask, "TCP", 80, None, broken)


def test_udp_answer_from_proc_rests_on_bindv6only_and_says_so():
    # proc-basic: udp6 has [::]:5354 (its v6only is not in /proc); bindv6only = 0
    v = ask("UDP", 5354, "proc")
    assert v.ok and v.reason == "UDP port 5354 is listening ([::]:5354; dual-stack assumed from net.ipv6.bindv6only=0)"
    assert "port 5354: v6only unknown; dual-stack assumed from net.ipv6.bindv6only=0" in v.notes
    v = ask("UDP6", 5354, "proc")  # an IPv6 question needs no assumption
    assert "assumed" not in v.reason


def test_netlink_without_v6only_is_settled_too():
    v = ask("UDP", 53, netlink_backend=netlink_giving(rec(bytes(16), 53, IPPROTO_UDP, v6only=None)))
    assert v.ok and "assumed from net.ipv6.bindv6only=0" in v.reason
    v = ask("UDP", 53, netlink_backend=netlink_giving(rec(bytes(16), 53, IPPROTO_UDP, v6only=True)))
    assert not v.ok


REASONS = [
    # (tool, ports, records, options, reason)
    ("TCP", "80,443", [rec(bytes(4), 80), rec(bytes(16), 443)], {},
     "TCP ports 80,443 are listening (0.0.0.0:80, [::]:443)"),
    ("TCP", "80,443,8443", [rec(bytes(4), 80), rec(bytes(4), 443)], {},
     "TCP port 8443 is not listening (no TCP socket listens on this port)"),
    ("TCP", "80,443,8443", [rec(bytes(4), 80)], {},
     "TCP port 443 is not listening (no TCP socket listens on this port); also not: 8443"),
    ("UDP6", "53", [rec(bytes(16), 5353, IPPROTO_UDP)], {},
     "UDP6 port 53 is not listening (no unconnected UDP socket is bound to this port)"),
    ("TCP", "6379", [rec(a4("127.0.0.1"), 6379)], {},
     "TCP port 6379 is listening (127.0.0.1:6379, loopback only)"),
    ("TCP", "6379", [rec(a4("127.0.0.1"), 6379)], {"external": True},
     "TCP port 6379 is not listening (127.0.0.1:6379: on loopback: not reachable from outside this network "
     "namespace)"),
    ("TCP", "8080", [rec(bytes(4), 8080, queue=2, limit=1)], {"accepting": True},
     "TCP port 8080 is listening but not accepting (0.0.0.0:8080: accept queue full (2/1): the server is not "
     "accepting connections)"),
    ("UDP", "53", [rec(bytes(4), 53, IPPROTO_UDP, queue=4096, limit=2048)], {"accepting": True},
     "UDP port 53 is listening but not accepting (0.0.0.0:53: 4096 of 2048 bytes queued, no room for another "
     "datagram: the server is not reading)"),
    ("TCP", "8080", [rec(bytes(16), 8080, v6only=True)], {},
     "TCP port 8080 is not listening ([::]:8080: IPv6-only (v6only=1): does not accept IPv4)"),
]


def test_reasons():
    for tool, ports, records, options, reason in REASONS:
        v = ask(tool, ports, netlink_backend=netlink_giving(*records), **options)
        assert v.reason == reason, (v.reason, reason)
        assert v.ok is (" is listening (" in reason or " are listening (" in reason)
    many = ask("UDP", ",".join([str(p) for p in range(1, 400)]), netlink_backend=netlink_giving())
    assert len(many.reason) <= 190 and many.reason.endswith("...")


def test_explain_lines():
    v = ask("TCP", 8080, netlink_backend=netlink_giving(rec(bytes(4), 8080, queue=0, limit=128),
                                                         rec(a6("::1"), 8080)), explain=True)
    assert v.explain() == [
        "kernel interface: netlink sock_diag", "netlink dumps: test", "port 8080: 2 sockets",
        "  0.0.0.0:8080 LISTEN queue 0/128 -> counts: any address was asked",
        "  [::1]:8080 LISTEN v6only=0 -> does not count: IPv6 address: does not accept IPv4"]


def held_loopback_port():
    """A TCP socket bound to 127.0.0.1 (not listening) and its port. Bound
    without SO_REUSEADDR, it keeps every other IPv4 socket off 127.0.0.1
    and 0.0.0.0 of that port (and dual-stack [::] ones): only this socket
    can answer for it. A port is tried in turn, for MicroPython's socket
    has no getsockname()."""
    import socket

    from healthcheck.errors import errno_of
    from healthcheck.namespace import sockaddr

    for port in range(40000, 41000):
        sock = socket.socket(AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(sockaddr(AF_INET, a4("127.0.0.1"), port))
            return sock, port
        except OSError as err:
            sock.close()
            if errno_of(err) != 98:  # EADDRINUSE: try the next one
                raise
    raise AssertionError("no free TCP port on 127.0.0.1 in 40000-40999")


def test_library_api_is_the_readme_example():
    # The README's call, asked of this machine's real /proc about a port
    # this test holds: bound but never listen()ed does not count; then it
    # listens, on loopback.
    sock, port = held_loopback_port()
    try:
        v = healthcheck.check("TCP", port, "127.0.0.1", backend="proc")
        assert v.ok is False and v.reason.startswith("TCP port %d on 127.0.0.1 is not listening" % port), v.reason
        sock.listen(1)
        v = healthcheck.check("TCP", port, "127.0.0.1", backend="proc")
        assert v.ok is True, v.explain()
        assert v.reason == "TCP port %d on 127.0.0.1 is listening (127.0.0.1:%d, loopback only)" % (port, port)
        assert "  127.0.0.1:%d LISTEN queue 0/? -> counts: bound to the asked address" % port in v.explain()
    finally:
        sock.close()
    raises(UsageError, healthcheck.check, "TCP", "0")


def test_the_netlink_socket_is_closed_once_whatever_is_raised():
    # Opened in one place and closed in one place: a lookup that times out,
    # a dump that fails, a refusal and a good answer all leave it closed.
    class Silent(Shortcut):
        def __call__(self, sock, query):
            Shortcut.__call__(self, sock, query)
            raise KernelError("netlink: no answer within 2s (timed out)")

    silent = Silent(None)
    raises(KernelError, lambda: ask("TCP", 80, netlink_backend=netlink_giving(), shortcut=silent))
    assert (silent.opened, silent.closed) == (1, 1)

    def broken(query, notes, explain, sock):
        raise KernelError("netlink: receive failed: errno 5")

    for backend, shortcut in ((broken, Shortcut(None)), (netlink_giving(refuse_at_open=True), Shortcut(None)),
                              (netlink_giving(rec(bytes(4), 80), refuse_after=1), Shortcut(None)),
                              (netlink_giving(rec(bytes(4), 80)), Shortcut([rec(bytes(4), 80)]))):
        try:
            ask("TCP", 80, netlink_backend=backend, shortcut=shortcut)
        except KernelError:
            pass
        assert (shortcut.opened, shortcut.closed) == (1, 1), backend
