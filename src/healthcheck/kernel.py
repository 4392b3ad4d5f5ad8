"""Which kernel interface answers: netlink sock_diag first, /proc/net when
netlink is refused. The one place that decides the fallback.

HEALTHCHECK_BACKEND=netlink or =proc forces one (tests, debugging).
"""

from . import netlink, procnet
from .errors import Refused, UsageError, shown

NETLINK = "netlink"
PROC = "proc"


def fetch(tool, ports, backend=None, proc_root="/proc"):
    """-> (records, name of the interface that answered, notes)."""
    if backend == NETLINK:
        records, notes = netlink.fetch(tool, ports)
        return records, "netlink sock_diag (forced)", notes
    if backend == PROC:
        records, notes = procnet.fetch(tool, ports, proc_root)
        return records, "/proc/net (forced)", notes
    if backend:
        raise UsageError("HEALTHCHECK_BACKEND=%s: use netlink or proc" % shown(backend))
    try:
        records, notes = netlink.fetch(tool, ports)
        return records, "netlink sock_diag", notes
    except Refused as err:
        records, notes = procnet.fetch(tool, ports, proc_root)
        return records, "/proc/net (fallback)", ["%s; used /proc/net" % err] + notes
