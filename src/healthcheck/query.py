"""The question asked: which tool, which ports, which local address.

make_query("TCP", "80,443", "127.0.0.1") -> Query(TCP, (80, 443), 127.0.0.1)
"""

from .addr import format_addr, is_wildcard, parse_ipv4, parse_ipv6
from .errors import UsageError, shown
from .tools import AF_INET, NAMES, TOOLS

DIGITS = "0123456789"
MAX_PORTS = 1000  # more than any health check needs; bounds the work


class Query:
    """tool: a tools.Tool; ports: tuple of ints; addr: bytes, or None for
    "any address" (also what 0.0.0.0 and :: mean)."""

    def __init__(self, tool, ports, addr=None):
        self.tool = tool
        self.ports = ports
        self.addr = addr

    def __repr__(self):
        where = format_addr(self.addr) if self.addr is not None else "any"
        return "Query(%s, %r, %s)" % (self.tool.name, self.ports, where)


def parse_port(text):
    if not text or len(text) > 5 or not _digits(text):
        raise UsageError("bad port %s: a port is a number from 1 to 65535" % _quoted(text))
    port = int(text)
    if not 1 <= port <= 65535:
        raise UsageError("bad port %s: a port is a number from 1 to 65535" % _quoted(text))
    return port


def parse_ports(text):
    """"80,443" -> (80, 443). Every element must be a port; duplicates are
    kept once, order is kept."""
    if not text:
        raise UsageError("no port given: a port is a number from 1 to 65535")
    items = text.split(",")
    if len(items) > MAX_PORTS:
        raise UsageError("too many ports: at most %d" % MAX_PORTS)
    ports = []
    for item in items:
        port = parse_port(item)
        if port not in ports:
            ports.append(port)
    return tuple(ports)


def parse_address(tool, text):
    """Address text -> bytes for `tool`'s family, or None for a wildcard."""
    if tool.family == AF_INET:
        parse, other, other_parse = parse_ipv4, tool.name + "6", parse_ipv6
    else:
        parse, other, other_parse = parse_ipv6, tool.name[:-1], parse_ipv4
    try:
        packed = parse(text)
    except ValueError as err:
        try:
            other_parse(text)
        except ValueError:
            raise UsageError("bad address %s: %s" % (_quoted(text), err.args[0]))
        raise UsageError(
            "%s is an IPv%s address: use %s for it"
            % (_quoted(text), "6" if tool.family == AF_INET else "4", other)
        )
    return None if is_wildcard(packed) else packed


def make_query(tool_name, ports, address=None):
    """Build a Query from user input: ports as "80,443", an int or a list of
    ints; address as text or None."""
    tool = TOOLS.get(tool_name)
    if tool is None:
        raise UsageError("unknown tool %s: use one of %s" % (_quoted(tool_name), ", ".join(NAMES)))
    if isinstance(ports, int):
        ports = str(ports)
    if isinstance(ports, str):
        parsed = parse_ports(ports)
    else:
        parsed = parse_ports(",".join([str(p) for p in ports]))
    addr = None if address is None else parse_address(tool, address)
    return Query(tool, parsed, addr)


def _digits(text):
    for ch in text:
        if ch not in DIGITS:
            return False
    return True


def _quoted(text):
    return "'%s'" % shown(text)
