"""Questions asked of this network namespace with plain sockets, not the
kernel's socket tables: is ADDRESS one of ours, is IPv6 on, does a
loopback connect() get accepted, what is the asked unix socket file, and
the sysctls the rules need. Every function here is I/O; decide.py calls
them only when the answer depends on them.
"""

import struct
import sys

from . import netlink
from .addr import DIGITS, format_addr, only, unmap_v4
from .errors import KernelError, Refused, describe_oserror, errno_of
from .kernel_abi import (
    AF_INET,
    AF_INET6,
    EACCES,
    EADDRNOTAVAIL,
    EAFNOSUPPORT,
    ECONNREFUSED,
    ENOENT,
    SOCK_DGRAM,
    SOCK_STREAM,
)

MICROPYTHON = sys.implementation.name == "micropython"

CONNECT_TIMEOUT = 1  # seconds; loopback answers in microseconds unless the queue is full
LOOPBACK4 = b"\x7f\x00\x00\x01"
RTM_NEWADDR = 20
RTM_GETADDR = 22
S_IFMT = 0o170000
S_IFSOCK = 0o140000
FILE_KINDS = {0o040000: "a directory", 0o100000: "a regular file", 0o120000: "a symbolic link",
              0o020000: "a character device", 0o060000: "a block device", 0o010000: "a FIFO"}


def sockaddr(family, addr, port):
    """The address argument of bind()/connect(): MicroPython's socket
    takes the raw struct sockaddr, CPython's a tuple."""
    if not MICROPYTHON:
        return (format_addr(addr), port) if family == AF_INET else (format_addr(addr), port, 0, 0)
    if family == AF_INET:
        return struct.pack("@H", AF_INET) + struct.pack(">H", port) + addr + bytes(8)
    return struct.pack("@H", AF_INET6) + struct.pack(">HI", port, 0) + addr + bytes(4)


def address_present(family, addr):
    """(True | False | None, note): is `addr` an address of this network
    namespace? A UDP socket bound to it at port 0 tells, without a packet
    (EADDRNOTAVAIL when it is not). None: this could not be asked."""
    try:
        sock = netlink.socket_mod.socket(family, SOCK_DGRAM)
    except OSError as err:
        if errno_of(err) == EAFNOSUPPORT:
            return False, "this kernel has no IPv%s" % ("6" if family == AF_INET6 else "4")
        return None, "cannot check that %s is an address here: %s" % (format_addr(addr), describe_oserror(err))
    try:
        sock.bind(sockaddr(family, addr, 0))
        return True, "%s is an address of this network namespace (a bind to it works)" % format_addr(addr)
    except OSError as err:
        if errno_of(err) == EADDRNOTAVAIL:
            return False, None
        return None, "cannot check that %s is an address here: %s" % (format_addr(addr), describe_oserror(err))
    finally:
        sock.close()


def ipv6_enabled(proc_root="/proc", netlink_ok=True):
    """(True | False | None, note): does this namespace have an IPv6
    address at all? Asked through rtnetlink (RTM_GETADDR) where netlink
    answered, else from /proc/net/if_inet6; None when neither answers."""
    note = None
    if netlink_ok:
        def decode(payload):
            return True if payload[:1] == bytes([AF_INET6]) else None  # other families: dropped

        try:
            sock = netlink.open_socket(netlink.NETLINK_ROUTE)
            try:
                request = netlink.build_message(RTM_GETADDR, struct.pack("@BBBBI", AF_INET6, 0, 0, 0, 0), 1)
                for _ in netlink.dump(sock, request, 1, RTM_NEWADDR, decode):
                    return True, "IPv6 addresses: yes (rtnetlink)"
                return False, "IPv6 addresses: none (rtnetlink)"
            finally:
                sock.close()
        except KernelError as err:  # incl. Refused
            note = "rtnetlink: %s" % err
    path = proc_root + "/net/if_inet6"
    try:
        with open(path) as f:
            has = bool(f.read(64).strip())
        return has, "IPv6 addresses: %s (%s)" % ("yes" if has else "none", path)
    except OSError as err:
        if errno_of(err) == ENOENT:
            return False, "no %s: IPv6 is off" % path
        return None, "%scannot read %s: %s" % (note + "; " if note else "", path, describe_oserror(err))


def connect_accepted(addr, port):
    """(accepted, why): one TCP connect() to an IPv4 `addr` (127.0.0.1 when
    None). The only connection the tools ever open: it settles whether a
    [::] listener of unknown v6only takes IPv4 clients."""
    target = LOOPBACK4 if addr is None else (unmap_v4(addr) or addr)
    where = "%s:%d" % (format_addr(target), port)
    try:
        sock = netlink.socket_mod.socket(AF_INET, SOCK_STREAM)
    except OSError as err:
        raise Refused("cannot open a TCP socket to settle v6only: %s" % describe_oserror(err))
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(sockaddr(AF_INET, target, port))
        return True, "a connect() to %s was accepted" % where
    except OSError as err:
        if errno_of(err) == ECONNREFUSED:
            return False, "a connect() to %s was refused: IPv6-only" % where
        return False, "a connect() to %s got no answer within %ds (%s)" % (
            where, CONNECT_TIMEOUT, describe_oserror(err))
    finally:
        sock.close()


def read_sysctl(proc_root, name):
    """An integer sysctl such as "net/core/somaxconn", or None."""
    try:
        with open("%s/sys/%s" % (proc_root, name)) as f:
            text = f.read(32).strip()
    except OSError:
        return None
    return int(text) if text and only(text, DIGITS) and len(text) < 12 else None


def unix_identity(name):
    """(identity, problem) of the asked unix socket: identity is (kernel
    device number, inode) of its socket file, or None for an abstract name;
    problem is why no socket can be listening there, or None."""
    if name[:1] == b"\0":
        return None, None
    import os  # UNIX questions only

    try:
        st = os.stat(name)  # as bytes: a path need not be UTF-8
    except OSError as err:
        if errno_of(err) == ENOENT:
            return None, "no such file"
        if errno_of(err) == EACCES:  # the file's identity is out of reach, its name is not
            return None, None
        return None, "cannot stat it: %s" % describe_oserror(err)
    except ValueError:
        return None, "not a usable path"
    kind = st[0] & S_IFMT
    if kind != S_IFSOCK:
        return None, "it is %s, not a socket" % FILE_KINDS.get(kind, "not a socket file")
    return (kernel_dev(st[2]), st[1] & 0xFFFFFFFF), None


def kernel_dev(st_dev):
    """stat()'s st_dev (glibc/musl encoding) -> the kernel's internal dev_t
    (major << 20 | minor), which UNIX_DIAG_VFS reports."""
    major = ((st_dev >> 8) & 0xFFF) | ((st_dev >> 32) & ~0xFFF)
    minor = (st_dev & 0xFF) | ((st_dev >> 12) & ~0xFF & 0xFFFFFFFF)
    return ((major << 20) | (minor & 0xFFFFF)) & 0xFFFFFFFF
