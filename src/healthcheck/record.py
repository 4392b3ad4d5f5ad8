"""The neutral socket records the backends emit; match never learns which
backend made them."""

from .addr import format_endpoint
from .kernel_abi import AF_INET6, SOCK_TYPE_NAMES, state_name


class SocketRecord:
    """One TCP or UDP socket from the kernel's tables.

    family: AF_INET or AF_INET6 (the socket's own family)
    proto: IPPROTO_TCP or IPPROTO_UDP
    state: kernel state number (kernel_abi.TCP_LISTEN, TCP_CLOSE, ...)
    addr, port: local address (4 or 16 bytes) and port
    raddr, rport: remote address and port (zeros when not connected)
    v6only: True/False for IPv6 sockets, None when the kernel interface did
        not say (always for IPv4 sockets; /proc never shows it)
    queue, limit: a listener's accept queue and its limit; a UDP socket's
        receive memory in use and its receive buffer; None where not known
    drops: how many datagrams the kernel dropped for a UDP socket; None
        where not known (TCP, a kernel that does not say)
    """

    drops = None  # a class default: set by the backends only on UDP records, so TCP ones cost nothing more

    def __init__(self, family, proto, state, addr, port, raddr, rport,
                 v6only=None, queue=None, limit=None):
        self.family = family
        self.proto = proto
        self.state = state
        self.addr, self.port = addr, port
        self.raddr, self.rport = raddr, rport
        self.v6only = v6only
        self.queue, self.limit = queue, limit

    def describe(self):
        """One line for --debug: "[::]:8080 LISTEN v6only=0 queue 0/4096"
        (UDP: "... queue 6912/8192 drops 1997")."""
        text = "%s %s" % (format_endpoint(self.addr, self.port), state_name(self.state))
        if self.rport:
            text += " peer " + format_endpoint(self.raddr, self.rport)
        if self.family == AF_INET6:
            text += " v6only=%s" % ("unknown" if self.v6only is None else int(self.v6only))
        text += describe_queue(self.queue, self.limit)
        return text if self.drops is None else text + " drops %d" % self.drops

    def __repr__(self):
        return "SocketRecord(%s)" % self.describe()


class UnixRecord:
    """One unix domain socket.

    stype: SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
    state: TCP_LISTEN, TCP_CLOSE (unconnected) or TCP_ESTABLISHED
    name: the bound name as bytes (b"\\0..." for an abstract one), or None
    vfs: (kernel device number, inode) of the socket file, or None where
        not known (abstract sockets, /proc)
    queue, limit: a listener's accept queue and its limit, None if unknown
    """

    def __init__(self, stype, state, name, vfs=None, queue=None, limit=None):
        self.stype = stype
        self.state = state
        self.name, self.vfs = name, vfs  # its two identities: the bound name, the socket file
        self.queue, self.limit = queue, limit

    def describe(self):
        from .query import unix_text  # --debug only

        text = "%s %s %s" % (unix_text(self.name) if self.name else "(unbound)",
                             SOCK_TYPE_NAMES.get(self.stype, "type-%d" % self.stype),
                             state_name(self.state))
        return text + describe_queue(self.queue, self.limit)

    def __repr__(self):
        return "UnixRecord(%s)" % self.describe()


def describe_queue(queue, limit):
    if queue is None:
        return ""
    return " queue %d/%s" % (queue, "?" if limit is None else limit)
