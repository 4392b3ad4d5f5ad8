"""Backend 1: ask the kernel through netlink (sock_diag(7), rtnetlink(7)).

Pure parts: build_request(family, proto, states, ports) -> bytes (and
build_tcp_request, build_lookup), parse_reply(buf, ...) -> records,
decode_inet(payload, proto, family) -> SocketRecord. The only I/O is
open_socket(), lookup() and dump(), a thin send/recv loop that
unix_diag.py and namespace.py use too.

The request carries a state filter (1 << LISTEN for TCP, 1 << CLOSE for
UDP) and, for the asked ports, a small inet_diag bytecode program, so the
kernel hands back only candidate sockets: the cost stays flat however many
connections the host holds.
"""

import struct
import sys

from .errors import KernelError, ParseError, Refused, describe_oserror, errno_of
from .kernel_abi import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    ALL_STATES,
    EAGAIN,
    ENOBUFS,
    ENOENT,
    ETIMEDOUT,
    IPPROTO_TCP,
    SOCK_RAW,
    TCP_LISTEN,
)
from .record import SocketRecord

if sys.implementation.name == "micropython":
    import socket as socket_mod
else:
    import _socket as socket_mod  # CPython: skips socket.py and its enum import

NETLINK_ROUTE = 0
NETLINK_SOCK_DIAG = 4
TCPDIAG_GETSOCK = 18
SOCK_DIAG_BY_FAMILY = 20

NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_DUMP = 0x300
NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4

INET_DIAG_REQ_BYTECODE = 1
INET_DIAG_BC_JMP = 1
INET_DIAG_BC_S_GE = 2
INET_DIAG_BC_S_LE = 3
INET_DIAG_SKMEMINFO = 7
INET_DIAG_SKV6ONLY = 11
EXT_SKMEMINFO = 1 << (INET_DIAG_SKMEMINFO - 1)  # idiag_ext bit asking for it

NLMSG_HDR = "@IHHII"  # len, type, flags, seq, pid
NLMSG_HDRLEN = 16
DIAG_MSG_LEN = 72  # struct inet_diag_msg

# The kernel sizes each dump datagram to the largest receive buffer the socket
# has used (netlink_dump: max of NLMSG_GOODSIZE, at most 8 KB, and our recv
# size), so 8 KB is never truncated, and small blocks keep MicroPython's heap
# from fragmenting (a fresh 32 KB block per datagram ran it out of holes).
RECV_SIZE = 8192
TIMEOUT = 2  # seconds of silence before giving up (whole seconds: no floats in the static build)
MAX_RECORDS = 1000000

# errno values that mean "this kernel or sandbox does not offer sock_diag":
# EPERM EACCES ENOENT EINVAL ENOSYS EOPNOTSUPP EAFNOSUPPORT EPROTONOSUPPORT
REFUSED_ERRNOS = (1, 13, 2, 22, 38, 95, 97, 93)


def port_filter(ports):
    """inet_diag bytecode accepting a socket whose local port is one of
    `ports`. Each port is "sport >= p AND sport <= p" (S_EQ needs Linux
    4.16), then a JMP to the end (accept); a failed test falls through to
    the next port's block, and past the last block means reject. Packed in
    one struct.pack call: a call per op made the request the costliest part
    of a check in the static build."""
    values = []
    rest = 20 * len(ports) - 4  # bytes after this block's S_LE operand
    for port in ports:
        rest -= 20
        values += (INET_DIAG_BC_S_GE, 8, 20, 0, 0, port, INET_DIAG_BC_S_LE, 8, 12, 0, 0, port)
        if rest > 0:
            values += (INET_DIAG_BC_JMP, 4, 4 + rest)
    return struct.pack("@" + "BBHBBHBBHBBHBBH" * (len(ports) - 1) + "BBHBBHBBHBBH", *values)


def build_request(family, proto, states, ports=(), ext=0, seq=1, code=None):
    """SOCK_DIAG_BY_FAMILY dump request (inet_diag_req_v2) as bytes, with
    the port filter (`code`: port_filter(ports), given when already made).
    query.MAX_PORTS keeps the filter within its u16 jumps."""
    if not ports:
        return struct.pack("@IHHIIBBBBI48x", NLMSG_HDRLEN + 56, SOCK_DIAG_BY_FAMILY,
                           NLM_F_REQUEST | NLM_F_DUMP, seq, 0, family, proto, ext, 0, states)
    if code is None:
        code = port_filter(ports)
    return struct.pack("@IHHIIBBBBI48xHH", NLMSG_HDRLEN + 60 + len(code), SOCK_DIAG_BY_FAMILY,
                       NLM_F_REQUEST | NLM_F_DUMP, seq, 0, family, proto, ext, 0, states,
                       4 + len(code), INET_DIAG_REQ_BYTECODE) + code


def build_tcp_request(states, ports=(), seq=1, code=None):
    """TCPDIAG_GETSOCK dump request (struct inet_diag_req, inet_diag's own
    request from before sock_diag) as bytes: the kernel answers it with the
    TCP sockets of both families in one dump (it asks for AF_UNSPEC
    itself), where SOCK_DIAG_BY_FAMILY takes a dump per family, each a walk
    of the whole listening table. The same state and port filters."""
    if not ports:
        return struct.pack("@IHHIIBBBB48xII", NLMSG_HDRLEN + 60, TCPDIAG_GETSOCK,
                           NLM_F_REQUEST | NLM_F_DUMP, seq, 0, 0, 0, 0, 0, states, 0)
    if code is None:
        code = port_filter(ports)
    return struct.pack("@IHHIIBBBB48xIIHH", NLMSG_HDRLEN + 64 + len(code), TCPDIAG_GETSOCK,
                       NLM_F_REQUEST | NLM_F_DUMP, seq, 0, 0, 0, 0, 0, states, 0,
                       4 + len(code), INET_DIAG_REQ_BYTECODE) + code


def build_message(mtype, body, seq):
    """A dump request: netlink header + body."""
    return struct.pack(NLMSG_HDR, NLMSG_HDRLEN + len(body), mtype,
                       NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def attr_spans(buf, offset):
    """(type, start, end) of each netlink attribute in buf[offset:], lengths
    checked; the NLA_F_* flag bits of the type dropped. Offsets, not
    slices: a check reads one or two of a socket's attributes."""
    spans = []
    end = len(buf)
    while end - offset >= 4:
        length, atype = struct.unpack_from("@HH", buf, offset)
        if length < 4 or length > end - offset:
            raise ParseError("netlink", "attribute length %d does not fit %d bytes" % (length, end - offset))
        spans.append((atype & 0x3FFF, offset + 4, offset + length))
        offset += (length + 3) & ~3
    return spans


def iter_attrs(buf):
    """[(type, payload)] of the netlink attributes in buf."""
    return [(atype, buf[start:stop]) for atype, start, stop in attr_spans(buf, 0)]


def decode_inet(payload, proto, family):
    """inet_diag_msg (+ attributes) -> SocketRecord, or None for a socket of
    another family than the dump asked for (`family` None: any)."""
    if len(payload) < DIAG_MSG_LEN:
        raise ParseError("netlink", "inet_diag_msg of %d bytes, need %d" % (len(payload), DIAG_MSG_LEN))
    sfamily, state = payload[0], payload[1]
    if sfamily != AF_INET and sfamily != AF_INET6:
        raise ParseError("netlink", "unexpected address family %d" % sfamily)
    if family is not None and sfamily != family:
        return None
    size = 4 if sfamily == AF_INET else 16
    sport, dport = struct.unpack_from(">HH", payload, 4)
    rqueue, wqueue = struct.unpack_from("@II", payload, 56)
    queue = limit = None
    if proto == IPPROTO_TCP:
        if state == TCP_LISTEN:  # the accept queue and its limit (inet_diag_fill)
            queue, limit = rqueue, wqueue
    else:
        queue = rqueue  # receive memory in use; the buffer size comes with SKMEMINFO
    v6only = drops = None
    for atype, start, stop in attr_spans(payload, DIAG_MSG_LEN):
        if atype == INET_DIAG_SKV6ONLY and sfamily == AF_INET6:
            if stop - start < 1:
                raise ParseError("netlink", "empty INET_DIAG_SKV6ONLY attribute")
            v6only = payload[start] != 0
        elif atype == INET_DIAG_SKMEMINFO and proto != IPPROTO_TCP:
            if stop - start < 8:
                raise ParseError("netlink", "short INET_DIAG_SKMEMINFO attribute")
            queue, limit = struct.unpack_from("@II", payload, start)  # SK_MEMINFO_RMEM_ALLOC, _RCVBUF
            if stop - start >= 36:  # SK_MEMINFO_DROPS, the 9th u32: kernels before it send fewer
                drops = struct.unpack_from("@I", payload, start + 32)[0]
    rec = SocketRecord(sfamily, proto, state, payload[8:8 + size], sport,
                       payload[24:24 + size], dport, v6only, queue, limit)
    if drops is not None:
        rec.drops = drops
    return rec


def parse_reply(buf, seq, want, decode, records):
    """Split one received datagram into its messages, every length checked
    against what is really there, and decode those of type `want` with
    `decode` into `records` (None results are dropped). Returns True once
    NLMSG_DONE came."""
    offset = 0
    end = len(buf)
    while offset < end:
        if end - offset < NLMSG_HDRLEN:
            raise ParseError("netlink", "truncated message header (%d bytes)" % (end - offset))
        length, mtype, _, mseq = struct.unpack_from("@IHHI", buf, offset)
        if length < NLMSG_HDRLEN or length > end - offset:
            raise ParseError("netlink", "message length %d does not fit %d bytes" % (length, end - offset))
        payload = buf[offset + NLMSG_HDRLEN:offset + length]
        offset += (length + 3) & ~3
        if mseq != seq:
            continue  # not an answer to our request
        if mtype == want:
            rec = decode(payload)
            if rec is not None:
                records.append(rec)
        elif mtype == NLMSG_DONE:
            if len(payload) >= 4:
                err = struct.unpack_from("@i", payload, 0)[0]
                if err < 0:
                    raise KernelError("netlink: dump ended with error %d" % -err)
            return True
        elif mtype == NLMSG_ERROR:
            if len(payload) < 4:
                raise ParseError("netlink", "truncated NLMSG_ERROR")
            err = struct.unpack_from("@i", payload, 0)[0]
            if err == 0:
                continue  # an acknowledgement, not an error
            if -err in REFUSED_ERRNOS:
                error = Refused("netlink refused the request (errno %d)" % -err)
            else:
                error = KernelError("netlink: kernel answered errno %d" % -err)
            error.errno = -err
            raise error
        elif mtype == NLMSG_OVERRUN:
            raise KernelError("netlink: receive buffer overrun")
        elif mtype != NLMSG_NOOP:
            raise ParseError("netlink", "unexpected message type %d" % mtype)
    return False


def open_socket(protocol=NETLINK_SOCK_DIAG, timeout=TIMEOUT):
    try:
        sock = socket_mod.socket(AF_NETLINK, SOCK_RAW, protocol)
    except OSError as err:
        raise Refused("netlink socket refused: %s" % describe_oserror(err))
    try:
        sock.settimeout(timeout)
    except (OSError, AttributeError) as err:
        sock.close()
        raise Refused("netlink socket: cannot set a receive timeout: %s" % describe_oserror(err))
    return sock


def dump(sock, request, seq, want, decode, timeout=TIMEOUT):
    """Send one dump request and yield the decoded records as datagrams
    arrive, so memory stays bounded by one datagram."""
    try:
        sock.send(request)
    except OSError as err:
        raise Refused("netlink send refused: %s" % describe_oserror(err))
    count = 0
    done = False
    while not done:
        try:
            buf = sock.recv(RECV_SIZE)
        except OSError as err:
            raise recv_error(err, timeout)
        if not buf:
            raise KernelError("netlink: socket closed before the dump ended")
        records = []
        done = parse_reply(buf, seq, want, decode, records)
        count += len(records)
        if count > MAX_RECORDS:
            raise KernelError("netlink: more than %d sockets in the reply" % MAX_RECORDS)
        yield from records


def recv_error(err, timeout):
    """The KernelError for a failed recv() from the kernel: silence (a
    timeout) is said as such, anything else by its errno."""
    code = errno_of(err)
    if code is None or code == EAGAIN or code == ETIMEDOUT:
        return KernelError("netlink: no answer within %ds (%s)" % (timeout, describe_oserror(err)))
    if code == ENOBUFS:
        return KernelError("netlink: the kernel's answer overran the receive buffer (ENOBUFS)")
    return KernelError("netlink: receive failed: %s" % describe_oserror(err))


def build_lookup(family, proto, port, seq):
    """SOCK_DIAG_BY_FAMILY without NLM_F_DUMP: the kernel looks up the one
    socket that would take a new connection (TCP) or datagram (UDP) to the
    wildcard address on `port`, as for a packet (inet_diag_find_one_icsk,
    udp_dump_one), and answers with it or with ENOENT. TCP's lookup takes the
    port as the socket's own end (idiag_sport), UDP's as the packet's
    destination (idiag_dport). No cookie: INET_DIAG_NOCOOKIE."""
    sport, dport = (port, 0) if proto == IPPROTO_TCP else (0, port)
    return struct.pack("@IHHIIBBBBIBBBB36xII", NLMSG_HDRLEN + 56, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST,
                       seq, 0, family, proto, 0, 0, ALL_STATES, sport >> 8, sport & 0xFF,
                       dport >> 8, dport & 0xFF, 0xFFFFFFFF, 0xFFFFFFFF)


def lookup(sock, tool, ports):
    """The socket the kernel's own lookup finds on each of `ports` for the
    wildcard address of the question's family: a listener (or bound UDP
    socket) on 0.0.0.0 or [::], where an IPv4 lookup also finds a
    dual-stack [::] socket. One small request per port, no dump. Returns a
    SocketRecord per port, or None as soon as a port has none or anything
    is unexpected: then only the dumps can tell. A kernel that does not
    answer within the timeout is an error, as for a dump (a silent kernel
    is not a refusing one, and a second wait would only double it)."""
    records = []
    seq = 0x10000  # the dumps count from 1
    for port in ports:
        seq += 1
        try:
            sock.send(build_lookup(tool.family, tool.proto, port, seq))
        except OSError:
            return None  # the dumps' own send tells a refusal from an error
        try:
            buf = sock.recv(RECV_SIZE)
        except OSError as err:
            raise recv_error(err, TIMEOUT)
        # The usual miss, a closed port: one NLMSG_ERROR, ENOENT. Told apart
        # here, as parse_reply would raise it and an exception in the static
        # build costs more than the rest of the lookup.
        if len(buf) >= NLMSG_HDRLEN + 4 and struct.unpack_from("@H", buf, 4)[0] == NLMSG_ERROR:
            if struct.unpack_from("@I4xi", buf, 8) == (seq, -ENOENT):  # seq, pid, error
                return None
        found = []
        try:  # the answer is one message: the socket, or an error (ENOENT: there is none)
            parse_reply(buf, seq, SOCK_DIAG_BY_FAMILY, lambda p: decode_inet(p, tool.proto, None), found)
        except KernelError:
            return None
        if len(found) != 1:
            return None
        records.append(found[0])
    return records


def fetch(tool, ports, notes, states, ext=0, timeout=TIMEOUT, sock=None):
    """Yields the sockets of `tool`'s families on `ports` in `states` (a
    bit mask), asked on `sock` (an open netlink socket, which the caller
    owns and closes); appends what it did to `notes`, unless that is None
    (nobody reads them: a check without --debug). A dump refused later
    raises Refused from the iteration."""
    if notes is not None:
        if len(tool.families) == 1:
            what = "netlink dumps: AF_INET6"
        elif _one_dump(tool):
            what = "netlink dump: AF_INET + AF_INET6 in one (TCPDIAG_GETSOCK)"
        else:
            what = "netlink dumps: AF_INET + AF_INET6"
        notes.append("%s, %s, port filter in kernel" % (what, "every state" if states == ALL_STATES else
                     "state filter LISTEN" if tool.proto == IPPROTO_TCP else "state filter CLOSE"))
    return _records(sock, tool, ports, states, ext, timeout, notes)


def _one_dump(tool):
    """An IPv4 TCP question: TCPDIAG_GETSOCK brings both families at once
    (UDP has no such request, and an IPv6 question needs one family)."""
    return tool.proto == IPPROTO_TCP and len(tool.families) == 2


def _records(sock, tool, ports, states, ext, timeout, notes):
    code = port_filter(ports) if ports else None  # the same for every request
    if _one_dump(tool):
        answered = False
        try:
            for rec in dump(sock, build_tcp_request(states, ports, 1, code), 1, TCPDIAG_GETSOCK,
                            lambda payload: decode_inet(payload, IPPROTO_TCP, None), timeout):
                answered = True
                yield rec
            return
        except KernelError as err:
            # A kernel without the old request answers it with an error
            # and nothing else: then one dump per family, as sock_diag asks.
            if answered or err.errno is None:
                raise
            if notes is not None:
                notes.append("netlink: TCPDIAG_GETSOCK refused (errno %d); one dump per family" % err.errno)
    seq = 2
    for family in tool.families:
        def decode(payload, family=family):
            return decode_inet(payload, tool.proto, family)
        request = build_request(family, tool.proto, states, ports, ext, seq, code)
        yield from dump(sock, request, seq, SOCK_DIAG_BY_FAMILY, decode, timeout)
        seq += 1
