"""The HTTP tool's verdict lines (httpprobe.judge, debug_lines): from
parsed responses, under both interpreters. The exchange over real sockets
is tests/integration/test_httpprobe.py."""

from healthcheck.httpmsg import DEFAULT_CODES, Response, parse_codes
from healthcheck.httpprobe import debug_lines, judge, request_lines, seconds_text


def answer(raw, want_body=True, where="127.0.0.1:8080"):
    resp = Response(False, want_body)
    resp.feed(raw)
    if not resp.done:
        resp.feed(b"")
    resp.where = where
    return resp


def test_seconds_text():
    for ms, text in [(2000, "2 s"), (500, "0.5 s"), (1250, "1.25 s"), (1, "0.001 s"), (0, "0 s"),
                     (86400000, "86400 s"), (10010, "10.01 s")]:
        assert seconds_text(ms) == text, ms


def test_status_verdicts():
    ok = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nready", want_body=False)
    assert judge(ok, DEFAULT_CODES) == (True, "200 OK from 127.0.0.1:8080")
    down = answer(b"HTTP/1.1 503 Service Unavailable\r\n\r\n", want_body=False, where="[::1]:80")
    assert judge(down, DEFAULT_CODES) == (False, "503 Service Unavailable (want 200-399) from [::1]:80")
    assert judge(down, parse_codes("200,503")) == (True, "503 Service Unavailable from [::1]:80")
    moved = answer(b"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", want_body=False)
    assert judge(moved, parse_codes("200")) == (False, "301 Moved (want 200) from 127.0.0.1:8080")
    assert judge(moved, DEFAULT_CODES)[0] is True
    bare = answer(b"HTTP/1.0 200\r\n\r\n", want_body=False)
    assert judge(bare, DEFAULT_CODES) == (True, "200 from 127.0.0.1:8080")
    assert judge(bare, parse_codes("100-199,400-599"))[0] is False


def test_body_verdicts():
    ready = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nstatus=ready")
    assert judge(ready, DEFAULT_CODES, "ready") == (True, "200 OK with 'ready' in the body from 127.0.0.1:8080")
    assert judge(ready, DEFAULT_CODES, b"ready")[0] is True
    assert judge(ready, DEFAULT_CODES, "down") == (
        False, "200 OK but the body does not contain 'down' (12 bytes) from 127.0.0.1:8080")
    big = answer(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 70000)
    ok, text = judge(big, DEFAULT_CODES, "ready")
    assert not ok and text == "200 OK but the body does not contain 'ready' (first 64 KB read) from 127.0.0.1:8080"
    # the status decides first
    bad = answer(b"HTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\nready")
    assert judge(bad, DEFAULT_CODES, "ready") == (False, "500 Oops (want 200-399) from 127.0.0.1:8080")
    nobody = answer(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert judge(nobody, DEFAULT_CODES, "x") == (
        False, "204 No Content but the body does not contain 'x' (no body) from 127.0.0.1:8080")


def test_lines_stay_short_and_printable():
    where = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
    worst = answer(b"HTTP/1.1 200 " + b"\x01\xff\\" * 60 + b"\r\n\r\n" + b"y" * 70000, where=where)
    for codes in (DEFAULT_CODES, parse_codes(",".join(["%d" % c for c in range(100, 150)]))):
        for body in (None, "\x02" + "z" * 300):
            _, text = judge(worst, codes, body)
            assert len(text) < 190, (len(text), text)
            for ch in text:
                assert 32 <= ord(ch) < 127, text


def test_debug_lines():
    resp = answer(b"HTTP/1.1 200 OK\r\nServer: x\x01y\r\nX-Big: " + b"b" * 5000 + b"\r\n\r\n", want_body=False)
    lines = debug_lines(resp)
    assert lines[0] == "HTTP/1.1 200 OK" and lines[1].startswith("Server: x") and "\x01" not in lines[1]
    assert len(lines) == 3 and len(lines[2]) <= 200
    assert debug_lines(answer(b"HTTP/1.0 404\r\n\r\n", want_body=False)) == ["HTTP/1.0 404"]
    assert request_lines(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") == ["GET / HTTP/1.1", "Host: a"]
