"""The gRPC tool's HTTP/2 and HPACK subset (h2.py), under both
interpreters: RFC 7541 Appendix C's header blocks (Huffman-coded, with the
dynamic table and its evictions), what a real grpcio server sent
(tests/fixtures/grpc/*.hex, recorded by record.py there) replayed in
every split, and made-up frames for what grpcio does not send:
CONTINUATION, padding, dynamic-table and Huffman-coded trailers, GOAWAY,
RST_STREAM, flow control, bad lengths."""

import struct

from kit import FIXTURES, raises, unhex

from healthcheck.h2 import FRAME_LIMIT, READ_LIMIT, Call, H2Error, huffman

GRPC = FIXTURES + "/grpc/"
SETTINGS = unhex("000000040000000000")  # an empty SETTINGS frame, as a server's first


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">BHBBI", len(payload) >> 16, len(payload) & 0xFFFF, ftype, flags, sid) + payload


def lit(name, value):
    """A literal field without indexing, no Huffman (short strings only)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def message(status):
    body = b"\x08" + bytes([status]) if status else b""
    return b"\x00" + struct.pack(">I", len(body)) + body


HEADERS = lit(b":status", b"200") + lit(b"content-type", b"application/grpc")


def trailers(code, text=b""):
    return lit(b"grpc-status", code) + (lit(b"grpc-message", text) if text else b"")


def call(service=b"", metadata=None):
    return Call("127.0.0.1:50051", service, metadata or [], 2000)


def replay(*chunks):
    c = call()
    for chunk in chunks:
        c.feed(chunk)
    return c


def answer(*frames):
    """The result of a call fed the server's SETTINGS and `frames`."""
    c = replay(SETTINGS + b"".join(frames))
    assert c.done
    return c.result()


def frames_of(data):
    """[(type, flags, stream, payload)] of a byte stream of whole frames."""
    out = []
    while data:
        l0, l1, ftype, flags, sid = struct.unpack_from(">BHBBI", data)
        size = l0 << 16 | l1
        out.append((ftype, flags, sid, data[9:9 + size]))
        data = data[9 + size:]
    return out


def fails(data, words, c=None):
    c = c or call()
    err = raises(H2Error, c.feed, data)
    assert words in str(err), (str(err), words)
    return c


def recorded(name):
    with open(GRPC + name + ".hex") as f:
        return [unhex(line.strip()) for line in f if line.strip() and not line.startswith("#")]


# ------------------------------------------------------------------ HPACK
def test_huffman_rfc7541_strings():
    for coded, text in [
        ("f1e3c2e5f23a6ba0ab90f4ff", b"www.example.com"),
        ("a8eb10649cbf", b"no-cache"),
        ("25a849e95ba97d7f", b"custom-key"),
        ("25a849e95bb8e8b4bf", b"custom-value"),
        ("6402", b"302"),
        ("aec3771a4b", b"private"),
        ("d07abe941054d444a8200595040b8166e082a62d1bff", b"Mon, 21 Oct 2013 20:13:21 GMT"),
        ("9d29ad171863c78f0b97c8e9ae82ae43d3", b"https://www.example.com"),
        ("9bd9ab", b"gzip"),
        ("94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
         b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
        ("", b""),
    ]:
        assert huffman(unhex(coded)) == text, coded


def test_huffman_table_ends_and_padding():
    assert huffman(b"\xff\xc7") == b"\x00"  # symbol 0: 1ff8, 13 bits, then 3 bits of padding
    assert huffman(b"\xff\xff\xfb\xbf") == b"\xff"  # symbol 255: 3ffffee, 26 bits
    assert huffman(b"\x07") == b"0"  # '0': 00000
    assert huffman(b"\x1f") == b"a"  # 'a': 00011
    for bad in (b"\xff\xff\xff\xff",  # EOS itself
                b"\xff",  # 8 bits of padding
                b"\x00",  # padding that is not the EOS code's ones
                b"\x1f\xff"):  # 'a', then 8 more ones
        raises(H2Error, huffman, bad)


def test_hpack_rfc7541_c4_requests_with_huffman():
    c = call()
    assert c.hpack(unhex("828684418cf1e3c2e5f23a6ba0ab90f4ff")) == [
        (b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"www.example.com")]
    assert c.tsize == 57
    assert c.hpack(unhex("828684be5886a8eb10649cbf")) == [
        (b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"www.example.com"),
        (b"cache-control", b"no-cache")]
    assert c.tsize == 110
    assert c.hpack(unhex("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf")) == [
        (b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/index.html"),
        (b":authority", b"www.example.com"), (b"custom-key", b"custom-value")]
    assert c.tsize == 164
    assert c.table == [(b"custom-key", b"custom-value"), (b"cache-control", b"no-cache"),
                       (b":authority", b"www.example.com")]


def test_hpack_rfc7541_c6_responses_with_evictions():
    c = call()
    c.tmax = 256  # the table size of RFC 7541's response examples
    date = b"Mon, 21 Oct 2013 20:13:21 GMT"
    first = [(b":status", b"302"), (b"cache-control", b"private"), (b"date", date),
             (b"location", b"https://www.example.com")]
    assert c.hpack(unhex("488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad1718"
                         "63c78f0b97c8e9ae82ae43d3")) == first
    assert c.tsize == 222
    assert c.hpack(unhex("4883640effc1c0bf")) == [(b":status", b"307")] + first[1:]
    assert c.tsize == 222
    assert c.hpack(unhex("88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7"
                         "b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")) == [
        (b":status", b"200"), (b"cache-control", b"private"), (b"date", b"Mon, 21 Oct 2013 20:13:22 GMT"),
        (b"location", b"https://www.example.com"), (b"content-encoding", b"gzip"),
        (b"set-cookie", b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")]
    assert c.tsize == 215
    assert [name for name, _ in c.table] == [b"set-cookie", b"content-encoding", b"date"]


def test_hpack_size_update_and_never_indexed():
    c = call()
    c.hpack(unhex("828684418cf1e3c2e5f23a6ba0ab90f4ff"))
    assert c.tsize == 57
    assert c.hpack(b"\x20\x82") == [(b":method", b"GET")]  # size 0 empties the table
    assert c.table == [] and c.tsize == 0
    raises(H2Error, c.hpack, b"\xbe")  # index 62: gone
    assert c.hpack(b"\x3f\xe1\x1f\x10\x01a\x01b") == [(b"a", b"b")]  # size 4096, then never indexed
    assert c.table == []


def test_hpack_bad_blocks():
    for block in (b"\x80",  # index 0
                  b"\xbe",  # index 62, an empty dynamic table
                  b"\xff\x00",  # index 127
                  b"\x00\x05ab",  # a name past the end
                  b"\x00\x01a",  # no value
                  b"\x00\x01a\x85\xff",  # a Huffman value past the end
                  b"\x00\x81\xff\x01b",  # a Huffman name of 8 bits of padding
                  b"\xff" + b"\xff" * 11,  # an integer that never ends
                  b"\xff\x80",  # an integer cut short
                  b"\x82\x20",  # a size update after a field
                  b"\x3f\xe2\x1f",  # a size update to 4097
                  b"\x40\x01a\x7f\x81\xff\x03" + b"x" * 65536,  # a header list over LIST_LIMIT
                  ):
        raises(H2Error, call().hpack, block)


def test_hpack_list_limit_counts_repeated_entries():
    c = call()
    entry = b"\x40\x01n\x7f\xa1\x1e" + b"v" * 4000  # 4033 bytes as an entry: into the table
    assert c.hpack(entry) == [(b"n", b"v" * 4000)] and c.tsize == 4033
    raises(H2Error, c.hpack, b"\xbe" * 17)  # 17 x 4033 > 65536: a block that amplifies
    assert len(c.hpack(b"\xbe" * 16)) == 16


# ---------------------------------------------------------- recorded calls
EXPECTED = {
    "serving": (True, "SERVING"),
    "not_serving": (False, "NOT_SERVING"),
    "not_found": (False, "NOT_FOUND"),
    "unimplemented": (False, "UNIMPLEMENTED 'Method not found!'"),
    "unauthenticated": (False, "UNAUTHENTICATED 'no valid bearer token'"),
    "authenticated": (True, "SERVING"),
}


def test_recorded_grpcio_answers():
    for name, expected in EXPECTED.items():
        chunks = recorded(name)
        c = replay(*chunks)
        assert c.done and c.result() == expected, (name, c.result())
        whole = b"".join(chunks)
        for size in (1, 7, 9, 10):  # any split gives the same answer
            c = call()
            for i in range(0, len(whole), size):
                if not c.done:
                    c.feed(whole[i:i + size])
            assert c.done and c.result() == expected, (name, size)


def test_recorded_exchange_answers_the_server():
    c = call(b"foo")
    out = frames_of(c.out[24:])
    assert c.out[:24] == b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    assert out == [(4, 0, 0, unhex("000200000000000600010000"))]
    c.out = b""
    chunks = recorded("serving")
    c.feed(chunks[0])  # the server's SETTINGS (and WINDOW_UPDATE)
    sent = frames_of(c.out)
    assert [(t, f, s) for t, f, s, _ in sent] == [(4, 1, 0), (1, 4, 1), (0, 1, 1)]  # ACK, HEADERS, DATA
    fields = call().hpack(sent[1][3])
    assert fields == [(b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/grpc.health.v1.Health/Check"),
                      (b":authority", b"127.0.0.1:50051"), (b"content-type", b"application/grpc"),
                      (b"te", b"trailers"), (b"grpc-timeout", b"2000m"), (b"user-agent", fields[7][1])]
    assert fields[7][1].startswith(b"healthcheck/")
    assert sent[2][3] == b"\x00\x00\x00\x00\x05\x0a\x03foo"  # HealthCheckRequest {service: "foo"}
    c.out = b""
    for chunk in chunks[1:]:
        c.feed(chunk)
    pings = [p for t, f, s, p in frames_of(b"".join(chunks)) if t == 6 and not f & 1]
    assert [(t, f, p) for t, f, s, p in frames_of(c.out) if t == 6] == [(6, 1, p) for p in pings]
    assert "< grpc-status: 0" in c.lines and "> :path: /grpc.health.v1.Health/Check" in c.lines
    assert "< HEADERS stream=1 flags=0x5 length=30" in c.lines


# ------------------------------------------------------------ made-up frames
def test_trailers_only_and_statuses():
    assert answer(frame(1, 5, 1, HEADERS + trailers(b"12", b"unknown service"))) == (
        False, "UNIMPLEMENTED 'unknown service'")
    for status, expected in ((0, (False, "UNKNOWN")), (1, (True, "SERVING")), (2, (False, "NOT_SERVING")),
                             (3, (False, "SERVICE_UNKNOWN")), (9, (False, "code 9"))):
        assert answer(frame(1, 4, 1, HEADERS), frame(0, 0, 1, message(status)),
                      frame(1, 5, 1, trailers(b"0"))) == expected, status
    assert answer(frame(1, 5, 1, HEADERS + trailers(b"16"))) == (False, "UNAUTHENTICATED")
    assert answer(frame(1, 5, 1, HEADERS + trailers(b"99"))) == (False, "code 99")
    # grpc-message is percent-encoded; what is not printable is escaped
    assert answer(frame(1, 5, 1, HEADERS + trailers(b"14", b"down%20for %E2%9C%93 100%"))) == (
        False, "UNAVAILABLE 'down for \\xe2\\x9c\\x93 100%'")


def test_answers_that_are_not_grpc():
    assert answer(frame(1, 5, 1, lit(b":status", b"404"))) == (False, "HTTP status 404: not a gRPC answer")
    assert answer(frame(1, 5, 1, lit(b"x", b"y"))) == (False, "HTTP status -: not a gRPC answer")
    assert answer(frame(1, 5, 1, HEADERS)) == (False, "no grpc-status in the answer")
    assert answer(frame(1, 5, 1, HEADERS + trailers(b"x1"))) == (False, "no grpc-status in the answer")
    assert answer(frame(1, 4, 1, HEADERS), frame(1, 5, 1, trailers(b"0"))) == (
        False, "not one gRPC message (0 bytes)")
    assert answer(frame(1, 4, 1, HEADERS), frame(0, 0, 1, b"\x01" + message(1)[1:]),
                  frame(1, 5, 1, trailers(b"0")))[1].startswith("not one gRPC message")
    assert answer(frame(1, 4, 1, HEADERS), frame(0, 0, 1, message(1) + b"\x00"),
                  frame(1, 5, 1, trailers(b"0")))[1].startswith("not one gRPC message")
    for body in (b"\x08", b"\x08\x01\x10\x01", b"\x0a\x01x", b"\x08\x81"):  # cut short, or fields not its own
        c = replay(SETTINGS + frame(1, 4, 1, HEADERS) + frame(0, 0, 1, b"\x00" + struct.pack(">I", len(body)) + body)
                   + frame(1, 5, 1, trailers(b"0")))
        raises(H2Error, c.result)


def test_continuation_padding_priority_and_dynamic_huffman_trailers():
    # :status 200 (static entry 8); content-type (static name 31) into the dynamic table, Huffman-coded
    headers = b"\x88\x5f" + hstr(b"application/grpc")
    assert call().hpack(headers) == [(b":status", b"200"), (b"content-type", b"application/grpc")]
    # trailers: grpc-status into the table (new name, Huffman), grpc-message never indexed, with
    # RFC 7541 C.6.1's Huffman "private", and content-type from the table (now entry 63)
    tail = b"\x40" + hstr(b"grpc-status") + b"\x012" + b"\x10" + hstr(b"grpc-message") + \
        b"\x85\xae\xc3\x77\x1a\x4b" + b"\xbf"
    padded = b"\x03" + b"\x00\x00\x00\x00\x10" + headers[:5]  # PADDED | PRIORITY: pad length, priority, fragment
    frames = [frame(1, 0x28, 1, padded + b"\x00\x00\x00"), frame(9, 0, 1, headers[5:9]), frame(9, 4, 1, headers[9:]),
              frame(0, 8, 1, b"\x02" + message(1) + b"\x00\x00"),
              frame(1, 1 | 8, 1, b"\x00" + tail[:6]), frame(9, 4, 1, tail[6:])]
    c = replay(SETTINGS + b"".join(frames))
    assert c.done
    assert c.headers == [(b":status", b"200"), (b"content-type", b"application/grpc")]
    assert c.trailers == [(b"grpc-status", b"2"), (b"grpc-message", b"private"),
                          (b"content-type", b"application/grpc")]
    assert c.result() == (False, "UNKNOWN 'private'")


def huffman_coded(text):
    """Huffman-codes `text` with the code h2.HUFFMAN gives back (the RFC
    vectors above check that code), padded with ones."""
    from healthcheck.h2 import HUFFMAN

    order = sorted(range(257), key=lambda s: ord(HUFFMAN[s]) * 512 + s)
    codes = {}
    code = 0
    prev = ord(HUFFMAN[order[0]]) - 48
    for i, sym in enumerate(order):
        length = ord(HUFFMAN[sym]) - 48
        if i:
            code = (code + 1) << (length - prev)
        prev = length
        codes[sym] = (code, length)
    bits = nbits = 0
    for ch in text:
        code, length = codes[ch]
        bits = bits << length | code
        nbits += length
    pad = -nbits % 8
    bits = bits << pad | (1 << pad) - 1
    n = (nbits + pad) // 8
    return bytes([bits >> (8 * (n - 1 - i)) & 255 for i in range(n)])


def hstr(text):
    """An HPACK string literal, Huffman-coded (short ones only)."""
    coded = huffman_coded(text)
    return bytes([0x80 | len(coded)]) + coded


def test_huffman_coded_round_trip():
    for text in (b"grpc-status", b"grpc-message", b"\x00\xff{}~", b"private"):
        assert huffman(huffman_coded(text)) == text


def test_goaway_and_rst_stream():
    calm = frame(7, 0, 0, struct.pack(">II", 0, 11) + b"too_many_pings")
    assert answer(calm) == (False, "GOAWAY ENHANCE_YOUR_CALM 'too_many_pings'")
    assert answer(frame(7, 0, 0, struct.pack(">II", 0, 0))) == (False, "GOAWAY NO_ERROR")
    assert answer(frame(7, 0, 0, struct.pack(">II", 1, 2))) == (False, "GOAWAY INTERNAL_ERROR")
    assert answer(frame(7, 0, 0, struct.pack(">II", 1, 99))) == (False, "GOAWAY code 99")
    # a graceful GOAWAY that lets stream 1 finish
    assert answer(frame(7, 0, 0, struct.pack(">II", 0x7FFFFFFF, 0)), frame(1, 5, 1, HEADERS + trailers(b"5"))) == (
        False, "NOT_FOUND")
    assert answer(frame(3, 0, 1, struct.pack(">I", 8))) == (False, "RST_STREAM CANCEL")
    assert answer(frame(3, 0, 3, struct.pack(">I", 8)), frame(1, 5, 1, HEADERS + trailers(b"0"))) == (
        False, "not one gRPC message (0 bytes)")  # another stream's reset: ignored


def test_ping_settings_and_flow_control():
    c = replay(frame(4, 0, 0, struct.pack(">HI", 4, 0)))  # INITIAL_WINDOW_SIZE 0: no DATA yet
    assert [(t, f) for t, f, _, _ in frames_of(c.out[24:])] == [(4, 0), (4, 1), (1, 4)]
    c.out = b""
    c.feed(frame(8, 0, 0, struct.pack(">I", 100)))  # the connection's window: not enough
    assert c.out == b""
    c.feed(frame(8, 0, 1, struct.pack(">I", 5)) + frame(6, 0, 0, b"12345678") + frame(6, 1, 0, b"87654321"))
    assert [(t, f, s, p) for t, f, s, p in frames_of(c.out)] == [
        (0, 1, 1, message(0)), (6, 1, 0, b"12345678")]  # DATA once the window takes it; one PING answered
    c.out = b""
    c.feed(frame(4, 1, 0) + frame(2, 0, 1, b"\x00" * 5) + frame(0xFA, 0, 0, b"?"))  # ACK, PRIORITY, unknown type
    assert c.out == b"" and not c.done


def test_request_respects_the_servers_limits():
    big = [("x-big", "v" * 20000)]
    c = call(metadata=big)
    c.feed(SETTINGS)
    sent = frames_of(c.out[24:])
    assert [(t, f, len(p)) for t, f, _, p in sent[2:5]] == [(1, 0, 16384), (9, 4, len(sent[3][3])), (0, 1, 5)]
    assert len(sent[3][3]) > 3000
    block = sent[2][3] + sent[3][3]
    assert call().hpack(block)[-1] == (b"x-big", b"v" * 20000)
    c = call(metadata=big)
    c.feed(frame(4, 0, 0, struct.pack(">HI", 5, 32768)))  # MAX_FRAME_SIZE 32768: one HEADERS
    assert [(t, f) for t, f, _, _ in frames_of(c.out[24:])][2:] == [(1, 4), (0, 1)]
    c = call(metadata=[("authorization", "Bearer x")])
    err = str(raises(H2Error, c.feed, frame(4, 0, 0, struct.pack(">HI", 6, 100))))
    assert err == "request headers over the server's limit (%d > 100)" % c.size and c.size > 300, err


def test_not_http2_fails_at_the_first_byte():
    c = fails(b"H", "not a gRPC (HTTP/2) server: it answered 'H'")
    c = fails(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
              "not a gRPC (HTTP/2) server: it answered 'HTTP/1.1 400 Bad Request'")
    fails(b"SSH-2.0-OpenSSH_9\r\n", "it answered 'SSH-2.0-OpenSSH_9'")
    fails(b"\x15\x03\x01\x00\x02\x02\x46", "it answered '\\x15\\x03")  # a TLS alert
    fails(frame(4, 1, 0), "not a gRPC (HTTP/2) server")  # an ACK first
    fails(frame(7, 0, 0, bytes(8)), "not a gRPC (HTTP/2) server")  # GOAWAY first
    c = call()
    c.feed(b"\x00\x00")  # the start of a SETTINGS frame: wait for more
    assert "it answered '\\x00\\x00'" in str(raises(H2Error, c.closed))
    assert "it closed the connection" in str(raises(H2Error, call().closed))
    c = replay(SETTINGS)
    assert c.step() == "the response headers"
    assert str(raises(H2Error, c.closed)) == "the server closed the connection before the response headers"
    assert call().step() == "the server's SETTINGS"


def test_bad_frames():
    top = FRAME_LIMIT + 1
    for data, words in [
        (struct.pack(">BHBBI", top >> 16, top & 0xFFFF, 0xFA, 0, 0), "frame of 16385 bytes"),
        (frame(4, 0, 0, b"\x00" * 7), "a SETTINGS frame of 7 bytes"),
        (frame(4, 1, 0, b"\x00" * 6), "a SETTINGS frame of 6 bytes"),
        (frame(4, 0, 1), "a SETTINGS frame on stream 1"),
        (frame(6, 0, 0, b"1234567"), "a PING frame of 7 bytes"),
        (frame(6, 0, 1, b"12345678"), "a PING frame on stream 1"),
        (frame(7, 0, 0, b"1234567"), "a GOAWAY frame of 7 bytes"),
        (frame(8, 0, 0, b"123"), "a WINDOW_UPDATE frame of 3 bytes"),
        (frame(3, 0, 0, b"1234"), "a RST_STREAM frame on stream 0"),
        (frame(3, 0, 1, b"12345"), "a RST_STREAM frame of 5 bytes"),
        (frame(1, 4, 3, HEADERS), "a HEADERS frame on stream 3"),
        (frame(0, 0, 0, b"x"), "a DATA frame on stream 0"),
        (frame(0, 0, 1, message(1)), "an unexpected DATA frame"),  # before the headers
        (frame(1, 4, 1, HEADERS) + frame(0, 1, 1, message(1)), "an unexpected DATA frame"),  # no trailers
        (frame(1, 4, 1, HEADERS) + frame(1, 4, 1, HEADERS), "an unexpected HEADERS frame"),  # trailers must end it
        (frame(9, 4, 1, HEADERS), "an unexpected CONTINUATION frame"),
        (frame(1, 0, 1, HEADERS[:5]) + frame(6, 0, 0, b"12345678"), "an unexpected PING frame"),
        (frame(1, 0, 1, HEADERS[:5]) + frame(9, 4, 3, HEADERS[5:]), "an unexpected CONTINUATION frame"),
        (frame(5, 4, 1, b"\x00\x00\x00\x02"), "an unexpected PUSH_PROMISE frame"),
        (frame(1, 0x0C, 1, b"\x05abcd"), "a HEADERS frame of 5 bytes"),  # padding over the payload
        (frame(1, 0x0C, 1, b""), "a HEADERS frame of 0 bytes"),
        (frame(1, 0x24, 1, b"\x00\x00\x00"), "a HEADERS frame of 3 bytes"),  # too short for its priority
        (frame(1, 4, 1, HEADERS) + frame(0, 8, 1, b"\x01"), "a DATA frame of 1 bytes"),
        (frame(1, 4, 1, b"\x80"), "bad HPACK"),
    ]:
        fails(SETTINGS + data, words)


def test_read_limit():
    c = replay(SETTINGS)
    junk = frame(0xFA, 0, 0, b"j" * 16000)  # frames of an unknown type: read and ignored
    for _ in range(4):
        c.feed(junk)
    err = raises(H2Error, c.feed, junk)
    assert str(err) == "%d KB read and the response has not ended" % (READ_LIMIT // 1024)
