"""HTTPS, and https:// URLs of HTTP: the "http" kind's check (httpcheck.py)
over TLS (tlsconn.py). Imported only for a TLS check.

    tls_for(tool, target, options) -> tlsconn.TlsOptions   at make_check
        raises HealthcheckError in a build without TLS (the main static
        binary has neither this module nor tlsconn: httpcheck says so)
    exchange(family, addr, port, request, timeout_ms, want_body, head_only,
             tls, host, lines) -> httpmsg.Response         at run_check
        as httpprobe.exchange, with the TLS handshake after connect(); its
        failures are httpprobe.ProbeFailed with tlsconn's one line;
        lines: a list for the --debug lines of TLS (version, cipher, the
        server's certificate), or None
"""

from .addr import format_addr, format_endpoint
from .errors import HealthcheckError, UsageError, errno_of
from .httpmsg import ProtocolError, Response
from .httpprobe import (
    SO_RCVTIMEO,
    SO_SNDTIMEO,
    TIMED_OUT,
    WHEN,
    ProbeFailed,
    _oserror_text,
    _set_timeout,
    _stalled,
    connected,
    seconds_text,
)
from .wait import _clock

HELP = """usage: %(usage)s
       %(t)s --help | --version

Exit 0 if the server on PORT completes a TLS 1.2 or 1.3 handshake and
answers PATH over it as HTTP would (every option of HTTP applies: --status,
--header, --method, --body, --timeout, --accepting). The kernel is asked
first; the request goes where HTTP's would. HTTP takes https:// URLs too.

  --cacert FILE  verify the server's certificate: its chain against the
                 CA(s) in FILE (PEM or DER) and its name: --servername, else
                 the URL's host, else the address connected to (an IP
                 address is checked against the IP SANs)
  --servername NAME  the name to verify, sent as SNI
  --cert FILE --key FILE   a client certificate, for servers that want one
  --debug        also the TLS version, the cipher, the server certificate's
                 subject and expiry

Without --cacert nothing is verified: the check proves that the server
completes a handshake and answers, not who it is. A certificate that
fails says why (unknown CA, name, expired). The static build's TLS is a
second binary, healthcheck-tls (/healthcheck/HTTPS): the other tools'
binary has none.

%(more)s
Rules: docs/rules.md of the healthcheck project. healthcheck %(v)s"""


def tls_for(tool, target, options):
    if tool.kind == "https" and target.scheme == "http" and target.host is not None:
        raise UsageError("'http://' with HTTPS: write https:// (or use HTTP for plain http://)")
    from . import tlsconn

    why = tlsconn.available()
    if why is not None:
        raise HealthcheckError(why)
    return tlsconn.from_options(options)


def exchange(family, addr, port, request, timeout_ms, want_body, head_only, tls, host, lines):
    from . import tlsconn

    now, diff, _ = _clock()
    start = now()
    where = format_endpoint(addr, port)
    limit = seconds_text(timeout_ms)
    resp = Response(head_only, want_body)
    resp.where = where

    def left():
        return timeout_ms - diff(now(), start)

    def arm(s, ms):
        _set_timeout(s, SO_SNDTIMEO, ms)
        _set_timeout(s, SO_RCVTIMEO, ms)

    sock = connected(family, addr, port, left(), timeout_ms, where)
    conn = None
    try:
        conn = tlsconn.TlsConn(sock, tls, host, arm, left, where)
        conn.handshake()
        sent = 0
        while sent < len(request):
            try:
                sent += conn.send(request[sent:])
            except OSError as err:
                if errno_of(err) in TIMED_OUT:
                    raise ProbeFailed("could not send the request within %s (connected to %s)" % (limit, where))
                raise ProbeFailed("sending the request to %s: %s" % (where, _oserror_text(err)))
        if lines is not None:
            lines.extend(conn.info())

        while not resp.done:
            try:
                data = conn.recv(resp.want())
            except OSError as err:
                if errno_of(err) not in TIMED_OUT:
                    raise ProbeFailed("%s %s (%s)" % (_oserror_text(err), WHEN[resp.stage()], where))
                resp.sniff()
                raise ProbeFailed(_stalled(resp, limit, where))
            resp.feed(data)
    except tlsconn.TlsFailed as err:
        raise ProbeFailed(str(err).replace("the time given", limit))
    except ProtocolError as err:
        raise ProbeFailed("%s (%s)" % (err, where))
    finally:
        if conn is not None:
            conn.close()
        else:
            sock.close()
    return resp


def server_name(check, addr):
    """What the certificate must name (and SNI says) when --servername does
    not: the URL's host, else the address connected to."""
    host = check.target.host
    if host is not None:
        return host
    if check.localhost:
        return "localhost"
    return format_addr(addr)
