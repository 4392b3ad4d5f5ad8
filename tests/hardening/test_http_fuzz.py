"""Property tests for the HTTP tool's parsers (CPython only: hypothesis;
the recorded responses in tests/unit/test_httpmsg.py run on both
interpreters): whatever the bytes or the text, only ProtocolError or
UsageError comes out, never IndexError, ValueError or a hang; the same
bytes in any split give the same answer; reading stays within its limits.
"""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcheck.errors import UsageError
from healthcheck.httpmsg import (
    BODY_LIMIT,
    HEAD_LIMIT,
    WIRE_LIMIT,
    ProtocolError,
    Response,
    parse_codes,
    parse_header,
    parse_method,
    parse_target,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(raw, cuts, head_only=False, want_body=True):
    """Feed `raw` in pieces ending at `cuts` (and never more than want()),
    then the end of stream. -> (summary | error text, bytes read)."""
    resp = Response(head_only, want_body)
    pos = 0
    cuts = sorted(set(c for c in cuts if 0 < c < len(raw)))
    try:
        while not resp.done:
            n = resp.want()
            assert 0 < n <= 4096
            for c in cuts:
                if c > pos:
                    n = min(n, c - pos)
                    break
            data = raw[pos:pos + n]
            pos += len(data)
            resp.feed(data)
    except ProtocolError as err:
        msg = str(err)
        assert msg and "\n" not in msg and len(msg) < 120, msg
        return msg, pos
    summary = (resp.version, resp.status, resp.reason, tuple(resp.headers), resp.body, resp.truncated)
    if resp.body is not None:
        assert len(resp.body) == resp.kept <= BODY_LIMIT
    return summary, pos


# Responses built from parts near the grammar, so that most get past the
# status line and exercise the framing.
token = st.sampled_from([b"Content-Length", b"Transfer-Encoding", b"content-length", b"X-A", b"Bad Name", b"",
                         b"Connection", b" folded"])
value = st.one_of(st.sampled_from([b"0", b"5", b"5, 5", b"5, 6", b"-1", b"chunked", b"gzip, chunked", b"gzip",
                                   b"99999999999999999999", b"", b"\xff\x00", b"close"]),
                  st.binary(max_size=20))
eol = st.sampled_from([b"\r\n", b"\n", b"\r", b""])
status_line = st.one_of(
    st.sampled_from([b"HTTP/1.1 200 OK", b"HTTP/1.0 204 No Content", b"HTTP/1.1 304 ", b"HTTP/1.1 100 Continue",
                     b"HTTP/1.1 101 Switching", b"HTTP/1.1 503", b"HTTP/2 200", b"HTTP/1.1 2000", b"SSH-2.0-x",
                     b"\x16\x03\x01\x00", b""]),
    st.binary(max_size=30))
chunk = st.one_of(
    st.binary(max_size=40).map(lambda d: b"%x\r\n%s\r\n" % (len(d), d)),
    st.binary(max_size=10).map(lambda d: b"%X;ext=1\r\n%s\n" % (len(d), d)),
    st.sampled_from([b"0\r\n\r\n", b"0\r\nT: 1\r\n\r\n", b"zz\r\n", b"\r\n", b"1\r\nab", b"10000000000000000\r\n"]),
    st.binary(max_size=12))


@st.composite
def responses(draw):
    out = draw(status_line) + draw(eol)
    for _ in range(draw(st.integers(0, 5))):
        out += draw(token) + b":" + draw(st.sampled_from([b" ", b"", b"\t"])) + draw(value) + draw(eol)
    out += draw(eol)
    body = b"".join(draw(st.lists(chunk, max_size=6)))
    if draw(st.booleans()):
        out = draw(st.sampled_from([b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early\r\nLink: x\r\n\r\n"])) + out
    return out + body


raw_bytes = st.one_of(responses(), st.binary(max_size=300))
cut_lists = st.lists(st.integers(0, 400), max_size=12)


@SETTINGS
@given(raw_bytes, cut_lists, st.booleans(), st.booleans())
def test_any_bytes_in_any_split_give_the_same_clean_answer(raw, cuts, head_only, want_body):
    whole, read = run(raw, [], head_only, want_body)
    assert run(raw, cuts, head_only, want_body)[0] == whole
    assert run(raw, range(1, len(raw) + 1), head_only, want_body)[0] == whole  # a byte at a time
    assert read <= HEAD_LIMIT + WIRE_LIMIT


@SETTINGS
@given(st.integers(0, 3), st.integers(1, 5), st.sampled_from([70000, 200000]))
def test_big_answers_stop_at_their_limits(kind, piece, size):
    if kind == 0:
        raw = b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * (size // 6)
    elif kind == 1:
        raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"b" * size
    elif kind == 2:
        one = b"%x\r\n" % piece + b"c" * piece + b"\r\n"
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + one * (size // piece)
    else:
        raw = b"HTTP/1.0 200 OK\r\n\r\n" + b"d" * size
    start = time.monotonic()
    out, read = run(raw, [])
    assert time.monotonic() - start < 5
    if kind == 0:
        assert "longer than 16 KB" in out and read == HEAD_LIMIT
    else:
        assert out[5] is True and read <= HEAD_LIMIT + WIRE_LIMIT, (out[5], read)
        assert len(out[4]) == BODY_LIMIT or (kind == 2 and read >= WIRE_LIMIT)


def clean(fn, text):
    try:
        fn(text)
    except UsageError as err:
        msg = str(err)
        assert msg and "\n" not in msg and len(msg) < 200, msg
        msg.encode("ascii")  # printable, whatever the input


url_parts = st.one_of(
    st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "http:/", "grpc://", "1http://"]),
    st.sampled_from(["127.0.0.1", "[::1]", "localhost", "[fe80::1%25eth0]", "::1", "0.0.0.0", "[::]", "user:pw@",
                     "example.com", "1.2.3", "[", "]", "", "@", "%"]),
    st.sampled_from([":8080", ":0", ":65536", ":", ":http", ""]),
    st.sampled_from(["/healthz", "/a b", "/\x00", "/\u00e9", "?x=1", "#frag", "/x#y z", "", "//", "/\udc80"]),
)


@SETTINGS
@given(st.one_of(st.text(max_size=80), st.lists(url_parts, min_size=1, max_size=6).map("".join),
                 st.text(alphabet="0123456789/?#:[].", max_size=20)))
def test_targets_are_parsed_or_a_usage_error(text):
    try:
        t = parse_target(text)
    except UsageError as err:
        assert "\n" not in str(err) and len(str(err)) < 200, str(err)
        str(err).encode("ascii")
        return
    assert t.scheme in ("http", "https") and 1 <= t.port <= 65535 and t.path[:1] == "/"
    assert " " not in t.path and "#" not in t.path
    t.path.encode("ascii")
    assert (t.addr is None) == (t.family is None)
    assert t.addr is None or len(t.addr) in (4, 16)


@SETTINGS
@given(st.one_of(st.text(max_size=60), st.text(alphabet="Aa-: \t\r\n\x00\x01\u00e9\udc80", max_size=20),
                 st.just("X: " + "a" * 5000)))
def test_headers_methods_codes_are_parsed_or_a_usage_error(text):
    for fn in (parse_header, parse_method, parse_codes):
        clean(fn, text)
    try:
        name, value = parse_header(text)
    except UsageError:
        return
    for ch in name + value:
        assert 32 <= ord(ch) < 127 or ch == "\t"
    assert value == value.strip(" \t")
