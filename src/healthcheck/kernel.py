"""Which kernel interface answers: netlink sock_diag first, /proc/net when
netlink is refused. The one place that decides the fallback.

HEALTHCHECK_BACKEND=netlink or =proc forces one (tests, debugging).
"""

from . import netlink
from .errors import Refused, UsageError, shown

NETLINK = "netlink"
PROC = "proc"


class Source:
    """Where the records come from: .records (an iterator of SocketRecord),
    .name (the interface that answered) and .notes (what it did). Records
    are produced lazily, so memory stays flat however many sockets match."""

    def __init__(self, tool, ports, backend=None, proc_root="/proc"):
        self.notes = []
        self.name = None
        if backend and backend not in (NETLINK, PROC):
            raise UsageError("HEALTHCHECK_BACKEND=%s: use netlink or proc" % shown(backend))
        self.records = self._records(tool, ports, backend, proc_root)

    def _records(self, tool, ports, backend, proc_root):
        if backend == PROC:
            self.name = "/proc/net (forced)"
            return _procnet().fetch(tool, ports, self.notes, proc_root)
        try:
            records = netlink.fetch(tool, ports, self.notes)
            self.name = "netlink sock_diag (forced)" if backend else "netlink sock_diag"
            first = _first(records)  # a refusal by NLMSG_ERROR comes before any record
        except Refused as err:
            if backend:
                raise
            self.name = "/proc/net (fallback)"
            self.notes.append("%s; used /proc/net" % err)
            return _procnet().fetch(tool, ports, self.notes, proc_root)
        return _chain(first, records)

    def close(self):
        close = getattr(self.records, "close", None)
        if close is not None:
            close()


def _procnet():
    from . import procnet  # imported only when used: start-up is most of a check's cost

    return procnet


def _first(records):
    try:
        return next(records)
    except StopIteration:
        return None


def _chain(first, rest):
    if first is not None:
        yield first
    yield from rest
