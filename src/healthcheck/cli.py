"""The command line, for every tool name:

    TOOL PORTS [ADDRESS] [--quiet] [--debug] [--external] [--accepting] [--wait SECONDS]
    UNIX PATH|@NAME [--quiet] [--debug] [--accepting] [--wait SECONDS]
    healthcheck TOOL ...     (any other program name: the first argument names the tool)

main(argv) -> exit code, and the only place where errors become codes:
0 when every asked port is listening, 1 for anything else. Never 2
(Docker reserves it), never a traceback. run() is the entry stub.
"""

import sys

from . import __version__
from .errors import HealthcheckError, UsageError, shown
from .tools import NAMES, find_tool

PROGRAM = "healthcheck"
INET_USAGE = "%s PORTS [ADDRESS] [--quiet] [--debug] [--external] [--accepting] [--wait SECONDS]"
UNIX_USAGE = "%s PATH|@NAME [--quiet] [--debug] [--accepting] [--wait SECONDS]"

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
HEALTHCHECK_BACKEND=netlink or =proc forces a kernel interface.
Rules: README.md of the healthcheck project. healthcheck %(v)s"""

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

PROGRAM_HELP = """usage: %s TOOL ARGS...     (or run the tool under its own name)

TOOL is one of %s (any letter case):
  TCP PORTS [ADDRESS]    a TCP listener, reachable over IPv4
  UDP PORTS [ADDRESS]    a bound, unconnected UDP socket, over IPv4
  TCP6 PORTS [ADDRESS]   the same over IPv6
  UDP6 PORTS [ADDRESS]   the same over IPv6
  UNIX PATH|@NAME        a unix domain socket
Exit 0 if it is listening in this network namespace, 1 otherwise.
`%s TOOL --help` tells more. healthcheck %s"""


class Options:
    def __init__(self):
        self.quiet = False
        self.debug = False
        self.external = False
        self.accepting = False
        self.wait = None  # text of --wait, checked by wait.parse_seconds
        self.help = False
        self.version = False
        self.positionals = []
        self.error = None  # the first UsageError, raised after --quiet is known


def parse_args(args):
    """Options may stand before, between or after the positionals."""
    opts = Options()
    only_positionals = False
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if only_positionals or not arg.startswith("-") or arg == "-":
            opts.positionals.append(arg)
        elif arg == "--":
            only_positionals = True
        elif arg in ("--quiet", "-q"):
            opts.quiet = True
        elif arg == "--debug":
            opts.debug = True
        elif arg == "--external":
            opts.external = True
        elif arg == "--accepting":
            opts.accepting = True
        elif arg in ("--help", "-h"):
            opts.help = True
        elif arg in ("--version", "-V"):
            opts.version = True
        elif arg == "--wait" or arg.startswith("--wait="):
            if arg == "--wait":
                if i >= len(args):
                    opts.error = opts.error or UsageError("--wait needs SECONDS")
                    continue
                arg = "--wait=" + args[i]
                i += 1
            opts.wait = arg[7:]
        elif opts.error is None:
            opts.error = UsageError("unknown option '%s'" % shown(arg))
    return opts


def tool_and_args(argv):
    """(tool name or None, the tool's arguments). basename(argv[0]) names
    the tool; any other program name takes it from the first argument."""
    argv0 = argv[0] if argv else ""
    tool = find_tool(argv0[argv0.rfind("/") + 1:])
    if tool is not None:
        return tool.name, argv[1:]
    i = 1
    while i < len(argv):
        if argv[i] == "--wait":  # its value is no tool name
            i += 2
            continue
        if not argv[i].startswith("-"):
            tool = find_tool(argv[i])
            if tool is not None:
                return tool.name, argv[1:i] + argv[i + 1:]
            break
        i += 1
    return None, argv[1:]


def main(argv, getenv=None, stdout=None, stderr=None):
    """argv[0] (or argv[1]) names the tool. Returns the exit code (0 or 1)."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    name, args = tool_and_args(argv)
    opts = parse_args(args)
    quiet = opts.quiet and not opts.debug
    label = name or PROGRAM
    try:
        if name is None:
            return program_help(opts, args, out, err, quiet)
        if opts.help:
            emit(out, help_text(name))
            return 0
        if opts.version:
            emit(out, version_text(name))
            return 0
        if opts.error is not None:
            raise opts.error
        return answer(name, opts, getenv or _getenv, out, err, quiet)
    except UsageError as e:
        if not quiet:
            emit(err, "%s: %s" % (label, e))
            emit(err, "usage: " + usage(name))
        return 1
    except HealthcheckError as e:
        if not quiet:
            emit(err, "%s: %s" % (label, e))
        return 1
    except MemoryError:
        if not quiet:
            emit(err, "%s: out of memory" % label)
        return 1
    except Exception as e:  # a bug must still end in exit 1 and one line
        if not quiet:
            emit(err, "%s: internal error: %s: %s" % (label, type(e).__name__, shown(str(e), 120)))
        return 1


def program_help(opts, args, out, err, quiet):
    """Started under another name with no tool named."""
    if opts.version:
        emit(out, version_text(PROGRAM))
        return 0
    if opts.help:
        emit(out, PROGRAM_HELP % (PROGRAM, ", ".join(NAMES), PROGRAM, __version__))
        return 0
    positionals = [a for a in args if not a.startswith("-")]
    if positionals:
        raise UsageError("unknown tool '%s': use one of %s" % (shown(positionals[0]), ", ".join(NAMES)))
    raise UsageError("no tool named: use one of %s" % ", ".join(NAMES))


def usage(name):
    if name is None:
        return "%s TOOL ARGS...   (TOOL: %s; --help for more)" % (PROGRAM, ", ".join(NAMES))
    return (UNIX_USAGE if name == "UNIX" else INET_USAGE) % name + "   (--help for more)"


def answer(name, opts, getenv, out, err, quiet):
    # Here, not at the top: --help, --version and usage errors need none of it.
    from .decide import decide
    from .query import make_query

    if len(opts.positionals) == 0:
        raise UsageError("missing %s" % ("PATH" if name == "UNIX" else "PORTS"))
    if len(opts.positionals) > (1 if name == "UNIX" else 2):
        raise UsageError("too many arguments: '%s'" % shown(opts.positionals[-1]))
    address = opts.positionals[1] if len(opts.positionals) > 1 else None
    query = make_query(name, opts.positionals[0], address, opts.external, opts.accepting)
    backend = getenv("HEALTHCHECK_BACKEND")
    explain = opts.debug
    if opts.wait is not None:
        from .wait import parse_seconds, wait_for  # --wait only: the clock stays out of a plain check

        ms = parse_seconds(opts.wait)
        verdict = wait_for(lambda: decide(query, backend, explain), ms)
    else:
        verdict = decide(query, backend, explain)
    if explain:
        for line in verdict.explain():
            emit(err, "%s debug: %s" % (name, line))
    if not quiet:
        emit(out if verdict.ok else err, verdict.reason)
    return 0 if verdict.ok else 1


def help_text(name):
    if name == "UNIX":
        return HELP % {
            "usage": UNIX_USAGE % name, "t": name, "what": "a unix socket is listening on PATH",
            "args": UNIX_ARGS, "on": "the socket", "external": "", "udpq": "",
            "note": NOTES[name], "v": __version__}
    v6 = name.endswith("6")
    return HELP % {
        "usage": INET_USAGE % name, "t": name,
        "what": "every port in PORTS is listening for %s over IPv%s" % (name.rstrip("6"), "6" if v6 else "4"),
        "args": INET_ARGS % {"fam": "IPv6" if v6 else "IPv4", "any": "::" if v6 else "0.0.0.0"},
        "on": "the asked ports", "external": EXTERNAL,
        "udpq": " (UDP: a full receive buffer)" if name.startswith("UDP") else "",
        "note": NOTES[name], "v": __version__}


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


def emit(stream, text):
    """Write one line. A closed or broken stdout/stderr must not change the
    exit code, so write errors are swallowed and the stream is retired."""
    if stream is None:
        return
    try:
        stream.write(text + "\n")
        # MicroPython writes straight to the descriptor; its flush() is an
        # fsync() that fails on a pipe: one system call for nothing.
        flush = getattr(stream, "flush", None) if sys.implementation.name != "micropython" else None
        if flush is not None:
            flush()
    except Exception:
        _retire(stream)


def _retire(stream):
    # CPython flushes sys.stdout again at exit; a failure there would turn
    # into exit code 120. Point the descriptor at /dev/null instead.
    try:
        import os  # inside the try: a build without os.dup2 still ends with its exit code

        fd = stream.fileno()
        null = os.open("/dev/null", os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except Exception:
        pass


def _getenv(key):
    try:
        import os  # inside the try: a MicroPython build without os.getenv still answers

        return os.getenv(key)
    except (ImportError, AttributeError):
        return None


def run():
    """Console-script entry point: the only place that calls sys.exit."""
    sys.exit(main(sys.argv))
