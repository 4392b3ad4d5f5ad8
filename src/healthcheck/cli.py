"""The command line: TOOL PORTS [ADDRESS] [--quiet] [--debug].

main(argv) -> exit code, and the only place where errors become codes:
0 when every asked port is listening, 1 for anything else. Never 2
(Docker reserves it), never a traceback. run() is the entry stub.
"""

import sys

from . import __version__
from .errors import HealthcheckError, UsageError, shown
from .tools import NAMES

USAGE = "usage: %s PORTS [ADDRESS] [--quiet] [--debug]   (--help for more)"

HELP = """usage: %(t)s PORTS [ADDRESS] [--quiet] [--debug]
       %(t)s --help | --version

Exit 0 if every port in PORTS is listening for %(what)s in this network
namespace (inside a container: the container's), 1 otherwise.

  PORTS      a port 1-65535, or several joined by commas: 80,443
  ADDRESS    only count listeners that accept on this %(fam)s address
             (a wildcard listener accepts on every address); %(any)s
             or no ADDRESS means any address
  --quiet    print nothing; the exit code is the answer
  --debug    show the kernel interface used and every candidate socket

%(note)s
Set HEALTHCHECK_BACKEND=netlink or =proc to force a kernel interface.
healthcheck %(v)s"""

NOTES = {
    "TCP": "TCP: a socket in LISTEN state. IPv6 sockets on [::] that also\n"
           "accept IPv4 (dual-stack, v6only off) count too.",
    "UDP": "UDP: a bound socket that is not connected. IPv6 sockets on [::]\n"
           "that also accept IPv4 (dual-stack, v6only off) count too.",
    "TCP6": "TCP6: an IPv6 socket in LISTEN state; IPv4 sockets never count.",
    "UDP6": "UDP6: a bound, unconnected IPv6 socket; IPv4 sockets never count.",
}


class Options:
    def __init__(self):
        self.quiet = False
        self.debug = False
        self.help = False
        self.version = False
        self.positionals = []
        self.error = None  # the first UsageError, raised after --quiet is known


def parse_args(args):
    """Options may stand before, between or after the positionals."""
    opts = Options()
    only_positionals = False
    for arg in args:
        if only_positionals or not arg.startswith("-") or arg == "-":
            opts.positionals.append(arg)
        elif arg == "--":
            only_positionals = True
        elif arg in ("--quiet", "-q"):
            opts.quiet = True
        elif arg == "--debug":
            opts.debug = True
        elif arg in ("--help", "-h"):
            opts.help = True
        elif arg in ("--version", "-V"):
            opts.version = True
        elif opts.error is None:
            opts.error = UsageError("unknown option '%s'" % shown(arg))
    if opts.error is None:
        if not opts.positionals:
            opts.error = UsageError("missing PORTS")
        elif len(opts.positionals) > 2:
            opts.error = UsageError("too many arguments: '%s'" % shown(opts.positionals[2]))
    return opts


def tool_name(argv0):
    """basename(argv[0]), the tool this program was started as."""
    return argv0[argv0.rfind("/") + 1:]


def main(argv, getenv=None, stdout=None, stderr=None):
    """argv[0] names the tool. Returns the exit code (0 or 1)."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    name = tool_name(argv[0]) if argv else ""
    if name not in NAMES:
        emit(err, "healthcheck: started as '%s': run me as one of %s" % (shown(name), ", ".join(NAMES)))
        return 1
    opts = parse_args(argv[1:])
    try:
        if opts.help:
            emit(out, help_text(name))
            return 0
        if opts.version:
            emit(out, "%s (healthcheck) %s" % (name, __version__))
            return 0
        if opts.error is not None:
            raise opts.error
        return check(name, opts, getenv or _getenv, out, err)
    except UsageError as e:
        if not opts.quiet:
            emit(err, "%s: %s" % (name, e))
            emit(err, USAGE % name)
        return 1
    except HealthcheckError as e:
        if not opts.quiet:
            emit(err, "%s: %s" % (name, e))
        return 1
    except MemoryError:
        if not opts.quiet:
            emit(err, "%s: out of memory" % name)
        return 1
    except Exception as e:  # a bug must still end in exit 1 and one line
        if not opts.quiet:
            emit(err, "%s: internal error: %s: %s" % (name, type(e).__name__, shown(str(e), 120)))
        return 1


def check(name, opts, getenv, out, err):
    from . import decide
    from .query import make_query

    address = opts.positionals[1] if len(opts.positionals) > 1 else None
    query = make_query(name, opts.positionals[0], address)
    explain = opts.debug and not opts.quiet
    verdict = decide(query, getenv("HEALTHCHECK_BACKEND"), explain)
    if explain:
        for line in verdict.explain():
            emit(err, "%s debug: %s" % (name, line))
    if not opts.quiet:
        emit(out if verdict.ok else err, verdict.reason)
    return 0 if verdict.ok else 1


def help_text(name):
    v6 = name.endswith("6")
    return HELP % {
        "t": name,
        "what": ("TCP" if name.startswith("TCP") else "UDP") + (" over IPv6" if v6 else " over IPv4"),
        "fam": "IPv6" if v6 else "IPv4",
        "any": "::" if v6 else "0.0.0.0",
        "note": NOTES[name],
        "v": __version__,
    }


def emit(stream, text):
    """Write one line. A closed or broken stdout/stderr must not change the
    exit code, so write errors are swallowed and the stream is retired."""
    if stream is None:
        return
    try:
        stream.write(text + "\n")
        flush = getattr(stream, "flush", None)
        if flush is not None:
            flush()
    except Exception:
        _retire(stream)


def _retire(stream):
    # CPython flushes sys.stdout again at exit; a failure there would turn
    # into exit code 120. Point the descriptor at /dev/null instead.
    try:
        import os

        fd = stream.fileno()
        null = os.open("/dev/null", os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except Exception:
        pass


def _getenv(key):
    try:
        import os

        return os.getenv(key)
    except (ImportError, AttributeError):
        return None


def run():
    """Console-script entry point: the only place that calls sys.exit."""
    sys.exit(main(sys.argv))
