"""TLS servers for tests/integration/test_https.py, run as processes INSIDE a
test's network namespace (`ip netns exec`), standard library only:

    tls_server.py https ADDR PORT CERT KEY [--tls 1.2|1.3] [--client-ca FILE]
        Python's ssl server: every connection gets a handshake, then one
        HTTP/1.1 request is read and "200 OK" with the body "ok" sent back
        (Connection: close, no close_notify: as many servers end). With
        --client-ca a client certificate signed by FILE is required.
    tls_server.py plain ADDR PORT
        a plain server that answers anything at once with
        "HTTP/1.1 400 Bad Request", as nginx does a TLS ClientHello

Each connection is served on its own thread; the process runs until killed.
"""

import socket
import ssl
import sys
import threading

BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


def _head(conn, limit=65536):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _https(conn, ctx):
    try:
        conn.settimeout(10)
        tls = ctx.wrap_socket(conn, server_side=True)
        _head(tls)
        tls.sendall(OK)
        tls.close()
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def _plain(conn):
    try:
        conn.settimeout(10)
        conn.recv(4096)
        conn.sendall(BAD_REQUEST)
    except OSError:
        pass
    finally:
        conn.close()


def main(argv):
    mode, addr, port = argv[1], argv[2], int(argv[3])
    ctx = None
    if mode == "https":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(argv[4], argv[5])
        rest = argv[6:]
        while rest:
            if rest[0] == "--tls":
                version = ssl.TLSVersion.TLSv1_2 if rest[1] == "1.2" else ssl.TLSVersion.TLSv1_3
                ctx.minimum_version = ctx.maximum_version = version
            elif rest[0] == "--client-ca":
                ctx.load_verify_locations(cafile=rest[1])
                ctx.verify_mode = ssl.CERT_REQUIRED
            rest = rest[2:]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((addr, port))
    sock.listen(16)
    while True:
        conn, _ = sock.accept()
        target = (lambda c=conn: _https(c, ctx)) if ctx is not None else (lambda c=conn: _plain(c))
        threading.Thread(target=target, daemon=True).start()


if __name__ == "__main__":
    main(sys.argv)
