"""What the tools say about themselves: --help, --version and the usage
line of an error. Imported only for those: a check never needs its text."""

import sys

from . import __version__
from .cli import PROGRAM
from .errors import UsageError, shown
from .tools import NAMES

INET_USAGE = "%s PORTS [ADDRESS] [--quiet] [--debug] [--external] [--accepting] [--wait SECONDS]"
UNIX_USAGE = "%s PATH|@NAME [--quiet] [--debug] [--accepting] [--wait SECONDS]"
HTTP_USAGE = ("%s PORT[/PATH] [ADDRESS] | http://HOST[:PORT][/PATH] [--status CODES] [--header 'N: v']... "
              "[--method M] [--body TEXT] [--timeout SECS] [--accepting] [--quiet] [--debug] [--wait SECS]")
GRPC_USAGE = ("%s PORT [ADDRESS] [--service NAME] [--header 'n: v']... [--timeout SECS] [--accepting] [--tls "
              "[--cacert FILE] [--servername NAME] [--cert FILE --key FILE]] [--quiet] [--debug] [--wait SECS]")
# HTTPS (TLS hook, tlsconn.py): HTTP's options and TLS's.
HTTPS_USAGE = ("%s PORT[/PATH] [ADDRESS] | https://HOST[:PORT][/PATH] [--cacert FILE] [--servername NAME] "
               "[--cert FILE --key FILE] [HTTP's options]")
USAGES = {"UNIX": UNIX_USAGE, "HTTP": HTTP_USAGE, "GRPC": GRPC_USAGE, "HTTPS": HTTPS_USAGE}

MORE = """Several checks in one call: a word that names a tool starts the next one
(TCP 80,443 udp 53 http 8080/healthz); every one must hold. A check's own
options follow it; --quiet, --debug and --wait are the whole call's. After
--, no word is a tool name (UNIX -- tcp). Values may hold $NAME, ${NAME}
or ${NAME:-default} from the environment ($$ is $): exec-form health
checks have no shell to expand them."""

HELP = """usage: %(usage)s
       %(t)s --help | --version

Exit 0 if %(what)s in this network namespace (inside a container: the
container's), 1 otherwise.

%(args)s
  -q, --quiet    print nothing; the exit code is the answer (--debug wins)
  --debug        show the kernel interface used and every socket on %(on)s,
                 with the reason it counts or not
%(external)s  --accepting    count only listeners that can take the next client: a full
                 accept queue%(udpq)s means the server is not serving
  --wait SECS    check again (every 20 ms, growing to 0.5 s) until it holds or
                 SECS seconds have passed; 0 = one check. Sees only this
                 namespace: no remote wait
  -h, --help     this text;  -V, --version  the version and build

%(note)s
It opens no connection (one exception: on the /proc fallback, a [::] TCP
listener whose v6only cannot be seen is settled by one loopback connect()).
A check ends within 3 s (2 s for the kernel, 1 s for that connect());
--wait tries kernel errors again and ends within SECS plus one check.
HEALTHCHECK_BACKEND=netlink or =proc forces a kernel interface.

%(more)s
Rules: docs/rules.md of the healthcheck project. healthcheck %(v)s"""

HTTP_HELP = """usage: %(usage)s
       %(t)s --help | --version

Exit 0 if the HTTP server on PORT answers PATH (default /) with a status in
CODES, 1 otherwise. The kernel is asked first, as TCP PORT [ADDRESS] asks
it, over IPv4 and IPv6: nothing listening fails at once, with the reason.
Then one request is sent where the listener accepts: ADDRESS (or the URL's
host); else 127.0.0.1 or ::1, whichever the listener takes; else its own
address. No DNS, no proxy, redirects not followed.

  PORT[/PATH]    8080, 8080/healthz, 8080/ready?full=1
  ADDRESS        an IPv4 or IPv6 address of this namespace, or localhost
  http://HOST[:PORT][/PATH]  HOST: an IPv4 address, [IPv6] or localhost
  --status CODES statuses that mean healthy: 200, 200-299, 200,204,301-308
                 (default 200-399, as Kubernetes' httpGet)
  --header 'Name: value', -H   sent with the request (again for more); a
                 Host: header replaces the default one
  --method M     GET (default), HEAD, ...
  --body TEXT    the body's first 64 KB must contain TEXT
  --timeout SECS the whole exchange's limit (default 2)
  --accepting    a full accept queue fails at once, without a request
  -q, --quiet    print nothing; the exit code is the answer (--debug wins)
  --debug        the kernel's part, the request sent and the headers received
  --wait SECS    check again until it holds or SECS seconds have passed
  -h, --help     this text;  -V, --version  the version and build

The request: METHOD PATH HTTP/1.1, Host (the URL's host, else the address
connected to), User-Agent: healthcheck/%(v)s, Accept: */*, Connection: close.
HTTP is the one tool that talks to the service; the others never do.

%(more)s
Rules: docs/rules.md of the healthcheck project. healthcheck %(v)s"""

GRPC_HELP = """usage: %(usage)s
       %(t)s --help | --version

Exit 0 if the server on PORT answers grpc.health.v1.Health/Check with
SERVING, 1 otherwise. The kernel is asked first, as for HTTP: nothing
listening fails at once. Then one call over cleartext HTTP/2 (or TLS with
--tls) to ADDRESS, else to 127.0.0.1 or ::1 (whichever the listener takes).

  --service NAME the service asked about (default "": the whole server)
  --header 'name: value', -H   metadata sent with the call (again for more)
  --timeout SECS the whole call's limit (default 2)
  --accepting    a full accept queue fails at once, without a call
  --tls          the call over TLS 1.2 or 1.3 (ALPN h2). The certificate is
                 not verified unless --cacert FILE names its CA(s) (PEM or
                 DER): then its chain and name (--servername NAME, also sent
                 as SNI; else localhost or the address connected to)
  --cert FILE --key FILE   a client certificate, for servers that want one
  --debug        the kernel's part, the frames each way, the fields received
                 (with --tls: the version, cipher, ALPN and certificate)
  -q, --quiet, --wait SECS, -h, --help, -V, --version: as for TCP

The static build's TLS is a second binary: /healthcheck/healthcheck-tls grpc
PORT --tls ... (the GRPC beside TCP has none).

%(more)s
Rules: docs/rules.md of the healthcheck project. healthcheck %(v)s"""

INET_ARGS = """  PORTS          a port 1-65535, or several joined by commas: 80,443
  ADDRESS        only count listeners that accept on this %(fam)s address of
                 this namespace (a wildcard listener accepts on every
                 address); %(any)s or no ADDRESS means any address"""
UNIX_ARGS = """  PATH           the socket file, matched by its identity (device, inode)
  @NAME          a Linux abstract socket"""
EXTERNAL = """  --external     count only listeners reachable from outside the namespace
                 (not on 127.0.0.0/8, ::1 or ::ffff:127.x)
"""

NOTES = {
    "TCP": "TCP: a socket in LISTEN state. IPv6 sockets on [::] that also\n"
           "accept IPv4 (dual-stack, v6only off) count too.",
    "UDP": "UDP: a bound socket that is not connected. IPv6 sockets on [::]\n"
           "that also accept IPv4 (dual-stack, v6only off) count too.",
    "TCP6": "TCP6: an IPv6 socket in LISTEN state; IPv4 sockets never count.\n"
            "Where IPv6 is off (no IPv6 address here), nothing is listening.",
    "UDP6": "UDP6: a bound, unconnected IPv6 socket; IPv4 sockets never count.\n"
            "Where IPv6 is off (no IPv6 address here), nothing is listening.",
    "UNIX": "UNIX: a stream or seqpacket socket in LISTEN state bound to the\n"
            "name, or a bound datagram socket. A stale socket file, a socket\n"
            "that never called listen(), a client: not listening.",
}

PROGRAM_HELP = """usage: %s TOOL ARGS... [TOOL ARGS...]     (or run a tool under its own name)

TOOL is one of %s (any letter case):
  TCP PORTS [ADDRESS]    a TCP listener, reachable over IPv4
  UDP PORTS [ADDRESS]    a bound, unconnected UDP socket, over IPv4
  TCP6 PORTS [ADDRESS]   the same over IPv6
  UDP6 PORTS [ADDRESS]   the same over IPv6
  UNIX PATH|@NAME        a unix domain socket
  HTTP PORT[/PATH] [ADDRESS] | http://HOST[:PORT][/PATH]
                         the kernel first, then an HTTP request to the server
  GRPC PORT [ADDRESS]    the kernel first, then a gRPC health check (HTTP/2)
  HTTPS PORT[/PATH] [ADDRESS] | https://HOST[:PORT][/PATH]
                         HTTP over TLS (static build: healthcheck-tls)
Exit 0 if every check holds in this network namespace, 1 otherwise.

%s
`%s TOOL --help` tells more. healthcheck %s"""


def asked_text(name, opts, args):
    """The text of --help or --version for tool `name`; with no tool named
    (name None: started under another name), the program's own, or a
    UsageError naming the tools."""
    if name is not None:
        return help_text(name) if opts.help else version_text(name)
    if opts.version:
        return version_text(PROGRAM)
    if opts.help:
        return PROGRAM_HELP % (PROGRAM, ", ".join(NAMES), MORE, PROGRAM, __version__)
    positionals = [a for a in args if not a.startswith("-")]
    if positionals:
        raise UsageError("unknown tool '%s': use one of %s" % (shown(positionals[0]), ", ".join(NAMES)))
    raise UsageError("no tool named: use one of %s" % ", ".join(NAMES))


def usage(name):
    if name is None:
        return "%s TOOL ARGS... [TOOL ARGS...]   (TOOL: %s; --help for more)" % (PROGRAM, ", ".join(NAMES))
    return USAGES.get(name, INET_USAGE) % name + "   (--help for more)"


def help_text(name):
    if name == "HTTPS":  # its text lives with TLS: the main static binary has neither
        try:
            from .httpscheck import HELP as HTTPS_HELP
        except ImportError:
            return "%s: TLS is not in this binary: /healthcheck/HTTPS --help (healthcheck-tls)" % name
        return HTTPS_HELP % {"usage": HTTPS_USAGE % name, "t": name, "more": MORE, "v": __version__}
    if name == "HTTP":
        return HTTP_HELP % {"usage": HTTP_USAGE % name, "t": name, "more": MORE, "v": __version__}
    if name == "GRPC":
        return GRPC_HELP % {"usage": GRPC_USAGE % name, "t": name, "more": MORE, "v": __version__}
    if name == "UNIX":
        return HELP % {
            "usage": UNIX_USAGE % name, "t": name, "what": "a unix socket is listening on PATH",
            "args": UNIX_ARGS, "on": "the socket", "external": "", "udpq": "",
            "note": NOTES[name], "more": MORE, "v": __version__}
    v6 = name.endswith("6")
    return HELP % {
        "usage": INET_USAGE % name, "t": name,
        "what": "every port in PORTS is listening for %s over IPv%s" % (name.rstrip("6"), "6" if v6 else "4"),
        "args": INET_ARGS % {"fam": "IPv6" if v6 else "IPv4", "any": "::" if v6 else "0.0.0.0"},
        "on": "the asked ports", "external": EXTERNAL,
        "udpq": " (UDP: unread datagrams and drops)" if name.startswith("UDP") else "",
        "note": NOTES[name], "more": MORE, "v": __version__}


def version_text(name):
    """The version and the build: for the static binary, the source
    revision, MicroPython's version and the platform it was built for."""
    from . import build_info  # --version only

    impl = sys.implementation
    text = "%s (healthcheck) %s" % (name, __version__)
    parts = []
    if build_info.REVISION:
        parts.append("revision " + build_info.REVISION)
    parts.append("%s %s" % ("MicroPython" if impl.name == "micropython" else "CPython",
                            ".".join([str(v) for v in impl.version[:3]])))
    if build_info.PLATFORM:
        parts.append(build_info.PLATFORM)
    return text + " (" + ", ".join(parts) + ")"
