"""sock_diag request bytes, the port filter program, and reply parsing:
recorded kernel replies, synthesized edge cases and random junk."""

import socket
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcheck import netlink
from healthcheck.errors import HealthcheckError, KernelError, ParseError, Refused
from healthcheck.tools import AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP

from .kernelfmt import attr, bc_audit, bc_run, diag_msg, done, error, nlmsg

FIXTURES = Path(__file__).parent / "fixtures" / "netlink-basic"
V6ONLY = netlink.INET_DIAG_SKV6ONLY


def test_request_layout():
    req = netlink.build_request(AF_INET6, IPPROTO_TCP, 1 << 10, (), seq=5)
    length, mtype, flags, seq, pid = struct.unpack_from("@IHHII", req)
    assert (length, mtype, flags, seq, pid) == (len(req), 20, 0x301, 5, 0)
    assert len(req) == 16 + 56  # nlmsghdr + inet_diag_req_v2, no bytecode
    family, proto, ext, pad, states = struct.unpack_from("@BBBBI", req, 16)
    assert (family, proto, ext, pad, states) == (10, 6, 0, 0, 1024)
    assert req[24:] == bytes(48)  # an all-zero inet_diag_sockid


def test_request_carries_the_port_filter():
    req = netlink.build_request(AF_INET, IPPROTO_UDP, 1 << 7, (53, 5353))
    nla_len, nla_type = struct.unpack_from("@HH", req, 72)
    assert nla_type == netlink.INET_DIAG_REQ_BYTECODE
    assert req[76:72 + nla_len] == netlink.port_filter((53, 5353))
    assert struct.unpack_from("@I", req)[0] == len(req) == 72 + nla_len


@given(st.lists(st.integers(1, 65535), min_size=1, max_size=40, unique=True),
       st.lists(st.integers(0, 65535), max_size=20))
def test_port_filter_passes_the_kernel_audit_and_selects_exactly_the_ports(ports, probes):
    code = netlink.port_filter(ports)
    assert bc_audit(code)
    for sport in probes + ports + [p + 1 for p in ports] + [p - 1 for p in ports]:
        assert bc_run(code, sport) == (sport in ports)


def replay(name, proto):
    records = []
    lines = (FIXTURES / name).read_text().split()
    for i, line in enumerate(lines):
        done_ = netlink.parse_reply(bytes.fromhex(line), 7, proto, records)
        assert done_ == (i == len(lines) - 1)
    return records


def test_recorded_replies():
    v4 = {(r.addr, r.port, r.state) for r in replay("tcp4.hex", IPPROTO_TCP)}
    assert v4 == {(bytes(4), 8080, 10), (b"\x7f\0\0\x01", 8081, 10)}
    v6 = {(r.port, r.v6only) for r in replay("tcp6.hex", IPPROTO_TCP)}
    assert v6 == {(8443, False), (9090, True), (9091, False)}
    u4 = replay("udp4.hex", IPPROTO_UDP)
    assert [(r.port, r.rport) for r in u4] == [(5353, 0)]  # the connected one is not CLOSE
    u6 = replay("udp6.hex", IPPROTO_UDP)
    assert [(r.port, r.v6only, r.v6only_known) for r in u6] == [(5354, True, True)]


def test_v6only_attribute_and_padding():
    lo6 = bytes(15) + b"\x01"
    msg = diag_msg(AF_INET6, 10, lo6, 443, attrs=attr(8, b"\0") + attr(V6ONLY, b"\x01"))
    records = []
    assert netlink.parse_reply(nlmsg(20, msg) + done(), 1, IPPROTO_TCP, records) is True
    (rec,) = records
    assert (rec.addr, rec.port, rec.v6only, rec.inode) == (lo6, 443, True, 77)


def test_ipv4_record_takes_four_address_bytes():
    records = []
    netlink.parse_reply(nlmsg(20, diag_msg(AF_INET, 7, b"\x0a\0\0\x01", 53)), 1, IPPROTO_UDP, records)
    assert records[0].addr == b"\x0a\0\0\x01" and records[0].v6only is None


def test_multipart_dump_across_datagrams():
    records = []
    one = nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80))
    assert netlink.parse_reply(one + one, 1, IPPROTO_TCP, records) is False
    assert netlink.parse_reply(done(), 1, IPPROTO_TCP, records) is True
    assert len(records) == 2


def test_other_sequence_numbers_are_ignored_and_flags_do_not_drop_records():
    records = []
    foreign = nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80), seq=9)
    flagged = nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 81), flags=0x10 | netlink.NLM_F_MULTI)  # DUMP_INTR
    assert netlink.parse_reply(foreign + flagged + done(), 1, IPPROTO_TCP, records) is True
    assert [r.port for r in records] == [81]


GOOD = nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80))


@pytest.mark.parametrize("buf,error_type", [
    (GOOD[:10], ParseError),                                  # truncated header
    (GOOD[:-4], ParseError),                                  # length overruns the buffer
    (struct.pack("@IHHII", 0, 20, 2, 1, 0), ParseError),      # zero length
    (struct.pack("@IHHII", 8, 20, 2, 1, 0), ParseError),      # shorter than a header
    (nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80)[:40]), ParseError),  # short inet_diag_msg
    (nlmsg(20, diag_msg(7, 10, bytes(4), 80)), ParseError),   # unknown family
    (nlmsg(20, diag_msg(AF_INET6, 10, bytes(16), 80, attrs=struct.pack("@HH", 0, 11))), ParseError),
    (nlmsg(20, diag_msg(AF_INET6, 10, bytes(16), 80, attrs=struct.pack("@HH", 64, 11))), ParseError),
    (nlmsg(20, diag_msg(AF_INET6, 10, bytes(16), 80, attrs=attr(V6ONLY, b""))), ParseError),
    (nlmsg(netlink.NLMSG_ERROR, b"\0\0"), ParseError),
    (nlmsg(99, b""), ParseError),
    (error(2), Refused),                                      # ENOENT: no sock_diag handler
    (error(1), Refused),                                      # EPERM: a sandbox said no
    (error(16), KernelError),                                 # EBUSY
    (done(err=-4), KernelError),
    (nlmsg(netlink.NLMSG_OVERRUN, b""), KernelError),
])
def test_malformed_replies_are_clean_errors(buf, error_type):
    with pytest.raises(error_type):
        netlink.parse_reply(buf, 1, IPPROTO_TCP, [])


@given(st.binary(max_size=300))
def test_random_bytes_give_records_or_clean_errors(buf):
    try:
        netlink.parse_reply(buf, 1, IPPROTO_TCP, [])
    except HealthcheckError:
        pass


@given(st.binary(max_size=200), st.integers(0, 300))
def test_random_messages_in_a_valid_frame(payload, cut):
    buf = nlmsg(20, payload)
    for data in (buf, buf[:cut]):
        try:
            netlink.parse_reply(data, 1, IPPROTO_TCP, [])
        except HealthcheckError:
            pass


def test_ack_is_not_an_error():
    assert netlink.parse_reply(error(0) + done(), 1, IPPROTO_TCP, []) is True


class Kernel:
    """The far end of a real datagram socketpair, standing in for the
    kernel: dump() sends its request there and reads what we queue."""

    def __init__(self, timeout=0.3):
        self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.ours.settimeout(timeout)

    def queue(self, *datagrams):
        for d in datagrams:
            self.theirs.send(d)


def test_dump_reads_until_done_across_receives():
    k = Kernel()
    k.queue(GOOD, GOOD + GOOD, done())
    records = list(netlink.dump(k.ours, AF_INET, IPPROTO_TCP, 1 << 10, (80,), 1))
    assert len(records) == 3
    assert k.theirs.recv(4096) == netlink.build_request(AF_INET, IPPROTO_TCP, 1 << 10, (80,), 1)


def test_dump_yields_records_before_the_dump_ends():
    k = Kernel()
    k.queue(GOOD)
    records = netlink.dump(k.ours, AF_INET, IPPROTO_TCP, 1 << 10, (80,), 1)
    assert next(records).port == 80  # the rest has not even arrived yet
    k.queue(done())
    assert list(records) == []


def test_silent_kernel_is_a_bounded_clean_error():
    k = Kernel(timeout=0.3)
    k.queue(GOOD)  # then nothing, ever
    start = time.monotonic()
    with pytest.raises(KernelError, match="no answer"):
        list(netlink.dump(k.ours, AF_INET, IPPROTO_TCP, 1 << 10, (80,), 1))
    assert time.monotonic() - start < 5
