"""Command-line fuzz over real processes (run by test_cli_fuzz.py).

    python fuzz_runner.py < job.json > result.json

job: {"argv_prefix": [...], "bin_dir": DIR, "seed": N, "count": N,
      "workers": N, "timeout": S, "listen": true|false}

Runs `count` random argv vectors (vector i comes from random.Random of
(seed, i): any one is reproducible alone with vector(seed, i)) through the
tools in `bin_dir`, `workers` at a time, each with a timeout. With
"listen", the caller has opened LISTENERS in the network namespace it runs
in, and the in-process CPython cli.main() is the oracle for each exit code.
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

TOOLS = ("TCP", "UDP", "TCP6", "UDP6")
# Listeners in the fuzz namespace: (kind, family, address, port, v6only)
LISTENERS = [
    ("tcp", 4, "127.0.0.1", 8080, None),
    ("tcp", 6, "::", 8443, 0),
    ("tcp", 6, "::1", 9090, 1),
    ("udp", 4, "0.0.0.0", 5353, None),
    ("udp", 6, "::", 5354, 1),
]
PORTS = [8080, 8443, 9090, 5353, 5354, 1, 80, 65535]
ADDRESSES = ["127.0.0.1", "0.0.0.0", "10.0.0.1", "::", "::1", "::ffff:127.0.0.1", "fe80::1%lo",
             "1.2.3", "256.0.0.1", "01.2.3.4", "1::2::3", "::ffff:1.2.3.4.5", "FD00:0::1",
             "1:2:3:4:5:6:7:8:9", "[::1]", "127.0.0.1:80", " 127.0.0.1", "localhost"]
OPTIONS = ["--quiet", "-q", "--debug", "--help", "-h", "--version", "-V", "--", "-", "--port",
           "-x", "--QUIET", "--debug=1", "---", "-qd", "--external", "--accepting", "--wait=0", "--wait=x",
           "--wait=-1"]
NASTY = ["%s%n%x", "{0}", "\\x00", "'", '"', "$(id)", "`id`", "\u0661\u0662", "\u202e80",
         "\uff18\uff10", "8\u00a00", "80\n", "\t80", "80 ", "+80", "0x50", "1e3", "-1", "00080",
         "0", "65536", "99999999999999999999", "1,,2", ",80", "80,", "80,443," * 3]


def rand_bytes(rng, n):
    # argv strings cannot hold NUL
    return rng.randbytes(n).replace(b"\0", b"\x01")


def one_arg(rng, huge=True):
    kind = rng.randrange(16)
    if not huge and kind in (6, 7, 13):
        kind = 5
    if kind == 0:
        return str(rng.choice(PORTS)).encode()
    if kind == 1:
        return ",".join(str(rng.choice(PORTS)) for _ in range(rng.randrange(1, 6))).encode()
    if kind == 2:
        return rng.choice(ADDRESSES).encode()
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
    if kind == 9:
        return str(rng.randrange(-10, 70000)).encode()
    if kind == 10:
        return b"-" + rand_bytes(rng, rng.randrange(0, 10))
    if kind == 11:
        return ":".join("%x" % rng.randrange(0, 0x1FFFF) for _ in range(rng.randrange(1, 10))).encode()
    if kind == 12:
        return ".".join(str(rng.randrange(0, 300)) for _ in range(rng.randrange(1, 6))).encode()
    if kind == 13:
        return b"8" * rng.randrange(1, 20000)
    if kind == 14:
        s = bytearray(str(rng.choice(PORTS)).encode())
        s.insert(rng.randrange(len(s) + 1), rng.randrange(1, 256))
        return bytes(s)
    return b""


def vector(seed, i):
    """-> (tool, args as bytes, HEALTHCHECK_BACKEND or None)"""
    rng = random.Random(seed * 1000003 + i)
    tool = rng.choice(TOOLS)
    shape = rng.randrange(10)
    if shape == 0:
        args = [one_arg(rng, huge=False) for _ in range(rng.randrange(100, 3000))]  # many arguments
        args.insert(rng.randrange(len(args) + 1), one_arg(rng))
    elif shape < 4:  # mostly well-formed, so the answers are exercised too
        args = [str(rng.choice(PORTS)).encode()]
        if rng.random() < 0.5:
            args.append(rng.choice(ADDRESSES).encode())
        for _ in range(rng.randrange(0, 3)):
            args.insert(rng.randrange(len(args) + 1), rng.choice(OPTIONS[:3]).encode())
    else:
        args = [one_arg(rng) for _ in range(rng.randrange(0, 8))]
    while sum(len(a) + 1 for a in args) > 1500000:  # stay under ARG_MAX
        args.pop()
    backend = rng.choice([None, None, None, "netlink", "proc", "", "ebpf", "PROC", "\u00e9"])
    return tool, args, backend


def oracle(tool, args, backend):
    """Exit code, stdout, stderr of the in-process CPython cli.main()."""
    from healthcheck.cli import main

    out, err = io.StringIO(), io.StringIO()
    env = {} if backend is None else {"HEALTHCHECK_BACKEND": backend}
    code = main([tool] + [os.fsdecode(a) for a in args], env.get, out, err)
    return code, out.getvalue(), err.getvalue()


def has(args, flag):
    """Does the option parser see `flag` (before any "--")?"""
    return flag in (args[:args.index(b"--")] if b"--" in args else args)


def check(job, i):
    tool, args, backend = vector(job["seed"], i)
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
    if backend is not None:
        env["HEALTHCHECK_BACKEND"] = backend
    argv = job["argv_prefix"] + [os.path.join(job["bin_dir"], tool).encode()] + args
    start = time.monotonic()
    problems = []
    try:
        proc = subprocess.run(argv, capture_output=True, env=env, timeout=job["timeout"],
                              stdin=subprocess.DEVNULL)
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
        size = len(out) + len(err)
        debug = has(args, b"--debug")
        helping = any(has(args, flag) for flag in (b"--help", b"-h", b"--version", b"-V"))
        # --help and --version print what they were asked for, --quiet or not;
        # --debug wins over --quiet (README, Usage)
        if (has(args, b"--quiet") or has(args, b"-q")) and not helping and not debug:
            if size:
                problems.append("output despite --quiet")
        elif not debug and size > (2600 if helping else 400):
            problems.append("%d bytes of output" % size)
        if job.get("listen"):
            asked = backend
            if job.get("no_netlink") and not backend:
                asked = "proc"  # qemu-user refuses NETLINK_SOCK_DIAG: the binary falls back to /proc
            want, want_out, want_err = oracle(tool, args, asked)
            if job.get("no_netlink") and backend == "netlink" and rc == 1:
                # forced netlink where there is none: refused (said on stderr unless --quiet)
                want, want_out, want_err = 1, "", err.decode("utf-8", "replace")
            if rc != want:
                problems.append("exit %r, in-process cli.main says %r (%r)" % (rc, want, want_err[:200]))
            elif bool(out) != bool(want_out) or bool(err) != bool(want_err):
                problems.append("stdout/stderr use differs from cli.main")
    if not problems:
        return None, seconds
    return {"i": i, "tool": tool, "backend": backend, "args": [shorthex(a) for a in args[:12]],
            "nargs": len(args), "problems": problems, "rc": rc,
            "out": out[:300].decode("utf-8", "replace"), "err": err[:300].decode("utf-8", "replace")}, seconds


def shorthex(arg):
    return arg.hex() if len(arg) <= 40 else "%s...(%d bytes)" % (arg[:40].hex(), len(arg))


def main():
    job = json.load(sys.stdin)
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
