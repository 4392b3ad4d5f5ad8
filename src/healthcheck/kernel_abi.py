"""Numbers of the Linux kernel's ABI that the tools read or send: address
families, protocols, socket types and socket states. Only numbers: what
they mean for a health check is policy, in tools.py and match.py."""

AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10
AF_NETLINK = 16

IPPROTO_TCP = 6
IPPROTO_UDP = 17

SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
SOCK_SEQPACKET = 5
SOCK_TYPE_NAMES = {SOCK_STREAM: "stream", SOCK_DGRAM: "dgram", SOCK_SEQPACKET: "seqpacket"}

# include/net/tcp_states.h; UDP and unix sockets reuse them.
TCP_ESTABLISHED = 1
TCP_CLOSE = 7
TCP_LISTEN = 10

STATE_NAMES = ("?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
               "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV")
ALL_STATES = 0xFFFFFFFF

# errno values the tools act on.
ENOENT = 2
EAGAIN = 11
EACCES = 13
EAFNOSUPPORT = 97
EADDRNOTAVAIL = 99
ENOBUFS = 105
ETIMEDOUT = 110
ECONNREFUSED = 111


def state_name(state):
    if 1 <= state < len(STATE_NAMES):
        return STATE_NAMES[state]
    return "state-%d" % state
