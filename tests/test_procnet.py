"""/proc/net rows -> records, in both byte orders, and recorded tables."""

import io
import ipaddress
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcheck import procnet
from healthcheck.errors import KernelError, ParseError
from healthcheck.record import SocketRecord
from healthcheck.tools import AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, TOOLS

from .kernelfmt import HEADER, proc_row

FIXTURES = Path(__file__).parent / "fixtures"


def little(value):
    return struct.pack("<I", value)


def big(value):
    return struct.pack(">I", value)


def v4(text):
    return ipaddress.IPv4Address(text).packed


def v6(text):
    return ipaddress.IPv6Address(text).packed


# (row as a little-endian x86 kernel printed it, family, state, addr, port, raddr, rport)
ROWS = [
    ("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 672265 1",
     AF_INET, 10, v4("127.0.0.1"), 8080, v4("0.0.0.0"), 0),
    ("  12: 0100000A:0050 0200000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 5 1",
     AF_INET, 1, v4("10.0.0.1"), 80, v4("10.0.0.2"), 0xD431),
    ("   1: 00000000000000000000000001000000:2382 00000000000000000000000000000000:0000 0A "
     "00000000:00000000 00:00000000 00000000     0        0 672268 1",
     AF_INET6, 10, v6("::1"), 9090, v6("::"), 0),
    ("   2: 0000000000000000FFFF00000100007F:2383 00000000000000000000000000000000:0000 0A "
     "00000000:00000000 00:00000000 00000000     0        0 672269 1",
     AF_INET6, 10, v6("::ffff:127.0.0.1"), 9091, v6("::"), 0),
    ("12345: B80D0120000000000000000001000000:FFFF 00000000000000000000000000000000:0000 07 "
     "00000000:00000000 00:00000000 00000000     0        0 1 2",
     AF_INET6, 7, v6("2001:db8::1"), 65535, v6("::"), 0),
]


@pytest.mark.parametrize("row,family,state,addr,port,raddr,rport", ROWS)
def test_rows_decode(row, family, state, addr, port, raddr, rport):
    width = 8 if family == AF_INET else 32
    rstate, rp, addr_hex, raddr_hex, rr, inode = procnet.parse_row(row, width)
    assert (rstate, rp, rr) == (state, port, rport)
    assert procnet.decode_addr(addr_hex, little) == addr
    assert procnet.decode_addr(raddr_hex, little) == raddr
    assert inode > 0


def test_decode_addr_examples_on_little_endian():
    assert procnet.decode_addr("0100007F", little) == v4("127.0.0.1")
    assert procnet.decode_addr("00000000000000000000000001000000", little) == v6("::1")


def test_big_endian_rows_decode_with_big_endian_words():
    # A big-endian kernel prints each word most significant byte first.
    assert procnet.decode_addr("7F000001", big) == v4("127.0.0.1")
    assert procnet.decode_addr("20010DB8000000000000000000000001", big) == v6("2001:db8::1")


addresses4 = st.binary(min_size=4, max_size=4)
addresses6 = st.binary(min_size=16, max_size=16)
ports = st.integers(1, 65535)


@given(st.sampled_from(["<", ">"]), st.booleans(), st.data())
def test_rows_round_trip_in_both_byte_orders(order, is_v6, data):
    addr_st = addresses6 if is_v6 else addresses4
    addr, raddr = data.draw(addr_st), data.draw(addr_st)
    port, rport = data.draw(ports), data.draw(st.integers(0, 65535))
    state = data.draw(st.integers(1, 12))
    family = AF_INET6 if is_v6 else AF_INET
    lines = [HEADER, proc_row(0, addr, port, raddr, rport, state, 99, order)]
    pack = little if order == "<" else big
    got = procnet.parse_table(lines, family, IPPROTO_TCP, (port,), None, pack)
    assert got == [SocketRecord(family, IPPROTO_TCP, state, addr, port, raddr, rport,
                                v6only=False if is_v6 else None)]


@pytest.mark.parametrize("junk", [
    "garbage", "   0: 0100007F:1F90", "   0: 0100007G:1F90 00000000:0000 0A x",
    "   0: 0100007F:1F9Z 00000000:0000 0A x", "   0: 0100007F 1F90 00000000:0000 0A x",
    "   x: 0100007F:1F90 00000000:0000 0A 00000000:00000000",
    "   0: 0100007F:1F90 00000000:0000 -A 00000000:00000000",
])
def test_malformed_rows_raise_parse_error_with_place(junk):
    with pytest.raises(ParseError) as err:
        procnet.parse_table([HEADER, junk + "\n"], AF_INET, IPPROTO_TCP, (8080,), None, little,
                            path="/proc/net/tcp")
    assert "/proc/net/tcp line 2" in str(err.value)


@given(st.lists(st.text(max_size=200), max_size=5))
def test_junk_tables_raise_only_parse_error(lines):
    try:
        procnet.parse_table([HEADER] + lines, AF_INET6, IPPROTO_UDP, (80,), 7, little)
    except ParseError:
        pass


def test_blank_lines_are_ignored():
    assert procnet.parse_table([HEADER, "\n", "   \n"], AF_INET, IPPROTO_TCP, (1,)) == []


def test_recorded_tables(tmp_path):
    root = str(FIXTURES / "proc-basic")
    notes = []
    records = list(procnet.fetch(TOOLS["TCP"], (8080, 8081, 8443, 9090, 9091, 9999), notes, root, little))
    got = {(r.family, r.addr, r.port) for r in records}
    assert got == {
        (AF_INET, v4("0.0.0.0"), 8080), (AF_INET, v4("127.0.0.1"), 8081),
        (AF_INET6, v6("::"), 8443), (AF_INET6, v6("::1"), 9090),
        (AF_INET6, v6("::ffff:127.0.0.1"), 9091),
    }  # 9999 is bound, not listening; established rows on 8080 are not LISTEN
    assert any("guessed 0" in n for n in notes)
    records = list(procnet.fetch(TOOLS["UDP"], (5353, 5354, 5355), [], root, little))
    assert {(r.family, r.port) for r in records} == {(AF_INET, 5353), (AF_INET6, 5354)}
    assert all(not r.v6only_known for r in records if r.family == AF_INET6)


def test_missing_v6_table_means_no_ipv6_sockets(tmp_path):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(HEADER + proc_row(0, v4("0.0.0.0"), 80, bytes(4), 0, 10))
    notes = []
    records = list(procnet.fetch(TOOLS["TCP"], (80,), notes, str(tmp_path)))
    assert [r.port for r in records] == [80]
    assert any("IPv6 is off" in n for n in notes)
    assert list(procnet.fetch(TOOLS["TCP6"], (80,), [], str(tmp_path))) == []


def test_missing_v4_table_is_an_error(tmp_path):
    with pytest.raises(KernelError, match="cannot read .*/net/udp"):
        list(procnet.fetch(TOOLS["UDP"], (53,), [], str(tmp_path)))


def test_non_text_table_is_a_parse_error(tmp_path):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp6").write_bytes(HEADER.encode() + b"\xff\xfe\x00junk\n")
    with pytest.raises(ParseError):
        list(procnet.fetch(TOOLS["TCP6"], (80,), [], str(tmp_path)))


def naive_scan(text, width, ports, state):
    """What scan_table must find, the slow obvious way."""
    found = []
    for lineno, line in enumerate(text.splitlines(True), 1):
        if lineno == 1:
            continue
        try:
            row = procnet.parse_row(line, width)
        except ValueError:
            continue
        if row and row[1] in ports and (state is None or row[0] == state):
            found.append((lineno, line))
    return found


@given(st.lists(st.tuples(st.sampled_from([80, 443, 8080, 65535, 1]), st.sampled_from([0, 80, 443, 9]),
                          st.sampled_from([1, 7, 10]), st.booleans()), max_size=40),
       st.sampled_from([(80,), (443, 80), (8080,), (1, 65535)]), st.sampled_from([None, 10, 7]),
       st.integers(1, 400), st.booleans())
def test_scan_table_finds_exactly_the_candidate_rows_at_any_chunk_size(rows, ports, state, chunk, v6):
    size = 16 if v6 else 4
    lines = [HEADER]
    for i, (port, rport, rstate, junk) in enumerate(rows):
        lines.append("junk :%04X here\n" % port if junk else
                     proc_row(i, bytes(size), port, bytes(size), rport, rstate))
    text = "".join(lines)
    got = list(procnet.scan_table(io.StringIO(text), 32 if v6 else 8, ports, state, chunk))
    assert got == naive_scan(text, 32 if v6 else 8, ports, state)


def test_scan_table_handles_a_last_row_without_newline_and_an_empty_file():
    row = proc_row(0, bytes(4), 80, bytes(4), 0, 10).rstrip("\n")
    assert list(procnet.scan_table(io.StringIO(HEADER + row), 8, (80,), 10)) == [(2, row)]
    assert list(procnet.scan_table(io.StringIO(""), 8, (80,), 10)) == []


def test_scan_table_rejects_an_endless_row():
    with pytest.raises(ValueError, match="more than"):
        list(procnet.scan_table(io.StringIO(HEADER + "0" * (procnet.MAX_ROW + 10)), 8, (80,), None))
