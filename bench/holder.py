"""Socket holder for the benchmark: runs inside the benchmark's network namespace.

Reads commands from stdin, one per line, answers one line on stdout each:
    listen4 PORT        TCP listener on 0.0.0.0:PORT                      -> ok
    listen6 PORT        dual-stack TCP listener on [::]:PORT (v6only off) -> ok
    udp PORT            UDP socket bound to 0.0.0.0:PORT                  -> ok
    conns PORT K        grow to K established loopback TCP connections to
                        a private listener on 127.0.0.1:PORT, both ends
                        held here (2*K descriptors)                       -> have K
    udps M              grow to M extra UDP sockets bound to 127.0.0.x:0  -> have M
    quit                close everything and exit                         -> bye

Every TCP socket gets SO_LINGER {on, 0 s} as soon as it exists, so any close
(quit, a signal, the process dying) resets the connection: no TIME_WAIT is
left behind. Only loopback addresses of this namespace are ever used.
"""

import resource
import socket
import struct
import sys

LINGER_RST = struct.pack("ii", 1, 0)
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
SOURCES = ["127.0.0.%d" % i for i in range(2, 10)]  # spread against port exhaustion
BATCH = 512

held = []  # every socket we own
conn_listener = None
conn_count = 0
udp_count = 0


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def tcp_listener(family, addr, port, v6only=None):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    s.bind((addr, port))
    s.listen(4096)
    held.append(s)
    return s


def grow_conns(port, target):
    global conn_listener, conn_count
    if conn_listener is None:
        conn_listener = tcp_listener(socket.AF_INET, "127.0.0.1", port)
    while conn_count < target:
        batch = min(BATCH, target - conn_count)
        for i in range(batch):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
            c.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            c.bind((SOURCES[(conn_count + i) % len(SOURCES)], 0))
            c.connect(("127.0.0.1", port))
            held.append(c)
        for _ in range(batch):
            a, _peer = conn_listener.accept()
            a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
            held.append(a)
        conn_count += batch


def grow_udps(target):
    global udp_count
    while udp_count < target:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((SOURCES[udp_count % len(SOURCES)], 0))
        held.append(u)
        udp_count += 1


def close_all():
    for s in held:
        try:
            s.close()
        except OSError:
            pass
    held.clear()


def main():
    raise_nofile()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], [int(w) for w in words[1:]]
        try:
            if cmd == "listen4":
                tcp_listener(socket.AF_INET, "0.0.0.0", args[0])
                reply = "ok"
            elif cmd == "listen6":
                tcp_listener(socket.AF_INET6, "::", args[0], v6only=False)
                reply = "ok"
            elif cmd == "udp":
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.bind(("0.0.0.0", args[0]))
                held.append(u)
                reply = "ok"
            elif cmd == "conns":
                grow_conns(args[0], args[1])
                reply = "have %d" % conn_count
            elif cmd == "udps":
                grow_udps(args[0])
                reply = "have %d" % udp_count
            elif cmd == "quit":
                close_all()
                print("bye", flush=True)
                return 0
            else:
                reply = "error unknown command %r" % cmd
        except OSError as e:
            reply = "error %s: %s" % (cmd, e)
        print(reply, flush=True)
    close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
