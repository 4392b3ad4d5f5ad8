"""The neutral socket record both backends emit; match never learns which
backend made it."""

from .addr import format_endpoint
from .tools import AF_INET6, state_name


class SocketRecord:
    """One socket from the kernel's tables.

    family: AF_INET or AF_INET6 (the socket's own family)
    proto: IPPROTO_TCP or IPPROTO_UDP
    state: kernel state number (tools.TCP_LISTEN, tools.TCP_CLOSE, ...)
    addr, port: local address (4 or 16 bytes) and port
    raddr, rport: remote address and port (zeros when not connected)
    v6only: True/False for IPv6 sockets, None for IPv4 ones
    v6only_known: False when v6only is a guess (the /proc backend)
    inode: the socket's inode number, 0 if unknown
    """

    def __init__(self, family, proto, state, addr, port, raddr, rport,
                 v6only=None, v6only_known=True, inode=0):
        self.family = family
        self.proto = proto
        self.state = state
        self.addr = addr
        self.port = port
        self.raddr = raddr
        self.rport = rport
        self.v6only = v6only
        self.v6only_known = v6only_known
        self.inode = inode

    def key(self):
        return (self.family, self.proto, self.state, self.addr, self.port,
                self.raddr, self.rport, self.v6only)

    def __eq__(self, other):
        return isinstance(other, SocketRecord) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def describe(self):
        """One line for --debug: "[::]:8080 LISTEN v6only=0"."""
        text = "%s %s" % (format_endpoint(self.addr, self.port), state_name(self.state))
        if self.rport:
            text += " peer " + format_endpoint(self.raddr, self.rport)
        if self.family == AF_INET6:
            text += " v6only=%d" % (1 if self.v6only else 0)
            if not self.v6only_known:
                text += " (guessed from bindv6only)"
        return text

    def __repr__(self):
        return "SocketRecord(%s)" % self.describe()
