"""The four tools as one table: name -> what is asked of the kernel.

Policy lives here, not in branches: the matcher and both backends read
these fields instead of testing tool names.
"""

AF_INET = 2
AF_INET6 = 10
IPPROTO_TCP = 6
IPPROTO_UDP = 17

# Kernel socket states (include/net/tcp_states.h); UDP reuses them.
TCP_ESTABLISHED = 1
TCP_CLOSE = 7
TCP_LISTEN = 10

STATE_NAMES = ("?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
               "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV")


class Tool:
    """One row of the table.

    family: the address family asked about (AF_INET or AF_INET6).
    proto: IPPROTO_TCP or IPPROTO_UDP; pname is its /proc/net file stem.
    state: the kernel state that means "listening" for this protocol.
    families: socket families whose sockets may answer the question:
    an IPv4 question is also answered by dual-stack IPv6 sockets.
    """

    def __init__(self, name, family, proto, pname, state):
        self.name = name
        self.family = family
        self.proto = proto
        self.pname = pname
        self.state = state
        self.families = (AF_INET, AF_INET6) if family == AF_INET else (AF_INET6,)

    def __repr__(self):
        return "Tool(%r)" % self.name


TOOLS = {
    "TCP": Tool("TCP", AF_INET, IPPROTO_TCP, "tcp", TCP_LISTEN),
    "UDP": Tool("UDP", AF_INET, IPPROTO_UDP, "udp", TCP_CLOSE),
    "TCP6": Tool("TCP6", AF_INET6, IPPROTO_TCP, "tcp", TCP_LISTEN),
    "UDP6": Tool("UDP6", AF_INET6, IPPROTO_UDP, "udp", TCP_CLOSE),
}

NAMES = ("TCP", "UDP", "TCP6", "UDP6")


def state_name(state):
    if 1 <= state < len(STATE_NAMES):
        return STATE_NAMES[state]
    return "state-%d" % state
