"""The HTTP tool's I/O: one request over one TCP connection, bounded in
time and size. Imported only by the HTTP tool.

    exchange(family, addr, port, request, timeout_ms, want_body, head_only=False)
        -> httpmsg.Response (.version .status .reason .headers .body
           .truncated, .where: "127.0.0.1:8080" / "[::1]:8080")
        raises ProbeFailed: which step failed and where, e.g.
        "connection refused by 127.0.0.1:8080",
        "no answer within 2 s (connected to 127.0.0.1:8080)"
    judge(result, codes, body_text) -> (ok, text)
        "200 OK from 127.0.0.1:8080",
        "503 Service Unavailable (want 200-399) from 127.0.0.1:8080"
    debug_lines(result) -> [status line, "Name: value", ...] (escaped)
    request_lines(request) -> the request's lines (escaped), for --debug
    seconds_text(ms) -> "2 s", "0.5 s"

timeout_ms bounds the whole exchange: connect, send and every recv get
only what is left of it. No floats: milliseconds as ints, and the
socket's own timeouts set with setsockopt (see _set_timeout).
"""

import struct
import sys
import time

from . import build_info
from .addr import format_addr, format_endpoint
from .errors import HealthcheckError, describe_oserror, errno_of, shown
from .httpmsg import ProtocolError, Response, codes_text
from .kernel_abi import AF_INET, AF_INET6, EAFNOSUPPORT, ECONNREFUSED, SOCK_STREAM
from .netlink import socket_mod

SOL_SOCKET = 1  # 0xffff only on alpha, mips, parisc and sparc: none of ours
MSG_NOSIGNAL = 0x4000  # a peer that closed gives EPIPE, never SIGPIPE
# errno values (the same on every architecture we build for).
EPIPE = 32
EAGAIN = 11
ENETUNREACH = 101
ECONNRESET = 104
ETIMEDOUT = 110
EHOSTUNREACH = 113
EINPROGRESS = 115
TIMED_OUT = (EAGAIN, ETIMEDOUT, EINPROGRESS)
WHEN = {"an answer": "before a status line", "the headers": "in the middle of the headers",
        "the body": "in the middle of the body"}

MICROPYTHON = sys.implementation.name == "micropython"

# The clock and the address argument are wait._clock's and
# namespace.sockaddr's twins: importing those two modules for them was a
# tenth of an HTTP check's work in the static build.
if MICROPYTHON:
    _now, _diff = time.ticks_ms, time.ticks_diff
else:
    def _now():
        return int(time.monotonic() * 1000)

    def _diff(a, b):
        return a - b


def sockaddr(family, addr, port):
    """connect()'s address: MicroPython's socket takes the raw struct
    sockaddr, CPython's a tuple."""
    v4 = family == AF_INET
    if not MICROPYTHON:
        return (format_addr(addr), port) + (() if v4 else (0, 0))
    # family (host order), port, and for IPv6 the flow label; the address; zeros or the scope id
    return struct.pack("@H", family) + struct.pack(">HI", port, 0)[:2 if v4 else 6] + addr + bytes(8 if v4 else 4)


class ProbeFailed(HealthcheckError):
    """The exchange failed; str(err) names the step and where."""


def _machine():
    if build_info.PLATFORM:  # the static build: "linux/ppc64le"
        return build_info.PLATFORM
    import os

    return os.uname()[4] if hasattr(os, "uname") else ""  # CPython; a MicroPython not ours: generic


# SO_RCVTIMEO/SO_SNDTIMEO: the kernel's OLD options, which take a struct
# __kernel_old_timeval, two native longs ("@ll"). Why these and not libc's:
# - musl on 32-bit arches (386, arm) has a 64-bit time_t, and its
#   SO_RCVTIMEO is the NEW option (66) with a 64-bit timeval; musl's
#   setsockopt passes every option to the kernel untouched and converts
#   only when the kernel refuses the NEW one. The OLD number with two
#   native longs is the kernel's own ABI on every arch, 32-bit ones (and
#   compat tasks on a 64-bit kernel) included, and qemu-user translates it.
# - MicroPython's settimeout() takes whole seconds in a float-less build;
#   CPython's would make the socket non-blocking behind our back.
# - powerpc numbers them 18/19 (its 20/21 are SO_PASSCRED/SO_PEERCRED);
#   every other arch we build for uses the generic 20/21.
# A timed-out recv/send fails with EAGAIN; a blocking connect() honours
# SO_SNDTIMEO and fails with EINPROGRESS (MicroPython: ETIMEDOUT).
if "ppc" in _machine() or "powerpc" in _machine():
    SO_RCVTIMEO, SO_SNDTIMEO = 18, 19
else:
    SO_RCVTIMEO, SO_SNDTIMEO = 20, 21


def _set_timeout(sock, option, ms):
    # ms > 0 here: a zero timeval would mean "no timeout at all".
    sock.setsockopt(SOL_SOCKET, option, struct.pack("@ll", ms // 1000, ms % 1000 * 1000))


def seconds_text(ms):
    """2000 -> "2 s", 500 -> "0.5 s", 1250 -> "1.25 s"."""
    if ms % 1000 == 0:
        return "%d s" % (ms // 1000)
    return ("%d.%03d" % (ms // 1000, ms % 1000)).rstrip("0") + " s"


def _oserror_text(err):
    code = errno_of(err)
    if code == ECONNRESET:
        return "connection reset"
    if code == EPIPE:
        return "connection closed"
    if code in (EHOSTUNREACH, ENETUNREACH):
        return "no route to the host"
    return describe_oserror(err)


def connected(family, addr, port, ms, timeout_ms, where):
    """A TCP socket connected to addr:port within `ms` (what is left of
    `timeout_ms`, for the message), its SO_SNDTIMEO set to `ms`; a failure
    is a ProbeFailed saying which, and leaves no socket open. Every probe's
    first step (HTTP, HTTPS)."""
    try:
        sock = socket_mod.socket(family, SOCK_STREAM)
    except OSError as err:
        if errno_of(err) == EAFNOSUPPORT:
            raise ProbeFailed("cannot connect to %s: this kernel has no IPv%s"
                              % (where, "6" if family == AF_INET6 else "4"))
        raise ProbeFailed("cannot open a TCP socket: %s" % describe_oserror(err))
    try:
        if ms <= 0:
            raise OSError(ETIMEDOUT)
        _set_timeout(sock, SO_SNDTIMEO, ms)
        sock.connect(sockaddr(family, addr, port))
        return sock
    except OSError as err:
        sock.close()
        code = errno_of(err)
        if code == ECONNREFUSED:
            raise ProbeFailed("connection refused by %s" % where)
        if code in TIMED_OUT:
            raise ProbeFailed("connect to %s timed out after %s" % (where, seconds_text(timeout_ms)))
        raise ProbeFailed("cannot connect to %s: %s" % (where, _oserror_text(err)))


def exchange(family, addr, port, request, timeout_ms, want_body, head_only=False):
    """Connect to addr:port (family AF_INET/AF_INET6, addr packed), send
    `request` (bytes, httpmsg.build_request), read the response: its head,
    and its body when `want_body` (not for `head_only`, a HEAD request).
    At most HEAD_LIMIT + WIRE_LIMIT bytes are read."""
    start = _now()
    where = format_endpoint(addr, port)
    resp = Response(head_only, want_body)
    resp.where = where
    # The socket's timeouts as last set (ms): one that is still what is left
    # (loopback answers within the millisecond) is not set again.
    snd = timeout_ms - _diff(_now(), start)
    sock = connected(family, addr, port, snd, timeout_ms, where)
    rcv = 0
    try:
        sent = 0
        while sent < len(request):
            ms = timeout_ms - _diff(_now(), start)
            try:
                if ms <= 0:
                    raise OSError(EAGAIN)
                if ms != snd:
                    _set_timeout(sock, SO_SNDTIMEO, ms)
                    snd = ms
                sent += sock.send(request[sent:] if sent else request, MSG_NOSIGNAL)
            except OSError as err:
                if errno_of(err) in TIMED_OUT:
                    raise ProbeFailed("could not send the request within %s (connected to %s)"
                                      % (seconds_text(timeout_ms), where))
                raise ProbeFailed("sending the request to %s: %s" % (where, _oserror_text(err)))

        while not resp.done:
            ms = timeout_ms - _diff(_now(), start)
            try:
                if ms <= 0:
                    raise OSError(EAGAIN)
                if ms != rcv:
                    _set_timeout(sock, SO_RCVTIMEO, ms)
                    rcv = ms
                data = sock.recv(resp.want())
            except OSError as err:
                if errno_of(err) not in TIMED_OUT:
                    raise ProbeFailed("%s %s (%s)" % (_oserror_text(err), WHEN[resp.stage()], where))
                resp.sniff()
                raise ProbeFailed(_stalled(resp, seconds_text(timeout_ms), where))
            resp.feed(data)
    except ProtocolError as err:
        raise ProbeFailed("%s (%s)" % (err, where))
    finally:
        sock.close()
    return resp


def _stalled(resp, limit, where):
    stage = resp.stage()
    if stage == "an answer":
        return "no answer within %s (connected to %s)" % (limit, where)
    if stage == "the headers":
        return "the response headers did not end within %s (%s)" % (limit, where)
    return "%s but the body did not end within %s (%d bytes read) from %s" % (
        _status_text(resp), limit, resp.kept, where)


def _status_text(resp):
    reason = resp.reason[:30]  # escaped already (httpmsg)
    return "%d %s" % (resp.status, reason) if reason else "%d" % resp.status


def _as_bytes(text):
    # CPython: argv bytes that are not UTF-8 come back as they were given
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")


def judge(result, codes, body_text=None):
    """(ok, text): is result.status in `codes` ((lo, hi) ranges) and, with
    `body_text`, does the body hold it? text: one short line saying so."""
    status = _status_text(result)
    for lo, hi in codes:
        if lo <= result.status <= hi:
            break
    else:
        return False, "%s (want %s) from %s" % (status, shown(codes_text(codes), 40), result.where)
    if body_text is None:
        return True, "%s from %s" % (status, result.where)
    wanted = shown(body_text, 30)
    if result.body is not None and _as_bytes(body_text) in result.body:
        return True, "%s with '%s' in the body from %s" % (status, wanted, result.where)
    if result.body is None:
        read = "no body"
    elif result.truncated:
        read = "first %d KB read" % (result.kept // 1024)
    else:
        read = "%d bytes" % result.kept
    return False, "%s but the body does not contain '%s' (%s) from %s" % (status, wanted, read, result.where)


def debug_lines(result):
    """The status line and the header fields received, printably escaped."""
    lines = [("%s %d %s" % (result.version, result.status, result.reason)).rstrip()]
    for name, value in result.headers:
        lines.append(("%s: %s" % (name, value))[:200])  # escaped already (httpmsg)
    return lines


def request_lines(request):
    return [shown(line, 200) for line in request.split(b"\r\n") if line]
