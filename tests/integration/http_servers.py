"""Real HTTP (and not-quite-HTTP) servers for tests/integration/test_http.py,
run as processes INSIDE a test's network namespace.

As a script (standard library only, run with `python -I`):

    http_servers.py MODE ADDR PORT [--v6only 0|1] [--log FILE] [--delay SECONDS] [--backlog N]

MODE "http": an http.server with one handler per path (see Handler.ROUTES);
every request's head is logged to FILE, one JSON object a line, so a test
sees exactly what the tool sent. The other modes speak raw TCP:
  silent     accept and never answer
  close      read the request, then close without a word
  close-now  close every connection as soon as it is accepted
  ssh        send an SSH banner, read the request, close
  ssh-hold   send an SSH banner, read the request, stay silent
  tls        read the request, answer with a TLS record (16 03 01 ...), close
--delay: sleep before binding (a server that starts late, for --wait).

Imported by the tests: the `servers` fixture helpers (Servers), which start
these (and busybox httpd) under `ip netns exec`, wait until the port
listens by polling the server's own /proc/PID/net/tcp{,6} (no connection:
a connection would be a request to the server under test), and stop every
process at the end of the test.
"""

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
SSH_BANNER = b"SSH-2.0-OpenSSH_9\r\n"
# The start of a TLS ServerHello record: what a TLS port sends back.
TLS_RECORD = bytes.fromhex("160301002a0200002603035e") + bytes(32)
BIG = 65536  # the tool reads a body's first 64 KB
NEEDLE = "NEEDLE-BEYOND-64KB"
EDGE = "EDGE-NEEDLE"  # the last bytes of the first 64 KB
LATER = "MARKER-IN-A-LATER-CHUNK"


# ---------------------------------------------------------------- the servers
def _listener(addr, port, v6only, backlog):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    sock.bind((addr, port))
    sock.listen(backlog)
    return sock


def _read_head(conn, limit=65536):
    data = b""
    conn.settimeout(5)
    try:
        while b"\r\n\r\n" not in data and len(data) < limit:
            piece = conn.recv(4096)
            if not piece:
                break
            data += piece
    except OSError:
        pass
    return data


def _raw(mode, sock):
    held = []  # connections kept open (silent servers): closed when the process ends

    def one(conn):
        try:
            if mode == "close-now":
                conn.close()
                return
            if mode in ("ssh", "ssh-hold"):
                conn.sendall(SSH_BANNER)
            if mode == "silent":
                held.append(conn)
                return
            _read_head(conn)
            if mode == "tls":
                conn.sendall(TLS_RECORD)
            if mode == "ssh-hold":
                held.append(conn)
                return
            conn.close()
        except OSError:
            conn.close()

    while True:
        conn, _ = sock.accept()
        threading.Thread(target=one, args=(conn,), daemon=True).start()


def _http(sock, log):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass  # stderr stays quiet: the log file says what came

        def do_GET(self):
            self.answer(False)

        def do_HEAD(self):
            self.answer(True)

        def do_POST(self):
            self.answer(False)

        def answer(self, head_only):
            self.close_connection = True
            self.head_only = head_only
            if log:
                entry = {"line": self.requestline, "headers": [list(h) for h in self.headers.items()]}
                with lock, open(log, "a") as f:
                    f.write(json.dumps(entry) + "\n")
            path = self.path.split("?")[0]
            if path.startswith("/status/"):
                return self.status(int(path[8:]))
            route = {"/chunked": self.chunked, "/chunked-big": self.chunked_big, "/until-close": self.until_close,
                     "/v10": self.v10, "/slow": self.slow, "/echo": self.echo, "/big": self.big,
                     "/stall-body": self.stall_body, "/early-hints": self.early_hints}.get(path)
            if route is not None:
                return route()
            self.send(200, b"healthy\n")

        def send(self, code, body, headers=()):
            self.send_response(code)
            for name, value in headers:
                self.send_header(name, value)
            if code not in (204, 304):
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if not self.head_only and code not in (204, 304):
                self.wfile.write(body)

        def status(self, code):
            headers = [("Location", "/elsewhere")] if 300 <= code < 400 else []
            self.send(code, b"status %d\n" % code, headers)

        def chunks(self, pieces, pause=0.0):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            if self.head_only:
                return
            for piece in pieces:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if pause:
                    time.sleep(pause)
            self.wfile.write(b"0\r\n\r\n")

        def chunked(self):
            # sent apart, so the marker arrives in a later read than the first chunk
            self.chunks([b"part one; ", b"part two: " + LATER.encode() + b"\n"], pause=0.05)

        def chunked_big(self):
            # the first 64 KB end with EDGE; NEEDLE comes right after them
            first = b"x" * (BIG - len(EDGE)) + EDGE.encode()
            pieces = [first[i:i + 8192] for i in range(0, BIG, 8192)]
            self.chunks(pieces + [NEEDLE.encode(), b"y" * 1000])

        def big(self):
            self.send(200, b"x" * BIG + NEEDLE.encode())

        def until_close(self):
            # HTTP/1.1 with neither Content-Length nor chunked: the body ends with the connection
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            if not self.head_only:
                self.wfile.write(b"read until close: ")
                time.sleep(0.05)
                self.wfile.write(b"UNTIL-CLOSE-END\n")

        def v10(self):
            self.protocol_version = "HTTP/1.0"
            self.send_response(200)
            self.end_headers()
            if not self.head_only:
                self.wfile.write(b"an HTTP/1.0 body, V10-BODY\n")

        def stall_body(self):
            # 10 of the 100 bytes promised, then nothing for 3 s
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.send_header("Connection", "close")
            self.end_headers()
            if not self.head_only:
                self.wfile.write(b"0123456789")
                time.sleep(3)

        def early_hints(self):
            # interim responses before the final one (RFC 9110 15.2)
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n")
            time.sleep(0.05)
            self.send(200, b"after the hints\n")

        def slow(self):
            time.sleep(1)
            self.send(200, b"late\n")

        def echo(self):
            head = [self.requestline] + ["%s: %s" % h for h in self.headers.items()]
            self.send(200, ("\n".join(head) + "\n").encode())

    server = ThreadingHTTPServer(sock.getsockname()[:2], Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock  # ours: its family, v6only and backlog
    server.server_name, server.server_port = "test", sock.getsockname()[1]
    server.daemon_threads = True
    server.serve_forever()


def main(argv):
    mode, addr, port = argv[0], argv[1], int(argv[2])
    opts = dict(zip(argv[3::2], argv[4::2]))
    if "--delay" in opts:
        time.sleep(float(opts["--delay"]))
    sock = _listener(addr, port, int(opts.get("--v6only", "1" if addr != "::" else "0")),
                     int(opts.get("--backlog", "64")))
    if mode == "http":
        _http(sock, opts.get("--log"))
    else:
        _raw(mode, sock)


# ---------------------------------------------------------------- the tests' side
class ServerError(Exception):
    pass


def listening(pid, port):
    """Whether a socket of process `pid`'s network namespace listens on `port`."""
    for table in ("tcp", "tcp6"):
        try:
            lines = Path("/proc/%d/net/%s" % (pid, table)).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                return True
    return False


class Servers:
    """Server processes in namespace `ns`; stop() ends every one."""

    def __init__(self, ns, tmp):
        self.ns, self.tmp = ns, Path(tmp)
        self.procs = []

    def _start(self, argv, port, ready=True):
        # stderr to a file, not a pipe nobody reads: a server's tracebacks (clients that
        # hang up early) must never fill a pipe and stall it
        errors = self.tmp / ("server-%d.err" % port)
        with open(errors, "ab") as err:
            proc = subprocess.Popen(self.ns.prefix + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, cwd=str(self.tmp))
        proc.errors = errors
        self.procs.append(proc)  # `ip netns exec` execs the server: this pid is the server's
        if ready:
            self.wait_listening(proc, port)
        return proc

    def wait_listening(self, proc, port, timeout=10):
        deadline = time.monotonic() + timeout
        while not listening(proc.pid, port):
            if proc.poll() is not None:
                raise ServerError("server on port %d exited: %s" % (port, proc.errors.read_text()))
            if time.monotonic() > deadline:
                raise ServerError("server on port %d: not listening after %ss" % (port, timeout))
            time.sleep(0.01)

    def python(self, mode, addr, port, v6only=None, delay=None, backlog=None, ready=True):
        """One http_servers.py server; -> its log file (mode http: one request a line)."""
        log = self.tmp / ("requests-%s-%d.jsonl" % (addr.replace(":", "_"), port))
        argv = [sys.executable, "-I", str(HERE), mode, addr, str(port), "--log", str(log)]
        for name, value in (("--v6only", v6only), ("--delay", delay), ("--backlog", backlog)):
            if value is not None:
                argv += [name, str(value)]
        self._start(argv, port, ready)
        return RequestLog(log)

    def busybox(self, addr, port, files):
        """busybox httpd serving `files` ({name: text}) on ADDR:PORT."""
        root = self.tmp / ("www-%d" % port)
        root.mkdir()
        for name, text in files.items():
            (root / name).write_text(text)
        where = "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)
        self._start(["busybox", "httpd", "-f", "-p", where, "-h", str(root)], port)

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class RequestLog:
    """What an http-mode server received: [{"line": ..., "headers": [[name, value], ...]}]."""

    def __init__(self, path):
        self.path = path

    def requests(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines()]


if __name__ == "__main__":
    main(sys.argv[1:])
