"""UNIX: unix_diag replies recorded from this machine's kernel
(tests/fixtures/unix-basic/, made by tests/fixtures/capture.py), written
edge cases, /proc/net/unix rows, and the stat -> kernel device mapping."""

import struct

from kit import FIXTURES, FakeSock, attr, done, nlmsg, raises, unhex, unix_msg

from healthcheck import netlink, procunix, unix_diag
from healthcheck.errors import ParseError
from healthcheck.kernel_abi import SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN
from healthcheck.match import match
from healthcheck.namespace import kernel_dev
from healthcheck.query import make_query

HERE = FIXTURES + "/unix-basic"


def recorded():
    with open(HERE + "/dir") as f:
        where = f.read().strip().encode()
    with open(HERE + "/unix_diag.hex") as f:
        datagrams = [unhex(line) for line in f.read().split()]
    records = list(netlink.dump(FakeSock(*datagrams), b"", 7, 20, unix_diag.decode_unix))
    return where, records


def test_request_layout():
    req = unix_diag.build_request(1 << TCP_LISTEN, seq=3)
    assert struct.unpack_from("@IHHII", req) == (16 + 24, 20, 0x301, 3, 0)
    assert struct.unpack_from("@BBHIII", req, 16) == (1, 0, 0, 1 << 10, 0, 0x13)  # NAME | VFS | RQLEN


def test_recorded_reply():
    where, records = recorded()
    named = sorted([(r.name, r.stype, r.state, r.vfs is not None, r.queue, r.limit)
                    for r in records if r.name and r.state != TCP_ESTABLISHED])
    assert named == [
        (b"\0hc-fixture", SOCK_STREAM, TCP_LISTEN, False, 0, 1),
        (where + b"/dgram.sock", SOCK_DGRAM, TCP_CLOSE, True, None, None),  # RQLEN: bytes, not a queue
        (where + b"/listen.sock", SOCK_STREAM, TCP_LISTEN, True, 2, 4),  # two clients wait in its queue
        (where + b"/nolisten.sock", SOCK_STREAM, TCP_CLOSE, True, None, None),
        (where + b"/seqpacket.sock", SOCK_SEQPACKET, TCP_LISTEN, True, 0, 2),
    ], named
    # The two clients; the server ends waiting in the queue are not listed.
    assert len([r for r in records if r.state == TCP_ESTABLISHED and r.name is None]) == 2
    listener = [r for r in records if r.name == where + b"/listen.sock" and r.state == TCP_LISTEN][0]
    (res,) = match(make_query("UNIX", (where + b"/listen.sock").decode()), records, identity=listener.vfs)
    assert res.ok() and res.listening is listener
    (res,) = match(make_query("UNIX", (where + b"/nolisten.sock").decode()), records, explain=True)
    assert not res.ok() and "listen() was never called" in res.near_miss[1]


def test_written_replies_and_malformed_ones():
    msg = unix_msg(SOCK_STREAM, TCP_LISTEN, b"/run/a.sock", (0x800003, 42), (1, 5))
    (rec,) = list(netlink.dump(FakeSock(nlmsg(20, msg) + done()), b"", 1, 20, unix_diag.decode_unix))
    assert (rec.name, rec.vfs, rec.queue, rec.limit) == (b"/run/a.sock", (0x800003, 42), 1, 5)
    assert unix_diag.decode_unix(unix_msg(SOCK_DGRAM, TCP_CLOSE)).name is None  # unbound
    for bad in (msg[:10], b"\x02" + msg[1:], msg[:16] + attr(1, b"\0\0\0"), msg[:16] + attr(4, b"\0"),
                msg[:16] + struct.pack("@HH", 200, 0)):
        raises(ParseError, unix_diag.decode_unix, bad)


def test_proc_net_unix():
    root = HERE + "/proc"
    notes = []
    records = list(procunix.fetch(b"/run/hc/listen.sock", notes, root))
    got = sorted([(r.stype, r.state, r.queue, r.vfs) for r in records])
    assert got == [(SOCK_STREAM, 2, None, None), (SOCK_STREAM, 2, None, None),
                   (SOCK_STREAM, TCP_LISTEN, None, None)], got  # two connections wait in its queue
    assert "no file identity" in notes[0]
    (rec,) = list(procunix.fetch(b"\0hc-fixture", [], root))
    assert (rec.stype, rec.state) == (SOCK_STREAM, TCP_LISTEN)
    (rec,) = list(procunix.fetch(b"/run/hc/dgram.sock", [], root))
    assert (rec.stype, rec.state) == (SOCK_DGRAM, TCP_CLOSE)
    assert list(procunix.fetch(b"/run/hc", [], root)) == []  # a prefix of names is not a name
    assert list(procunix.fetch(b"hc/listen.sock", [], root)) == []


def test_proc_rows():
    name = b"/a b/x.sock"
    assert procunix.parse_row(b"0000000000000000: 00000002 00000000 00010000 0005 01 7", name).stype == 5
    assert procunix.parse_row(b"0000000000000000: 00000002 00000000 00000000 0001 01 7 /a", name) is None
    for bad in (b"junk", b"0000000000000000: 0000000Z 00000000 00000000 0001 01 7"):
        raises(ValueError, procunix.parse_row, bad, name)
    assert procunix.proc_name(b"\0a\0b") == b"@a@b"


def test_proc_table_with_names_that_are_not_utf8():
    # Any process may bind a name that is not UTF-8 (the fixture's rows hold
    # the bytes ff fe): the table is read as bytes, and such a row neither
    # hides nor breaks the rows of other names.
    root = FIXTURES + "/unix-nonutf8"
    for name in (b"\0\xff\xfe", b"/tmp/\xff.sock", b"/run/ok.sock"):
        (rec,) = list(procunix.fetch(name, [], root))
        assert (rec.stype, rec.state, rec.name) == (SOCK_STREAM, TCP_LISTEN, name)


def test_kernel_dev_matches_the_kernel_encoding():
    # stat's st_dev (new_encode_dev: major 8, minor 3 -> 0x803; major 259, minor 300 -> 0x11032c)
    assert kernel_dev(0x803) == (8 << 20) | 3
    assert kernel_dev(0x11032C) == (259 << 20) | 300
