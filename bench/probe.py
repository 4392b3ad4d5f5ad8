"""Timing probes for the benchmark; run inside the benchmark's network namespace.

    probe.py spawn --warmup W --runs R [--max-seconds S] -- ARGV...
        One process per run (posix_spawn + waitpid, stdout/stderr to /dev/null),
        wall time per run. Used when hyperfine is not installed.
    probe.py inproc --tool TCP --port P [--backend B] --warmup W --runs R [--max-seconds S]
        The in-process cost of one check: calls the healthcheck library in a loop
        inside this one interpreter (run it with the venv's python).

Prints one JSON object: {"times": [seconds...], "exit_codes": [...], ...}.
Stops early (but after at least 10 runs) once --max-seconds of measuring is spent.
"""

import argparse
import json
import os
import sys
import time


def spawn_loop(argv, warmup, runs, max_seconds):
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [
        (os.POSIX_SPAWN_DUP2, devnull, 0),
        (os.POSIX_SPAWN_DUP2, devnull, 1),
        (os.POSIX_SPAWN_DUP2, devnull, 2),
    ]
    env = dict(os.environ)
    times, codes = [], []
    clock = time.perf_counter
    deadline = None
    for i in range(warmup + runs):
        if i == warmup:
            deadline = clock() + max_seconds
        t0 = clock()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        t1 = clock()
        if i >= warmup:
            times.append(t1 - t0)
            codes.append(os.waitstatus_to_exitcode(status))
            if len(times) >= 10 and t1 > deadline:
                break
    return {"times": times, "exit_codes": codes}


def make_checker(tool, port, backend):
    """Return a no-argument callable doing one check, adapting to the library's API."""
    import healthcheck

    if hasattr(healthcheck, "check"):
        fn = healthcheck.check

        def once():
            v = fn(tool, [port], None, backend)
            return 0 if getattr(v, "ok", v) else 1

        return once, "healthcheck.check(%r, [%d], None, %r)" % (tool, port, backend)
    raise SystemExit("probe: healthcheck has no check() function; adapt bench/probe.py")


def inproc_loop(tool, port, backend, warmup, runs, max_seconds):
    if backend:
        os.environ["HEALTHCHECK_BACKEND"] = backend
    once, call = make_checker(tool, port, backend)
    clock = time.perf_counter
    for _ in range(warmup):
        once()
    times, codes = [], []
    deadline = clock() + max_seconds
    for _ in range(runs):
        t0 = clock()
        code = once()
        t1 = clock()
        times.append(t1 - t0)
        codes.append(code)
        if len(times) >= 10 and t1 > deadline:
            break
    return {"times": times, "exit_codes": codes, "call": call}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["spawn", "inproc"])
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--max-seconds", type=float, default=20.0)
    ap.add_argument("--tool", default="TCP")
    ap.add_argument("--port", type=int)
    ap.add_argument("--backend", default=None)
    args = sys.argv[1:]
    cut = args.index("--") if "--" in args else len(args)
    a = ap.parse_args(args[:cut])
    a.argv = args[cut + 1:]
    if a.mode == "spawn":
        out = spawn_loop(a.argv, a.warmup, a.runs, a.max_seconds)
    else:
        out = inproc_loop(a.tool, a.port, a.backend, a.warmup, a.runs, a.max_seconds)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
