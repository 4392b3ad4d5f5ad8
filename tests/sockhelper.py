"""Holds real sockets open for the integration tests, inside whatever
network namespace it was started in. One command per stdin line, one
"ok ..." or "error ..." line back:

  tcp 4|6 ADDR PORT [v6only=0|1] [reuseport] [nolisten]   -> ok ID PORT
  udp 4|6 ADDR PORT [v6only=0|1] [reuseport] [connect=ADDR,PORT]
  client tcp|udp 4|6 ADDR PORT     a client socket connected to ADDR PORT
  established ID N                  N accepted connections to listener ID
  repeat N COMMAND...               run COMMAND N times -> ok (last reply)
  close ID
  quit

PORT 0 means "let the kernel pick"; the picked port is returned.
"""

import resource
import socket
import sys

socks = {}
accepted = []


def family(text):
    return socket.AF_INET6 if text == "6" else socket.AF_INET


def opts(words):
    return dict(w.split("=", 1) if "=" in w else (w, "1") for w in words)


def make(kind, fam, addr, port, extra):
    sock = socket.socket(family(fam), socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    if "v6only" in extra:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(extra["v6only"]))
    if "reuseport" in extra:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((addr, int(port)))
    if kind == "tcp" and "nolisten" not in extra:
        sock.listen(4096)
    if "connect" in extra:
        host, rport = extra["connect"].split(",")
        sock.connect((host, int(rport)))
    return sock


def establish(listener, count):
    fam = listener.family
    host, port = listener.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if fam == socket.AF_INET else "::1"
    for _ in range(count):
        client = socket.socket(fam, socket.SOCK_STREAM)
        client.connect((host, port))
        server, _ = listener.accept()
        accepted.append(client)
        accepted.append(server)


def handle(words):
    cmd = words[0]
    if cmd in ("tcp", "udp"):
        sock = make(cmd, words[1], words[2], words[3], opts(words[4:]))
        socks[sock.fileno()] = sock
        return "%d %d" % (sock.fileno(), sock.getsockname()[1])
    if cmd == "client":
        kind, fam, addr, port = words[1:5]
        sock = socket.socket(family(fam), socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
        sock.connect((addr, int(port)))
        socks[sock.fileno()] = sock
        return "%d %d" % (sock.fileno(), sock.getsockname()[1])
    if cmd == "established":
        establish(socks[int(words[1])], int(words[2]))
        return str(len(accepted))
    if cmd == "repeat":
        reply = ""
        for _ in range(int(words[1])):
            reply = handle(words[2:])
        return reply
    if cmd == "close":
        socks.pop(int(words[1])).close()
        return ""
    raise ValueError("unknown command %r" % cmd)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            print("ok " + handle(words), flush=True)
        except Exception as err:  # report, keep serving: the test decides
            print("error %s: %s" % (type(err).__name__, err), flush=True)


if __name__ == "__main__":
    main()
