"""Backend 1: ask the kernel through NETLINK_SOCK_DIAG (sock_diag(7)).

Pure parts: build_request(family, proto, states, ports) -> bytes,
iter_messages(buf) -> (type, flags, seq, payload), decode_diag(payload,
proto) -> SocketRecord. The only I/O is fetch(), a thin send/recv loop.

The request carries a state filter (1 << LISTEN for TCP, 1 << CLOSE for
UDP) and, for the asked ports, a small inet_diag bytecode program, so the
kernel hands back only candidate sockets: the cost stays flat however many
connections the host holds.
"""

import struct
import sys

from .errors import KernelError, ParseError, Refused, describe_oserror
from .record import SocketRecord
from .tools import AF_INET, AF_INET6

if sys.implementation.name == "micropython":
    import socket as socket_mod
else:
    import _socket as socket_mod  # CPython: skips socket.py and its enum import

AF_NETLINK = 16
SOCK_RAW = 3
NETLINK_SOCK_DIAG = 4
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
INET_DIAG_SKV6ONLY = 11

NLMSG_HDR = "@IHHII"  # len, type, flags, seq, pid
NLMSG_HDRLEN = 16
DIAG_MSG_LEN = 72  # struct inet_diag_msg
MAX_BYTECODE_PORTS = 1000  # the program's jumps are u16: keep well inside

# The kernel sizes each dump datagram to the largest receive buffer the socket
# has used (netlink_dump: max of NLMSG_GOODSIZE, at most 8 KB, and our recv
# size), so 8 KB is never truncated, and small blocks keep MicroPython's heap
# from fragmenting (a fresh 32 KB block per datagram ran it out of holes).
RECV_SIZE = 8192
TIMEOUT = 2  # seconds of silence before giving up
MAX_RECORDS = 1000000

# errno values that mean "this kernel or sandbox does not offer sock_diag":
# EPERM EACCES ENOENT EINVAL ENOSYS EOPNOTSUPP EAFNOSUPPORT EPROTONOSUPPORT
REFUSED_ERRNOS = (1, 13, 2, 22, 38, 95, 97, 93)


def port_filter(ports):
    """inet_diag bytecode accepting a socket whose local port is one of
    `ports`. Each port is "sport >= p AND sport <= p" (S_EQ needs Linux
    4.16), then a JMP to the end (accept); a failed test falls through to
    the next port's block, and past the last block means reject."""
    code = b""
    for port in reversed(ports):
        block = (_op(INET_DIAG_BC_S_GE, 8, 20) + _op(0, 0, port)
                 + _op(INET_DIAG_BC_S_LE, 8, 12) + _op(0, 0, port))
        if code:
            block += _op(INET_DIAG_BC_JMP, 4, 4 + len(code))
        code = block + code
    return code


def _op(code, yes, no):
    """struct inet_diag_bc_op: jump `yes` bytes if the test holds, else `no`."""
    return struct.pack("@BBH", code, yes, no)


def build_request(family, proto, states, ports=(), seq=1):
    """SOCK_DIAG_BY_FAMILY dump request (inet_diag_req_v2) as bytes."""
    body = struct.pack("@BBBBI", family, proto, 0, 0, states) + bytes(48)  # zero sockid
    if ports and len(ports) <= MAX_BYTECODE_PORTS:
        code = port_filter(ports)
        body += struct.pack("@HH", 4 + len(code), INET_DIAG_REQ_BYTECODE) + code
    header = struct.pack(NLMSG_HDR, NLMSG_HDRLEN + len(body), SOCK_DIAG_BY_FAMILY,
                         NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
    return header + body


def iter_messages(buf):
    """Split one received datagram into (type, flags, seq, payload).
    Every length is checked against what is really there."""
    offset = 0
    end = len(buf)
    while offset < end:
        if end - offset < NLMSG_HDRLEN:
            raise ParseError("netlink", "truncated message header (%d bytes)" % (end - offset))
        length, mtype, flags, seq, _ = struct.unpack_from(NLMSG_HDR, buf, offset)
        if length < NLMSG_HDRLEN or length > end - offset:
            raise ParseError("netlink", "message length %d does not fit %d bytes" % (length, end - offset))
        yield mtype, flags, seq, buf[offset + NLMSG_HDRLEN:offset + length]
        offset += (length + 3) & ~3


def iter_attrs(buf):
    """(type, payload) of each netlink attribute in buf, lengths checked."""
    offset = 0
    end = len(buf)
    while end - offset >= 4:
        length, atype = struct.unpack_from("@HH", buf, offset)
        if length < 4 or length > end - offset:
            raise ParseError("netlink", "attribute length %d does not fit %d bytes" % (length, end - offset))
        yield atype & 0x3FFF, buf[offset + 4:offset + length]  # drop NLA_F_* flag bits
        offset += (length + 3) & ~3


def decode_diag(payload, proto):
    """inet_diag_msg (+ attributes) -> SocketRecord."""
    if len(payload) < DIAG_MSG_LEN:
        raise ParseError("netlink", "inet_diag_msg of %d bytes, need %d" % (len(payload), DIAG_MSG_LEN))
    family, state = payload[0], payload[1]
    if family == AF_INET:
        size = 4
    elif family == AF_INET6:
        size = 16
    else:
        raise ParseError("netlink", "unexpected address family %d" % family)
    sport, dport = struct.unpack_from(">HH", payload, 4)
    src = bytes(payload[8:8 + size])
    dst = bytes(payload[24:24 + size])
    inode = struct.unpack_from("@I", payload, 68)[0]
    v6only = None
    if family == AF_INET6:
        for atype, value in iter_attrs(payload[DIAG_MSG_LEN:]):
            if atype == INET_DIAG_SKV6ONLY:
                if len(value) < 1:
                    raise ParseError("netlink", "empty INET_DIAG_SKV6ONLY attribute")
                v6only = value[0] != 0
    return SocketRecord(family, proto, state, src, sport, dst, dport,
                        v6only=v6only, v6only_known=v6only is not None, inode=inode)


def parse_reply(buf, seq, proto, records):
    """Decode one datagram into `records`. Returns True once NLMSG_DONE came."""
    done = False
    for mtype, _, mseq, payload in iter_messages(buf):
        if mseq != seq:
            continue  # not an answer to our request
        if mtype == NLMSG_DONE:
            if len(payload) >= 4:
                err = struct.unpack_from("@i", payload, 0)[0]
                if err < 0:
                    raise KernelError("netlink: dump ended with error %d" % -err)
            done = True
            break
        if mtype == NLMSG_ERROR:
            if len(payload) < 4:
                raise ParseError("netlink", "truncated NLMSG_ERROR")
            err = struct.unpack_from("@i", payload, 0)[0]
            if err == 0:
                continue  # an acknowledgement, not an error
            if -err in REFUSED_ERRNOS:
                raise Refused("netlink sock_diag refused the request (errno %d)" % -err)
            raise KernelError("netlink: kernel answered errno %d" % -err)
        if mtype == NLMSG_OVERRUN:
            raise KernelError("netlink: receive buffer overrun")
        if mtype == SOCK_DIAG_BY_FAMILY:
            records.append(decode_diag(payload, proto))
        elif mtype != NLMSG_NOOP:
            raise ParseError("netlink", "unexpected message type %d" % mtype)
    return done


def open_socket(timeout=TIMEOUT):
    try:
        sock = socket_mod.socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG)
    except OSError as err:
        raise Refused("netlink socket refused: %s" % describe_oserror(err))
    try:
        sock.settimeout(timeout)
    except (OSError, AttributeError) as err:
        sock.close()
        raise Refused("netlink socket: cannot set a receive timeout: %s" % describe_oserror(err))
    return sock


def dump(sock, family, proto, states, ports, seq):
    """One SOCK_DIAG_BY_FAMILY dump: yields SocketRecords as datagrams
    arrive, so memory stays bounded by one datagram."""
    try:
        sock.send(build_request(family, proto, states, ports, seq))
    except OSError as err:
        raise Refused("netlink send refused: %s" % describe_oserror(err))
    count = 0
    done = False
    while not done:
        try:
            buf = sock.recv(RECV_SIZE)
        except OSError as err:
            raise KernelError("netlink: no answer within %ds (%s)" % (TIMEOUT, describe_oserror(err)))
        if not buf:
            raise KernelError("netlink: socket closed before the dump ended")
        records = []
        done = parse_reply(buf, seq, proto, records)
        count += len(records)
        if count > MAX_RECORDS:
            raise KernelError("netlink: more than %d sockets in the reply" % MAX_RECORDS)
        yield from records


def fetch(tool, ports, notes, timeout=TIMEOUT):
    """Yields every candidate socket for `tool` on `ports`; appends what it
    did to `notes`. The socket is opened before the first record is asked
    for, so a refusal surfaces at once."""
    sock = open_socket(timeout)
    kind = "AF_INET + AF_INET6" if len(tool.families) == 2 else "AF_INET6"
    notes.append("netlink dumps: %s, state filter %s, port filter in kernel" % (
        kind, "LISTEN" if tool.pname == "tcp" else "CLOSE"))
    return _records(sock, tool, ports)


def _records(sock, tool, ports):
    try:
        seq = 1
        for family in tool.families:
            yield from dump(sock, family, tool.proto, 1 << tool.state, ports, seq)
            seq += 1
    finally:
        sock.close()
