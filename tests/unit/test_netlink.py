"""sock_diag request bytes, the port-filter program against a model of the
kernel's audit, and replies: recorded from this machine's kernel
(tests/fixtures/netlink-basic/) and written edge cases."""

import struct

from kit import FIXTURES, FakeSock, a4, attr, bc_audit, bc_run, diag_msg, done, error, nlmsg, raises, unhex

from healthcheck import netlink
from healthcheck.errors import KernelError, ParseError, Refused
from healthcheck.kernel_abi import AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP
from healthcheck.tools import find_tool

V6ONLY = netlink.INET_DIAG_SKV6ONLY
GOOD = nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80))


def parse(buf, proto=IPPROTO_TCP, family=AF_INET, seq=1):
    records = []
    done_ = netlink.parse_reply(buf, seq, 20, lambda p: netlink.decode_inet(p, proto, family), records)
    return done_, records


def test_request_layout():
    req = netlink.build_request(AF_INET6, IPPROTO_TCP, 1 << 10, (), seq=5)
    assert struct.unpack_from("@IHHII", req) == (len(req), 20, 0x301, 5, 0)
    assert len(req) == 16 + 56  # nlmsghdr + inet_diag_req_v2, no bytecode
    assert struct.unpack_from("@BBBBI", req, 16) == (10, 6, 0, 0, 1024)
    assert req[24:] == bytes(48)  # an all-zero inet_diag_sockid
    req = netlink.build_request(AF_INET, IPPROTO_UDP, 1 << 7, (53,), netlink.EXT_SKMEMINFO)
    assert req[18] == 1 << 6  # idiag_ext asks for INET_DIAG_SKMEMINFO


def test_request_carries_the_port_filter():
    req = netlink.build_request(AF_INET, IPPROTO_UDP, 1 << 7, (53, 5353))
    nla_len, nla_type = struct.unpack_from("@HH", req, 72)
    assert nla_type == netlink.INET_DIAG_REQ_BYTECODE
    assert req[76:72 + nla_len] == netlink.port_filter((53, 5353))
    assert struct.unpack_from("@I", req)[0] == len(req) == 72 + nla_len


PORT_SETS = [(80,), (1,), (65535,), (80, 443), (443, 80, 8080), tuple(range(1, 41)),
             tuple(range(65535, 64535, -1))]


def test_port_filter_passes_the_kernel_audit_and_selects_exactly_the_ports():
    for ports in PORT_SETS:
        code = netlink.port_filter(ports)
        assert bc_audit(code), ports
        for sport in (0, 2, 79, 81, 442, 444, 8079, 8081, 65534) + ports:
            assert bc_run(code, sport) == (sport in ports), (ports, sport)


def test_audit_model_rejects_what_the_kernel_rejects():
    code = netlink.port_filter((80, 443))
    assert not bc_audit(code[:-4])  # a cut program
    # A last jump 4 bytes past the end passes every per-op check; only the
    # kernel's closing "len == 0" rule rejects it.
    assert not bc_audit(struct.pack("@BBH", netlink.INET_DIAG_BC_JMP, 8, 8))
    assert bc_audit(struct.pack("@BBH", netlink.INET_DIAG_BC_JMP, 4, 8))
    assert not bc_audit(struct.pack("@BBH", 99, 4, 4))  # an unknown op
    assert bc_audit(b"")


def replay(name, proto, family):
    records = []
    with open(FIXTURES + "/netlink-basic/" + name) as f:
        lines = f.read().split()
    for i, line in enumerate(lines):
        finished = netlink.parse_reply(unhex(line), 7, 20, lambda p: netlink.decode_inet(p, proto, family),
                                       records)
        assert finished == (i == len(lines) - 1)
    return records


def test_recorded_replies():
    v4 = sorted([(r.addr, r.port, r.state, r.queue) for r in replay("tcp4.hex", IPPROTO_TCP, AF_INET)])
    assert [r[:3] for r in v4] == [(bytes(4), 8080, 10), (a4("127.0.0.1"), 8081, 10)]
    assert [r[3] for r in v4] == [0, 0]  # accept queues, empty
    v6 = sorted([(r.port, r.v6only) for r in replay("tcp6.hex", IPPROTO_TCP, AF_INET6)])
    assert v6 == [(8443, False), (9090, True), (9091, False)]
    u4 = replay("udp4.hex", IPPROTO_UDP, AF_INET)
    assert [(r.port, r.rport) for r in u4] == [(5353, 0)]  # the connected one is not CLOSE
    u6 = replay("udp6.hex", IPPROTO_UDP, AF_INET6)
    assert [(r.port, r.v6only) for r in u6] == [(5354, True)]


def test_attributes():
    lo6 = bytes(15) + b"\x01"
    msg = diag_msg(AF_INET6, 10, lo6, 443, attrs=attr(8, b"\0") + attr(V6ONLY, b"\x01"), rqueue=3, wqueue=128)
    assert parse(nlmsg(20, msg) + done(), family=AF_INET6)[0] is True
    (rec,) = parse(nlmsg(20, msg), family=AF_INET6)[1]
    assert (rec.addr, rec.port, rec.v6only, rec.queue, rec.limit) == (lo6, 443, True, 3, 128)
    (rec,) = parse(nlmsg(20, diag_msg(AF_INET6, 10, lo6, 443)), family=AF_INET6)[1]
    assert rec.v6only is None  # no INET_DIAG_SKV6ONLY: unknown, not dual-stack
    meminfo = attr(netlink.INET_DIAG_SKMEMINFO, struct.pack("@IIII", 4096, 2304, 0, 0))
    (rec,) = parse(nlmsg(20, diag_msg(AF_INET, 7, bytes(4), 53, rqueue=4096, attrs=meminfo)), IPPROTO_UDP)[1]
    assert (rec.queue, rec.limit) == (4096, 2304)


def test_skmeminfo_drops():
    # u32s: RMEM_ALLOC RCVBUF WMEM_ALLOC SNDBUF FWD_ALLOC WMEM_QUEUED OPTMEM BACKLOG DROPS
    def udp_with(meminfo):
        msg = diag_msg(AF_INET, 7, bytes(4), 53, rqueue=6912, attrs=attr(netlink.INET_DIAG_SKMEMINFO, meminfo))
        (rec,) = parse(nlmsg(20, msg), IPPROTO_UDP)[1]
        return rec.queue, rec.limit, rec.drops

    nine = struct.pack("@9I", 6912, 8192, 0, 212992, 0, 0, 0, 0, 1997)
    assert udp_with(nine) == (6912, 8192, 1997)
    assert udp_with(nine + struct.pack("@I", 7)) == (6912, 8192, 1997)  # a later kernel's longer array
    assert udp_with(nine[:32]) == (6912, 8192, None)  # a kernel before SK_MEMINFO_DROPS: not known
    assert udp_with(nine[:35]) == (6912, 8192, None)
    assert udp_with(nine[:8]) == (6912, 8192, None)
    raises(ParseError, udp_with, nine[:7])
    tcp = diag_msg(AF_INET, 10, bytes(4), 80, rqueue=1, wqueue=128,
                   attrs=attr(netlink.INET_DIAG_SKMEMINFO, nine))
    (rec,) = parse(nlmsg(20, tcp))[1]
    assert (rec.queue, rec.limit, rec.drops) == (1, 128, None)  # TCP: the accept queue, no drops


def test_records_of_another_family_are_dropped():
    assert parse(GOOD, family=AF_INET6)[1] == []
    assert len(parse(GOOD, family=AF_INET)[1]) == 1


def test_multipart_dump_across_datagrams():
    finished, records = parse(GOOD + GOOD)
    assert not finished and len(records) == 2
    assert parse(done())[0] is True


def test_other_sequence_numbers_are_ignored_and_flags_do_not_drop_records():
    foreign = nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80), seq=9)
    flagged = nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 81), flags=0x10 | netlink.NLM_F_MULTI)  # DUMP_INTR
    finished, records = parse(foreign + flagged + done())
    assert finished and [r.port for r in records] == [81]


MALFORMED = [
    (GOOD[:10], ParseError),                                  # truncated header
    (GOOD[:-4], ParseError),                                  # length overruns the buffer
    (struct.pack("@IHHII", 0, 20, 2, 1, 0), ParseError),      # zero length
    (struct.pack("@IHHII", 8, 20, 2, 1, 0), ParseError),      # shorter than a header
    (nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80)[:40]), ParseError),  # short inet_diag_msg
    (nlmsg(20, diag_msg(7, 10, bytes(4), 80)), ParseError),   # unknown family
    (nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80, attrs=struct.pack("@HH", 0, 11))), ParseError),
    (nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80, attrs=struct.pack("@HH", 64, 11))), ParseError),
    (nlmsg(20, diag_msg(AF_INET6, 10, bytes(16), 80, attrs=attr(V6ONLY, b""))), ParseError),
    (nlmsg(netlink.NLMSG_ERROR, b"\0\0"), ParseError),
    (nlmsg(99, b""), ParseError),
    (error(2), Refused),                                      # ENOENT: no sock_diag handler
    (error(1), Refused),                                      # EPERM: a sandbox said no
    (error(16), KernelError),                                 # EBUSY
    (done(err=-4), KernelError),
    (nlmsg(netlink.NLMSG_OVERRUN, b""), KernelError),
]


def test_malformed_replies_are_clean_errors():
    for buf, error_type in MALFORMED:
        family = AF_INET6 if len(buf) > 20 and buf[16] == AF_INET6 else AF_INET
        err = raises(error_type, parse, buf, IPPROTO_TCP, family)
        assert "\n" not in str(err)


def test_ack_is_not_an_error():
    assert parse(error(0) + done()) == (True, [])


def test_dump_reads_until_done_across_receives():
    sock = FakeSock(GOOD, GOOD + GOOD, done())
    request = netlink.build_request(AF_INET, IPPROTO_TCP, 1 << 10, (80,))
    decode = lambda p: netlink.decode_inet(p, IPPROTO_TCP, AF_INET)  # noqa: E731
    assert len(list(netlink.dump(sock, request, 1, 20, decode))) == 3
    assert sock.sent == [request]


def test_dump_yields_records_before_the_dump_ends_and_a_silent_kernel_is_an_error():
    sock = FakeSock(GOOD)
    records = netlink.dump(sock, b"", 1, 20, lambda p: netlink.decode_inet(p, IPPROTO_TCP, AF_INET), 3)
    assert next(records).port == 80  # the rest has not even arrived yet
    err = raises(KernelError, next, records)
    assert "no answer within 3s" in str(err)


def test_tcp_request_layout():
    # struct inet_diag_req (include/uapi/linux/inet_diag.h): family, src_len,
    # dst_len, ext, a 48-byte sockid, states, dbs; the family is the kernel's
    # to set (AF_UNSPEC: both).
    req = netlink.build_tcp_request(1 << 10, (), seq=5)
    assert struct.unpack_from("@IHHII", req) == (len(req), 18, 0x301, 5, 0) and len(req) == 16 + 60
    assert req[16:68] == bytes(52) and struct.unpack_from("@II", req, 68) == (1 << 10, 0)
    req = netlink.build_tcp_request(1 << 10, (80, 443))
    nla_len, nla_type = struct.unpack_from("@HH", req, 76)
    assert nla_type == netlink.INET_DIAG_REQ_BYTECODE and req[80:] == netlink.port_filter((80, 443))
    assert struct.unpack_from("@I", req)[0] == len(req) == 76 + nla_len


def tcp_msg(family, port, seq=1):
    addr = bytes(4 if family == AF_INET else 16)
    attrs = attr(V6ONLY, b"\0") if family == AF_INET6 else b""
    return nlmsg(netlink.TCPDIAG_GETSOCK, diag_msg(family, 10, addr, port, attrs=attrs), seq)


def test_fetch_asks_tcp_of_both_families_in_one_dump():
    # An IPv4 TCP question: one TCPDIAG_GETSOCK dump brings both families.
    sock = FakeSock(tcp_msg(AF_INET, 80) + tcp_msg(AF_INET6, 80), done(1))
    notes = []
    recs = list(netlink.fetch(find_tool("TCP"), (80,), notes, 1 << 10, sock=sock))
    assert [(r.family, r.port, r.v6only) for r in recs] == [(AF_INET, 80, None), (AF_INET6, 80, False)]
    assert [struct.unpack_from("@H", s, 4)[0] for s in sock.sent] == [18]
    assert not sock.closed  # its one owner, decide, closes it
    assert notes == ["netlink dump: AF_INET + AF_INET6 in one (TCPDIAG_GETSOCK), state filter LISTEN, "
                     "port filter in kernel"]


def test_a_kernel_without_tcpdiag_getsock_gets_a_dump_per_family():
    # Refused outright (an error and nothing else): AF_INET then AF_INET6 by
    # sock_diag; a refusal of the second dump surfaces from the iteration,
    # after the first dump's records.
    for errno in (22, 95, 5):
        sock = FakeSock(error(errno, seq=1), nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80), 2) + done(2),
                        error(2, seq=3))
        notes = []
        records = netlink.fetch(find_tool("TCP"), (80,), notes, 1 << 10, sock=sock)
        assert next(records).port == 80
        raises(Refused, next, records)
        assert [struct.unpack_from("@H", s, 4)[0] for s in sock.sent] == [18, 20, 20]
        assert [s[16] for s in sock.sent[1:]] == [AF_INET, AF_INET6]
        assert notes[-1] == "netlink: TCPDIAG_GETSOCK refused (errno %d); one dump per family" % errno


def test_tcpdiag_getsock_is_not_asked_twice():
    # An error after records, a dump that ends with an error, or silence:
    # the answer is the error, never a second round of dumps (duplicates, or
    # a second wait).
    for replies in ((tcp_msg(AF_INET, 80), error(22, seq=1)), (tcp_msg(AF_INET, 80), done(1, -4)),
                    (tcp_msg(AF_INET, 80),)):
        sock = FakeSock(*replies)
        records = netlink.fetch(find_tool("TCP"), (80,), [], 1 << 10, sock=sock)
        assert next(records).port == 80
        raises(KernelError, next, records)
        assert len(sock.sent) == 1, replies
    sock = FakeSock()
    raises(KernelError, list, netlink.fetch(find_tool("TCP"), (80,), [], 1 << 10, sock=sock))
    assert len(sock.sent) == 1


def test_other_questions_dump_each_family_of_the_tool():
    for name, families in (("UDP", [AF_INET, AF_INET6]), ("TCP6", [AF_INET6]), ("UDP6", [AF_INET6])):
        tool = find_tool(name)
        replies = [nlmsg(20, diag_msg(f, 7, bytes(4 if f == AF_INET else 16), 53), seq) + done(seq)
                   for seq, f in enumerate(families, 2)]
        sock = FakeSock(*replies)
        recs = list(netlink.fetch(tool, (53,), [], 1 << tool.state, sock=sock))
        assert [r.family for r in recs] == families and [s[16] for s in sock.sent] == families, name


def test_lookup_request_layout():
    # TCP's lookup takes the port as the socket's own end, UDP's as the
    # datagram's destination (the kernel's argument order, checked live in
    # tests/integration/test_listening.py); no dump flag, no cookie.
    for proto, at in ((IPPROTO_TCP, 24), (IPPROTO_UDP, 26)):
        req = netlink.build_lookup(AF_INET6, proto, 0x1F90, 0x10001)
        assert struct.unpack_from("@IHHII", req) == (len(req), 20, 1, 0x10001, 0) and len(req) == 72
        assert struct.unpack_from("@BBBB", req, 16) == (AF_INET6, proto, 0, 0)
        assert req[24:28] == (b"\x1f\x90\x00\x00" if at == 24 else b"\x00\x00\x1f\x90")
        assert req[28:64] == bytes(36) and req[64:] == b"\xff" * 8


def test_lookup_gives_a_record_per_port_or_none():
    v4 = nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80), seq=0x10001, flags=0)
    socket6 = diag_msg(AF_INET6, 10, bytes(16), 443, attrs=attr(V6ONLY, b"\0"))
    v6 = nlmsg(20, socket6, seq=0x10002, flags=0)
    sock = FakeSock(v4, v6)
    recs = netlink.lookup(sock, find_tool("TCP"), (80, 443))
    assert [(r.family, r.port, r.v6only) for r in recs] == [(AF_INET, 80, None), (AF_INET6, 443, False)]
    assert len(sock.sent) == 2 and not sock.closed  # the dumps may still need it
    enoent = nlmsg(2, struct.pack("@i", -2) + netlink.build_lookup(AF_INET, 6, 443, 0x10002), seq=0x10002, flags=0)
    empty = nlmsg(20, b"", seq=0x10002, flags=0)  # the right type with no inet_diag_msg
    stale = nlmsg(20, socket6, seq=0x10003, flags=0)  # the answer to another request
    for second in (enoent, stale, v6[:40], empty):
        assert netlink.lookup(FakeSock(v4, second), find_tool("TCP"), (80, 443)) is None, second
    # No answer at all: the same error as a silent dump, not a second wait in the dumps.
    err = raises(KernelError, netlink.lookup, FakeSock(v4), find_tool("TCP"), (80, 443))
    assert "no answer within 2s" in str(err)


def test_a_failed_receive_says_what_it_was():
    # Silence is a timeout; any other errno is said as itself, not as a timeout.
    class Failing(FakeSock):
        def __init__(self, err):
            FakeSock.__init__(self)
            self.err = err

        def recv(self, size):
            raise self.err

    for err, said in ((OSError(11, "Resource temporarily unavailable"), "netlink: no answer within 2s"),
                      (OSError(105, "No buffer space available"), "netlink: the kernel's answer overran"),
                      (OSError(5, "Input/output error"), "netlink: receive failed: errno 5")):
        got = str(raises(KernelError, list, netlink.fetch(find_tool("UDP"), (53,), [], 1 << 7, sock=Failing(err))))
        assert got.startswith(said), got
        got = str(raises(KernelError, netlink.lookup, Failing(err), find_tool("TCP"), (80,)))
        assert got.startswith(said), got
