"""The in-process cost of one check, for the benchmark (process start-up is
hyperfine's part): run inside the benchmark's network namespace with the
venv's python.

    probe.py inproc --tool TCP --port P [--backend B] --warmup W --runs R [--max-seconds S]

Calls the healthcheck library in a loop inside this one interpreter.

Prints one JSON object: {"times": [seconds...], "exit_codes": [...], ...}.
Stops early (but after at least 10 runs) once --max-seconds of measuring is spent.
"""

import argparse
import json
import os
import sys
import time


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
    ap.add_argument("mode", choices=["inproc"])
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--max-seconds", type=float, default=20.0)
    ap.add_argument("--tool", default="TCP")
    ap.add_argument("--port", type=int)
    ap.add_argument("--backend", default=None)
    a = ap.parse_args()
    json.dump(inproc_loop(a.tool, a.port, a.backend, a.warmup, a.runs, a.max_seconds), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
