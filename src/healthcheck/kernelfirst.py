"""The probe kinds' first step (HTTP, and the ones after it): ask the
kernel the question `TCP PORT [ADDRESS]` asks, over both families, before
any connection.

    kernel_first(check, port, backend, explain, lines) -> ((family, addr), None)
                                                        | (None, the kernel's reason)
    address_arg(text) -> (family, addr, localhost?)      ADDRESS of a probe
    ProbeAnswer(ok, reason, lines)                       what run_check returns

`check` has .family, .addr (the asked address: AF_INET/AF_INET6 and its
packed bytes, or None for any), .localhost and .accepting. Nothing
listening is a no at once, with the kernel's reason (no connect timeout);
with .accepting a full accept queue is too. The socket that counts says
where to connect: the asked address; else the loopback of a family the
listener takes (127.0.0.1 for 0.0.0.0 or a dual-stack [::], ::1 for an
IPv6-only one), else the listener's own address. `localhost` is that
loopback, looked up nowhere: IPv4's, else IPv6's.
"""

from .addr import V6_ANY, is_wildcard, parse_ipv4, parse_ipv6, unmap_v4
from .decide import decide
from .errors import UsageError, shown
from .kernel_abi import AF_INET, AF_INET6
from .query import Query
from .tools import find_tool

MAX_LINE = 190  # Docker keeps 4 KB of output, five results deep
LOOPBACK4 = b"\x7f\x00\x00\x01"
LOOPBACK6 = V6_ANY[:15] + b"\x01"


class ProbeAnswer:
    """A probe's answer, as the CLI takes every kind's: ok, the one line,
    and the --debug lines."""

    def __init__(self, ok, reason, lines):
        self.ok = ok
        self.reason = reason if len(reason) <= MAX_LINE else reason[:MAX_LINE - 3] + "..."
        self.lines = lines

    def explain(self):
        return self.lines

    def __repr__(self):
        return "ProbeAnswer(ok=%r, %r)" % (self.ok, self.reason)


def address_arg(text):
    """ADDRESS (an IPv4 or IPv6 address, or localhost) -> (family, packed
    or None for a wildcard, localhost?)."""
    if text.lower() == "localhost":
        return None, None, True
    for family, parse in ((AF_INET, parse_ipv4), (AF_INET6, parse_ipv6)):
        try:
            packed = parse(text)
        except ValueError:
            continue
        return (None, None, False) if is_wildcard(packed) else (family, packed, False)
    if text[:1] == "[" and text[-1:] == "]":
        raise UsageError("bad address '%s': write an IPv6 address without brackets" % shown(text))
    raise UsageError("bad address '%s': give an IPv4 or IPv6 address or localhost (no DNS)" % shown(text))


def questions(check):
    """The kernel's questions, in the order asked: (tool name, address)."""
    if check.family == AF_INET:
        return (("TCP", check.addr),)
    if check.family == AF_INET6:
        return (("TCP6", check.addr),)
    if check.localhost:
        return (("TCP", LOOPBACK4), ("TCP6", LOOPBACK6))
    return (("TCP", None), ("TCP6", None))


def connect_to(name, asked, rec):
    """(family, address) to connect to for the listener `rec` that counted
    for question `name` asked about address `asked`."""
    if name == "TCP":
        if asked is not None:
            return AF_INET, asked
        local = rec.addr if rec.family == AF_INET else unmap_v4(rec.addr)
        return AF_INET, LOOPBACK4 if local is None or is_wildcard(local) else local
    if asked is not None:
        return AF_INET6, asked
    return AF_INET6, LOOPBACK6 if is_wildcard(rec.addr) else rec.addr


def kernel_first(check, port, backend, explain, lines):
    verdicts = []
    for name, asked in questions(check):
        verdict = decide(Query(find_tool(name), (port,), asked, None, False, check.accepting), backend, explain,
                         say=False)
        verdicts.append(verdict)
        if explain:
            lines.extend(["kernel: " + line for line in verdict.explain()])
            lines.append("kernel: " + verdict.said())
        if verdict.ok:
            return connect_to(name, asked, verdict.results[0].listening), None
        if asked is None and verdict.results and not verdict.results[0].candidates:
            # No socket at all on the port: the IPv4 question's dump held
            # both families' (an IPv6 listener is a candidate even when it
            # does not count), so the IPv6 question could find none either.
            break
    # The no that tells most: IPv4's, unless the IPv6 question found a
    # listener that is not accepting.
    for verdict in verdicts[1:]:
        for res in verdict.results:
            if res.blocked is not None:
                return None, verdict.said()
    return None, verdicts[0].said()
