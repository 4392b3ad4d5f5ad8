"""The HTTP tool's messages (httpmsg): targets, --status, --header and
--method as the user writes them, the request sent, and recorded
responses read in every split, under both interpreters."""

from kit import raises

from healthcheck.errors import UsageError
from healthcheck.httpmsg import (
    BODY_LIMIT,
    DEFAULT_CODES,
    HEAD_LIMIT,
    WIRE_LIMIT,
    ProtocolError,
    Response,
    build_request,
    codes_text,
    not_http,
    parse_codes,
    parse_header,
    parse_method,
    parse_target,
)
from healthcheck.kernel_abi import AF_INET, AF_INET6

LO4 = b"\x7f\x00\x00\x01"
LO6 = bytes(15) + b"\x01"

# text -> (scheme, port, path, host, family, addr, authority)
GOOD_TARGETS = [
    ("8080", ("http", 8080, "/", None, None, None, None)),
    ("8080/healthz", ("http", 8080, "/healthz", None, None, None, None)),
    ("8080/x?y=1", ("http", 8080, "/x?y=1", None, None, None, None)),
    ("8080?y=1", ("http", 8080, "/?y=1", None, None, None, None)),
    ("8080/", ("http", 8080, "/", None, None, None, None)),
    ("1", ("http", 1, "/", None, None, None, None)),
    ("65535/a/b", ("http", 65535, "/a/b", None, None, None, None)),
    ("8080/x#frag", ("http", 8080, "/x", None, None, None, None)),
    ("8080/redirect?to=http://x/", ("http", 8080, "/redirect?to=http://x/", None, None, None, None)),
    ("http://127.0.0.1:8080/healthz", ("http", 8080, "/healthz", "127.0.0.1", AF_INET, LO4, "127.0.0.1:8080")),
    ("http://127.0.0.1", ("http", 80, "/", "127.0.0.1", AF_INET, LO4, "127.0.0.1")),
    ("HTTP://127.0.0.1/", ("http", 80, "/", "127.0.0.1", AF_INET, LO4, "127.0.0.1")),
    ("https://127.0.0.1/", ("https", 443, "/", "127.0.0.1", AF_INET, LO4, "127.0.0.1")),
    ("HttpS://127.0.0.1:8443", ("https", 8443, "/", "127.0.0.1", AF_INET, LO4, "127.0.0.1:8443")),
    ("http://[::1]:8080/x?y", ("http", 8080, "/x?y", "::1", AF_INET6, LO6, "[::1]:8080")),
    ("http://[::1]", ("http", 80, "/", "::1", AF_INET6, LO6, "[::1]")),
    ("http://[FD00:0::1]/", ("http", 80, "/", "FD00:0::1", AF_INET6, b"\xfd" + bytes(14) + b"\x01", "[FD00:0::1]")),
    ("http://localhost:8080/", ("http", 8080, "/", "localhost", None, None, "localhost:8080")),
    ("http://LocalHost", ("http", 80, "/", "LocalHost", None, None, "LocalHost")),
    ("http://localhost?x=1", ("http", 80, "/?x=1", "localhost", None, None, "localhost")),
    ("http://10.0.0.5:00080/#top", ("http", 80, "/", "10.0.0.5", AF_INET, b"\x0a\x00\x00\x05", "10.0.0.5:00080")),
]

# (text, words the one-line message must hold)
BAD_TARGETS = [
    ("", "no port or URL given"),
    ("http://user:pw@127.0.0.1/", "no user:password@"),
    ("http://user@127.0.0.1/", "no user:password@"),
    ("0", "a port is a number from 1 to 65535"),
    ("65536", "a port is a number from 1 to 65535"),
    ("080000", "a port is a number from 1 to 65535"),
    ("http://127.0.0.1:0/", "a port is a number from 1 to 65535"),
    ("http://127.0.0.1:65536/", "a port is a number from 1 to 65535"),
    ("http://127.0.0.1:http/", "a port is a number from 1 to 65535"),
    ("http://127.0.0.1:/", "a port is a number from 1 to 65535"),
    ("http://[::1]:-1/", "a port is a number from 1 to 65535"),
    ("abc", "write PORT[/PATH]"),
    ("+80", "write PORT[/PATH]"),
    ("/healthz", "write PORT[/PATH]"),
    ("127.0.0.1:8080/healthz", "write http://127.0.0.1:8080/healthz"),
    ("localhost:8080", "write http://localhost:8080"),
    ("http:///x", "no host"),
    ("http://", "no host"),
    ("http://:8080/", "no host"),
    ("http://example.com/", "give an IP address or localhost"),
    ("http://db:5432/", "give an IP address or localhost"),
    ("http://localhost.localdomain/", "give an IP address or localhost"),
    ("http://1.2.3/", "four dot-separated numbers"),
    ("http://127.0.0.01/", "no leading zeros"),
    ("http://::1/", "in brackets: http://[::1]/"),
    ("http://fe80::1%eth0/", "zones"),
    ("http://[fe80::1%25eth0]/", "zones"),
    ("http://[::1/", "[::1]:8080"),
    ("http://[::1]x/", "[::1]:8080"),
    ("http://[::g]/", "bad IPv6 address"),
    ("http://[127.0.0.1]/", "bad IPv6 address"),
    ("http://0.0.0.0:8080/", "not an address to connect to"),
    ("http://[::]:8080/", "not an address to connect to"),
    ("ftp://127.0.0.1/", "only http:// and https://"),
    ("grpc://127.0.0.1:50051", "only http:// and https://"),
    ("8080/a b", "percent-encode"),
    ("8080/a\tb", "percent-encode"),
    ("8080/a\rb", "percent-encode"),
    ("8080/a\nHost: x", "percent-encode"),
    ("8080/\x00", "percent-encode"),
    ("8080/\x7f", "percent-encode"),
    ("8080/" + b"caf\xc3\xa9".decode("utf-8"), "percent-encode"),
    ("http://127.0.0.1/ x", "percent-encode"),
    ("8080/" + "a" * 2044, "longer than 2048"),
]


def test_good_targets():
    for text, want in GOOD_TARGETS:
        t = parse_target(text)
        got = (t.scheme, t.port, t.path, t.host, t.family, t.addr, t.authority)
        assert got == want, (text, got)
    assert parse_target("8080/" + "a" * 2043).path == "/" + "a" * 2043  # 2048 in all


def test_bad_targets_say_what_to_write():
    for text, words in BAD_TARGETS:
        msg = str(raises(UsageError, parse_target, text))
        assert words in msg, (text, msg)
        assert "\n" not in msg and len(msg) < 200, (text, msg)


def test_status_codes():
    for text, want in [("200", ((200, 200),)), ("200-299", ((200, 299),)),
                       ("200,204,301-308", ((200, 200), (204, 204), (301, 308))),
                       ("100-599", ((100, 599),)), ("599", ((599, 599),))]:
        assert parse_codes(text) == want, text
        assert codes_text(parse_codes(text)) == text
    assert codes_text(DEFAULT_CODES) == "200-399"
    for text in ["", "2xx", "99", "600", "1000", "0200", "200-", "-200", "200--300", "200,,204", "200,",
                 " 200", "200-299-300", "20O", "200-600", ",".join(["200"] * 51)]:
        msg = str(raises(UsageError, parse_codes, text))
        assert "\n" not in msg and len(msg) < 200, text
    assert "low to high, as 200-299" in str(raises(UsageError, parse_codes, "299-200"))


def test_headers():
    for text, want in [("X-Token: abc", ("X-Token", "abc")), ("Host:example", ("Host", "example")),
                       ("X-Empty:", ("X-Empty", "")), ("A:  b c \t", ("A", "b c")),
                       ("Authorization: Bearer a:b", ("Authorization", "Bearer a:b")),
                       ("x!#$%&'*+-.^_`|~1: v\tw", ("x!#$%&'*+-.^_`|~1", "v\tw"))]:
        assert parse_header(text) == want, text
    for text, words in [("NoColon", "write it as 'Name: value'"), (": v", "bad --header name"),
                        ("Bad Name: v", "bad --header name"), (" X: v", "bad --header name"),
                        ("X(y): v", "bad --header name"), ("X: a\r\nEvil: 1", "CR, LF or NUL"),
                        ("X: a\nb", "CR, LF or NUL"), ("X: a\rb", "CR, LF or NUL"), ("X: a\x00", "CR, LF or NUL"),
                        ("X: a\x01", "control"), ("X: a\x7f", "control"),
                        ("X: " + b"\xc3\xa9".decode("utf-8"), "ASCII"),
                        ("X: " + "a" * 4094, "longer than 4096")]:
        msg = str(raises(UsageError, parse_header, text))
        assert words in msg, (text, msg)
        assert "\n" not in msg and len(msg) < 200, text
    assert parse_header("X: " + "a" * 4093)[1] == "a" * 4093


def test_methods():
    for text in ["GET", "HEAD", "get", "OPTIONS", "M-SEARCH", "X" * 32]:
        assert parse_method(text) == text
    for text in ["", "GE T", "GET\r\n", "G(ET)", "X" * 33, "GET/"]:
        msg = str(raises(UsageError, parse_method, text))
        assert "a token such as GET" in msg and "\n" not in msg, text


def test_request():
    req = build_request("GET", "/healthz", "127.0.0.1:8080", [], "1.2.3")
    assert req == (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: healthcheck/1.2.3\r\n"
                   b"Accept: */*\r\nConnection: close\r\n\r\n")
    req = build_request("HEAD", "/", "[::1]", [("host", "example.org"), ("X-A", "1"), ("user-agent", "probe"),
                                                ("ACCEPT", "text/plain")], "0")
    assert req == (b"HEAD / HTTP/1.1\r\nConnection: close\r\nhost: example.org\r\nX-A: 1\r\n"
                   b"user-agent: probe\r\nACCEPT: text/plain\r\n\r\n")
    assert req.count(b"\r\n\r\n") == 1 and req.endswith(b"\r\n\r\n")
    assert "at most 100" in str(raises(UsageError, build_request, "GET", "/", "h", [("X", "1")] * 101, "0"))


# ---- responses --------------------------------------------------------------

def run(raw, head_only=False, want_body=True, step=0, cut=-1):
    """Feed `raw` as a socket would give it: pieces of at most want()
    bytes (and of `step`, and split at `cut`), then b"" for the end.
    -> (outcome, bytes read): outcome is a summary tuple or the error text."""
    resp = Response(head_only, want_body)
    pos = 0
    try:
        while not resp.done:
            n = resp.want()
            assert n > 0, (raw[:40], pos)
            if step:
                n = min(n, step)
            if pos < cut:
                n = min(n, cut - pos)
            data = raw[pos:pos + n]
            pos += len(data)
            resp.feed(data)
    except ProtocolError as err:
        return str(err), pos
    return (resp.version, resp.status, resp.reason, resp.headers, resp.body, resp.truncated), pos


CL5 = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
           b"5;ext=1;name=\"v\"\r\nhello\r\n6 ; x\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n")
# (raw, head_only, want_body) -> (version, status, reason, body, truncated)
RECORDED = [
    (CL5, False, True, ("HTTP/1.1", 200, "OK", b"hello", False)),
    (CL5 + b"trailing junk", False, True, ("HTTP/1.1", 200, "OK", b"hello", False)),
    (CL5, False, False, ("HTTP/1.1", 200, "OK", None, False)),
    (CL5, True, True, ("HTTP/1.1", 200, "OK", None, False)),
    (b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil close", False, True, ("HTTP/1.0", 200, "OK", b"until close", False)),
    (b"HTTP/1.1 200 OK\r\n\r\n", False, True, ("HTTP/1.1", 200, "OK", b"", False)),
    (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", False, True,
     ("HTTP/1.1", 503, "Service Unavailable", b"", False)),
    (b"HTTP/1.1 404 \r\nContent-Length: 1\r\n\r\nx", False, True, ("HTTP/1.1", 404, "", b"x", False)),
    (b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", False, True, ("HTTP/1.1", 200, "", b"x", False)),
    (b"HTTP/1.1 299 A  reason: with spaces\r\n\r\n", False, False,
     ("HTTP/1.1", 299, "A  reason: with spaces", None, False)),
    (CHUNKED, False, True, ("HTTP/1.1", 200, "OK", b"hello world0123456789", False)),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 99\r\n\r\n1\r\nx\r\n0\r\n\r\n",
     False, True, ("HTTP/1.1", 200, "OK", b"x", False)),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\n0\n\n", False, True,
     ("HTTP/1.1", 200, "OK", b"x", False)),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw", False, True, ("HTTP/1.1", 200, "OK", b"raw", False)),
    (b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", False, True, ("HTTP/1.1", 200, "OK", b"ok", False)),
    (b"HTTP/1.1 200 OK\r\nA: 1\n\r\nok", False, True, ("HTTP/1.1", 200, "OK", b"ok", False)),
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", False, True,
     ("HTTP/1.1", 204, "No Content", None, False)),
    (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", False, True,
     ("HTTP/1.1", 304, "Not Modified", None, False)),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n"
     b"Content-Length: 2\r\n\r\nok", False, True, ("HTTP/1.1", 200, "OK", b"ok", False)),
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\x00\x00", False, True,
     ("HTTP/1.1", 101, "Switching Protocols", None, False)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello", False, True,
     ("HTTP/1.1", 200, "OK", b"hello", False)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", False, True, ("HTTP/1.1", 200, "OK", b"", False)),
    (b"HTTP/1.1 302 Found\r\nLocation: /login\r\nContent-Length: 3\r\n\r\nabc", False, False,
     ("HTTP/1.1", 302, "Found", None, False)),
]

# (raw, words of the error); want_body True
BAD_RESPONSES = [
    (b"", "connection closed before a status line"),
    (b"HTTP/1.1 20", "connection closed in the middle of the status line"),
    (b"HTTP/1.1 200 OK\r\nA: b\r\n", "connection closed in the middle of the headers"),
    (b"HTTP/1.1 100 Continue\r\n\r\n", "connection closed before a status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "connection closed after 3 of 10 body bytes"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "in the middle of a chunked body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "in the middle of a chunked body"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "conflicting Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello", "conflicting Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x10\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 2\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 17 + b"\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n", "chunk data not followed by CRLF"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rX", "chunk data not followed by CRLF"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"e" * 1100, "chunk-size line longer"),
    (b"HTTP/2 200\r\n\r\n", "bad status line"),
    (b"HTTP/2.0 200 OK\r\n\r\n", "bad status line"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "bad status line"),
    (b"HTTP/1.1 099 X\r\n\r\n", "bad status line"),
    (b"HTTP/1.1 600 X\r\n\r\n", "bad status line"),
    (b"HTTP/1.1 20x OK\r\n\r\n", "bad status line"),
    (b"HTTP/1.1  200 OK\r\n\r\n", "bad status line"),
    (b"HTTP/1.x 200 OK\r\n\r\n", "bad status line"),
    (b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\n: x\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * HEAD_LIMIT + b"\r\n\r\n", "response headers longer than 16 KB"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 3000, "response headers longer than 16 KB"),
    (b"HTTP/1.1 100 Continue\r\n\r\n" * 1000, "response headers longer than 16 KB"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 101 + b"\r\n", "more than 100 header fields"),
    (b"\x15\x03\x01\x00\x02\x02\x46", "the server speaks TLS: use HTTPS"),
    (b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03" + b"\x00" * 60, "the server speaks TLS: use HTTPS"),
    (b"\x00\x00\x12\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64\x00\x04\x00\x10\x00\x00\x00\x06\x00\x00\x40\x00"
     b"\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", "speaks HTTP/2 only"),
    (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\nInvalid SSH identification string.\r\n",
     "not an HTTP response: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb1"),
    (b"SSH-2.0-x\r\n", "not an HTTP response: 'SSH-2.0-x"),
    (b"+OK redis\r\n", "not an HTTP response: '+OK redis"),
    (b"-ERR unknown command 'GET'\r\n", "not an HTTP response"),
    (b"hello world\n" * 10, "not an HTTP response: 'hello world"),
    (b"H", "connection closed in the middle of the status line"),
    (b"X", "not an HTTP response: 'X'"),
    (b"\x00", "not an HTTP response"),
    (b"http/1.1 200 OK\r\n\r\n", "not an HTTP response"),
    (b"<html>oops</html>", "not an HTTP response: '<html>oops</html>'"),
]


def test_recorded_responses():
    for raw, head_only, want_body, want in RECORDED:
        out, _ = run(raw, head_only, want_body)
        assert not isinstance(out, str), (raw[:60], out)
        assert out[:3] + out[4:] == want, (raw[:60], out)


def test_bad_responses_are_protocol_errors():
    for raw, words in BAD_RESPONSES:
        out, _ = run(raw)
        assert isinstance(out, str) and words in out, (raw[:60], out)
        assert "\n" not in out and len(out) < 120, out


def test_every_split_gives_the_same_answer():
    cases = [r[0] for r in RECORDED[:16]] + [r[0] for r in BAD_RESPONSES[:26]] + [r[0] for r in BAD_RESPONSES[-12:]]
    for raw in cases:
        whole = run(raw)[0]
        for cut in range(1, len(raw)):
            assert run(raw, cut=cut)[0] == whole, (raw[:60], cut)
        assert run(raw, step=1)[0] == whole, raw[:60]
        assert run(raw, step=3)[0] == whole, raw[:60]


def test_headers_and_folding():
    out, _ = run(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Long: a\r\n  b\r\n\tc\r\nX-Ctl: \x01\xff\r\n"
                 b"Empty:\r\n\r\n", want_body=False)
    names = [n for n, _ in out[3]]
    assert names == ["Content-Type", "X-Long", "X-Ctl", "Empty"], out
    assert out[3][0] == ("Content-Type", "text/plain") and out[3][1] == ("X-Long", "a b c"), out
    assert "\x01" not in out[3][2][1] and "\xff" not in out[3][2][1] and out[3][3] == ("Empty", "")
    hundred = b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 100 + b"\r\n"
    assert len(run(hundred, want_body=False)[0][3]) == 100


def filled(body, byte, size):
    return body is not None and len(body) == size and not body.strip(byte)


def stream(head, unit, count, want_body=True):
    """run() for big answers, made as they are read (hc-micropython's heap
    is 1 MB on 32-bit and does not grow): `head`, then `unit` `count`
    times, then the end. -> (outcome, bytes read)"""
    resp = Response(False, want_body)
    pending, left, read = head, count, 0
    try:
        while not resp.done:
            n = resp.want()
            assert n > 0
            while len(pending) < n and left:
                batch = min(left, 4096 // len(unit) + 1)
                pending += unit * batch
                left -= batch
            data, pending = pending[:n], pending[n:]
            read += len(data)
            resp.feed(data)
    except ProtocolError as err:
        return str(err), read
    return (resp.version, resp.status, resp.reason, resp.headers, resp.body, resp.truncated), read


def test_reading_stops_where_the_answer_ends():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
    out, read = stream(head, b"x", 100000)
    assert filled(out[4], b"x", BODY_LIMIT) and out[5] is True and read == len(head) + BODY_LIMIT
    exact = head.replace(b"100000", b"65536")
    out, read = stream(exact, b"x", 70000)
    assert filled(out[4], b"x", BODY_LIMIT) and out[5] is False and read == len(exact) + BODY_LIMIT
    close = b"HTTP/1.0 200 OK\r\n\r\n"
    out, read = stream(close, b"y", 100000)
    assert filled(out[4], b"y", BODY_LIMIT) and out[5] is True and read == len(close) + BODY_LIMIT
    te = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    out, read = stream(te, b"8000\r\n" + b"z" * 0x8000 + b"\r\n", 3)
    assert filled(out[4], b"z", BODY_LIMIT) and out[5] is True and read <= len(te) + BODY_LIMIT + 20, read
    # 1-byte chunks: 6 bytes read for each one kept; reading stops at WIRE_LIMIT
    out, read = stream(te, b"1\r\nq\r\n", 30000)
    assert out[5] is True and read == len(te) + WIRE_LIMIT and filled(out[4], b"q", WIRE_LIMIT // 6), read
    # a body not asked for is not read
    out, read = stream(head, b"x", 100000, want_body=False)
    assert out[4] is None and read <= HEAD_LIMIT
    # a head is never read past HEAD_LIMIT
    out, read = stream(b"HTTP/1.1 200 OK\r\n", b"X: 1\r\n", 10000)
    assert "longer than 16 KB" in out and read == HEAD_LIMIT, (out, read)


def test_stage_and_sniff():
    resp = Response(False, True)
    assert resp.stage() == "an answer" and resp.want() > 0
    resp.sniff()  # nothing yet: nothing to say
    resp.feed(b"HTTP/1.1 200 OK\r\nCont")
    assert resp.stage() == "the headers"
    resp.sniff()
    resp.feed(b"ent-Length: 3\r\n\r\na")
    assert resp.stage() == "the body" and resp.kept == 1 and resp.want() == 2
    resp.feed(b"bc")
    assert resp.done and resp.stage() == "nothing" and resp.body == b"abc"
    resp.feed(b"more")  # ignored once done
    assert resp.body == b"abc"
    early = Response()
    early.feed(b"SSH-2.0")  # too short to show yet: the probe sniffs at its timeout
    assert "not an HTTP response: 'SSH-2.0'" in str(raises(ProtocolError, early.sniff))
    interim = Response()
    interim.feed(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert interim.stage() == "the headers" and interim.status is None


def test_not_http():
    assert not_http(b"\x16\x03\x01") == "the server speaks TLS: use HTTPS"
    assert not_http(b"\x15\x03\x03\x00\x02") == "the server speaks TLS: use HTTPS"
    assert "HTTP/2" in not_http(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert "HTTP/2" in not_http(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")
    assert not_http(b"\x16\x02") .startswith("not an HTTP response")
    assert len(not_http(b"\xff" * 500)) < 100
