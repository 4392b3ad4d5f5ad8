"""The command line, for every tool name:

    TOOL ARGS... [TOOL ARGS...]... [--quiet] [--debug] [--wait SECONDS]
    healthcheck TOOL ARGS...     (any other program name: the first argument names the tool)

A positional that names a tool (any letter case) starts a new check; a
check's own options follow it, and --quiet, --debug and --wait are the
whole call's. Exit 0 iff every check holds. Values (positionals and option
values, not the names of tools or options) may hold $NAME, ${NAME} and
${NAME:-default} (envsubst.py).

main(argv) -> exit code, and the only place where errors become codes:
0 when every check holds, 1 for anything else. Never 2 (Docker reserves
it), never a traceback. run() is the entry stub.
"""

import sys

from .errors import HealthcheckError, UsageError, shown
from .tools import KINDS, NAMES, find_tool, kind_options

PROGRAM = "healthcheck"
MAX_LINE = 190  # the one line: Docker keeps 4 KB of output, five results deep
PORT_CHARS = "0123456789,"


class Options:
    """The call's options and its checks. A check is (tool, positionals,
    options): its own options, name -> True, a value, or for a repeatable
    option a list of values. (Defaults as class attributes, and checks as
    tuples: in the static build each instance attribute, __init__ and class
    costs a plain check hundreds of instructions.)"""

    quiet = debug = help = version = False
    wait = None  # text of --wait, checked by wait.parse_seconds
    error = None  # the first UsageError (.tool: its check's), raised after --quiet is known
    checks = ()  # parse_args gives each call its own list


def parse_args(args, tool=None):
    """Split `args` into checks (a positional naming a tool starts one;
    `tool`, from the program name, starts the first). Options may stand
    before, between or after the positionals; a check's own options before
    any tool go to the first check. After `--` every argument is a
    positional of the current check, never a tool name."""
    opts = Options()
    opts.checks = checks = []
    current = positionals = own = None  # the current check's tool, positionals and options
    pending = []  # a check's options given before its tool
    if tool is not None:
        current, positionals, own = tool, [], {}
        checks.append((current, positionals, own))
    only_positionals = False
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if only_positionals or arg[:1] != "-" or arg == "-":
            # A port list (digits, commas) is no tool name: not looked up.
            named = None if only_positionals or not arg.strip(PORT_CHARS) else find_tool(arg)
            if named is not None:
                current, positionals, own = named, [], pending.pop() if pending else {}
                checks.append((current, positionals, own))
                if own:  # options given before the first tool: they must be its kind's
                    spec = kind_options(named.kind)
                    for key in own:
                        if key not in spec:
                            _error(opts, UsageError("unknown option '%s' for %s" % (key, named.name)), named)
            elif current is None:
                _error(opts, UsageError("unknown tool '%s': use one of %s" % (shown(arg), ", ".join(NAMES))), None)
            else:
                positionals.append(arg)
            continue
        if arg == "--":
            only_positionals = True
            continue
        key, eq, value = arg.partition("=") if arg[:2] == "--" else (arg, "", "")
        if eq and key in ("--quiet", "--debug", "--help", "--version"):
            _error(opts, UsageError("%s takes no value" % key), current)
        elif key in ("--quiet", "-q"):
            opts.quiet = True
        elif key == "--debug":
            opts.debug = True
        elif key in ("--help", "-h"):
            opts.help = True
        elif key in ("--version", "-V"):
            opts.version = True
        else:
            takes = spec = None
            if key == "--wait":
                takes = 1
            elif current is not None:
                spec = kind_options(current.kind)
            else:  # before any tool: known to some kind, checked once the tool is known
                for kind in KINDS:
                    known = kind_options(kind)
                    if key in known:
                        spec = known
            if spec is not None:
                takes = spec.get(key)
                if takes is not None and not isinstance(takes, int):  # a short name for `takes`
                    key = takes
                    takes = spec[key]
            if takes is None:
                where = " for %s" % current.name if current is not None else ""
                _error(opts, UsageError("unknown option '%s'%s" % (shown(arg), where)),
                       current)
                continue
            if takes and not eq:
                if i >= len(args):
                    _error(opts, UsageError("%s needs %s" % (key, "SECONDS" if key == "--wait" else "a value")),
                           current)
                    continue
                value = args[i]
                i += 1
            elif not takes and eq:
                _error(opts, UsageError("%s takes no value" % key), current)
                continue
            if key == "--wait":
                opts.wait = value
                continue
            if current is None:
                if not pending:
                    pending.append({})
                into = pending[0]
            else:
                into = own
            if takes == 2:
                into.setdefault(key, []).append(value)
            else:
                into[key] = value if takes else True
    if pending and opts.error is None:
        _error(opts, UsageError("no tool named: use one of %s" % ", ".join(NAMES)), None)
    return opts


def _error(opts, err, tool):
    if opts.error is None:
        err.tool = tool  # None: the program's own usage
        opts.error = err


def tool_and_args(argv):
    """(the tool that the program's name names, or None; the arguments)."""
    argv0 = argv[0] if argv else ""
    return find_tool(argv0[argv0.rfind("/") + 1:]), argv[1:]


def main(argv, getenv=None, stdout=None, stderr=None):
    """argv[0] (or argv[1]) names the tool. Returns the exit code (0 or 1)."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    tool, args = tool_and_args(argv)
    opts = parse_args(args, tool)
    quiet = opts.quiet and not opts.debug
    first = opts.checks[0][0] if opts.checks else None
    label = first.name if first is not None else PROGRAM
    try:
        if opts.help or opts.version or (not opts.checks and opts.error is None):
            from . import usage  # their text only: a check needs none of it

            emit(out, usage.asked_text(first.name if first is not None else None, opts, args))
            return 0
        if opts.error is not None:
            raise opts.error
        return answer(opts, getenv or _getenv, out, err, quiet)
    except UsageError as e:
        if not quiet:
            from .usage import usage  # only after an error

            tool = getattr(e, "tool", None) or first  # the check it is about
            emit(err, "%s: %s" % (tool.name if tool is not None else PROGRAM, e))
            emit(err, "usage: " + usage(tool.name if tool is not None else None))
        return 1
    except HealthcheckError as e:
        if not quiet:
            emit(err, "%s: %s" % (label, e))
        return 1
    except KeyboardInterrupt:  # Ctrl-C: a line and exit 1, not a traceback
        if not quiet:
            emit(err, "%s: interrupted" % label)
        return 1
    except MemoryError:
        if not quiet:
            emit(err, "%s: out of memory" % label)
        return 1
    except Exception as e:  # a bug must still end in exit 1 and one line
        if not quiet:
            emit(err, "%s: internal error: %s: %s" % (label, type(e).__name__, shown(str(e), 120)))
        return 1


def make_checks(opts, getenv):
    """[(tool, the kind's module, its check)]: each check's values expanded
    from the environment and handed to its kind's make_check. A UsageError
    names its tool (.tool)."""
    made = []
    for tool, positionals, options in opts.checks:
        try:
            if "$" in "".join(positionals) or (options and "$" in repr(options)):
                from .envsubst import expand_all  # only where a $ was written

                positionals, options = expand_all(positionals, options, getenv)
            # The kind's module, imported when a check of that kind is made (a
            # plain TCP check never imports the HTTP client); the static
            # build's bundle holds the kernel kind's already.
            name = KINDS[tool.kind][0]
            module = sys.modules.get(name)
            if module is None:
                __import__(name)  # which returns the package on MicroPython, whatever the fromlist
                module = sys.modules[name]
            made.append((tool, module, module.make_check(tool, positionals, options)))
        except UsageError as e:
            e.tool = tool
            raise
    return made


def run_checks(made, backend, explain):
    """[(tool, answer)] of the checks in order, up to the first that does
    not hold: every check must hold."""
    answers = []
    for tool, module, check in made:
        answer = module.run_check(check, backend, explain)
        answers.append((tool, answer))
        if not answer.ok:
            break
    return answers


def answer(opts, getenv, out, err, quiet):
    made = make_checks(opts, getenv)
    backend = getenv("HEALTHCHECK_BACKEND")
    explain = opts.debug
    if opts.wait is not None:
        from .wait import parse_seconds, wait_for  # --wait only: the clock stays out of a plain check

        ms = parse_seconds(opts.wait)
        answers = wait_for(lambda: run_checks(made, backend, explain), ms)
    else:
        answers = run_checks(made, backend, explain)
    ok = answers[-1][1].ok
    if explain:
        for tool, each in answers:
            for line in each.explain():
                emit(err, "%s debug: %s" % (tool.name, line))
    if not quiet:
        if len(answers) == 1 or not ok:
            line = answers[-1][1].reason  # the one check's, or the first that failed
        else:
            line = "; ".join([each.reason for _, each in answers])
            if len(line) > MAX_LINE:
                line = line[:MAX_LINE - 3] + "..."
        emit(out if ok else err, line)
    return 0 if ok else 1


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
    try:
        code = main(sys.argv)
    except KeyboardInterrupt:  # one that came between main's own handlers
        code = 1
    sys.exit(code)
