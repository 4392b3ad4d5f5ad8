"""match(query, records) -> [PortResult]: the whole policy of "listening".

Pure: takes the Query and the records a backend produced, decides for every
asked port (or the asked unix socket), and says why for every socket on it.
It re-checks everything a backend may have filtered already (state, port),
so a backend that filters less never changes the answer. What it cannot
decide from the records (v6only unknown) it leaves for decide.py to settle.
"""

from .addr import V4_ANY, V6_ANY, format_addr, is_wildcard, unmap_v4
from .kernel_abi import AF_INET, AF_INET6, IPPROTO_TCP, SOCK_DGRAM, TCP_CLOSE, TCP_LISTEN, state_name

UNSURE = None  # judge()'s answer when only the socket's unknown v6only decides
# The least receive memory the kernel charges for one datagram (a 1-byte one
# over loopback takes 832 bytes on Linux 6): with less room than this left, a
# UDP socket drops whatever comes next (__udp_enqueue_schedule_skb).
MIN_DATAGRAM_MEMORY = 768


def is_loopback(addr):
    """127.0.0.0/8, ::1 and ::ffff:127.x: reachable only from this namespace."""
    v4 = unmap_v4(addr) if len(addr) == 16 else addr
    if v4 is not None:
        return v4[0] == 127
    return addr == V6_ANY[:15] + b"\x01"


def judge(query, rec):
    """(counts, why) for one TCP/UDP socket on an asked port; counts is
    True, False or UNSURE."""
    tool = query.tool
    if rec.proto != tool.proto:
        return False, "other protocol"
    if rec.rport or not is_wildcard(rec.raddr):
        if tool.proto == IPPROTO_TCP:
            return False, "state %s: a connection, not the listener" % state_name(rec.state)
        return False, "connected to a peer: a client, not a listener"
    if rec.state != tool.state:
        if rec.state == TCP_CLOSE and tool.state == TCP_LISTEN:
            return False, "state CLOSE: bound but not listening"
        return False, "state %s, not %s" % (state_name(rec.state), state_name(tool.state))

    # The local address this socket accepts on, in the question's family.
    via = ""
    unsure = False
    if tool.family == AF_INET:
        if rec.family == AF_INET:
            local = rec.addr
        elif rec.family == AF_INET6:
            local = unmap_v4(rec.addr)
            if local is not None:
                via = "IPv4-mapped; "
            elif rec.addr != V6_ANY:
                return False, "IPv6 address: does not accept IPv4"
            elif rec.v6only:
                return False, "IPv6-only (v6only=1): does not accept IPv4"
            else:
                local, via = V4_ANY, "dual-stack; "
                unsure = rec.v6only is None
        else:
            return False, "unknown family %d" % rec.family
    else:
        if rec.family != AF_INET6:
            return False, "IPv4 socket: does not accept IPv6"
        local = rec.addr
        if unmap_v4(local) is not None and local != query.addr:
            return False, "IPv4-mapped address: accepts only IPv4"
        if query.addr is not None and unmap_v4(query.addr) is not None and local == V6_ANY:
            if rec.v6only:
                return False, "IPv6-only (v6only=1): does not accept IPv4-mapped"
            unsure = rec.v6only is None

    if query.addr is None:
        why = "any address was asked"
    elif is_wildcard(local):
        why = "wildcard: accepts on every address"
    elif local == query.addr:
        why = "bound to the asked address"
    else:
        return False, "bound to %s, not %s" % (format_addr(local), format_addr(query.addr))
    if query.external and is_loopback(local):
        return False, "on loopback: not reachable from outside this network namespace"
    if unsure:
        return UNSURE, "v6only unknown: dual-stack only if IPV6_V6ONLY is off"
    return True, via + why


def judge_unix(query, rec, identity):
    """(counts, why) for a unix socket, or None when it is another socket
    than the asked one. identity: (kernel device, inode) of the asked
    socket file, or None when there is no file to compare with."""
    if identity is not None and rec.vfs is not None:
        if rec.vfs != identity:
            return None
    elif rec.name != query.unix_name:
        return None
    if rec.stype == SOCK_DGRAM:
        if rec.state == TCP_CLOSE:
            return True, "a bound datagram socket"
        return False, "a connected datagram socket: a client, not a server"
    if rec.state == TCP_LISTEN:
        return True, "listening"
    if rec.state == TCP_CLOSE:
        return False, "bound but not listening (listen() was never called)"
    return False, "state %s: a connection, not the listener" % state_name(rec.state)


def queue_full(rec, somaxconn=None):
    """(why the socket cannot take the next client or datagram, or None;
    whether its queue could be judged at all). The kernel drops at queue >
    limit for a listener (its sk_acceptq_is_full). Where the limit is
    unknown (/proc), a listener's queue above net.core.somaxconn (the cap
    of every limit) is still certainly full. Unix datagram sockets are not
    judged.

    UDP (queue: receive memory in use; limit: the buffer; drops: datagrams
    the kernel dropped for this socket): the kernel drops a datagram when
    in use + its size would pass the buffer (Linux 6.18) or when in use
    already passes it (older kernels), and always takes one into an empty
    queue. So a socket never read, sent datagrams of any one size, ends
    with drops and more than half its buffer in use (in use >= one datagram
    and in use + one > buffer), while a server that reads drains, whatever
    it dropped in a burst long ago (docs/rules.md, --accepting)."""
    if rec.state == TCP_LISTEN:
        if rec.queue is None:
            return None, False
        if rec.limit is not None:
            if rec.queue > rec.limit:
                return "accept queue full (%d/%d): the server is not accepting connections" % (
                    rec.queue, rec.limit), True
            return None, True
        if somaxconn is not None and rec.queue > somaxconn:
            return ("accept queue full (%d, above net.core.somaxconn %d): the server is not accepting "
                    "connections" % (rec.queue, somaxconn)), False
        return None, False
    if getattr(rec, "proto", None) is None:
        return None, True  # a unix datagram socket
    queue, limit, drops = rec.queue, rec.limit, rec.drops
    if queue is None:
        return None, False
    if limit is None:
        # /proc shows no buffer size. An empty queue always takes the next
        # datagram; unread data beside drops is a server that stopped reading
        # (or, which /proc cannot tell apart, one still catching up).
        if not queue:
            return None, True
        if drops:
            return ("%d bytes queued (buffer size not visible), %d datagrams dropped: the server is not "
                    "reading" % (queue, drops)), False
        return None, False
    if drops and 2 * queue > limit:
        return "%d of %d bytes queued, %d datagrams dropped: the server is not reading" % (
            queue, limit, drops), True
    if queue + MIN_DATAGRAM_MEMORY > limit:  # full before a first drop, or a kernel that counts none
        return "%d of %d bytes queued, no room for another datagram: the server is not reading" % (
            queue, limit), True
    return None, True


class PortResult:
    """What was found on one asked port (port None: the unix socket).

    listening: the first socket that counts, or None
    loopback_only: every counting socket so far is on loopback
    blocked: (socket, why) of a counting socket that is full (--accepting)
    limit_unknown: a counting socket's queue (or its limit) could not be known
    unsure: (socket, why) of the first socket whose counting rests on its
        unknown v6only, for decide.py to settle; settled: how it was
    near_miss: (socket, why) of the first one that does not count, or None
    candidates: how many sockets on the port were looked at
    explained: [(socket, counts, why), ...] kept for --debug (at most `limit`)
    """

    def __init__(self, port):
        self.port = port
        self.listening = None
        self.loopback_only = True
        self.blocked = None
        self.limit_unknown = False
        self.unsure = None
        self.settled = None
        self.near_miss = None
        self.candidates = 0
        self.explained = []

    def ok(self):
        return self.listening is not None and self.blocked is None


def match(query, records, explain=False, identity=None, somaxconn=None, limit=50):
    """Decide. records: any iterable of SocketRecord (other ports are
    ignored) or, for UNIX, of UnixRecord. Without `explain`, stops reading
    once every asked port has a counting socket off loopback (--accepting
    reads all: every counting socket must have room); with it, reads
    everything and keeps up to `limit` explanations per port."""
    unix = query.unix_name is not None
    results = [PortResult(None)] if unix else [PortResult(port) for port in query.ports]
    by_port = {}
    for res in results:
        by_port[res.port] = res
    waiting = len(results)
    for rec in records:
        if unix:
            res = results[0]
            judged = judge_unix(query, rec, identity)
            if judged is None:
                continue
            counts, why = judged
        else:
            res = by_port.get(rec.port)
            if res is None:
                continue
            counts, why = judge(query, rec)
        res.candidates += 1
        if counts and query.accepting:
            full, known = queue_full(rec, somaxconn)
            if full is not None:
                counts, why = False, why + "; " + full
                if res.blocked is None:
                    res.blocked = (rec, full)
            elif not known:
                res.limit_unknown = True
        if explain and len(res.explained) < limit:
            res.explained.append((rec, counts, why))
        if counts:
            if res.listening is None:
                res.listening = rec
            if unix or not is_loopback(rec.addr):
                if res.loopback_only:
                    res.loopback_only = False
                    waiting -= 1
                if not waiting and not explain and not query.accepting:
                    break
        elif counts is UNSURE:
            if res.unsure is None:
                res.unsure = (rec, why)
        elif res.near_miss is None:
            res.near_miss = (rec, why)
    return results
