"""/proc/net rows -> records, in both byte orders, recorded tables from this
machine's kernel (tests/fixtures/proc-basic/), and the streaming scan that
the fallback really runs, at every chunk size."""

import io
import struct

from kit import FIXTURES, HEADER, a4, a6, proc_row, raises

from healthcheck import procnet
from healthcheck.errors import KernelError, ParseError
from healthcheck.kernel_abi import AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP
from healthcheck.tools import find_tool


def little(value):
    return struct.pack("<I", value)


def big(value):
    return struct.pack(">I", value)


# (row as a little-endian x86 kernel printed it, family, state, addr, port, raddr, rport, rx_queue)
ROWS = [
    ("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 672265 1",
     AF_INET, 10, a4("127.0.0.1"), 8080, a4("0.0.0.0"), 0, 3),
    ("  12: 0100000A:0050 0200000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 5 1",
     AF_INET, 1, a4("10.0.0.1"), 80, a4("10.0.0.2"), 0xD431, 0),
    ("   1: 00000000000000000000000001000000:2382 00000000000000000000000000000000:0000 0A "
     "00000000:00000000 00:00000000 00000000     0        0 672268 1",
     AF_INET6, 10, a6("::1"), 9090, a6("::"), 0, 0),
    ("   2: 0000000000000000FFFF00000100007F:2383 00000000000000000000000000000000:0000 0A "
     "00000000:00000000 00:00000000 00000000     0        0 672269 1",
     AF_INET6, 10, a6("::ffff:127.0.0.1"), 9091, a6("::"), 0, 0),
    ("12345: B80D0120000000000000000001000000:FFFF 00000000000000000000000000000000:0000 07 "
     "00000000:0000A000 00:00000000 00000000     0        0 1 2",
     AF_INET6, 7, a6("2001:db8::1"), 65535, a6("::"), 0, 0xA000),
]
JUNK = ["garbage", "   0: 0100007F:1F90", "   0: 0100007G:1F90 00000000:0000 0A x",
        "   0: 0100007F:1F9Z 00000000:0000 0A x", "   0: 0100007F 1F90 00000000:0000 0A x",
        "   x: 0100007F:1F90 00000000:0000 0A 00000000:00000000",
        "   0: 0100007F:1F90 00000000:0000 -A 00000000:00000000",
        "   0: 0100007F:1F90 00000000:0000 0A 0000000000000000"]


def test_rows_decode():
    for row, family, state, addr, port, raddr, rport, rx_queue in ROWS:
        width = 8 if family == AF_INET else 32
        rstate, rp, addr_hex, raddr_hex, rr, queue = procnet.parse_row(row, width)
        assert (rstate, rp, rr, queue) == (state, port, rport, rx_queue), row
        assert procnet.decode_addr(addr_hex, little) == addr
        assert procnet.decode_addr(raddr_hex, little) == raddr


def test_big_endian_rows_decode_with_big_endian_words():
    # A big-endian kernel prints each word most significant byte first.
    assert procnet.decode_addr("7F000001", big) == a4("127.0.0.1")
    assert procnet.decode_addr("20010DB8000000000000000000000001", big) == a6("2001:db8::1")
    for order, pack in (("<", little), (">", big)):
        for addr in (a4("10.1.2.3"), a6("fd00::1:2"), a6("::ffff:127.0.0.1")):
            row = proc_row(0, addr, 80, bytes(len(addr)), 0, 10, order=order, rx_queue=7)
            rows = [(2, row)]
            family = AF_INET if len(addr) == 4 else AF_INET6
            (rec,) = list(procnet.iter_table(rows, family, IPPROTO_TCP, (80,), 10, pack))
            assert (rec.addr, rec.port, rec.queue, rec.limit, rec.v6only) == (addr, 80, 7, None, None)


def test_malformed_rows_raise_parse_error_with_place():
    for junk in JUNK:
        rows = [(2, junk + "\n")]
        err = raises(ParseError, list, procnet.iter_table(rows, AF_INET, IPPROTO_TCP, (8080,), None, little,
                                                          "/proc/net/tcp"))
        assert "/proc/net/tcp line 2" in str(err), junk


def test_recorded_tables():
    root = FIXTURES + "/proc-basic"
    notes = []
    records = list(procnet.fetch(find_tool("TCP"), (8080, 8081, 8443, 9090, 9091, 9999), notes, root, 10, little))
    got = sorted([(r.family, r.addr, r.port) for r in records])
    assert got == [(AF_INET, a4("0.0.0.0"), 8080), (AF_INET, a4("127.0.0.1"), 8081),
                   (AF_INET6, a6("::"), 8443), (AF_INET6, a6("::1"), 9090),
                   (AF_INET6, a6("::ffff:127.0.0.1"), 9091)]
    # 9999 is bound, not listening; established rows on 8080 are not LISTEN
    assert notes == ["read %s/net/tcp" % root, "read %s/net/tcp6" % root]
    assert all(r.v6only is None for r in records)  # /proc never shows v6only
    records = list(procnet.fetch(find_tool("UDP"), (5353, 5354, 5355), [], root, 7, little))
    assert sorted([(r.family, r.port) for r in records]) == [(AF_INET, 5353), (AF_INET6, 5354)]
    every = list(procnet.fetch(find_tool("TCP"), (8080,), [], root, None, little))
    assert len(every) > 1 and len([r for r in every if r.state == 10]) == 1  # --debug reads all states


def test_missing_v6_table_means_no_ipv6_sockets():
    root = FIXTURES + "/proc-noipv6"
    notes = []
    assert [r.port for r in procnet.fetch(find_tool("TCP"), (80,), notes, root, 10)] == [80]
    assert "no %s/net/tcp6: IPv6 is off, so no IPv6 sockets" % root in notes
    assert list(procnet.fetch(find_tool("TCP6"), (80,), [], root, 10)) == []


def test_missing_v4_table_and_junk_are_errors():
    err = raises(KernelError, list, procnet.fetch(find_tool("UDP"), (53,), [], FIXTURES + "/proc-empty", 7))
    assert "cannot read %s/proc-empty/net/udp" % FIXTURES in str(err)
    # Bytes that are not UTF-8, which no kernel writes in these tables, are
    # judged as any other junk, on both builds: a line that is no row on
    # an asked port is passed over unread (tcp6), a row on one is a
    # ParseError naming its line (tcp).
    junk = FIXTURES + "/proc-junk"
    assert list(procnet.fetch(find_tool("TCP6"), (80,), [], junk, None)) == []
    err = raises(ParseError, list, procnet.fetch(find_tool("TCP"), (80,), [], junk, None))
    assert "%s/net/tcp line 2" % junk in str(err), str(err)


def naive_scan(text, width, ports, state):
    """What scan_table must find, the slow obvious way."""
    found = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if lineno == 1 or not line:
            continue
        try:
            row = procnet.parse_row(line, width)
        except ValueError:
            continue
        if row and row[1] in ports and (state is None or row[0] == state):
            found.append((lineno, line + "\n"))
    return found


def table(v6, rows):
    size = 16 if v6 else 4
    lines = [HEADER]
    for i, (port, rport, rstate, junk) in enumerate(rows):
        lines.append("junk :%04X here\n" % port if junk else
                     proc_row(i, bytes(size), port, bytes(size), rport, rstate))
    return "".join(lines)


ROW_SETS = [
    [(80, 0, 10, False), (443, 80, 1, False), (80, 9, 7, False), (8080, 0, 10, True), (80, 0, 10, False)],
    [(1, 0, 10, False), (65535, 1, 10, False), (80, 80, 1, False), (443, 0, 7, True)] * 7,
    [],
]


def test_scan_table_finds_exactly_the_candidate_rows_at_any_chunk_size():
    for rows in ROW_SETS:
        for v6 in (False, True):
            text = table(v6, rows)
            width = 32 if v6 else 8
            for ports in ((80,), (443, 80), (8080,), (1, 65535)):
                for state in (None, 10, 7):
                    want = naive_scan(text, width, ports, state)
                    for chunk in (1, 7, 64, 150, 4096):
                        got = list(procnet.scan_table(io.StringIO(text), width, ports, state, chunk))
                        assert got == want, (rows, v6, ports, state, chunk)


def test_scan_table_handles_a_last_row_without_newline_an_empty_file_and_an_endless_row():
    row = proc_row(0, bytes(4), 80, bytes(4), 0, 10).rstrip("\n")
    assert list(procnet.scan_table(io.StringIO(HEADER + row), 8, (80,), 10)) == [(2, row)]
    assert list(procnet.scan_table(io.StringIO(""), 8, (80,), 10)) == []
    err = raises(ValueError, list, procnet.scan_table(io.StringIO(HEADER + "0" * (procnet.MAX_ROW + 10)),
                                                      8, (80,), None))
    assert "more than" in str(err)


# udp and udp6 rows end with "drops" (udp4_format_sock, __ip6_dgram_sock_seq_show)
UDP_ROW = ("  660: 0100007F:14E9 00000000:0000 07 00000000:00001B00 00:00000000 00000000     0        0 1358285 2 "
           "00000000fe3573c2 1997\n")
UDP6_ROW = ("  661: 00000000000000000000000001000000:14EA 00000000000000000000000000000000:0000 07 "
            "00000000:00001B00 00:00000000 00000000     0        0 1358286 2 00000000c5ca4a36 4294967295\n")


def udp_rec(row, family=AF_INET):
    (rec,) = procnet.iter_table([(2, row)], family, IPPROTO_UDP, (5353, 5354), 7, little, "/proc/net/udp")
    return rec


def test_udp_rows_carry_the_drop_count():
    assert (udp_rec(UDP_ROW).queue, udp_rec(UDP_ROW).limit, udp_rec(UDP_ROW).drops) == (6912, None, 1997)
    assert (udp_rec(UDP6_ROW, AF_INET6).port, udp_rec(UDP6_ROW, AF_INET6).drops) == (5354, 4294967295)
    assert udp_rec(UDP_ROW.replace(" 1997", "")).drops is None  # no such column: not known, not 0
    assert udp_rec(UDP_ROW.replace(" 1997", " 1997 5")).drops is None  # a layout this code does not know
    assert udp_rec(UDP_ROW.replace(" 1997", " 0")).drops == 0
    for bad in (" 19x7", " -1", " 12345678901"):
        err = raises(ParseError, udp_rec, UDP_ROW.replace(" 1997", bad))
        assert "/proc/net/udp line 2" in str(err) and "drops" in str(err), bad
    # TCP rows have more columns, none of them drops
    (rec,) = procnet.iter_table([(2, proc_row(0, a4("127.0.0.1"), 80, bytes(4), 0, 10))], AF_INET, IPPROTO_TCP,
                                (80,), 10, little)
    assert rec.drops is None
    records = list(procnet.fetch(find_tool("UDP"), (5353, 5354), [], FIXTURES + "/proc-basic", 7, little))
    assert [(r.port, r.queue, r.drops) for r in records] == [(5353, 0, 0), (5354, 0, 0)]
