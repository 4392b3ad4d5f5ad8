"""The tools as one table: name -> what kind of check it is and what is
asked of the kernel. NAMES is the one list of tool names: the console
scripts, the static binary's links and the tests take theirs from it.

Policy lives here, not in branches: the CLI reads a tool's kind from its row
(how its arguments parse, which module runs it), and the matcher and the
backends read the kernel fields instead of testing tool names.
"""

from .kernel_abi import AF_INET, AF_INET6, AF_UNIX, IPPROTO_TCP, IPPROTO_UDP, TCP_CLOSE, TCP_LISTEN


class Tool:
    """One row of the table.

    kind: a key of KINDS: "kernel" (asks the kernel's socket tables) or
    "http" (asks the kernel, then the service itself).
    family: the address family asked about (AF_INET, AF_INET6 or AF_UNIX).
    proto: IPPROTO_TCP or IPPROTO_UDP (None for UNIX); pname is the
    /proc/net file stem.
    state: the kernel state that means "listening" (unix: per socket type).
    families: socket families whose sockets may answer the question:
    an IPv4 question is also answered by dual-stack IPv6 sockets.
    """

    def __init__(self, name, kind, family, proto, pname, state):
        self.name = name
        self.kind = kind
        self.family = family
        self.proto = proto
        self.pname = pname
        self.state = state
        self.families = (AF_INET, AF_INET6) if family == AF_INET else (family,)

    def __repr__(self):
        return "Tool(%r)" % self.name


# name -> (kind, family, proto, pname, state). A check needs one Tool:
# find_tool makes it from its row when first asked (all made at import were
# a fifth of the start-up's instance building in the static build).
ROWS = {
    "TCP": ("kernel", AF_INET, IPPROTO_TCP, "tcp", TCP_LISTEN),
    "UDP": ("kernel", AF_INET, IPPROTO_UDP, "udp", TCP_CLOSE),
    "TCP6": ("kernel", AF_INET6, IPPROTO_TCP, "tcp", TCP_LISTEN),
    "UDP6": ("kernel", AF_INET6, IPPROTO_UDP, "udp", TCP_CLOSE),
    "UNIX": ("kernel", AF_UNIX, None, "unix", TCP_LISTEN),
    # The kernel's TCP question first (over both families), then the service.
    "HTTP": ("http", AF_INET, IPPROTO_TCP, "tcp", TCP_LISTEN),
    "GRPC": ("grpc", AF_INET, IPPROTO_TCP, "tcp", TCP_LISTEN),
    # HTTP over TLS (httpscheck.py); in the static build only healthcheck-tls has TLS.
    "HTTPS": ("https", AF_INET, IPPROTO_TCP, "tcp", TCP_LISTEN),
}

NAMES = ("TCP", "UDP", "TCP6", "UDP6", "UNIX", "HTTP", "GRPC", "HTTPS")

# kind -> (the module that runs it, its options). The module has
# make_check(tool, positionals, options) -> a check, and run_check(check,
# backend, explain) -> an answer with .ok, .reason and .explain(). Options every
# kind shares (--quiet, --debug, --wait, --help, --version) are the CLI's.
# A kind's options are one string, read by kind_options() only when an option is
# given: "--name" is a flag, "--name=" takes a value, "--name=*" takes one
# and may be given again, "-x:--name" is a short name. (As dicts built at
# import they were 8,500 of a plain check's instructions in the static build.)
KINDS = {
    "kernel": ("healthcheck.decide", "--external --accepting"),
    "http": ("healthcheck.httpcheck", "--accepting --status= --header=* -H:--header --method= --body= --timeout="),
    "grpc": ("healthcheck.grpccheck", "--accepting --service= --header=* -H:--header --timeout= --tls"
             " --cacert= --servername= --cert= --key="),
    # The http kind's module and options, and TLS's (tlsconn.py).
    "https": ("healthcheck.httpcheck", "--accepting --status= --header=* -H:--header --method= --body= --timeout="
              " --cacert= --servername= --cert= --key="),
}

_options = {}


def kind_options(kind):
    """A kind's options: name -> 0 (a flag), 1 (takes a value), 2 (takes one
    and may be given again) or, for a short name, the long name it stands
    for."""
    spec = _options.get(kind)
    if spec is None:
        spec = _options[kind] = {}
        for word in KINDS[kind][1].split():
            name, colon, long_name = word.partition(":")
            if colon:
                spec[name] = long_name
            else:
                name, eq, many = word.partition("=")
                spec[name] = (2 if many else 1) if eq else 0
    return spec


_made = {}


def find_tool(name):
    """The Tool for `name` in any letter case (the same object each time),
    or None."""
    key = name.upper()
    tool = _made.get(key)
    if tool is None:
        row = ROWS.get(key)
        if row is None:
            return None
        tool = _made[key] = Tool(key, row[0], row[1], row[2], row[3], row[4])
    return tool
