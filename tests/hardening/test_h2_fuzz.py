"""Property tests for the gRPC tool's HTTP/2 and HPACK decoders (h2.py;
CPython only: hypothesis. The recorded and RFC 7541 vectors in
tests/unit/test_h2.py run on both interpreters): whatever the bytes, only
H2Error comes out, never IndexError, struct.error or a hang; the same
bytes in any split give the same answer; what is kept stays within its
limits; and what an encoder writes, the decoder reads back.
"""

import struct
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcheck.h2 import FRAME_LIMIT, HUFFMAN, LIST_LIMIT, READ_LIMIT, Call, H2Error, huffman

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SERVER_SETTINGS = bytes.fromhex("000000040000000000")


def new_call():
    return Call("127.0.0.1:50051", b"svc", [("authorization", "Bearer x")], 2000)


def frame(ftype, flags, sid, payload):
    return struct.pack(">BHBBI", len(payload) >> 16, len(payload) & 0xFFFF, ftype, flags, sid) + payload


# The canonical code the lengths in h2.HUFFMAN give (the RFC vectors in
# tests/unit/test_h2.py check it), for writing Huffman strings.
_order = sorted(range(257), key=lambda s: (ord(HUFFMAN[s]), s))
CODES = {}
_code, _prev = 0, ord(HUFFMAN[_order[0]]) - 48
for _i, _sym in enumerate(_order):
    _len = ord(HUFFMAN[_sym]) - 48
    if _i:
        _code = (_code + 1) << (_len - _prev)
    _prev = _len
    CODES[_sym] = (_code, _len)


def huffman_encode(data):
    bits = nbits = 0
    for byte in data:
        code, length = CODES[byte]
        bits, nbits = bits << length | code, nbits + length
    pad = -nbits % 8
    return (bits << pad | (1 << pad) - 1).to_bytes((nbits + pad) // 8, "big")


def hpack_int(n, prefix, first):
    top = (1 << prefix) - 1
    if n < top:
        return bytes([first | n])
    out, n = [first | top], n - top
    while n >= 128:
        out.append(n & 127 | 128)
        n >>= 7
    return bytes(out + [n])


def hpack_str(data, coded):
    if coded:
        data = huffman_encode(data)
    return hpack_int(len(data), 7, 0x80 if coded else 0) + data


def outcome(call_, chunks):
    """Feed `chunks`; -> ("error", text) or ("done"/"open", result or None)."""
    try:
        for chunk in chunks:
            if call_.done:
                break
            call_.feed(chunk)
        if not call_.done:
            return "open", None
        return "done", call_.result()
    except H2Error as err:
        text = str(err)
        assert text and "\n" not in text and len(text) < 190, text
        # what a non-HTTP/2 server "answered" is what had come when it failed
        return "error", text.partition(": it answered")[0]


def split(data, cuts):
    cuts = sorted(set(c for c in cuts if 0 < c < len(data)))
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]


# ------------------------------------------------------------------ Huffman
@SETTINGS
@given(st.binary(max_size=200))
def test_huffman_any_bytes(data):
    try:
        out = huffman(data)
    except H2Error:
        return
    assert len(out) <= len(data) * 8 // 5  # no code is shorter than 5 bits


@SETTINGS
@given(st.binary(max_size=300))
def test_huffman_round_trip(data):
    assert huffman(huffman_encode(data)) == data


# ------------------------------------------------------------------ HPACK
@SETTINGS
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=4))
def test_hpack_any_blocks(blocks):
    c = new_call()
    start = time.monotonic()
    for block in blocks:
        try:
            fields = c.hpack(block)
        except H2Error:
            continue
        assert sum(len(n) + len(v) + 32 for n, v in fields) <= LIST_LIMIT
        assert c.tsize == sum(len(n) + len(v) + 32 for n, v in c.table) <= c.tmax <= 4096
    assert time.monotonic() - start < 5


field = st.tuples(st.binary(min_size=1, max_size=40), st.binary(max_size=80),
                  st.sampled_from(["with", "without", "never"]), st.booleans(), st.booleans())


@SETTINGS
@given(st.lists(st.lists(field, max_size=8), min_size=1, max_size=4), st.integers(0, 4096))
def test_hpack_reads_back_what_is_written(blocks, table_size):
    """Blocks of literal fields (indexed into the table or not, Huffman or
    not), then every field again by its index: decoded as written, the
    table evicting as RFC 7541 4.4 says."""
    c = new_call()
    table = []  # the encoder's model: newest first

    def model_add(name, value):
        table.insert(0, (name, value))
        while sum(len(n) + len(v) + 32 for n, v in table) > table_size:
            table.pop()

    first = True
    for fields in blocks:
        block = hpack_int(table_size, 5, 0x20) if first else b""
        first = False
        if not table_size:
            table.clear()
        while sum(len(n) + len(v) + 32 for n, v in table) > table_size:
            table.pop()
        expected = []
        for name, value, kind, hname, hvalue in fields:
            head = {"with": (6, 0x40), "without": (4, 0), "never": (4, 0x10)}[kind]
            block += hpack_int(0, *head) + hpack_str(name, hname) + hpack_str(value, hvalue)
            expected.append((name, value))
            if kind == "with":
                model_add(name, value)
        for i, entry in enumerate(list(table)):
            block += hpack_int(62 + i, 7, 0x80)
            expected.append(entry)
        assert c.hpack(block) == expected
        assert c.table == table


# ------------------------------------------------------------------ frames
@SETTINGS
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=8))
def test_feed_any_bytes(data, cuts):
    for prefix in (b"", SERVER_SETTINGS):
        raw = prefix + data
        whole = outcome(new_call(), [raw])
        assert outcome(new_call(), split(raw, cuts)) == whole


frames = st.lists(st.tuples(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xFA]),
                            st.sampled_from([0, 1, 4, 5, 8, 9, 0x20, 0x24, 0x25, 0x2D, 0xFF]),
                            st.sampled_from([0, 1, 3, 0x80000001]),
                            st.one_of(st.binary(max_size=40),
                                      st.sampled_from([b"\x88", b"\x88\x40\x8bgrpc-status\x010", bytes(8), bytes(4),
                                                       b"\x00\x00\x00\x00\x05\x08\x01", b"\x00" * 6,
                                                       b"\x00\x04\x00\x00\x00\x00", b"\x00\x05\x00\x00\x40\x00",
                                                       struct.pack(">II", 0, 11) + b"calm"]))),
                  max_size=12)


@SETTINGS
@given(frames, st.lists(st.integers(0, 600), max_size=6))
def test_feed_frames_near_the_grammar(seq, cuts):
    raw = SERVER_SETTINGS + b"".join(frame(*f) for f in seq)
    c = new_call()
    whole = outcome(c, [raw])
    assert outcome(new_call(), split(raw, cuts)) == whole
    if whole[0] == "done":
        ok, text = whole[1]
        assert ok in (True, False) and text and len(text) < 190
    # what the call sent back is whole frames, none over the default size
    out = c.out
    assert out.startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    out = out[24:]
    while out:
        size = int.from_bytes(out[:3], "big")
        assert size <= FRAME_LIMIT and len(out) >= 9 + size
        out = out[9 + size:]


@SETTINGS
@given(st.integers(1, 16384), st.integers(0, 3))
def test_reading_is_bounded(size, extra):
    c = new_call()
    c.feed(SERVER_SETTINGS)
    junk = frame(0xFA, 0, 0, b"j" * size)
    fed = len(SERVER_SETTINGS)
    try:
        while True:
            c.feed(junk)
            fed += len(junk)
            assert fed < READ_LIMIT + len(junk)
    except H2Error as err:
        assert "read and the response has not ended" in str(err)
        assert READ_LIMIT <= fed + len(junk) < READ_LIMIT + 2 * len(junk) + extra
