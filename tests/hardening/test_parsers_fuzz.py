"""Property tests for every parser (CPython only: hypothesis, ipaddress; the
table-driven tests in tests/unit/ run on both interpreters): every outcome
is a verdict (records) or a clean HealthcheckError, never another
exception, a hang or unbounded work.

- address text: any Unicode, structured near-misses, against ipaddress
- port lists: against a tiny oracle written from the SPEC
- /proc rows and tables, through the production path (procnet.fetch on a
  file: the streaming scan): random, truncated, oversized, non-hex, missing
  fields, huge tables, any split of the file into read() chunks
- netlink: NLMSG_ERROR with any errno, attribute chains of any lengths,
  multi-part dumps split into datagrams at random points (a real socketpair
  standing in for the kernel)
"""

import io
import ipaddress
import socket
import struct
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from healthcheck import netlink, procnet
from healthcheck.addr import format_ipv6, parse_ipv4, parse_ipv6, unmap_v4
from healthcheck.errors import HealthcheckError, KernelError, ParseError, Refused, UsageError
from healthcheck.kernel_abi import AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP
from healthcheck.query import MAX_PORTS, make_query, parse_ports
from healthcheck.tools import find_tool
from tests.unit.kit import HEADER, attr, bc_audit, bc_run, diag_msg, done, error, nlmsg, proc_row

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- address text: ours against CPython's ipaddress ------------------------------

def oracle(cls, text):
    if "%" in text:  # scope ids: ipaddress takes them, a listener's address has none
        return None
    try:
        return cls(text).packed
    except ValueError:
        return None


def ours(parse, text):
    try:
        return parse(text)
    except ValueError:
        return None


def v6_forms(packed):
    addr = ipaddress.IPv6Address(packed)
    forms = [str(addr), addr.exploded, str(addr).upper(), addr.exploded.upper()]
    forms.append(":".join(g.lstrip("0") or "0" for g in addr.exploded.split(":")))
    forms.append(addr.exploded[:30] + str(ipaddress.IPv4Address(packed[12:])))
    return forms


@SETTINGS
@given(st.binary(min_size=16, max_size=16))
def test_every_text_form_of_a_v6_address_parses_back_and_prints_as_rfc5952(packed):
    for text in v6_forms(packed):
        assert parse_ipv6(text) == packed, text
    text = format_ipv6(packed)
    assert parse_ipv6(text) == packed
    if unmap_v4(packed) is None:
        assert text == ipaddress.IPv6Address(packed).compressed


@SETTINGS
@given(st.binary(min_size=4, max_size=4))
def test_ipv4_round_trip(packed):
    assert parse_ipv4(str(ipaddress.IPv4Address(packed))) == packed


@SETTINGS
@given(st.text(max_size=60))
def test_any_unicode_address_text_agrees_with_ipaddress(text):
    assert ours(parse_ipv4, text) == oracle(ipaddress.IPv4Address, text)
    assert ours(parse_ipv6, text) == oracle(ipaddress.IPv6Address, text)


group = st.one_of(st.integers(0, 0xFFFF).map(lambda g: "%x" % g), st.integers(0, 0xFFFF).map(lambda g: "%04X" % g),
                  st.sampled_from(["", "0", "00000", "g", "1.2.3.4", "255.255.255.255", "01.2.3.4", " 1"]))


@SETTINGS
@given(st.lists(group, min_size=0, max_size=11), st.sampled_from(["", ":", "::"]), st.sampled_from(["", ":", "::"]))
def test_structured_ipv6_near_misses_agree_with_ipaddress(groups, head, tail):
    text = head + ":".join(groups) + tail
    assert ours(parse_ipv6, text) == oracle(ipaddress.IPv6Address, text)


@SETTINGS
@given(st.text(max_size=200000).filter(lambda t: len(t) > 1000) | st.just("1" * 100000))
def test_huge_address_text_is_a_quick_usage_error(text):
    for tool in ("TCP", "TCP6"):
        start = time.monotonic()
        with pytest.raises(UsageError) as err:
            make_query(tool, "80", text)
        assert len(str(err.value)) < 200
        assert time.monotonic() - start < 1


# ---- port lists ----------------------------------------------------------------

def ports_oracle(text):
    """The SPEC's rule, written independently: ASCII digits only, 1-65535,
    commas between, no empty items; at most MAX_PORTS items."""
    items = text.split(",")
    if not text or len(items) > MAX_PORTS:
        return None
    out = []
    for item in items:
        if not item or any(c not in "0123456789" for c in item) or len(item) > 5:
            return None
        value = int(item)
        if not 1 <= value <= 65535:
            return None
        if value not in out:
            out.append(value)
    return tuple(out)


@SETTINGS
@given(st.one_of(st.text(alphabet="0123456789,", max_size=40),
                 st.text(alphabet="0123456789,+- x\u0661\uff10", max_size=20),
                 st.text(max_size=30),
                 st.lists(st.integers(-5, 70000), min_size=1, max_size=1100).map(lambda v: ",".join(map(str, v)))))
def test_port_lists_agree_with_the_spec(text):
    try:
        got = parse_ports(text)
    except UsageError as err:
        got = None
        assert len(str(err)) < 200
    assert got == ports_oracle(text)


# ---- /proc rows and tables ------------------------------------------------------

LITTLE = lambda v: struct.pack("<I", v)  # noqa: E731
addr4 = st.binary(min_size=4, max_size=4)
addr6 = st.binary(min_size=16, max_size=16)


def table(rows):
    return [HEADER] + rows


def parse(lines, family=AF_INET, ports=(80,), state=None):
    """The table through procnet.fetch, from a real file: the path the
    fallback runs (streaming scan, then the rows it picked)."""
    tool = find_tool("TCP" if family == AF_INET else "TCP6")
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "net").mkdir()
        (Path(root) / "net" / ("tcp" if family == AF_INET else "tcp6")).write_text("".join(lines))
        return list(procnet.fetch(tool, ports, [], root, state, LITTLE))


@st.composite
def proc_rows(draw):
    v6 = draw(st.booleans())
    a = draw(addr6 if v6 else addr4)
    return v6, proc_row(draw(st.integers(0, 99999)), a, draw(st.sampled_from([80, 443, draw(st.integers(1, 65535))])),
                        draw(addr6 if v6 else addr4), draw(st.integers(0, 65535)), draw(st.integers(0, 255)))


@SETTINGS
@given(proc_rows(), st.data())
def test_mangled_rows_are_records_or_parse_errors(row, data):
    """Truncated, non-hex, missing or extra fields, oversized, NUL bytes,
    non-ASCII: a row is a record or a ParseError naming file and line."""
    v6, line = row
    how = data.draw(st.sampled_from(["cut", "replace", "drop_field", "oversize", "insert", "dup_field"]))
    if how == "cut":
        line = line[:data.draw(st.integers(0, len(line)))]
    elif how == "replace":
        i = data.draw(st.integers(0, len(line) - 1))
        line = line[:i] + data.draw(st.characters()) + line[i + 1:]
    elif how == "drop_field":
        fields = line.split(" ")
        del fields[data.draw(st.integers(0, len(fields) - 1))]
        line = " ".join(fields)
    elif how == "oversize":
        line = line.rstrip("\n") + " " + "f" * data.draw(st.integers(1000, 200000)) + "\n"
    elif how == "insert":
        i = data.draw(st.integers(0, len(line)))
        line = line[:i] + data.draw(st.text(min_size=1, max_size=20)) + line[i:]
    else:
        fields = line.split(" ")
        i = data.draw(st.integers(0, len(fields) - 1))
        fields.insert(i, fields[i])
        line = " ".join(fields)
    family = AF_INET6 if v6 else AF_INET
    for ports in ((80,), (443,), tuple(range(1, 1001))):
        try:
            records = parse(table([line]), family, ports)
        except ParseError as err:
            assert "/net/tcp" in str(err) and len(str(err)) < 200
            continue
        for rec in records:
            assert rec.port in ports and len(rec.addr) == (16 if v6 else 4)


@SETTINGS
@given(st.lists(st.text(max_size=300), max_size=30), st.sampled_from([AF_INET, AF_INET6]))
def test_random_tables_are_records_or_parse_errors(lines, family):
    try:
        parse(table(lines), family, tuple(range(1, 65536, 7)))
    except ParseError:
        pass


@SETTINGS
@given(st.text(max_size=3000), st.integers(1, 700))
def test_scan_table_never_fails_on_junk_at_any_chunk_size(text, chunk):
    """Any text: scan_table yields rows it found or raises ValueError."""
    try:
        for lineno, row in procnet.scan_table(io.StringIO(text, newline="\n"), 8, (80, 443), None, chunk):
            assert lineno >= 2 and "\n" not in row.rstrip("\n")
    except ValueError:
        pass


class CountingFile:
    """A file that counts read() calls and forbids per-line reading."""

    def __init__(self, text):
        self.f = io.StringIO(text)
        self.reads = 0

    def read(self, n=-1):
        self.reads += 1
        return self.f.read(n)

    def __iter__(self):
        raise AssertionError("tables must be read in chunks, not line by line")

    readline = __iter__

    def close(self):
        pass


def test_a_huge_table_is_read_in_chunks_in_bounded_time(monkeypatch, tmp_path):
    """100,000 rows (15 MB): a handful of big read() calls (MicroPython
    reads an iterated file one byte per system call), the right records,
    and a linear-time scan."""
    rows = [proc_row(i, b"\x7f\0\0\x01", 10000 + i % 50000, b"\x7f\0\0\x01", 80, 1) for i in range(100000)]
    rows.insert(77777, proc_row(77777, bytes(4), 8080, bytes(4), 0, 10))
    text = HEADER + "".join(rows)
    files = {}

    def fake_open(path, *a, **k):
        if path.endswith("/net/tcp"):
            files[path] = CountingFile(text)
            return files[path]
        raise OSError(2, "No such file or directory")

    monkeypatch.setattr(procnet, "open", fake_open, raising=False)
    start = time.monotonic()
    notes = []
    records = list(procnet.fetch(find_tool("TCP"), (8080,), notes, "/fake"))
    assert time.monotonic() - start < 10
    assert [(r.port, r.state) for r in records] == [(8080, 10)]
    (f,) = files.values()
    assert f.reads <= len(text) // procnet.CHUNK + 2


def test_an_endless_line_is_a_clean_error_or_skipped():
    """A 'row' of 5 MB without a newline: parsed once, no quadratic work."""
    text = HEADER + "   0: " + "0" * 5000000
    start = time.monotonic()
    try:
        rows = procnet.scan_table(io.StringIO(text), 8, (80,), 10)
        list(procnet.iter_table(rows, AF_INET, IPPROTO_TCP, (80,), 10, LITTLE))
    except (ParseError, ValueError):
        pass
    assert time.monotonic() - start < 10


# ---- netlink ---------------------------------------------------------------------

def decoder(proto=IPPROTO_TCP, family=AF_INET):
    return lambda payload: netlink.decode_inet(payload, proto, family)


def reply(buf, records, family=AF_INET):
    return netlink.parse_reply(buf, 1, 20, decoder(IPPROTO_TCP, family), records)


def dump_all(sock, family=AF_INET, proto=IPPROTO_TCP):
    """Every record of one dump from `sock`, both families decoded."""
    request = netlink.build_request(family, proto, 1 << 10, (80,))
    yield from netlink.dump(sock, request, 1, 20, lambda p: netlink.decode_inet(p, proto, p[0]), 1)


@SETTINGS
@given(st.lists(st.integers(1, 65535), min_size=1, max_size=40, unique=True),
       st.lists(st.integers(0, 65535), max_size=20))
def test_port_filter_passes_the_kernel_audit_and_selects_exactly_the_ports(ports, probes):
    code = netlink.port_filter(ports)
    assert bc_audit(code)
    for sport in probes + ports + [p + 1 for p in ports] + [p - 1 for p in ports]:
        assert bc_run(code, sport) == (sport in ports)


@SETTINGS
@given(st.integers(-2**31, 2**31 - 1), st.binary(max_size=40))
def test_nlmsg_error_with_any_errno(err, tail):
    buf = nlmsg(netlink.NLMSG_ERROR, struct.pack("@i", err) + tail, flags=0)
    try:
        done_ = reply(buf, [])
    except Refused:
        assert -err in netlink.REFUSED_ERRNOS
    except KernelError:
        assert err != 0
    else:
        assert err == 0 and not done_  # an ACK


attr_chain = st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=12)), max_size=12)


@SETTINGS
@given(attr_chain)
def test_attribute_chains_of_any_lengths_terminate(chain):
    """nla_len 0, 1-3 (would not advance: a loop), past the end, or huge:
    each is a ParseError or ignored; the walk always ends."""
    raw = b"".join(struct.pack("@HH", length, atype) + body for length, atype, body in chain)
    msg = diag_msg(AF_INET6, 10, bytes(16), 80, attrs=raw)
    records = []
    try:
        reply(nlmsg(20, msg) + done(), records, AF_INET6)
    except ParseError:
        return
    assert len(records) == 1
    steps = list(netlink.iter_attrs(raw))
    assert len(steps) <= len(raw) // 4 + 1


@st.composite
def dumps(draw):
    """A multi-part dump: records, maybe foreign-sequence noise and ACKs,
    then NLMSG_DONE, as a list of messages."""
    n = draw(st.integers(0, 40))
    msgs, want = [], []
    for _ in range(n):
        port = draw(st.integers(1, 65535))
        fam = draw(st.sampled_from([AF_INET, AF_INET6]))
        attrs = attr(netlink.INET_DIAG_SKV6ONLY, b"\x01") if fam == AF_INET6 else b""
        msgs.append(nlmsg(20, diag_msg(fam, 10, bytes(4 if fam == AF_INET else 16), port, attrs=attrs)))
        want.append(port)
        if draw(st.integers(0, 9)) == 0:
            msgs.append(nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 9), seq=99))  # not ours
        if draw(st.integers(0, 9)) == 0:
            msgs.append(error(0))  # an ACK
    msgs.append(done())
    return msgs, want


class Kernel:
    """A real datagram socketpair standing in for the kernel."""

    def __init__(self, timeout=0.3):
        self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.ours.settimeout(timeout)
        self.theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)

    def close(self):
        self.ours.close()
        self.theirs.close()


@SETTINGS
@given(dumps(), st.data())
def test_multipart_dumps_split_into_datagrams_at_random_points(dump, data):
    msgs, want = dump
    # group whole messages into datagrams at random boundaries
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(msgs) - 1)), max_size=len(msgs)))))
    bounds = [0] + [c for c in cuts if 0 < c < len(msgs)] + [len(msgs)]
    # ... and, as the kernel does, never more than the receive buffer in one
    datagrams = []
    for a, b in zip(bounds, bounds[1:]):
        datagrams.append(b"")
        for msg in msgs[a:b]:
            if datagrams[-1] and len(datagrams[-1]) + len(msg) > netlink.RECV_SIZE:
                datagrams.append(b"")
            datagrams[-1] += msg
    k = Kernel()
    try:
        for datagram in datagrams:
            k.theirs.send(datagram)
        got = [r.port for r in dump_all(k.ours)]
    finally:
        k.close()
    assert got == want


@SETTINGS
@given(dumps(), st.data())
def test_messages_torn_across_datagrams_are_clean_errors(dump, data):
    """The kernel never tears a message across datagrams; if one is torn
    anyway, the result is a ParseError or the timeout, never a hang or a
    wrong record count."""
    msgs, want = dump
    blob = b"".join(msgs)
    cut = data.draw(st.integers(1, len(blob) - 1))
    assume(cut <= netlink.RECV_SIZE and len(blob) - cut <= netlink.RECV_SIZE)  # the kernel's bound
    k = Kernel(timeout=0.2)
    try:
        k.theirs.send(blob[:cut])
        k.theirs.send(blob[cut:])
        try:
            got = [r.port for r in dump_all(k.ours)]
        except HealthcheckError:
            return
    finally:
        k.close()
    assert got == want  # the cut fell on a message boundary


@SETTINGS
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=8))
def test_random_datagrams_end_in_records_or_clean_errors(datagrams):
    k = Kernel(timeout=0.1)
    try:
        for d in datagrams:
            k.theirs.send(d)
        start = time.monotonic()
        try:
            list(dump_all(k.ours, AF_INET6, IPPROTO_UDP))
        except HealthcheckError:
            pass
        assert time.monotonic() - start < 5
    finally:
        k.close()


def test_an_endless_dump_is_cut_off():
    """A kernel that sends records forever (no NLMSG_DONE) stops at
    MAX_RECORDS, not at memory exhaustion."""
    k = Kernel()
    one = nlmsg(20, diag_msg(AF_INET, 10, bytes(4), 80))
    batch = one * (netlink.RECV_SIZE // len(one))
    per = netlink.RECV_SIZE // len(one)
    old = netlink.MAX_RECORDS
    netlink.MAX_RECORDS = per * 5
    try:
        for _ in range(8):
            k.theirs.send(batch)
        with pytest.raises(KernelError, match="more than"):
            for _ in dump_all(k.ours):
                pass
    finally:
        netlink.MAX_RECORDS = old
        k.close()
