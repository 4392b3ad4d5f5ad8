"""Command-line fuzz over real processes (run by test_cli_fuzz.py).

    python fuzz_runner.py < job.json > result.json

job: {"argv_prefix": [...], "bin_dir": DIR, "names_dir": DIR, "cwd": DIR,
      "seed": N, "count": N, "workers": N, "timeout": S, "listen": true|false,
      "no_netlink": true|false}

Runs `count` random argv vectors (vector i comes from random.Random of
(seed, i): any one is reproducible alone with vector(seed, i)) through the
tools, `workers` at a time, each with a timeout, in `cwd` (where the unix
socket files of UNIX_LISTENERS are). The programs: every name of
healthcheck.tools.NAMES and `healthcheck` as `bin_dir` ships them, and
from `names_dir` the same names in other letter cases (links), any the
build does not ship, and RENAMED, a renamed copy that, like `healthcheck`,
takes the tool from its first argument. A tool's positionals come from
SHAPES by its name (a name not there gets PORTS [ADDRESS]), many of them
not UTF-8; a new name in NAMES is fuzzed with no edit here.

Every run: exit 0 or 1, no traceback or "internal error", nothing after
--quiet, one line under 200 bytes (and a "usage:" line after a usage
error; --help and --debug may say more), done within the timeout. With
"listen", the caller has opened LISTENERS and UNIX_LISTENERS in the network
namespace this runs in: the in-process CPython cli.main() is the oracle
for each exit code, and FACTS are questions whose answer is known.
Prints a JSON summary: failures (with the vector hex-encoded), max time.
"""

import io
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from healthcheck.tools import NAMES  # the package's one list of tool names

MULTI_CALL = "healthcheck"
RENAMED = "hc-renamed"  # a copy under a name that is no tool's
# Listeners in the fuzz namespace: (kind, family, address, port, v6only)
LISTENERS = [
    ("tcp", 4, "127.0.0.1", 8080, None),
    ("tcp", 6, "::", 8443, 0),
    ("tcp", 6, "::1", 9090, 1),
    ("udp", 4, "0.0.0.0", 5353, None),
    ("udp", 6, "::", 5354, 1),
]
# Unix sockets there: (kind, name, listens); a path is relative to job["cwd"]
UNIX_LISTENERS = [
    ("stream", b"fuzz.sock", True),
    ("dgram", b"fuzz-dgram.sock", True),
    ("stream", b"\xff.sock", True),
    ("stream", b"nolisten.sock", False),
    ("stream", b"@hc-fuzz", True),
    ("seqpacket", b"@\xff\xfe", True),
]
# (tool, positionals, exit code, also on /proc). Not UDP 5354: on /proc its
# v6only is assumed from bindv6only, as documented. /proc matches a unix
# path by the name it was bound to (absolute, here), not by the file.
FACTS = [
    ("TCP", [b"8080"], 0, True), ("TCP", [b"8080", b"127.0.0.1"], 0, True), ("TCP", [b"9090"], 1, True),
    ("TCP6", [b"9090"], 0, True), ("TCP", [b"8443"], 0, True), ("TCP6", [b"8443", b"::"], 0, True),
    ("TCP", [b"80"], 1, True), ("UDP", [b"5353"], 0, True), ("UDP6", [b"5354"], 0, True),
    ("UDP6", [b"5353"], 1, True), ("UNIX", [b"@hc-fuzz"], 0, True), ("UNIX", [b"@\xff\xfe"], 0, True),
    ("UNIX", [b"@\xff\xfd"], 1, True), ("UNIX", [b"nolisten.sock"], 1, True),
    ("UNIX", [b"missing-\xff.sock"], 1, True), ("UNIX", [b"fuzz.sock"], 0, False),
    ("UNIX", [b"./fuzz.sock"], 0, False), ("UNIX", [b"fuzz-dgram.sock"], 0, False),
    ("UNIX", [b"\xff.sock"], 0, False),
]
PORTS = [8080, 8443, 9090, 5353, 5354, 1, 80, 65535]
ADDRESSES = ["127.0.0.1", "0.0.0.0", "10.0.0.1", "::", "::1", "::ffff:127.0.0.1", "fe80::1%lo",
             "1.2.3", "256.0.0.1", "01.2.3.4", "1::2::3", "::ffff:1.2.3.4.5", "FD00:0::1",
             "1:2:3:4:5:6:7:8:9", "[::1]", "127.0.0.1:80", " 127.0.0.1", "localhost"]
UNIX_NAMES = [b"fuzz.sock", b"./fuzz.sock", b"fuzz-dgram.sock", b"\xff.sock", b"nolisten.sock", b"@hc-fuzz",
              b"@\xff\xfe", b"/tmp/\xff.sock", b"@", b"@hc-fuzz\xff", b"@\xc3\x28", b"/", b".", b"/dev/null",
              b"/proc/self/fd/0", b"/nonexistent/x.sock", b"fuzz.sock/", b"\xc3\x28.sock", b"~/x.sock",
              b"missing-\xff.sock", b"/tmp/" + b"\xff" * 120, b"@" + b"\xfe" * 120, b"x" * 5000, b"-"]
HTTP_TARGETS = [b"8080/healthz", b"8080", b"8080/", b"8080/\xff\xfe", b"http://127.0.0.1:8080/",
                b"http://[::1]:8443/x", b"http://localhost/\xff", b"https://127.0.0.1/", b"http://\xff/",
                b"http://127.0.0.1:99999/", b"ftp://127.0.0.1/", b"8080?x=\xc3\x28"]
OPTIONS = ["--quiet", "-q", "--debug", "--help", "-h", "--version", "-V", "--", "-", "--port",
           "-x", "--QUIET", "--debug=1", "---", "-qd", "--external", "--accepting", "--wait=0", "--wait=x",
           "--wait=-1"]
NASTY = ["%s%n%x", "{0}", "\\x00", "'", '"', "$(id)", "`id`", "\u0661\u0662", "\u202e80",
         "\uff18\uff10", "8\u00a00", "80\n", "\t80", "80 ", "+80", "0x50", "1e3", "-1", "00080",
         "0", "65536", "99999999999999999999", "1,,2", ",80", "80,", "80,443," * 3]
# Not UTF-8: lone and truncated sequences, overlong forms, encoded surrogates
NOT_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
            b"80\xff", b"\xff80", b"8080,\xfe", b"127.0.0.1\xff", b"::1\xff", b"\xff::1", b"1.2.3.\xc3",
            b"--wait=\xff", b"--\xff", b"-\xff", b"--debug\xff", b"--qu\xffiet", b"--wait", b"\x80"]
BACKENDS = [None, None, None, "netlink", "proc", "", "ebpf", "PROC", "\u00e9", "proc\udcff"]
LOCALES = [None, "C", "C.UTF-8"]  # None: no locale variable at all


def rand_bytes(rng, n):
    # argv strings cannot hold NUL
    return rng.randbytes(n).replace(b"\0", b"\x01")


def spoil(rng, arg):
    """`arg` with a byte of 0x80-0xFF put in somewhere: no longer UTF-8."""
    s = bytearray(arg)
    s.insert(rng.randrange(len(s) + 1), rng.randrange(0x80, 0x100))
    return bytes(s)


# -- positionals by tool name ------------------------------------------------
def port_positional(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.choice(PORTS)).encode()
    if kind == 1:
        return ",".join(str(rng.choice(PORTS)) for _ in range(rng.randrange(1, 6))).encode()
    if kind == 2:
        return rng.choice(ADDRESSES).encode()
    if kind == 3:
        return str(rng.randrange(-10, 70000)).encode()
    if kind == 4:
        return ":".join("%x" % rng.randrange(0, 0x1FFFF) for _ in range(rng.randrange(1, 10))).encode()
    return ".".join(str(rng.randrange(0, 300)) for _ in range(rng.randrange(1, 6))).encode()


def port_question(rng):
    args = [str(rng.choice(PORTS)).encode()]
    if rng.random() < 0.5:
        args.append(rng.choice(ADDRESSES).encode())
    return args


def unix_positional(rng):
    return rng.choice(UNIX_NAMES)


def unix_question(rng):
    return [unix_positional(rng)]


def http_positional(rng):
    return rng.choice(HTTP_TARGETS) if rng.random() < 0.7 else port_positional(rng)


def http_question(rng):
    args = [rng.choice(HTTP_TARGETS)]
    if rng.random() < 0.3:
        args.append(rng.choice(ADDRESSES).encode())
    return args


class Shape:
    """What a tool's positionals look like: `positional` makes one
    (plausible or not), `question` a well-formed list of them."""

    def __init__(self, positional, question):
        self.positional, self.question = positional, question


PORTS_SHAPE = Shape(port_positional, port_question)  # PORTS [ADDRESS]: TCP, UDP, ..., GRPC
SHAPES = {"UNIX": Shape(unix_positional, unix_question),  # PATH|@NAME
          "HTTP": Shape(http_positional, http_question),  # PORT[/PATH] [ADDRESS] | URL
          "HTTPS": Shape(http_positional, http_question)}


def shape_of(tool):
    return SHAPES.get(tool, PORTS_SHAPE)


def one_arg(rng, shape, huge=True):
    kind = rng.randrange(17)
    if not huge and kind in (6, 7, 13):
        kind = 5
    if kind in (0, 1, 2):
        return shape.positional(rng)
    if kind == 3:
        return rng.choice(OPTIONS).encode()
    if kind == 4:
        return rng.choice(NASTY).encode("utf-8")
    if kind == 5:
        return rand_bytes(rng, rng.randrange(1, 40))  # mostly not UTF-8
    if kind == 6:
        return rand_bytes(rng, rng.randrange(1000, 100000))  # huge, below MAX_ARG_STRLEN
    if kind == 7:
        return ((str(rng.randrange(1, 65536)) + ",") * rng.randrange(1, 3000) + "1").encode()
    if kind == 8:
        return "".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(rng.randrange(1, 30))).encode(
            "utf-8", "surrogatepass")
    if kind in (9, 15):
        return rng.choice(NOT_UTF8)
    if kind == 10:
        return b"-" + rand_bytes(rng, rng.randrange(0, 10))
    if kind == 11:
        return spoil(rng, shape.positional(rng))
    if kind == 12:
        return spoil(rng, rng.choice(OPTIONS).encode())
    if kind == 13:
        return b"8" * rng.randrange(1, 20000)
    if kind == 14:
        return rng.choice(NAMES).lower().encode()  # a tool name where an argument belongs
    return b""


# -- the program and the tool's name -----------------------------------------
def case_variants(name):
    """The other spellings of a tool's name the fuzz starts it under."""
    return [name.lower(), name[:1] + name[1:].lower()]


def program_path(job, prog):
    """What the build ships (its tools, `healthcheck`), else the caller's link."""
    path = os.path.join(job["bin_dir"], prog)
    return path if os.path.exists(path) else os.path.join(job["names_dir"], prog)


def spelled(rng, tool):
    """A tool's name as a user might write it (any letter case), or not quite."""
    how = rng.randrange(6)
    if how == 0:
        return tool.encode()
    if how == 1:
        return tool.lower().encode()
    if how == 2:
        return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in tool).encode()
    if how == 3:
        return spoil(rng, tool.encode())
    if how == 4:
        return rng.choice(NOT_UTF8 + [b"", b"-", b"--help", b"--quiet", MULTI_CALL.encode(), RENAMED.encode()])
    return tool.encode() + rng.choice([b"6", b"x", b" ", b"\xff"])


def program(rng, tool):
    """-> (program name, arguments before the tool's own): the tool's own
    name in any letter case, or a multi-call name and the tool's name."""
    how = rng.randrange(5)
    if how < 2:
        return tool, []
    if how == 2:
        return rng.choice(case_variants(tool)), []
    prog = rng.choice([MULTI_CALL, RENAMED])
    lead = [rng.choice([b"--quiet", b"--debug", b"--wait", b"-x", b"\xff"])] if rng.random() < 0.15 else []
    return prog, lead + [spelled(rng, tool)]


def vector(seed, i):
    """-> {"prog", "args" (bytes), "backend" (None or str), "locale", "want"}:
    `want` is (exit code, also on /proc) of a FACTS question, else None."""
    rng = random.Random(seed * 1000003 + i)
    form = rng.randrange(12)
    want = None
    if form == 11:
        tool, positionals, want, on_proc = rng.choice(FACTS)
        prog = rng.choice([tool, MULTI_CALL, RENAMED] + case_variants(tool))
        lead = [] if prog.upper() == tool else [rng.choice([tool] + case_variants(tool)).encode()]
        args = lead + positionals
        if rng.random() < 0.5:
            args.insert(rng.randrange(len(lead), len(args) + 1), rng.choice([b"--quiet", b"--debug", b"-q"]))
        backend = rng.choice([None, "netlink", "proc"])
        want = (want, on_proc)
    else:
        tool = rng.choice(NAMES)
        prog, args = program(rng, tool)
        shape = shape_of(tool)
        if form == 0:
            more = [one_arg(rng, shape, huge=False) for _ in range(rng.randrange(100, 3000))]  # many arguments
            more.insert(rng.randrange(len(more) + 1), one_arg(rng, shape))
        elif form < 4:  # mostly well-formed, so the answers are exercised too
            more = shape.question(rng)
            for _ in range(rng.randrange(0, 3)):
                more.insert(rng.randrange(len(more) + 1), rng.choice(OPTIONS[:3]).encode())
            if form == 3:  # and with bytes that are not UTF-8 somewhere
                j = rng.randrange(len(more))
                more[j] = spoil(rng, more[j])
        else:
            more = [one_arg(rng, shape) for _ in range(rng.randrange(0, 8))]
        args += more
        while sum(len(a) + 1 for a in args) > 1500000:  # stay under ARG_MAX
            args.pop()
        backend = rng.choice(BACKENDS)
    return {"prog": prog, "args": args, "backend": backend, "locale": rng.choice(LOCALES), "want": want}


def oracle(prog, args, backend):
    """Exit code, stdout, stderr of the in-process CPython cli.main()."""
    from healthcheck.cli import main

    out, err = io.StringIO(), io.StringIO()
    env = {} if backend is None else {"HEALTHCHECK_BACKEND": backend}
    code = main([prog] + [os.fsdecode(a) for a in args], env.get, out, err)
    return code, out.getvalue(), err.getvalue()


def has(args, flag):
    """Does the option parser see `flag`: before any "--", and not as the
    value of a "--wait"?"""
    i = 0
    while i < len(args) and args[i] != b"--":
        if args[i] == flag:
            return True
        i += 2 if args[i] == b"--wait" else 1
    return False


def output_problems(rc, out, err, args):
    """What the output breaks of the one-line rule (docs/rules.md, Output)."""
    debug = has(args, b"--debug")
    helping = any(has(args, flag) for flag in (b"--help", b"-h", b"--version", b"-V"))
    # --help and --version print what they were asked for, --quiet or not;
    # --debug wins over --quiet (README, Usage)
    if (has(args, b"--quiet") or has(args, b"-q")) and not helping and not debug:
        return ["output despite --quiet"] if out or err else []
    if helping:
        return ["%d bytes of help" % (len(out) + len(err))] if len(out) + len(err) > 2600 else []
    if debug:
        return []
    lines = (out + err).split(b"\n")
    if lines[-1] != b"" or len(lines) < 2:
        return ["not one line: %r" % (out + err)[:100]]
    lines.pop()
    problems = []
    if len(lines) > 2 or (len(lines) == 2 and not lines[1].startswith(b"usage: ")):
        problems.append("%d lines" % len(lines))
    if len(lines[0]) >= 200:
        problems.append("a line of %d bytes" % len(lines[0]))
    if rc == 0 and (err or not out) or rc == 1 and out:
        problems.append("exit %d with stdout %d bytes, stderr %d bytes" % (rc, len(out), len(err)))
    return problems


def check(job, i):
    v = vector(job["seed"], i)
    prog, args, backend = v["prog"], v["args"], v["backend"]
    env = {"PATH": "/usr/bin:/bin"}
    if v["locale"] is not None:
        env["LC_ALL"] = v["locale"]
    if backend is not None:
        env["HEALTHCHECK_BACKEND"] = os.fsencode(backend)
    argv = job["argv_prefix"] + [program_path(job, prog).encode()] + args
    start = time.monotonic()
    problems = []
    try:
        proc = subprocess.run(argv, capture_output=True, env=env, timeout=job["timeout"],
                              stdin=subprocess.DEVNULL, cwd=job["cwd"])
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired:
        rc, out, err = None, b"", b""
        problems.append("no exit within %ss" % job["timeout"])
    seconds = time.monotonic() - start
    if rc is not None:
        if rc not in (0, 1):
            problems.append("exit code %r" % rc)
        for word in (b"Traceback", b"internal error", b"MemoryError", b"out of memory", b"FATAL"):
            if word in out or word in err:
                problems.append("%r in the output" % word.decode())
        problems += output_problems(rc, out, err, args)
        if job.get("listen"):
            asked = backend
            if job.get("no_netlink") and not backend:
                asked = "proc"  # qemu-user refuses NETLINK_SOCK_DIAG: the binary falls back to /proc
            want, want_out, want_err = oracle(prog, args, asked)
            if job.get("no_netlink") and backend == "netlink" and rc == 1:
                # forced netlink where there is none: refused (said on stderr unless --quiet)
                want, want_out, want_err = 1, "", err.decode("utf-8", "replace")
            if rc != want:
                problems.append("exit %r, in-process cli.main says %r (%r)" % (rc, want, want_err[:200]))
            elif bool(out) != bool(want_out) or bool(err) != bool(want_err):
                problems.append("stdout/stderr use differs from cli.main")
            if v["want"] is not None:
                known, on_proc = v["want"]
                if job.get("no_netlink") and backend == "netlink":
                    known = 1  # refused
                elif asked == "proc" and not on_proc:
                    known = None
                if known is not None and rc != known:
                    problems.append("exit %r, the listeners say %r" % (rc, known))
    if not problems:
        return None, seconds
    return {"i": i, "prog": prog, "backend": backend, "locale": v["locale"], "args": [shorthex(a) for a in args[:12]],
            "argv": shortrepr([prog.encode()] + args), "nargs": len(args), "problems": problems, "rc": rc,
            "out": out[:300].decode("utf-8", "replace"), "err": err[:300].decode("utf-8", "replace")}, seconds


def shorthex(arg):
    return arg.hex() if len(arg) <= 40 else "%s...(%d bytes)" % (arg[:40].hex(), len(arg))


def shortrepr(argv):
    """The command line as Python bytes literals, long ones cut: what to type to run it again."""
    if len(argv) > 12:
        argv = argv[:12] + [b"...(%d arguments)" % len(argv)]
    return " ".join(repr(a) if len(a) <= 60 else "%r...(%d bytes)" % (a[:60], len(a)) for a in argv)


def main():
    job = json.load(sys.stdin)
    os.chdir(job["cwd"])  # the oracle's relative unix paths are the tools'
    failures, times = [], []
    with ThreadPoolExecutor(job["workers"]) as pool:
        for failure, seconds in pool.map(lambda i: check(job, i), range(job["count"])):
            times.append(seconds)
            if failure:
                failures.append(failure)
    times.sort()
    json.dump({"count": len(times), "failures": failures[:50], "nfailures": len(failures),
               "max_seconds": times[-1], "median_seconds": times[len(times) // 2],
               "total_seconds": sum(times)}, sys.stdout)


if __name__ == "__main__":
    main()
