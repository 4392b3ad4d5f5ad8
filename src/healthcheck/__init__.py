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


def check(tool, ports, address=None, backend=None, explain=True):
    """Ask the kernel whether `ports` of `tool` ("TCP", "UDP", "TCP6",
    "UDP6") are listening, optionally on `address`.

    ports: an int, a list of ints or text like "80,443".
    backend: None (netlink, else /proc), "netlink" or "proc".
    explain: keep every candidate socket for Verdict.explain(); False stops
    at the first socket that counts on each port.
    Returns a Verdict (.ok, .reason, .explain()); raises HealthcheckError.
    """
    from .query import make_query

    return decide(make_query(tool, ports, address), backend, explain)


def decide(query, backend=None, explain=False):
    """Query -> Verdict, asking the kernel."""
    from .kernel import Source
    from .match import match

    source = Source(query.tool, query.ports, backend)
    try:
        verdict = match(query, source.records, explain)
    finally:
        source.close()
    verdict.backend = source.name
    verdict.notes = source.notes
    return verdict
