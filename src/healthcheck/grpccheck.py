"""The "grpc" kind: the kernel first, then one grpc.health.v1.Health/Check
call over cleartext HTTP/2 with prior knowledge (h2.py), or over TLS with
ALPN "h2" (--tls: tlsconn.py, which the main static binary leaves out:
there --tls says to use healthcheck-tls).

    GRPC PORT [ADDRESS] [--service NAME] [--header 'name: value']...
         [--timeout SECONDS] [--accepting]
         [--tls [--cacert FILE] [--servername NAME] [--cert FILE --key FILE]]

make_check(tool, positionals, options) -> GrpcCheck; run_check(check,
backend, explain) -> ProbeAnswer (.ok, .reason, .explain()).

The kernel is asked first (kernelfirst.py), as for HTTP: nothing listening
fails at once, and the socket that counts says where to connect. The call
is bounded by --timeout as HTTP's exchange is (httpprobe.py): the socket's
own timeouts, set before each connect, send and recv from what is left.
"""

from .addr import format_endpoint
from .errors import HealthcheckError, UsageError, errno_of, shown
from .kernel_abi import SOCK_STREAM
from .kernelfirst import ProbeAnswer, address_arg, kernel_first
from .query import parse_port
from .wait import _clock, parse_seconds

# Connection-specific fields, which HTTP/2 forbids (RFC 9113 8.2.2); te is the call's own.
BARRED = ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te")


class GrpcCheck:
    """subject: how the answer names the check ("GRPC 50051 --service a");
    family, addr, localhost: the asked address (kernelfirst.py); service:
    bytes; metadata: [(name, value)]; timeout_ms; accepting; tls: None, or
    tlsconn.TlsOptions."""


def make_check(tool, positionals, options):
    check = GrpcCheck()
    if not 0 < len(positionals) < 3:
        raise UsageError("write %s PORT [ADDRESS]" % tool.name)
    check.port = parse_port(positionals[0])
    check.subject = "%s %d" % (tool.name, check.port)
    check.family = check.addr = None
    check.localhost = False
    if len(positionals) == 2:
        check.family, check.addr, check.localhost = address_arg(positionals[1])
        check.subject += " on " + shown(positionals[1], 45)
    service = options.get("--service", "")
    if service:
        check.subject += " --service " + shown(service, 40)
    check.service = service.encode("utf-8", "surrogateescape") if isinstance(service, str) else service
    if len(check.service) > 1024:
        raise UsageError("--service: at most 1024 bytes")
    check.metadata = []
    if "--header" in options:
        from .httpmsg import parse_header

        for text in options["--header"]:
            name = text.partition(":")[0].lower()
            if not name or name in BARRED:  # a pseudo-header, or one HTTP/2 forbids
                raise UsageError("--header '%s': not a gRPC metadata name" % shown(text, 30))
            check.metadata.append((name, parse_header(text)[1]))
    check.timeout_ms = parse_seconds(options.get("--timeout", "2"), "--timeout")
    if check.timeout_ms == 0:
        raise UsageError("--timeout 0: give the call some time, such as 2 or 0.5 seconds")
    check.accepting = "--accepting" in options
    check.tls = None
    if [n for n in ("--tls", "--cacert", "--servername", "--cert", "--key") if n in options]:  # TLS hook
        try:
            from .tlsconn import grpc_options
        except ImportError:  # the main static binary: TLS is the second one's (static/tls/README.md)
            raise HealthcheckError("TLS is not in this binary: use /healthcheck/healthcheck-tls grpc %d --tls ..."
                                   % check.port)
        grpc_options(check, options)
    return check


def run_check(check, backend=None, explain=False):
    lines = []
    found, said = kernel_first(check, check.port, backend, explain, lines)
    if found is None:
        return ProbeAnswer(False, "%s: %s" % (check.subject, said), lines)

    # Only once the kernel has said yes: the protocol, and HTTP's socket helpers.
    from . import h2
    from .httpprobe import (
        EAGAIN,
        MSG_NOSIGNAL,
        SO_RCVTIMEO,
        SO_SNDTIMEO,
        TIMED_OUT,
        _oserror_text,
        _set_timeout,
        seconds_text,
        sockaddr,
        socket_mod,
    )

    family, addr = found
    where = format_endpoint(addr, check.port)
    ms = check.timeout_ms
    call = h2.Call("localhost:%d" % check.port if check.localhost else where, check.service, check.metadata, ms)
    now, diff, _ = _clock()
    start = now()
    step = "the connection"
    sock = conn = info = None
    try:
        sock = socket_mod.socket(family, SOCK_STREAM)

        def arm(option):
            left = ms - diff(now(), start)
            if left <= 0:
                raise OSError(EAGAIN)
            _set_timeout(sock, option, left)

        arm(SO_SNDTIMEO)
        sock.connect(sockaddr(family, addr, check.port))
        if check.tls is not None:  # TLS hook: the session, its handshake (tlsconn.py)
            from .tlsconn import grpc_conn

            conn = grpc_conn(sock, check, addr, where, lambda: ms - diff(now(), start), call, seconds_text(ms))
        while not call.done:
            step = call.step()
            while call.out:
                if conn is None:
                    arm(SO_SNDTIMEO)
                    call.out = call.out[sock.send(call.out, MSG_NOSIGNAL):]
                else:  # MicroPython: the handshake is in the first send
                    call.out = call.out[conn.send(call.out):]
                    if info is None and explain:
                        info = conn.info()
            if conn is None:
                arm(SO_RCVTIMEO)
                data = sock.recv(8192)
                if not call.got and data[:1] in b"\x15\x16" and data[1:2] == b"\x03":  # a TLS record
                    raise HealthcheckError("the server speaks TLS: use --tls")
                if not data and not call.got:  # what grpcio's TLS port does to a cleartext preface
                    raise HealthcheckError("the server closed the connection at the HTTP/2 preface: not gRPC in "
                                           "cleartext; if the port is TLS, use --tls")
            else:
                data = conn.recv(8192)
            if not data:
                call.closed()
            call.feed(data)
        ok, text = call.result()
        text += " from " + where
    except OSError as err:
        ok = False
        if errno_of(err) in TIMED_OUT:
            text = "timed out after %s waiting for %s (%s)" % (seconds_text(ms), step, where)
        else:
            text = "%s before %s (%s)" % (_oserror_text(err), step, where)
    except HealthcheckError as err:  # tlsconn's lines name the endpoint themselves
        ok, text = False, str(err) if where in str(err) else "%s (%s)" % (err, where)
    finally:
        if conn is not None:
            conn.close()
        elif sock is not None:
            sock.close()
    if explain:
        lines.append("connect to " + where)
        lines.extend(info or ())
        lines.extend(call.lines)
    return ProbeAnswer(ok, "%s: %s" % (check.subject, text), lines)

