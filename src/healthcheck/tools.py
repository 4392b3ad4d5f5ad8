"""The five tools as one table: name -> what is asked of the kernel.

Policy lives here, not in branches: the matcher and the backends read
these fields instead of testing tool names.
"""

from .kernel_abi import AF_INET, AF_INET6, AF_UNIX, IPPROTO_TCP, IPPROTO_UDP, TCP_CLOSE, TCP_LISTEN


class Tool:
    """One row of the table.

    family: the address family asked about (AF_INET, AF_INET6 or AF_UNIX).
    proto: IPPROTO_TCP or IPPROTO_UDP (None for UNIX); pname is the
    /proc/net file stem.
    state: the kernel state that means "listening" (unix: per socket type).
    families: socket families whose sockets may answer the question:
    an IPv4 question is also answered by dual-stack IPv6 sockets.
    """

    def __init__(self, name, family, proto, pname, state):
        self.name = name
        self.family = family
        self.proto = proto
        self.pname = pname
        self.state = state
        self.families = (AF_INET, AF_INET6) if family == AF_INET else (family,)

    def __repr__(self):
        return "Tool(%r)" % self.name


# name -> (family, proto, pname, state). A check needs one Tool: find_tool
# makes it from its row when first asked (five made at import were a fifth
# of the start-up's instance building in the static build).
ROWS = {
    "TCP": (AF_INET, IPPROTO_TCP, "tcp", TCP_LISTEN),
    "UDP": (AF_INET, IPPROTO_UDP, "udp", TCP_CLOSE),
    "TCP6": (AF_INET6, IPPROTO_TCP, "tcp", TCP_LISTEN),
    "UDP6": (AF_INET6, IPPROTO_UDP, "udp", TCP_CLOSE),
    "UNIX": (AF_UNIX, None, "unix", TCP_LISTEN),
}

NAMES = ("TCP", "UDP", "TCP6", "UDP6", "UNIX")
_made = {}


def find_tool(name):
    """The Tool for `name` in any letter case (the same object each time),
    or None."""
    key = name.upper()
    tool = _made.get(key)
    if tool is None:
        row = ROWS.get(key)
        if row is None:
            return None
        tool = _made[key] = Tool(key, row[0], row[1], row[2], row[3])
    return tool
