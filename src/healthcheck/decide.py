"""decide(query) -> Verdict: ask the kernel, match, settle, answer.

The one place that orders the I/O around the pure match: the address check
(bind), the kernel interface (netlink sock_diag first, /proc when netlink
is refused, at any point of any dump), the v6only settle (one loopback
connect() for TCP, net.ipv6.bindv6only for UDP), and the IPv6-is-off check.
The backends are parameters, so the fallback policy is unit-tested with
recorded tables and without a kernel.
"""

from . import netlink
from .addr import format_addr
from .errors import Refused, UsageError, shown
from .kernel_abi import AF_INET6, AF_UNIX, ALL_STATES, IPPROTO_TCP, TCP_CLOSE, TCP_LISTEN
from .match import match
from .query import make_query
from .verdict import Verdict

NETLINK = "netlink"
PROC = "proc"


def netlink_lookup(sock, query):
    """The netlink backend's shortcut: the socket the kernel's own lookup
    finds on each asked port (a list), or None."""
    return netlink.lookup(sock, query.tool, query.ports)


def netlink_records(query, notes, explain, sock):
    """The netlink backend: records for `query` (a generator), asked on
    `sock`, which the caller owns."""
    if query.unix_name is not None:
        from . import unix_diag  # only UNIX questions pay for its import

        states = ALL_STATES if explain else (1 << TCP_LISTEN) | (1 << TCP_CLOSE)
        return unix_diag.fetch(sock, notes, states)
    tool = query.tool
    states = ALL_STATES if explain else 1 << tool.state
    ext = netlink.EXT_SKMEMINFO if tool.proto != IPPROTO_TCP and (query.accepting or explain) else 0
    # The dump's own note is for --debug: formatting it is a plain check's cost.
    return netlink.fetch(tool, query.ports, notes if explain else None, states, ext, sock=sock)


def proc_records(query, notes, explain, proc_root):
    """The /proc backend: records for `query` (a generator)."""
    if query.unix_name is not None:
        from . import procunix  # the UNIX fallback: only where netlink is refused

        return procunix.fetch(query.unix_name, notes, proc_root)
    from . import procnet  # imported only when used: start-up is most of a check's cost

    state = None if explain else query.tool.state
    return procnet.fetch(query.tool, query.ports, notes, proc_root, state)


def make_check(tool, positionals, options):
    """The "kernel" kind's command line -> Query: PORTS [ADDRESS], or UNIX's
    PATH|@NAME, and --external, --accepting."""
    unix = tool.family == AF_UNIX
    if not positionals:
        raise UsageError("missing %s" % ("PATH" if unix else "PORTS"))
    if len(positionals) > (1 if unix else 2):
        raise UsageError("too many arguments: '%s'" % shown(positionals[-1]))
    address = positionals[1] if len(positionals) > 1 else None
    return make_query(tool, positionals[0], address, "--external" in options, "--accepting" in options)


def decide(query, backend=None, explain=False, proc_root="/proc",
           netlink_backend=netlink_records, proc_backend=proc_records, netlink_shortcut=netlink_lookup,
           netlink_open=netlink.open_socket, say=True):
    """Query -> Verdict. backend: None (netlink, else /proc), "netlink" or
    "proc" (forced; a refused forced netlink is an error). say=False: the
    Verdict's reason is left None, for verdict.said() when it is shown.

    A plain TCP/UDP question (no ADDRESS, no --accepting, no explanation)
    first asks the kernel's lookup for the wildcard socket of each port
    (netlink_shortcut): when every port has one that counts, off loopback,
    that is the answer, as the dumps would give it, in one small request a
    port. Anything else (a port without one, an unknown v6only) is decided
    by the dumps alone, as if the lookup had not been made."""
    if backend and backend not in (NETLINK, PROC):
        raise UsageError("HEALTHCHECK_BACKEND=%s: use netlink or proc" % shown(backend))
    notes = []
    tool = query.tool
    identity = None
    if query.addr is not None or tool.family in (AF_UNIX, AF_INET6):
        # Questions of the namespace itself (bind, stat, sysctls, rtnetlink): a
        # plain IPv4 check needs none of them, and start-up is most of its cost.
        from . import namespace
    if query.addr is not None:
        present, note = namespace.address_present(tool.family, query.addr)
        if note:
            notes.append(note)
        if present is False:
            return Verdict(query, [], None, notes,
                           "%s is not an address of this network namespace" % format_addr(query.addr), say)
    if tool.family == AF_UNIX:
        identity, problem = namespace.unix_identity(query.unix_name)
        if problem is not None:
            return Verdict(query, [], None, notes, problem, say)

    name = results = None
    if backend != PROC:
        try:
            # The one owner of the netlink socket: opened here, closed here,
            # whatever the lookup or the dumps raise.
            sock = netlink_open()
            try:
                if (netlink_shortcut is not None and not explain and not query.accepting
                        and query.addr is None and query.unix_name is None):
                    results = _looked_up(query, netlink_shortcut(sock, query))
                if results is not None:
                    notes.append("netlink lookup: the wildcard socket of each port")
                else:
                    records = netlink_backend(query, notes, explain, sock)
                    try:
                        results = match(query, records, explain, identity)
                    finally:
                        _close(records)
            finally:
                sock.close()
            name = "netlink sock_diag" + (" (forced)" if backend else "")
        except Refused as err:
            if backend == NETLINK:
                raise
            notes.append("%s; using /proc" % err)
    if name is None:
        name = "/proc (forced)" if backend == PROC else "/proc (fallback)"
        somaxconn = None
        if query.accepting and tool.proto == IPPROTO_TCP:
            from . import namespace  # /proc shows no queue limits: the cap of them all

            somaxconn = namespace.read_sysctl(proc_root, "net/core/somaxconn")
        records = proc_backend(query, notes, explain, proc_root)
        try:
            results = match(query, records, explain, identity, somaxconn)
        finally:
            _close(records)
        if tool.family == AF_UNIX:
            notes.append("matched by name: /proc/net/unix shows no socket file identity")

    # Every port must listen: once one is settled as not listening (at most
    # one connect() timeout), the others are not tried, so the settle takes
    # at most namespace.CONNECT_TIMEOUT however many ports are asked.
    failed = None
    for res in results:
        if res.listening is None and res.unsure is not None and res.blocked is None:
            if failed is None:
                if not _settle(query, res, proc_root, notes):
                    failed = res.port
            else:
                res.near_miss = (res.unsure[0], "v6only unknown; not settled, as port %d is not listening"
                                 % failed)

    problem = None
    if tool.family == AF_INET6 and query.addr is None:
        on, note = namespace.ipv6_enabled(proc_root, not name.startswith("/proc"))
        notes.append(note)
        if on is False:
            problem = "IPv6 is off in this network namespace: it has no IPv6 address"
    return Verdict(query, results, name, notes, problem, say)


run_check = decide  # what the CLI calls for this kind


def _looked_up(query, found):
    """The results of the kernel's lookup (`found`: a record per port, or
    None) when it finds on every asked port a socket that counts, off
    loopback; otherwise None: the dumps decide."""
    if found is None:
        return None
    results = match(query, found)
    for res in results:
        if not res.ok() or res.loopback_only or res.unsure is not None:
            return None
    return results


def _settle(query, res, proc_root, notes):
    """A port whose only candidates are [::] sockets of unknown v6only:
    TCP asks exactly with one loopback connect(); UDP has no such test and
    says that its answer rests on net.ipv6.bindv6only. Returns whether the
    port now counts as listening."""
    from . import namespace

    rec, _ = res.unsure
    if query.tool.proto == IPPROTO_TCP:
        accepted, how = namespace.connect_accepted(query.addr, res.port)
        notes.append("port %d: v6only unknown; %s" % (res.port, how))
        if accepted:
            res.listening = rec
            res.loopback_only = False
        else:
            res.near_miss = (rec, "v6only unknown; " + how)
        return accepted
    value = namespace.read_sysctl(proc_root, "net/ipv6/bindv6only")
    if value == 1:
        res.near_miss = (rec, "IPv6-only assumed from net.ipv6.bindv6only=1 (v6only not visible)")
        return False
    res.listening = rec
    res.loopback_only = False
    res.settled = "dual-stack assumed from net.ipv6.bindv6only=%s" % ("0" if value == 0 else "unreadable")
    notes.append("port %d: v6only unknown; %s" % (res.port, res.settled))
    return True


def _close(records):
    close = getattr(records, "close", None)
    if close is not None:
        close()
