"""The command line, for every tool name:

    TOOL PORTS [ADDRESS] [--quiet] [--debug] [--external] [--accepting] [--wait SECONDS]
    UNIX PATH|@NAME [--quiet] [--debug] [--accepting] [--wait SECONDS]
    healthcheck TOOL ...     (any other program name: the first argument names the tool)

main(argv) -> exit code, and the only place where errors become codes:
0 when every asked port is listening, 1 for anything else. Never 2
(Docker reserves it), never a traceback. run() is the entry stub.
"""

import sys

from .errors import HealthcheckError, UsageError, shown
from .tools import find_tool

PROGRAM = "healthcheck"


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
        if name is None or opts.help or opts.version:
            from . import usage  # their text only: a check needs none of it

            emit(out, usage.asked_text(name, opts, args))
            return 0
        if opts.error is not None:
            raise opts.error
        return answer(name, opts, getenv or _getenv, out, err, quiet)
    except UsageError as e:
        if not quiet:
            from .usage import usage  # only after an error

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
