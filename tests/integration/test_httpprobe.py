"""httpprobe.exchange over real TCP connections: servers on 127.0.0.1 and
::1 in this process's namespace (a thread each, plain sockets), and the
client run by CPython in-process and by the static binary's frozen
MicroPython (started as hc-micropython, so its setsockopt timeouts are the
ones that run in the field). Timeouts are short (300-400 ms); a probe
must come back within its timeout and a small margin, naming the step it
waited for."""

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from healthcheck.httpmsg import BODY_LIMIT, build_request
from healthcheck.httpprobe import ProbeFailed, exchange
from tests.harness import BUILD, build

MARGIN = 0.7  # seconds a probe may overrun its timeout on a loaded machine (process start included)
CLIENT = """
import sys
from healthcheck.httpprobe import ProbeFailed, exchange
fam, addr, port, ms, body, head, req = sys.argv[1:8]
try:
    r = exchange(int(fam), bytes.fromhex(addr), int(port), bytes.fromhex(req), int(ms), body == "1", head == "1")
    print("ok|%d|%s|%s|%d" % (r.status, r.reason, "-" if r.body is None else r.body.hex(), r.truncated))
except ProbeFailed as err:
    print("fail|%s" % err)
"""
LOOPBACK = {socket.AF_INET: ("127.0.0.1", b"\x7f\x00\x00\x01"), socket.AF_INET6: ("::1", bytes(15) + b"\x01")}


class Server:
    """A listener on loopback; every connection runs handler(server, conn)
    in a thread of its own. Handlers that wait, wait on server.stop."""

    def __init__(self, handler, family=socket.AF_INET, backlog=8, accept=True):
        self.handler, self.family = handler, family
        self.host = LOOPBACK[family][0]
        self.stop = threading.Event()
        self.requests = []
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((self.host, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(backlog)
        self.threads = []
        if accept:
            self._spawn(self._accept_loop)

    def _spawn(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def _accept_loop(self):
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._spawn(self._one, conn)

    def _one(self, conn):
        try:
            self.handler(self, conn)
        except OSError:
            pass  # the client went away first: its side is what is tested
        finally:
            conn.close()

    def read_request(self, conn):
        data = b""
        conn.settimeout(5)
        while b"\r\n\r\n" not in data and len(data) < 65536:
            piece = conn.recv(4096)
            if not piece:
                break
            data += piece
        self.requests.append(data)
        return data

    def close(self):
        self.stop.set()
        self.sock.close()
        for t in self.threads:
            t.join(5)


@pytest.fixture
def serve():
    servers = []

    def make(handler, **kw):
        servers.append(Server(handler, **kw))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


# The client in this process when the console scripts are under test, the
# static binary's frozen one (as hc-micropython) when a static build is.
@pytest.fixture(params=["cpython"] if BUILD == "cpython" else ["static"])
def probe(request, tmp_path):
    """probe(port, timeout_ms, want_body=False, head_only=False, family=AF_INET)
    -> (("ok", status, reason, body, truncated) | ("fail", message), seconds, request)"""
    if request.param == "static":
        mpy = tmp_path / "hc-micropython"  # the one name under which the binary is a plain interpreter
        shutil.copy(build("static").path("TCP"), mpy)
        script = tmp_path / "client.py"
        script.write_text(CLIENT)

    def run(port, timeout_ms, want_body=False, head_only=False, family=socket.AF_INET, method="GET"):
        host, addr = LOOPBACK[family]
        req = build_request(method, "/healthz", "%s:%d" % (host, port), [("X-Test", "1")], "test")
        start = time.monotonic()
        if request.param == "cpython":
            try:
                r = exchange(family, addr, port, req, timeout_ms, want_body, head_only)
                out = ("ok", r.status, r.reason, r.body, r.truncated)
            except ProbeFailed as err:
                out = ("fail", str(err))
        else:
            argv = [str(mpy), str(script), str(int(family)), addr.hex(), str(port), str(timeout_ms),
                    "1" if want_body else "0", "1" if head_only else "0", req.hex()]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=str(tmp_path),
                                  env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
            assert proc.returncode == 0 and not proc.stderr, proc.stdout + proc.stderr
            fields = proc.stdout.strip().split("|", 4)
            if fields[0] == "ok":
                body = None if fields[3] == "-" else bytes.fromhex(fields[3])
                out = ("ok", int(fields[1]), fields[2], body, fields[4] == "1")
            else:
                out = ("fail", fields[1])
        return out, time.monotonic() - start, req

    return run


def answer(raw, read=True):
    def handler(server, conn):
        if read:
            server.read_request(conn)
        conn.sendall(raw)
    return handler


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_an_answer_and_the_request_sent(serve, probe, family):
    srv = serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nstatus=ready"), family=family)
    out, _, req = probe(srv.port, 2000, want_body=True, family=family)
    assert out == ("ok", 200, "OK", b"status=ready", False), out
    assert srv.requests == [req]
    out, _, _ = probe(srv.port, 2000, want_body=False, family=family)
    assert out == ("ok", 200, "OK", None, False), out


def test_head_chunked_and_http10(serve, probe):
    def chunked(server, conn):
        server.read_request(conn)
        for piece in (b"HTTP/1.1 200 OK\r\nTransfer-", b"Encoding: chunked\r\n\r\n5;x=1\r\nhel", b"lo\r\n",
                      b"6\r\n world\r\n0\r\nTrailer: 1\r\n\r\n"):
            conn.sendall(piece)
            time.sleep(0.02)
    srv = serve(chunked)
    assert probe(srv.port, 2000, want_body=True)[0] == ("ok", 200, "OK", b"hello world", False)
    srv = serve(answer(b"HTTP/1.0 503 Service Unavailable\r\nServer: old\r\n\r\ngoing down"))
    assert probe(srv.port, 2000, want_body=True)[0] == ("ok", 503, "Service Unavailable", b"going down", False)
    srv = serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"))  # HEAD: a length, no body
    out, seconds, _ = probe(srv.port, 2000, want_body=True, head_only=True, method="HEAD")
    assert out == ("ok", 200, "OK", None, False) and seconds < 1.5, (out, seconds)
    assert srv.requests[0].startswith(b"HEAD /healthz HTTP/1.1\r\n")


def test_big_body_stops_at_64_kb(serve, probe):
    srv = serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000000))
    out, seconds, _ = probe(srv.port, 3000, want_body=True)
    assert out == ("ok", 200, "OK", b"x" * BODY_LIMIT, True) and seconds < 2, (out[:2], seconds)


def test_nothing_listening_is_refused(probe):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    out, seconds, _ = probe(port, 2000)
    assert out == ("fail", "connection refused by 127.0.0.1:%d" % port) and seconds < 1.5, out


def test_a_server_that_closes_at_once(serve, probe):
    srv = serve(lambda server, conn: None)
    out, _, _ = probe(srv.port, 2000)
    assert out[0] == "fail" and "before a status line" in out[1] and "127.0.0.1:%d" % srv.port in out[1], out
    srv = serve(answer(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n"))
    out, _, _ = probe(srv.port, 2000)
    assert out == ("fail", "connection closed in the middle of the headers (127.0.0.1:%d)" % srv.port), out


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_a_silent_server_times_out_naming_the_step(serve, probe, family):
    srv = serve(lambda server, conn: server.stop.wait(10), family=family)
    out, seconds, _ = probe(srv.port, 300, family=family)
    where = "%s:%d" % ("127.0.0.1" if family == socket.AF_INET else "[::1]", srv.port)
    assert out == ("fail", "no answer within 0.3 s (connected to %s)" % where), out
    assert 0.29 <= seconds < 0.3 + MARGIN, seconds


def test_the_timeout_bounds_the_whole_exchange(serve, probe):
    # a byte every 50 ms: every recv() gets something, the head never ends
    def dribble(server, conn):
        server.read_request(conn)
        for ch in b"HTTP/1.1 200 OK\r\n" + b"X" * 1000:
            conn.sendall(bytes([ch]))
            if server.stop.wait(0.05):
                return
    srv = serve(dribble)
    out, seconds, _ = probe(srv.port, 400)
    assert out == ("fail", "the response headers did not end within 0.4 s (127.0.0.1:%d)" % srv.port), out
    assert 0.39 <= seconds < 0.4 + MARGIN, seconds


def test_a_stalled_body(serve, probe):
    def stall(server, conn):
        server.read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        server.stop.wait(10)
    srv = serve(stall)
    out, seconds, _ = probe(srv.port, 300, want_body=True)
    assert out == ("fail", "200 OK but the body did not end within 0.3 s (3 bytes read) from 127.0.0.1:%d"
                   % srv.port), out
    assert 0.29 <= seconds < 0.3 + MARGIN, seconds
    out, seconds, _ = probe(srv.port, 3000, want_body=False)  # the body is not asked for: not waited for
    assert out == ("ok", 200, "OK", None, False) and seconds < 1.5, (out, seconds)


def test_connect_timeout_on_a_full_accept_queue(serve, probe):
    srv = serve(None, backlog=0, accept=False)  # never accepts: SYNs are dropped once the queue is full
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", srv.port))
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(0.1)
    try:
        out, seconds, _ = probe(srv.port, 300)
    finally:
        for c in fillers:
            c.close()
    assert out == ("fail", "connect to 127.0.0.1:%d timed out after 0.3 s" % srv.port), out
    assert 0.29 <= seconds < 0.3 + MARGIN, seconds


@pytest.mark.parametrize("reply, words", [
    (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", "not an HTTP response: 'SSH-2.0-OpenSSH_9.2p1 Debian"),
    (b"\x15\x03\x01\x00\x02\x02\x46", "the server speaks TLS: use HTTPS"),
    (b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64", "the server speaks HTTP/2 only"),
    (b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"p" * 100000 + b"\r\n\r\n", "response headers longer than 16 KB"),
])
def test_replies_that_are_not_http_fail_fast(serve, probe, reply, words):
    def banner(server, conn):  # speaks first, like SSH; then drops the client
        conn.sendall(reply)
        server.read_request(conn)
    srv = serve(banner)
    out, seconds, _ = probe(srv.port, 3000)
    assert out[0] == "fail" and words in out[1] and out[1].endswith("(127.0.0.1:%d)" % srv.port), out
    assert seconds < 1.5, seconds
