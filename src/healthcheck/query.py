"""The question asked: which tool, which ports (or unix socket), which
local address, and the options that change what counts.

make_query("TCP", "80,443", "127.0.0.1") -> Query(TCP, (80, 443), 127.0.0.1)
make_query("UNIX", "/run/php/fpm.sock")  -> Query(UNIX, /run/php/fpm.sock)
"""

from .addr import DIGITS, HEXDIGITS, format_addr, is_wildcard, only, parse_ipv4, parse_ipv6
from .errors import UsageError, shown
from .kernel_abi import AF_INET, AF_UNIX
from .tools import NAMES, ROWS, Tool, find_tool

# At most this many ports in one question: more than any health check needs,
# and the kernel-side port filter (netlink.port_filter) must fit its u16 jumps.
MAX_PORTS = 1000
MAX_UNIX_PATH = 107  # sun_path is 108 bytes, one of them the terminating NUL
PORT_RULE = "a port is a number from 1 to 65535"


class Query:
    """tool: a tools.Tool; ports: tuple of ints (empty for UNIX); addr:
    bytes, or None for "any address" (also what 0.0.0.0 and :: mean);
    unix_name: for UNIX, the bound name as the kernel stores it (a path,
    or b"\\0name" for an abstract socket); external, accepting: options."""

    def __init__(self, tool, ports, addr=None, unix_name=None, external=False, accepting=False):
        self.tool = tool
        self.ports = ports
        self.addr = addr
        self.unix_name = unix_name
        self.external, self.accepting = external, accepting

    def subject(self):
        """What the answer is about, for messages: "TCP port 80",
        "TCP ports 80,443", "UNIX socket /run/x.sock"."""
        name = self.tool.name
        if self.unix_name is not None:
            return "%s socket %s" % (name, unix_text(self.unix_name))
        if len(self.ports) == 1:
            return "%s port %d" % (name, self.ports[0])
        return "%s ports %s" % (name, ",".join([str(p) for p in self.ports]))

    def __repr__(self):
        if self.unix_name is not None:
            return "Query(%s, %s)" % (self.tool.name, unix_text(self.unix_name))
        where = format_addr(self.addr) if self.addr is not None else "any"
        return "Query(%s, %r, %s)" % (self.tool.name, self.ports, where)


def unix_text(name):
    """b"\\0name" -> "@name"; a path is shown as it is (printable ASCII)."""
    if name[:1] == b"\0":
        return "@" + shown(name[1:], 100)
    return shown(name, 100)


def parse_port(text):
    if not text:
        raise UsageError("bad port list: an empty entry (%s)" % PORT_RULE)
    if len(text) > 5 or not only(text, DIGITS):
        bare = text[1:-1] if text[:1] == "[" and text[-1:] == "]" else text
        if _is_address(bare):
            raise UsageError("bad port %s: that is an address; write the port first, then the address "
                             "without brackets: PORTS %s" % (_quoted(text), shown(bare)))
        head, colon, tail = text.rpartition(":")
        if colon and tail and only(tail, DIGITS):
            raise UsageError("bad port %s: write the port and the address apart: %s %s"
                             % (_quoted(text), shown(tail), shown(head.strip("[]"))))
        raise UsageError("bad port %s: %s" % (_quoted(text), PORT_RULE))
    port = int(text)
    if not 1 <= port <= 65535:
        raise UsageError("bad port %s: %s" % (_quoted(text), PORT_RULE))
    return port


def _is_address(text):
    for parse in (parse_ipv4, parse_ipv6):
        try:
            parse(text)
            return True
        except ValueError:
            pass
    return False


def parse_ports(text):
    """"80,443" -> (80, 443). Every element must be a port; duplicates are
    kept once, order is kept."""
    if not text:
        raise UsageError("no port given: %s" % PORT_RULE)
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
            raise UsageError("bad address %s: %s" % (_quoted(text), _address_hint(text) or err.args[0]))
        raise UsageError(
            "%s is an IPv%s address: use %s for it"
            % (_quoted(text), "6" if tool.family == AF_INET else "4", other)
        )
    return None if is_wildcard(packed) else packed


def _address_hint(text):
    """What to write instead, for the usual mistakes; None if nothing fits."""
    if text[:1] == "[" and text[-1:] == "]":
        return "write an IPv6 address without brackets: %s" % shown(text[1:-1])
    if "%" in text:
        return "zones (%eth0) are not supported: give the address alone"
    head, colon, tail = text.rpartition(":")
    if colon and tail and only(tail, DIGITS) and (head.count(":") == 0 or head[-1:] == "]"):
        return "give the port and the address apart: PORTS ADDRESS"
    if not only(text, HEXDIGITS + ".:") or (":" not in text and not only(text, DIGITS + ".")):
        return ("host names are not supported (no DNS): give an IP address; the tool sees "
                "only this network namespace's own sockets")
    return None


def parse_unix_name(text):
    """PATH or @NAME -> the name as the kernel stores it (bytes)."""
    if not text:
        raise UsageError("no socket path given: a PATH or @NAME")
    # A path is bytes to the kernel: CPython hands argv's non-UTF-8 bytes over
    # as surrogates, which surrogateescape turns back into those bytes.
    raw = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    if raw[:1] == b"@":
        if len(raw) < 2:
            raise UsageError("bad abstract name '@': a name follows the @")
        raw = b"\0" + raw[1:]
    if len(raw) > MAX_UNIX_PATH:
        raise UsageError("socket path %s is too long: at most %d bytes" % (_quoted(text), MAX_UNIX_PATH))
    if b"\0" in raw[1:]:
        raise UsageError("bad socket path %s: it holds a NUL byte" % _quoted(text))
    return raw


def make_query(tool_name, ports=None, address=None, external=False, accepting=False):
    """Build a Query from user input. TCP/UDP/TCP6/UDP6: ports as "80,443",
    an int or a list of ints; address as text or None. UNIX: the socket
    path or @name in `ports`' place (or as `address`)."""
    if isinstance(tool_name, Tool):  # the CLI's, found already
        tool = tool_name
    else:
        tool = find_tool(tool_name) if isinstance(tool_name, str) else None
    if tool is None or tool.kind != "kernel":
        names = [name for name in NAMES if ROWS[name][0] == "kernel"]  # what a Query can ask
        raise UsageError("unknown tool %s: use one of %s" % (_quoted(str(tool_name)), ", ".join(names)))
    if tool.family == AF_UNIX:
        name = ports if ports is not None else address
        if ports is not None and address is not None:
            raise UsageError("UNIX takes one PATH, and no ADDRESS: %s" % _quoted(address))
        if external:
            raise UsageError("--external is for TCP and UDP: a unix socket is never reachable from outside")
        return Query(tool, (), None, parse_unix_name(name), False, accepting)
    if isinstance(ports, int):
        ports = str(ports)
    if isinstance(ports, str):
        parsed = parse_ports(ports)
    elif ports is None:
        raise UsageError("no port given: %s" % PORT_RULE)
    else:
        parsed = parse_ports(",".join([str(p) for p in ports]))
    addr = None if address is None else parse_address(tool, address)
    return Query(tool, parsed, addr, None, external, accepting)


def _quoted(text):
    return "'%s'" % shown(text)
