"""healthcheck: is a TCP/UDP port or a unix socket listening in this
network namespace?

    >>> import healthcheck
    >>> verdict = healthcheck.check("TCP", 8080, "127.0.0.1")
    >>> verdict.ok, verdict.reason
    (True, 'TCP port 8080 on 127.0.0.1 is listening (0.0.0.0:8080)')

The flow, one module per step: cli (argv) -> query (Query) -> decide
(netlink | procnet backend -> socket records -> match -> Verdict).
Everything here runs on CPython >= 3.9 and on MicroPython >= 1.25.
"""

__version__ = "0.2.0"


def check(tool, ports=None, address=None, backend=None, explain=True, external=False, accepting=False):
    """Ask the kernel whether `ports` of `tool` ("TCP", "UDP", "TCP6",
    "UDP6") are listening, optionally on `address`; for "UNIX", `ports` is
    the socket path or "@name".

    ports: an int, a list of ints or text like "80,443".
    backend: None (netlink, else /proc), "netlink" or "proc".
    explain: keep every socket for Verdict.explain(); False stops at the
    first socket that counts on each port.
    Returns a Verdict (.ok, .reason, .explain()); raises HealthcheckError.
    """
    # Imported when called, so `import healthcheck` alone stays cheap.
    from .decide import decide
    from .query import make_query

    return decide(make_query(tool, ports, address, external, accepting), backend, explain)
