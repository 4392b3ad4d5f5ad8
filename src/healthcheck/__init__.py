"""healthcheck: is a TCP or UDP port listening in this network namespace?

    >>> import healthcheck
    >>> verdict = healthcheck.check("TCP", 8080, "127.0.0.1")
    >>> verdict.ok, verdict.reason
    (True, 'TCP port 8080 is listening on 127.0.0.1 (0.0.0.0:8080)')

The flow, one module per step: cli (argv) -> query (Query) -> kernel
(netlink | procnet backend -> SocketRecords) -> match -> verdict (Verdict).
Everything here runs on CPython >= 3.9 and on MicroPython >= 1.25.
"""

__version__ = "0.1.0"


def check(tool, ports, address=None, backend=None):
    """Ask the kernel whether `ports` of `tool` ("TCP", "UDP", "TCP6",
    "UDP6") are listening, optionally on `address`.

    ports: an int, a list of ints or text like "80,443".
    backend: None (netlink, else /proc), "netlink" or "proc".
    Returns a Verdict (.ok, .reason, .explain()); raises HealthcheckError.
    """
    from .query import make_query

    return decide(make_query(tool, ports, address), backend)


def decide(query, backend=None):
    """Query -> Verdict, asking the kernel."""
    from .kernel import fetch
    from .match import match

    records, used, notes = fetch(query.tool, query.ports, backend)
    verdict = match(query, records)
    verdict.backend = used
    verdict.notes = notes
    return verdict
