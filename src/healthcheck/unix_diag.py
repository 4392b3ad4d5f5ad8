"""UNIX backend 1: unix domain sockets through NETLINK_SOCK_DIAG with
AF_UNIX (unix_diag). Only the caller's network namespace is listed.

decode_unix(payload) -> UnixRecord is pure; fetch() is the I/O, through
netlink.dump().
"""

import struct

from . import netlink
from .errors import ParseError
from .kernel_abi import AF_UNIX, ALL_STATES, TCP_LISTEN
from .record import UnixRecord

UDIAG_SHOW_NAME = 0x01
UDIAG_SHOW_VFS = 0x02
UDIAG_SHOW_RQLEN = 0x10
UNIX_DIAG_NAME = 0
UNIX_DIAG_VFS = 1
UNIX_DIAG_RQLEN = 4
UNIX_DIAG_MSG_LEN = 16  # struct unix_diag_msg


def build_request(states, seq=1):
    """unix_diag_req: family, protocol, pad, states, ino, show, cookie."""
    body = struct.pack("@BBHIII", AF_UNIX, 0, 0, states, 0,
                       UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_RQLEN) + bytes(8)
    return netlink.build_message(netlink.SOCK_DIAG_BY_FAMILY, body, seq)


def decode_unix(payload):
    """unix_diag_msg (+ attributes) -> UnixRecord."""
    if len(payload) < UNIX_DIAG_MSG_LEN:
        raise ParseError("unix_diag", "unix_diag_msg of %d bytes, need %d" % (len(payload), UNIX_DIAG_MSG_LEN))
    if payload[0] != AF_UNIX:
        raise ParseError("unix_diag", "unexpected address family %d" % payload[0])
    name = vfs = queue = limit = None
    for atype, value in netlink.iter_attrs(payload[UNIX_DIAG_MSG_LEN:]):
        if atype == UNIX_DIAG_NAME and value:
            name = bytes(value)
            if name[:1] != b"\0":  # a path is stored with its terminating NUL
                name = name.rstrip(b"\0")
        elif atype == UNIX_DIAG_VFS:
            if len(value) < 8:
                raise ParseError("unix_diag", "short UNIX_DIAG_VFS attribute")
            ino, dev = struct.unpack_from("@II", value, 0)
            vfs = (dev, ino)
        elif atype == UNIX_DIAG_RQLEN:
            if len(value) < 8:
                raise ParseError("unix_diag", "short UNIX_DIAG_RQLEN attribute")
            queue, limit = struct.unpack_from("@II", value, 0)
    if payload[2] != TCP_LISTEN:  # RQLEN is an accept queue only for a listener; else bytes in flight
        queue = limit = None
    return UnixRecord(payload[1], payload[2], name, vfs, queue, limit)


def fetch(sock, notes, states, timeout=netlink.TIMEOUT):
    """Yields every unix socket in `states` (a bit mask), asked on `sock`
    (an open netlink socket, which the caller owns)."""
    notes.append("netlink dump: AF_UNIX (unix_diag), %s" % (
        "every state" if states == ALL_STATES else "states LISTEN and CLOSE"))
    return netlink.dump(sock, build_request(states), 1, netlink.SOCK_DIAG_BY_FAMILY, decode_unix, timeout)
