"""GRPC against real grpcio servers with the standard health service, run
in the test's network namespace (tests/integration/grpc_server.py, started
with this Python under `ip netns exec`, stopped when the test ends): the
statuses per service, an unknown service, a server without the health
service, an interceptor that wants metadata, IPv6-only servers; then ports
that do not speak gRPC (an HTTP/1.1 server, one that never answers, one
that hangs up, nothing at all) and several checks in one call. Every build
(HEALTHCHECK_TEST_BUILD) and kernel backend."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness import V6_ADDR, missing, require

SERVER = Path(__file__).resolve().parent / "grpc_server.py"
MARGIN = 1.5  # seconds a failing check may take beyond its --timeout (process start included)
HANG_UP = """
import socket
s = socket.create_server(("127.0.0.1", 50051))
while True:
    c = s.accept()[0]
    c.recv(100)
    c.close()
"""


@pytest.fixture
def grpc(ns, tmp_path):
    """grpc(addr, port, *server args): a grpcio server in the namespace,
    listening when this returns."""
    try:
        import grpc  # noqa: F401
        import grpc_health  # noqa: F401
    except ImportError:
        missing("needs grpcio and grpcio-health-checking (pip install -e '.[test]')")
    procs = []

    def start(addr, port, *args, cmd=None):
        ready = tmp_path / ("ready-%d" % len(procs))
        argv = cmd or [sys.executable, "-I", str(SERVER), addr, str(port), *args, "--ready", str(ready)]
        proc = subprocess.Popen(ns.prefix + argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
        procs.append(proc)
        deadline = time.monotonic() + 30
        while not (ready.exists() if cmd is None else listening(ns, port)):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("server %s did not start: %s" % (argv, proc.communicate()[1]))
            time.sleep(0.05)
        return proc

    try:
        yield start
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def listening(ns, port):
    return ns.run(["ss", "-Hltn", "sport = :%d" % port]).out.strip() != ""


def holds(res, line):
    assert (res.rc, res.out, res.err) == (0, line + "\n", ""), res
    return res


def fails(res, line):
    assert (res.rc, res.out, res.err) == (1, "", line + "\n"), res
    return res


def usage_error(res, words):
    lines = res.err.splitlines()
    assert res.rc == 1 and res.out == "" and len(lines) == 2, res
    assert words in lines[0] and lines[1].startswith("usage: GRPC PORT"), res
    return res


def test_statuses_per_service(grpc, tools):
    grpc("127.0.0.1", 50051, "=SERVING", "a=SERVING", "b=NOT_SERVING", "c=UNKNOWN")
    holds(tools("GRPC", "50051"), "GRPC 50051: SERVING from 127.0.0.1:50051")
    holds(tools("GRPC", "50051", "--service", "a"), "GRPC 50051 --service a: SERVING from 127.0.0.1:50051")
    fails(tools("GRPC", "50051", "--service", "b"), "GRPC 50051 --service b: NOT_SERVING from 127.0.0.1:50051")
    fails(tools("GRPC", "50051", "--service", "c"), "GRPC 50051 --service c: UNKNOWN from 127.0.0.1:50051")
    # grpcio's health service: NOT_FOUND for a service it was never told of
    fails(tools("GRPC", "50051", "--service", "nope"), "GRPC 50051 --service nope: NOT_FOUND from 127.0.0.1:50051")
    holds(tools("GRPC", "50051", "127.0.0.1", "--timeout", "0.5"),
          "GRPC 50051 on 127.0.0.1: SERVING from 127.0.0.1:50051")
    holds(tools("GRPC", "50051", "localhost"), "GRPC 50051 on localhost: SERVING from 127.0.0.1:50051")
    holds(tools("healthcheck", "grpc", "50051"), "GRPC 50051: SERVING from 127.0.0.1:50051")


def test_a_server_without_the_health_service(grpc, tools):
    grpc("0.0.0.0", 50051, "--no-health")
    fails(tools("GRPC", "50051"), "GRPC 50051: UNIMPLEMENTED 'Method not found!' from 127.0.0.1:50051")


def test_metadata_for_an_interceptor(grpc, tools):
    grpc("127.0.0.1", 50051, "=SERVING", "--token", "sesame")
    denied = "GRPC 50051: UNAUTHENTICATED 'no valid bearer token' from 127.0.0.1:50051"
    fails(tools("GRPC", "50051"), denied)
    fails(tools("GRPC", "50051", "--header", "authorization: Bearer wrong"), denied)
    holds(tools("GRPC", "50051", "--header", "authorization: Bearer sesame"),
          "GRPC 50051: SERVING from 127.0.0.1:50051")
    holds(tools("GRPC", "50051", "-H", "Authorization:Bearer sesame", "-H", "x-more: 1"),
          "GRPC 50051: SERVING from 127.0.0.1:50051")
    res = tools("GRPC", "50051", "--header", "authorization: Bearer sesame", "--debug")
    assert res.rc == 0 and "GRPC debug: > authorization: Bearer sesame" in res.err, res


def test_bad_metadata_is_a_usage_error(tools):
    usage_error(tools("GRPC", "50051", "--header", ":path: /x"), "not a gRPC metadata name")
    usage_error(tools("GRPC", "50051", "--header", "Connection: close"), "not a gRPC metadata name")
    usage_error(tools("GRPC", "50051", "--header", "te: trailers"), "not a gRPC metadata name")
    usage_error(tools("GRPC", "50051", "--header", "x-a: b\r\nx-b: c"), "cannot hold CR, LF or NUL")
    usage_error(tools("GRPC", "50051", "--header", "no colon"), "bad --header")
    usage_error(tools("GRPC", "50051", "--timeout", "0"), "--timeout 0")
    usage_error(tools("GRPC"), "write GRPC PORT [ADDRESS]")
    usage_error(tools("GRPC", "0"), "bad port")


def test_ipv6_only_servers(grpc, tools):
    grpc("::1", 50051, "=SERVING")
    holds(tools("GRPC", "50051"), "GRPC 50051: SERVING from [::1]:50051")
    holds(tools("GRPC", "50051", "::1"), "GRPC 50051 on ::1: SERVING from [::1]:50051")
    grpc(V6_ADDR, 50052, "=NOT_SERVING")  # not on loopback: its own address
    fails(tools("GRPC", "50052"), "GRPC 50052: NOT_SERVING from [%s]:50052" % V6_ADDR)
    res = tools("GRPC", "50052", "127.0.0.1")  # asked over IPv4: the kernel says no, at once
    assert res.rc == 1 and "not listening" in res.err and res.seconds < 3, res


def test_an_http_server_fails_at_once(grpc, tools, tmp_path):
    require("busybox")
    grpc("127.0.0.1", 8080, cmd=["busybox", "httpd", "-f", "-p", "127.0.0.1:8080", "-h", str(tmp_path)])
    res = fails(tools("GRPC", "8080", "--timeout", "5"),
                "GRPC 8080: not a gRPC (HTTP/2) server: it answered 'HTTP/1.1 400 Bad Request' (127.0.0.1:8080)")
    assert res.seconds < 3, res
    # Python's http.server rejects "PRI * HTTP/2.0" with a bare HTML page (HTTP/0.9 style)
    grpc("::1", 8081, cmd=[sys.executable, "-I", "-m", "http.server", "--bind", "::1", "8081"])
    res = tools("GRPC", "8081", "--timeout", "5")
    assert res.rc == 1 and res.out == "" and res.seconds < 3, res
    assert res.err.startswith("GRPC 8081: not a gRPC (HTTP/2) server: it answered '<!DOCTYPE HTML>"), res
    assert res.err.endswith("' ([::1]:8081)\n") and len(res.err) < 192, res


def test_a_silent_server_fails_within_the_timeout(ns, tools):
    h = ns.holder()
    sid, port = h.open("tcp", 4, "127.0.0.1")  # the kernel completes the handshake; nobody reads
    res = fails(tools("GRPC", port, "--timeout", "0.5"),
                "GRPC %d: timed out after 0.5 s waiting for the server's SETTINGS (127.0.0.1:%d)" % (port, port))
    assert res.seconds < 0.5 + MARGIN, res
    h.cmd("accepting %d" % sid)  # now it accepts and resets each connection at once (SO_LINGER 0)
    fails(tools("GRPC", port), "GRPC %d: connection reset before the server's SETTINGS (127.0.0.1:%d)" % (port, port))


def test_a_server_that_hangs_up(grpc, tools):
    # accepts, reads the preface, closes without a word (as grpcio's TLS port does)
    grpc("127.0.0.1", 50051, cmd=[sys.executable, "-I", "-c", HANG_UP])
    fails(tools("GRPC", "50051"), "GRPC 50051: the server closed the connection at the HTTP/2 preface: not gRPC in "
          "cleartext; if the port is TLS, use --tls (127.0.0.1:50051)")


def test_nothing_listening_fails_at_once(tools):
    res = tools("GRPC", "50051", "--timeout", "5")
    assert res.rc == 1 and res.err.startswith("GRPC 50051: TCP port 50051 is not listening") and res.seconds < 3, res


def test_accepting_fails_at_once_on_a_full_queue(ns, tools):
    h = ns.holder()
    sid, port = h.open("tcp", 4, "127.0.0.1", backlog=0)
    h.clients(sid, 3)
    res = tools("GRPC", port, "--accepting", "--timeout", "1")
    if tools.on_proc():  # /proc shows no queue limit: the call is made, and its connect times out
        assert res.err == "GRPC %d: timed out after 1 s waiting for the connection (127.0.0.1:%d)\n" % (port, port)
    else:
        assert res.rc == 1 and "accept queue full" in res.err and res.seconds < 1, res


def test_several_checks_in_one_call(grpc, ns, tools):
    grpc("127.0.0.1", 50051, "a=SERVING", "b=NOT_SERVING")
    h = ns.holder()
    _, tcp = h.open("tcp", 4, "0.0.0.0")
    res = holds(tools("healthcheck", "grpc", "50051", "--service", "a", "grpc", "50051", "--service", "a", "tcp", tcp),
                "GRPC 50051 --service a: SERVING from 127.0.0.1:50051; GRPC 50051 --service a: SERVING from "
                "127.0.0.1:50051; TCP port %d is listening (0.0.0.0:%d)" % (tcp, tcp))
    assert len(res.out) <= 191
    fails(tools("healthcheck", "grpc", "50051", "--service", "a", "grpc", "50051", "--service", "b", "tcp", tcp),
          "GRPC 50051 --service b: NOT_SERVING from 127.0.0.1:50051")


def test_debug_shows_the_frames_and_fields(grpc, tools):
    grpc("127.0.0.1", 50051, "=SERVING")
    res = tools("GRPC", "50051", "--debug")
    assert res.rc == 0 and res.out == "GRPC 50051: SERVING from 127.0.0.1:50051\n", res
    lines = res.err.splitlines()
    assert all(line.startswith("GRPC debug: ") for line in lines), res
    text = "\n".join(line[len("GRPC debug: "):] for line in lines)
    for want in ("kernel: TCP port 50051 is listening", "connect to 127.0.0.1:50051", "> preface",
                 "> SETTINGS stream=0 flags=0x0 length=12", "< SETTINGS stream=0 flags=0x0",
                 "> HEADERS stream=1 flags=0x4",
                 "> :path: /grpc.health.v1.Health/Check", "> DATA stream=1 flags=0x1 length=5", "< :status: 200",
                 "< content-type: application/grpc", "< grpc-status: 0"):
        assert want in text, (want, text)
