"""match(query, records) -> Verdict: the whole policy of "listening".

Pure: takes the Query and the SocketRecords a backend produced, decides
for every asked port, and says why for every candidate socket. It re-checks
everything a backend may have filtered already (state, port), so a backend
that filters less never changes the answer.
"""

from .addr import V4_ANY, V6_ANY, format_addr, is_wildcard, unmap_v4
from .tools import AF_INET, AF_INET6, state_name
from .verdict import Verdict


def judge(query, rec):
    """(counts, why) for one socket on an asked port."""
    tool = query.tool
    if rec.proto != tool.proto:
        return False, "other protocol"
    if rec.state != tool.state:
        return False, "state %s, not %s" % (state_name(rec.state), state_name(tool.state))
    if rec.rport or not is_wildcard(rec.raddr):
        return False, "connected to a peer: a client, not a listener"

    # The local address this socket accepts on, in the question's family.
    via = ""
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
        else:
            return False, "unknown family %d" % rec.family
    else:
        if rec.family != AF_INET6:
            return False, "IPv4 socket: does not accept IPv6"
        local = rec.addr
        asked_mapped = query.addr is not None and unmap_v4(query.addr) is not None
        if unmap_v4(local) is not None and local != query.addr:
            return False, "IPv4-mapped address: accepts only IPv4"
        if asked_mapped and local == V6_ANY and rec.v6only:
            return False, "IPv6-only (v6only=1): does not accept IPv4-mapped"

    if query.addr is None:
        return True, via + "any address was asked"
    if is_wildcard(local):
        return True, via + "wildcard: accepts on every address"
    if local == query.addr:
        return True, via + "bound to the asked address"
    return False, "bound to %s, not %s" % (format_addr(local), format_addr(query.addr))


class PortResult:
    """What was found on one asked port.

    listening: the first socket that counts, or None
    near_miss: (socket, why) of the first one that does not, or None
    candidates: how many sockets on the port were looked at
    explained: [(socket, counts, why), ...] kept for --debug (at most `limit`)
    """

    def __init__(self, port):
        self.port = port
        self.listening = None
        self.near_miss = None
        self.candidates = 0
        self.explained = []


def match(query, records, explain=False, limit=50):
    """Decide. records: any iterable of SocketRecord (other ports are
    ignored). Without `explain`, stops reading as soon as every asked port
    has a socket that counts; with it, reads everything and keeps up to
    `limit` explanations per port."""
    results = [PortResult(port) for port in query.ports]
    by_port = {}
    for res in results:
        by_port[res.port] = res
    waiting = len(results)
    for rec in records:
        res = by_port.get(rec.port)
        if res is None:
            continue
        counts, why = judge(query, rec)
        res.candidates += 1
        if explain and len(res.explained) < limit:
            res.explained.append((rec, counts, why))
        if counts:
            if res.listening is None:
                res.listening = rec
                waiting -= 1
                if not waiting and not explain:
                    break
        elif res.near_miss is None:
            res.near_miss = (rec, why)
    return Verdict(query, results)
