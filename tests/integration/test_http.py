"""HTTP against real servers in the test's network namespace (issue 20):
Python http.server processes with one handler per behaviour, raw-socket
servers that misbehave, and busybox httpd (tests/integration/http_servers.py),
bound to loopback, wildcard, dual-stack and the veth's own addresses. Then
several checks in one call, and values from the environment. Every build
(HEALTHCHECK_TEST_BUILD) and kernel backend; each server is stopped when its
test ends."""

import pytest

from healthcheck import __version__
from tests.harness import V4_ADDR, V6_ADDR, clean_env
from tests.integration.http_servers import EDGE, LATER, NEEDLE, Servers

UA = "healthcheck/" + __version__


@pytest.fixture
def servers(ns, tmp_path):
    started = Servers(ns, tmp_path)
    try:
        yield started
    finally:
        started.stop()


def call(tools, tool, *args, **env):
    """tools(tool, *args) with more environment variables."""
    full = clean_env(HEALTHCHECK_BACKEND=None if tools.backend == "auto" else tools.backend, **env)
    return tools.ns.run(tools.build.argv(tool, *args), full)


def holds(res, line, debug=False):
    """Exit 0 and `line` alone on stdout; with `debug`, stderr holds only debug lines."""
    assert (res.rc, res.out) == (0, line + "\n"), res
    if debug:
        assert res.err and all(" debug: " in each for each in res.err.splitlines()), res
    else:
        assert res.err == "", res
    return res


def fails(res, line):
    assert (res.rc, res.out, res.err) == (1, "", line + "\n"), res
    return res


def usage_error(res, line, tool="HTTP"):
    lines = res.err.splitlines()
    assert res.rc == 1 and res.out == "" and len(lines) == 2, res
    assert lines[0] == line and lines[1].startswith("usage: %s " % tool), res
    assert "Traceback" not in res.err, res
    return res


def sent(log):
    """The requests a server received: [(request line, [header lines])]."""
    return [(r["line"], ["%s: %s" % tuple(h) for h in r["headers"]]) for r in log.requests()]


def default_headers(host):
    return ["Host: " + host, "User-Agent: " + UA, "Accept: */*", "Connection: close"]


# ---- the answer: statuses and --status

def test_statuses_and_redirects_not_followed(servers, tools):
    log = servers.python("http", "0.0.0.0", 8080)
    holds(tools("HTTP", "8080"), "HTTP 8080: 200 OK from 127.0.0.1:8080")
    holds(tools("HTTP", "8080/status/204"), "HTTP 8080/status/204: 204 No Content from 127.0.0.1:8080")
    holds(tools("HTTP", "8080/status/301"), "HTTP 8080/status/301: 301 Moved Permanently from 127.0.0.1:8080")
    fails(tools("HTTP", "8080/status/404"), "HTTP 8080/status/404: 404 Not Found (want 200-399) from 127.0.0.1:8080")
    fails(tools("HTTP", "8080/status/503"),
          "HTTP 8080/status/503: 503 Service Unavailable (want 200-399) from 127.0.0.1:8080")
    # one request each, in order: the redirect's Location (/elsewhere) was not asked for
    assert [line for line, _ in sent(log)] == [
        "GET / HTTP/1.1", "GET /status/204 HTTP/1.1", "GET /status/301 HTTP/1.1", "GET /status/404 HTTP/1.1",
        "GET /status/503 HTTP/1.1"]


def test_status_option_forms(servers, tools):
    servers.python("http", "127.0.0.1", 8080)
    fails(tools("HTTP", "8080/status/204", "--status", "200"),
          "HTTP 8080/status/204: 204 No Content (want 200) from 127.0.0.1:8080")
    holds(tools("HTTP", "8080/status/204", "--status", "200-299"),
          "HTTP 8080/status/204: 204 No Content from 127.0.0.1:8080")
    fails(tools("HTTP", "8080/status/301", "--status", "200-299"),
          "HTTP 8080/status/301: 301 Moved Permanently (want 200-299) from 127.0.0.1:8080")
    holds(tools("HTTP", "8080/status/503", "--status", "200,204,500-503"),
          "HTTP 8080/status/503: 503 Service Unavailable from 127.0.0.1:8080")
    holds(tools("HTTP", "8080/status/404", "--status=404"), "HTTP 8080/status/404: 404 Not Found from 127.0.0.1:8080")
    fails(tools("HTTP", "8080", "--status", "201,204,300-399"),
          "HTTP 8080: 200 OK (want 201,204,300-399) from 127.0.0.1:8080")


# ---- bodies: chunked, Content-Length, read until close, HTTP/1.0, HEAD

def test_chunked_body(servers, tools):
    servers.python("http", "0.0.0.0", 8080)
    holds(tools("HTTP", "8080/chunked", "--body", LATER),
          "HTTP 8080/chunked: 200 OK with '%s' in the body from 127.0.0.1:8080" % LATER)
    fails(tools("HTTP", "8080/chunked", "--body", "part three"),
          "HTTP 8080/chunked: 200 OK but the body does not contain 'part three' (%d bytes) from 127.0.0.1:8080"
          % len("part one; part two: %s\n" % LATER))  # the de-chunked length
    # 64 KB of body after de-chunking are read: the last bytes in them count, the next do not
    holds(tools("HTTP", "8080/chunked-big", "--body", EDGE),
          "HTTP 8080/chunked-big: 200 OK with '%s' in the body from 127.0.0.1:8080" % EDGE)
    fails(tools("HTTP", "8080/chunked-big", "--body", NEEDLE),
          "HTTP 8080/chunked-big: 200 OK but the body does not contain '%s' (first 64 KB read) from 127.0.0.1:8080"
          % NEEDLE)


def test_content_length_and_read_until_close_bodies(servers, tools):
    servers.python("http", "0.0.0.0", 8080)
    holds(tools("HTTP", "8080/healthz", "--body", "healthy"),
          "HTTP 8080/healthz: 200 OK with 'healthy' in the body from 127.0.0.1:8080")
    fails(tools("HTTP", "8080/healthz", "--body", "sick"),
          "HTTP 8080/healthz: 200 OK but the body does not contain 'sick' (8 bytes) from 127.0.0.1:8080")
    fails(tools("HTTP", "8080/big", "--body", NEEDLE),
          "HTTP 8080/big: 200 OK but the body does not contain '%s' (first 64 KB read) from 127.0.0.1:8080" % NEEDLE)
    holds(tools("HTTP", "8080/until-close", "--body", "UNTIL-CLOSE-END"),
          "HTTP 8080/until-close: 200 OK with 'UNTIL-CLOSE-END' in the body from 127.0.0.1:8080")


def test_body_read_only_when_asked(servers, tools):
    servers.python("http", "0.0.0.0", 8080)  # /stall-body: 10 of 100 bytes, then silence
    res = holds(tools("HTTP", "8080/stall-body", "--timeout", "3"), "HTTP 8080/stall-body: 200 OK from 127.0.0.1:8080")
    assert res.seconds < 1.5, res
    res = fails(tools("HTTP", "8080/stall-body", "--body", "0123", "--timeout", "0.5"),
                "HTTP 8080/stall-body: 200 OK but the body did not end within 0.5 s (10 bytes read) "
                "from 127.0.0.1:8080")
    assert 0.45 <= res.seconds < 1.5, res


def test_interim_responses_are_skipped(servers, tools):
    servers.python("http", "0.0.0.0", 8080)
    holds(tools("HTTP", "8080/early-hints", "--body", "after the hints"),
          "HTTP 8080/early-hints: 200 OK with 'after the hints' in the body from 127.0.0.1:8080")
    fails(tools("HTTP", "8080/early-hints", "--status", "100-199"),
          "HTTP 8080/early-hints: 200 OK (want 100-199) from 127.0.0.1:8080")


def test_http_1_0_server(servers, tools):
    servers.python("http", "0.0.0.0", 8080)
    res = holds(tools("HTTP", "8080/v10", "--body", "V10-BODY", "--debug"),
                "HTTP 8080/v10: 200 OK with 'V10-BODY' in the body from 127.0.0.1:8080", debug=True)
    assert "HTTP debug: < HTTP/1.0 200 OK\n" in res.err, res
    fails(tools("HTTP", "8080/v10", "--body", "v10-body"),  # the match is case-sensitive
          "HTTP 8080/v10: 200 OK but the body does not contain 'v10-body' (27 bytes) from 127.0.0.1:8080")


def test_head(servers, tools):
    log = servers.python("http", "0.0.0.0", 8080)
    holds(tools("HTTP", "8080/healthz", "--method", "HEAD"), "HTTP 8080/healthz: 200 OK from 127.0.0.1:8080")
    # a HEAD answer announces a body it never sends: not waited for
    for path in ("/big", "/chunked"):
        res = holds(tools("HTTP", "8080" + path, "--method", "HEAD", "--timeout", "3"),
                    "HTTP 8080%s: 200 OK from 127.0.0.1:8080" % path)
        assert res.seconds < 1.5, res
    fails(tools("HTTP", "8080/healthz", "--method", "HEAD", "--body", "healthy"),
          "HTTP 8080/healthz: 200 OK but the body does not contain 'healthy' (no body) from 127.0.0.1:8080")
    assert [line for line, _ in sent(log)] == ["HEAD /healthz HTTP/1.1", "HEAD /big HTTP/1.1",
                                               "HEAD /chunked HTTP/1.1", "HEAD /healthz HTTP/1.1"]


def test_busybox_httpd(servers, tools):
    servers.busybox("127.0.0.1", 8080, {"healthz": "busybox says ok\n"})
    servers.busybox("::", 8081, {"healthz": "dual-stack busybox\n"})
    holds(tools("HTTP", "8080/healthz", "--body", "says ok"),
          "HTTP 8080/healthz: 200 OK with 'says ok' in the body from 127.0.0.1:8080")
    holds(tools("HTTP", "8080/healthz", "--method", "HEAD"), "HTTP 8080/healthz: 200 OK from 127.0.0.1:8080")
    fails(tools("HTTP", "8080/missing"), "HTTP 8080/missing: 404 Not Found (want 200-399) from 127.0.0.1:8080")
    holds(tools("HTTP", "8081/healthz", "--body", "dual-stack"),
          "HTTP 8081/healthz: 200 OK with 'dual-stack' in the body from 127.0.0.1:8081")
    holds(tools("HTTP", "8081/healthz", "::1"), "HTTP 8081/healthz on ::1: 200 OK from [::1]:8081")
    holds(tools("HTTP", "http://[%s]:8081/healthz" % V6_ADDR),
          "HTTP http://[%s]:8081/healthz: 200 OK from [%s]:8081" % (V6_ADDR, V6_ADDR))


# ---- servers that do not answer as they should

def test_slow_server_fails_within_the_timeout(servers, tools):
    servers.python("http", "0.0.0.0", 8080)  # /slow answers after 1 s
    res = fails(tools("HTTP", "8080/slow", "--timeout", "0.5"),
                "HTTP 8080/slow: no answer within 0.5 s (connected to 127.0.0.1:8080)")
    assert 0.45 <= res.seconds < 1.5, res
    res = holds(tools("HTTP", "8080/slow", "--timeout", "3"), "HTTP 8080/slow: 200 OK from 127.0.0.1:8080")
    assert 0.9 <= res.seconds < 2.5, res


def test_silent_server(servers, tools):
    servers.python("silent", "0.0.0.0", 8080)
    servers.python("silent", "::1", 8081)
    res = fails(tools("HTTP", "8080", "--timeout", "0.5"),
                "HTTP 8080: no answer within 0.5 s (connected to 127.0.0.1:8080)")
    assert 0.45 <= res.seconds < 1.5, res
    res = fails(tools("HTTP", "8081/healthz", "--timeout", "0.3"),
                "HTTP 8081/healthz: no answer within 0.3 s (connected to [::1]:8081)")
    assert 0.25 <= res.seconds < 1.3, res


def test_server_that_closes_at_once(servers, tools):
    servers.python("close", "0.0.0.0", 8080)  # reads the request, closes without a word
    servers.python("close-now", "0.0.0.0", 8081)  # closes before the request came: a reset, or a close
    res = fails(tools("HTTP", "8080", "--timeout", "3"),
                "HTTP 8080: connection closed before a status line (127.0.0.1:8080)")
    assert res.seconds < 1.5, res
    res = tools("HTTP", "8081", "--timeout", "3")
    assert res.rc == 1 and res.out == "" and res.seconds < 1.5, res
    assert res.err in ("HTTP 8081: connection closed before a status line (127.0.0.1:8081)\n",
                       "HTTP 8081: connection reset before a status line (127.0.0.1:8081)\n"), res


def test_servers_that_do_not_speak_http(servers, tools):
    servers.python("ssh", "0.0.0.0", 8080)  # a banner, then it drops the client
    servers.python("ssh-hold", "0.0.0.0", 8081)  # a banner, then silence: judged at the timeout
    servers.python("tls", "0.0.0.0", 8082)
    ssh = "not an HTTP response: 'SSH-2.0-OpenSSH_9\\x0d\\x0a'"
    res = fails(tools("HTTP", "8080", "--timeout", "3"), "HTTP 8080: %s (127.0.0.1:8080)" % ssh)
    assert res.seconds < 1.5, res
    res = fails(tools("HTTP", "8081", "--timeout", "0.5"), "HTTP 8081: %s (127.0.0.1:8081)" % ssh)
    assert 0.45 <= res.seconds < 1.5, res
    res = fails(tools("HTTP", "8082", "--timeout", "3"), "HTTP 8082: the server speaks TLS: use HTTPS (127.0.0.1:8082)")
    assert res.seconds < 1.5, res


# ---- the kernel first

def test_nothing_listening_fails_at_once_with_the_kernels_reason(ns, tools):
    res = fails(tools("HTTP", "8080/healthz", "--timeout", "5"),
                "HTTP 8080/healthz: TCP port 8080 is not listening (no TCP socket listens on this port)")
    assert res.seconds < 1, res
    h = ns.holder()
    _, port = h.open("tcp", 4, "0.0.0.0", nolisten=1)  # bound, never listen()ed
    h.open("udp", 4, "0.0.0.0", port)  # UDP on the port does not count either
    res = fails(tools("HTTP", port, "--timeout", "5"),
                "HTTP %d: TCP port %d is not listening (no TCP socket listens on this port)" % (port, port))
    assert res.seconds < 1, res


def test_address_not_in_the_namespace(servers, tools):
    servers.python("http", "0.0.0.0", 8080)
    res = fails(tools("HTTP", "8080", "10.9.9.9", "--timeout", "5"), "HTTP 8080 on 10.9.9.9: TCP port 8080 on "
                "10.9.9.9 is not listening (10.9.9.9 is not an address of this network namespace)")
    assert res.seconds < 1, res
    fails(tools("HTTP", "http://10.9.9.9:8080/healthz"), "HTTP http://10.9.9.9:8080/healthz: TCP port 8080 on "
          "10.9.9.9 is not listening (10.9.9.9 is not an address of this network namespace)")
    fails(tools("HTTP", "8080", "fd99::1"), "HTTP 8080 on fd99::1: TCP6 port 8080 on fd99::1 is not listening "
          "(fd99::1 is not an address of this network namespace)")


def test_full_accept_queue(ns, tools):
    h = ns.holder()
    full, port = h.open("tcp", 4, "0.0.0.0", backlog=1)
    assert h.clients(full, 5) == 2  # never accepted: the queue is full, new handshakes are dropped
    if tools.on_proc():
        ns.sysctl("net.core.somaxconn", 1)  # /proc shows no limit: this one makes 2 certainly full
    res = tools("HTTP", port, "--accepting", "--timeout", "3")
    assert res.rc == 1 and res.out == "" and res.seconds < 1, res  # no connection tried: it would wait 3 s
    assert res.err.startswith("HTTP %d: TCP port %d is listening but not accepting (0.0.0.0:%d: accept queue full "
                              % (port, port, port)), res
    # without --accepting the connect itself is not answered
    res = fails(tools("HTTP", port, "--timeout", "0.5"),
                "HTTP %d: connect to 127.0.0.1:%d timed out after 0.5 s" % (port, port))
    assert 0.45 <= res.seconds < 1.5, res


# ---- where it connects, and the Host it sends

def test_where_it_connects(servers, tools):
    logs = {}
    for addr, port, v6only in (("0.0.0.0", 8080, None), ("::", 8081, 0), ("::", 8082, 1), ("::1", 8083, None),
                               ("127.0.0.1", 8084, None), (V4_ADDR, 8085, None), (V6_ADDR, 8086, None),
                               ("::ffff:" + V4_ADDR, 8087, 0)):
        logs[port] = servers.python("http", addr, port, v6only=v6only)
    cases = [  # (args, where it connected and so the Host sent)
        (("8080",), "127.0.0.1:8080"),
        (("8080", V4_ADDR), V4_ADDR + ":8080"),
        (("8080", "0.0.0.0"), "127.0.0.1:8080"),
        (("8081",), "127.0.0.1:8081"),  # dual-stack [::]
        (("8081", "::1"), "[::1]:8081"),
        (("8081", V6_ADDR), "[%s]:8081" % V6_ADDR),
        (("8081", V4_ADDR), V4_ADDR + ":8081"),
        (("8082",), "[::1]:8082"),  # IPv6-only [::]
        (("8082", V6_ADDR), "[%s]:8082" % V6_ADDR),
        (("8083",), "[::1]:8083"),
        (("8084",), "127.0.0.1:8084"),
        (("8085",), V4_ADDR + ":8085"),  # bound only there: its own address
        (("8086",), "[%s]:8086" % V6_ADDR),
        (("8087",), V4_ADDR + ":8087"),  # an IPv4-mapped listener: the IPv4 address
    ]
    for args, where in cases:
        subject = "HTTP " + " on ".join(args)
        holds(tools("HTTP", *args), "%s: 200 OK from %s" % (subject, where))
        port = int(args[0])
        line, headers = sent(logs[port])[-1]
        assert (line, headers) == ("GET / HTTP/1.1", default_headers(where)), (args, sent(logs[port]))
    # ADDRESS where the listener does not accept: the kernel says so, nothing is sent
    fails(tools("HTTP", "8080", "::1"),
          "HTTP 8080 on ::1: TCP6 port 8080 on ::1 is not listening (no TCP socket listens on this port)")
    fails(tools("HTTP", "8084", V4_ADDR), "HTTP 8084 on %s: TCP port 8084 on %s is not listening "
          "(127.0.0.1:8084: bound to 127.0.0.1, not %s)" % (V4_ADDR, V4_ADDR, V4_ADDR))
    res = tools("HTTP", "8082", "127.0.0.1")
    assert res.rc == 1 and res.err.startswith("HTTP 8082 on 127.0.0.1: TCP port 8082 on 127.0.0.1 is not "
                                              "listening ([::]:8082: "), res
    assert "IPv6-only" in res.err, res
    assert len(sent(logs[8080])) == 3 and len(sent(logs[8082])) == 2 and len(sent(logs[8084])) == 1


def test_localhost(servers, tools):
    v4 = servers.python("http", "0.0.0.0", 8080)
    v6 = servers.python("http", "::", 8081, v6only=1)
    servers.python("http", V4_ADDR, 8082)
    port80 = servers.python("http", "127.0.0.1", 80)
    holds(tools("HTTP", "8080", "localhost"), "HTTP 8080 on localhost: 200 OK from 127.0.0.1:8080")
    holds(tools("HTTP", "8081/x", "LocalHost"), "HTTP 8081/x on LocalHost: 200 OK from [::1]:8081")
    holds(tools("HTTP", "http://localhost:8080/a"), "HTTP http://localhost:8080/a: 200 OK from 127.0.0.1:8080")
    holds(tools("HTTP", "http://localhost:8081/b"), "HTTP http://localhost:8081/b: 200 OK from [::1]:8081")
    holds(tools("HTTP", "http://[::1]:8081/c"), "HTTP http://[::1]:8081/c: 200 OK from [::1]:8081")
    holds(tools("HTTP", "http://127.0.0.1:8080/d?x=1#frag"),
          "HTTP http://127.0.0.1:8080/d?x=1#frag: 200 OK from 127.0.0.1:8080")
    holds(tools("HTTP", "http://localhost/e"), "HTTP http://localhost/e: 200 OK from 127.0.0.1:80")
    holds(tools("HTTP", "HTTP://127.0.0.1"), "HTTP HTTP://127.0.0.1: 200 OK from 127.0.0.1:80")
    # the Host: localhost as asked, else the URL's authority as written
    assert sent(v4) == [("GET / HTTP/1.1", default_headers("localhost:8080")),
                        ("GET /a HTTP/1.1", default_headers("localhost:8080")),
                        ("GET /d?x=1 HTTP/1.1", default_headers("127.0.0.1:8080"))]
    assert sent(v6) == [("GET /x HTTP/1.1", default_headers("localhost:8081")),
                        ("GET /b HTTP/1.1", default_headers("localhost:8081")),
                        ("GET /c HTTP/1.1", default_headers("[::1]:8081"))]
    assert sent(port80) == [("GET /e HTTP/1.1", default_headers("localhost")),
                            ("GET / HTTP/1.1", default_headers("127.0.0.1"))]
    # localhost is loopback: a listener only on the veth address is not there
    fails(tools("HTTP", "8082", "localhost"), "HTTP 8082 on localhost: TCP port 8082 on 127.0.0.1 is not listening "
          "(%s:8082: bound to %s, not 127.0.0.1)" % (V4_ADDR, V4_ADDR))


def test_headers_sent(servers, tools):
    log = servers.python("http", "0.0.0.0", 8080)
    holds(tools("HTTP", "8080/h", "-H", "X-Probe: one", "--header", "X-Two:\t2 ", "--header=Authorization: Bearer t"),
          "HTTP 8080/h: 200 OK from 127.0.0.1:8080")
    holds(tools("HTTP", "8080/host", "-H", "Host: app.example", "-H", "user-agent: probe/1"),
          "HTTP 8080/host: 200 OK from 127.0.0.1:8080")
    holds(tools("HTTP", "http://127.0.0.1:8080/url", "-H", "host: other:1"),
          "HTTP http://127.0.0.1:8080/url: 200 OK from 127.0.0.1:8080")
    assert sent(log) == [
        ("GET /h HTTP/1.1", default_headers("127.0.0.1:8080") + ["X-Probe: one", "X-Two: 2",
                                                                  "Authorization: Bearer t"]),
        ("GET /host HTTP/1.1", ["Accept: */*", "Connection: close", "Host: app.example", "user-agent: probe/1"]),
        ("GET /url HTTP/1.1", ["User-Agent: " + UA, "Accept: */*", "Connection: close", "host: other:1"]),
    ]
    # the server's own view, in the body it answers with
    holds(tools("HTTP", "8080/echo", "--body", "User-Agent: " + UA),
          "HTTP 8080/echo: 200 OK with 'User-Agent: %s' in the body from 127.0.0.1:8080" % UA)
    res = holds(tools("HTTP", "8080/echo", "--body", "Connection: close", "--debug", "-H", "X-Debug: yes"),
                "HTTP 8080/echo: 200 OK with 'Connection: close' in the body from 127.0.0.1:8080", debug=True)
    for line in ("> GET /echo HTTP/1.1", "> Host: 127.0.0.1:8080", "> X-Debug: yes", "< HTTP/1.1 200 OK"):
        assert "HTTP debug: %s\n" % line in res.err, res


def test_proxy_variables_are_ignored(servers, tools):
    log = servers.python("http", "0.0.0.0", 8080)
    proxy = servers.python("http", "127.0.0.1", 3128)  # a proxy that would answer, and log, if asked
    env = {name: "http://127.0.0.1:3128" for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")}
    holds(call(tools, "HTTP", "8080/healthz", **env), "HTTP 8080/healthz: 200 OK from 127.0.0.1:8080")
    holds(call(tools, "HTTP", "http://%s:8080/x" % V4_ADDR, no_proxy="", **env),
          "HTTP http://%s:8080/x: 200 OK from %s:8080" % (V4_ADDR, V4_ADDR))
    bogus = {name: "http://10.9.9.9:1" for name in env}  # a proxy that is not there
    holds(call(tools, "HTTP", "8080/y", **bogus), "HTTP 8080/y: 200 OK from 127.0.0.1:8080")
    assert proxy.requests() == []
    assert [line for line, _ in sent(log)] == ["GET /healthz HTTP/1.1", "GET /x HTTP/1.1", "GET /y HTTP/1.1"]


# ---- bad input: one error line and the usage line, exit 1

BAD = [
    (("http://user:pass@127.0.0.1:8080/",),
     "no user:password@ in the URL: send credentials with --header 'Authorization: ...'"),
    (("0",), "bad port '0' in '0': a port is a number from 1 to 65535"),
    (("65536/healthz",), "bad port '65536' in '65536/healthz': a port is a number from 1 to 65535"),
    (("http://127.0.0.1:0/",), "bad port '0' in 'http://127.0.0.1:0/': a port is a number from 1 to 65535"),
    (("http://127.0.0.1:65536/",), "bad port '65536' in 'http://127.0.0.1:65536/': a port is a number from 1 to 65535"),
    (("8080/a b",), "'8080/a b' holds a space: percent-encode it (a space is %20)"),
    (("8080/a\tb",), "'8080/a\\x09b' holds a control character: percent-encode it (a space is %20)"),
    (("8080/a\x7fb",), "'8080/a\\x7fb' holds a control character: percent-encode it (a space is %20)"),
    (("ftp://127.0.0.1/",), "'ftp://': only http:// and https:// URLs, or PORT[/PATH] (8080/healthz) or "
                            "http://HOST[:PORT][/PATH]"),
    (("http://example.com/",), "host 'example.com': no host names (no DNS): give an IP address or localhost"),
    (("8080", "example.com"), "bad address 'example.com': give an IPv4 or IPv6 address or localhost (no DNS)"),
    (("8080", "[::1]"), "bad address '[::1]': write an IPv6 address without brackets"),
    (("http://127.0.0.1:8080/", "127.0.0.1"), "the URL names the host already: drop '127.0.0.1'"),
    (("8080", "--header", "NoColon"), "bad --header 'NoColon': write it as 'Name: value'"),
    (("8080", "--header", "X-A: a\r\nX-B: b"), "--header 'X-A': a value cannot hold CR, LF or NUL"),
    (("8080", "-H", "X-A: a\nb"), "--header 'X-A': a value cannot hold CR, LF or NUL"),
    (("8080", "--timeout", "abc"), "bad --timeout value 'abc': a number of seconds such as 30 or 0.5"),
    (("8080", "--timeout", "0"), "--timeout 0: give the exchange some time, such as 2 or 0.5 seconds"),
    (("8080", "--timeout"), "--timeout needs a value"),
    (("8080", "--status", "99"), "bad --status '99': status codes 100-599 such as 200, 200-299 or 200,204,301-308"),
    (("8080", "--status", "300-200"), "bad --status range '300-200': low to high, as 200-300"),
    (("8080", "--method", "GE T"), "bad --method 'GE T': a token such as GET or HEAD (letters, digits, at most 32)"),
    (("8080", "--body", ""), "--body needs the text the body must contain"),
    (("8080", "--external"), "unknown option '--external' for HTTP"),
    (("8080", "--bogus"), "unknown option '--bogus' for HTTP"),
]


def test_bad_input(servers, tools):
    servers.python("http", "0.0.0.0", 8080)  # healthy: only the input is wrong
    holds(tools("HTTP", "8080"), "HTTP 8080: 200 OK from 127.0.0.1:8080")
    for args, message in BAD:
        res = usage_error(tools("HTTP", *args), "HTTP: " + message)
        assert res.seconds < 2, (args, res)
    # the same checks under the program's other names
    usage_error(tools("healthcheck", "http", "0"), "HTTP: bad port '0' in '0': a port is a number from 1 to 65535")
    usage_error(tools("TCP", "80", "http", "8080", "--status", "x"),
                "HTTP: bad --status 'x': status codes 100-599 such as 200, 200-299 or 200,204,301-308")
    res = tools("HTTP", "--quiet", "8080", "--bogus")
    assert (res.rc, res.out, res.err) == (1, "", ""), res


# ---- several checks in one call

def test_several_checks_in_one_call(ns, servers, tools):
    h = ns.holder()
    _, tport = h.open("tcp", 4, "0.0.0.0")
    _, uport = h.open("udp", 4, "0.0.0.0")
    log = servers.python("http", "0.0.0.0", 8080)
    all_hold = ("TCP port %d is listening (0.0.0.0:%d); UDP port %d is listening (0.0.0.0:%d); "
                "HTTP 8080/x: 200 OK from 127.0.0.1:8080" % (tport, tport, uport, uport))
    holds(tools("healthcheck", "tcp", tport, "udp", uport, "http", "8080/x"), all_hold)
    holds(tools("healthcheck", "TCP", tport, "Udp", uport, "hTTp", "8080/x"), all_hold)
    holds(tools("TCP", tport, "udp", uport, "HTTP", "8080/x"), all_hold)  # under a tool's name
    holds(tools("HTTP", "8080/y", "tcp", tport),
          "HTTP 8080/y: 200 OK from 127.0.0.1:8080; TCP port %d is listening (0.0.0.0:%d)" % (tport, tport))
    # a check's own options follow it
    holds(tools("healthcheck", "http", "8080/status/503", "--status", "503", "--accepting", "tcp", tport),
          "HTTP 8080/status/503: 503 Service Unavailable from 127.0.0.1:8080; TCP port %d is listening "
          "(0.0.0.0:%d)" % (tport, tport))
    usage_error(tools("healthcheck", "http", "8080", "tcp", tport, "--status", "503"),
                "TCP: unknown option '--status' for TCP", tool="TCP")
    # the first failing check's line; the checks after it are not run
    fails(tools("healthcheck", "tcp", tport, "http", "8080/status/503", "http", "8080/after"),
          "HTTP 8080/status/503: 503 Service Unavailable (want 200-399) from 127.0.0.1:8080")
    fails(tools("healthcheck", "tcp", 7, "http", "8080/never"),
          "TCP port 7 is not listening (no TCP socket listens on this port)")
    fails(tools("healthcheck", "http", "8080/z", "udp", 7),
          "UDP port 7 is not listening (no unconnected UDP socket is bound to this port)")
    assert [line for line, _ in sent(log)] == ["GET /x HTTP/1.1"] * 3 + [
        "GET /y HTTP/1.1", "GET /status/503 HTTP/1.1", "GET /status/503 HTTP/1.1", "GET /z HTTP/1.1"]


def test_several_checks_quiet_and_debug(ns, servers, tools):
    h = ns.holder()
    _, tport = h.open("tcp", 4, "0.0.0.0")
    servers.python("http", "0.0.0.0", 8080)
    res = tools("healthcheck", "tcp", tport, "http", "8080/x", "--quiet")
    assert (res.rc, res.out, res.err) == (0, "", ""), res
    res = tools("healthcheck", "-q", "tcp", tport, "http", "8080/status/500")
    assert (res.rc, res.out, res.err) == (1, "", ""), res
    res = tools("healthcheck", "tcp", tport, "http", "8080/x", "--debug", "--quiet")  # --debug wins
    assert res.rc == 0 and res.out == "TCP port %d is listening (0.0.0.0:%d); HTTP 8080/x: 200 OK from " \
        "127.0.0.1:8080\n" % (tport, tport), res
    lines = res.err.splitlines()
    assert "TCP debug: 0.0.0.0:%d LISTEN" % tport in res.err.replace("  ", ""), res
    for line in ("HTTP debug: kernel: TCP port 8080 is listening (0.0.0.0:8080)",
                 "HTTP debug: connect to 127.0.0.1:8080, within 2 s",
                 "HTTP debug: > GET /x HTTP/1.1", "HTTP debug: > Host: 127.0.0.1:8080",
                 "HTTP debug: > User-Agent: " + UA, "HTTP debug: > Accept: */*", "HTTP debug: > Connection: close",
                 "HTTP debug: < HTTP/1.1 200 OK", "HTTP debug: < Content-Length: 8"):
        assert line in lines, (line, res)
    assert lines.index("HTTP debug: > GET /x HTTP/1.1") < lines.index("HTTP debug: < HTTP/1.1 200 OK"), res
    assert all(line.startswith(("TCP debug: ", "HTTP debug: ")) for line in lines), res


def test_wait_for_every_check(ns, servers, tools):
    h = ns.holder()
    sid, tport = h.open("tcp", 4, "0.0.0.0", nolisten=1)
    h.later(0.3, "listen %d" % sid)
    log = servers.python("http", "0.0.0.0", 8080, delay=0.5, ready=False)  # binds 0.5 s from now
    res = holds(tools("healthcheck", "tcp", tport, "http", "8080/w", "--wait", "10"),
                "TCP port %d is listening (0.0.0.0:%d); HTTP 8080/w: 200 OK from 127.0.0.1:8080" % (tport, tport))
    assert 0.4 <= res.seconds < 4, res
    assert [line for line, _ in sent(log)] == ["GET /w HTTP/1.1"]
    # a server that answers but is not healthy: asked again and again, then its line
    res = fails(tools("HTTP", "8080/status/503", "--wait", "1"),
                "HTTP 8080/status/503: 503 Service Unavailable (want 200-399) from 127.0.0.1:8080")
    assert 0.9 <= res.seconds < 3, res
    assert len(sent(log)) >= 4, sent(log)


# ---- values from the environment

def test_values_from_the_environment(ns, servers, tools):
    log = servers.python("http", "0.0.0.0", 8080)
    h = ns.holder()
    _, tport = h.open("tcp", 4, "0.0.0.0")
    env = {"PORT": "8080", "TOKEN": "s3cret", "ADDR": V4_ADDR, "EMPTY": "", "TPORT": str(tport)}
    holds(call(tools, "HTTP", "${PORT}", **env), "HTTP 8080: 200 OK from 127.0.0.1:8080")
    holds(call(tools, "HTTP", "$PORT/a", **env), "HTTP 8080/a: 200 OK from 127.0.0.1:8080")
    holds(call(tools, "HTTP", "${UNSET:-8080}/b", **env), "HTTP 8080/b: 200 OK from 127.0.0.1:8080")
    holds(call(tools, "HTTP", "${PORT:-9999}/c", **env), "HTTP 8080/c: 200 OK from 127.0.0.1:8080")
    holds(call(tools, "HTTP", "${EMPTY:-8080}/d", **env), "HTTP 8080/d: 200 OK from 127.0.0.1:8080")
    holds(call(tools, "HTTP", "$PORT/cost$$5", **env), "HTTP 8080/cost$5: 200 OK from 127.0.0.1:8080")
    holds(call(tools, "HTTP", "$PORT/e", "$ADDR", **env), "HTTP 8080/e on %s: 200 OK from %s:8080" % (V4_ADDR, V4_ADDR))
    holds(call(tools, "HTTP", "http://127.0.0.1:${PORT}/f", **env), "HTTP http://127.0.0.1:8080/f: 200 OK from "
          "127.0.0.1:8080")
    holds(call(tools, "HTTP", "8080/g", "-H", "Authorization: Bearer ${TOKEN}", "--header", "X-Price: $$5",
               "-H", "X-Port: $PORT", **env), "HTTP 8080/g: 200 OK from 127.0.0.1:8080")
    holds(call(tools, "HTTP", "8080/echo", "-H", "X-Token: $TOKEN", "--body", "X-Token: ${TOKEN}", **env),
          "HTTP 8080/echo: 200 OK with 'X-Token: s3cret' in the body from 127.0.0.1:8080")
    holds(call(tools, "HTTP", "8080/status/204", "--status", "${WANT:-204}", **env),
          "HTTP 8080/status/204: 204 No Content from 127.0.0.1:8080")
    holds(call(tools, "healthcheck", "tcp", "$TPORT", "http", "$PORT/h", **env),
          "TCP port %d is listening (0.0.0.0:%d); HTTP 8080/h: 200 OK from 127.0.0.1:8080" % (tport, tport))
    holds(call(tools, "TCP", "${TPORT}", **env), "TCP port %d is listening (0.0.0.0:%d)" % (tport, tport))
    requests = sent(log)
    assert [line for line, _ in requests] == [
        "GET / HTTP/1.1", "GET /a HTTP/1.1", "GET /b HTTP/1.1", "GET /c HTTP/1.1", "GET /d HTTP/1.1",
        "GET /cost$5 HTTP/1.1", "GET /e HTTP/1.1", "GET /f HTTP/1.1", "GET /g HTTP/1.1", "GET /echo HTTP/1.1",
        "GET /status/204 HTTP/1.1", "GET /h HTTP/1.1"]
    assert requests[6][1][0] == "Host: %s:8080" % V4_ADDR, requests
    assert requests[8][1][4:] == ["Authorization: Bearer s3cret", "X-Price: $5", "X-Port: 8080"], requests
    # an unset variable without a default: a usage error naming it, nothing sent
    unset = "environment variable NOPE is not set (${NOPE:-default} gives a default)"
    usage_error(call(tools, "HTTP", "$NOPE", **env), "HTTP: " + unset)
    usage_error(call(tools, "HTTP", "8080", "-H", "X-A: ${NOPE}", **env), "HTTP: " + unset)
    usage_error(call(tools, "HTTP", "8080", "--body", "$NOPE", **env), "HTTP: " + unset)
    usage_error(call(tools, "healthcheck", "tcp", "$TPORT", "http", "${NOPE}/x", **env), "HTTP: " + unset)
    usage_error(call(tools, "TCP", "$NOPE", **env), "TCP: " + unset, tool="TCP")
    assert len(sent(log)) == len(requests)
