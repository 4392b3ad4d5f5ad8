#!/usr/bin/env python3
"""Benchmark of one health check, per process, against growing socket tables.

Run as root (it makes its own network namespace):
    python3 bench/run.py            full run: N = 0, 1k, 10k, 50k; M = 10k UDP;
                                    writes docs/bench.md, docs/bench.png, docs/bench.json
    python3 bench/run.py --smoke    N = 0, 1k; M = 1k; few runs; writes to a temp dir
                                    (or --out DIR); exit 0 if the harness worked
    HEALTHCHECK_DIST=DIR                the static binaries from DIR/linux-ARCH/healthcheck
                                        (as for the tests; default dist/)

Inside a fresh namespace "hcbench-<pid>" (tests/harness.py) holders open a TCP
listener on 0.0.0.0, a dual-stack one on [::], a bound UDP socket, then N
established loopback TCP connections (both ends held, at most ~9,000 pairs a
holder, SO_LINGER 0 so closing resets them) and, for the UDP case, M more bound
UDP sockets. For each N every method is first checked for the right answer
(listening port -> 0, closed port -> 1), then timed one process per check by
hyperfine -N, from a driver that has already entered the namespace.

HTTP, HTTPS and GRPC last, each against its server on 127.0.0.1 in a namespace
of its own ("hcbench-<pid>h", "...s", "...g"): busybox httpd asked by `HTTP
PORT/healthz`, a C floor doing only the exchange, busybox wget and curl;
openssl s_server -HTTP (self-signed certificate made for the run) asked by
`HTTPS PORT/healthz` and `curl -k`; the tests' grpcio health server asked by
`GRPC PORT` and by Python's grpcio client (bench/grpc_client.py, a process per
check); `TCP PORT` beside each. Every such check leaves a TIME_WAIT socket on one
side; deleting the namespace purges them, and they never reach the rows of
/proc/net/tcp the TCP checks above read.

Timing figures are reported, never asserted. Exit status: 0 when the harness
worked (missing methods are skipped with a note), 1 when it broke (namespace,
holders, a method giving a wrong answer, a timeout).
"""

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import report  # noqa: E402

from tests.harness import ARCH, DIST, ROOT, HarnessError, Netns, clean_env, run  # noqa: E402

BENCH = ROOT / "bench"
# Every timed method runs on the same CPU (hyperfine and its child: taskset),
# the last one: no migration between CPUs in the middle of a check, whose
# cost then differs by method (the larger the program, the more it pays).
PIN = ["taskset", "-c", str((os.cpu_count() or 1) - 1)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []
P4, P6, PU, PH, PS, PG, PCLOSED = 18080, 18081, 18082, 18083, 18084, 18085, 18099  # below the ephemeral range
# The server's own no, asked of the live server before timing (verify): an HTTP(S) 404, a
# gRPC service the server reports NOT_SERVING.
NO_ARG = {"http": "/missing", "https": "/missing", "grpc": "down"}
T0 = time.monotonic()
SMOKE = dict(Ns=[0, 1000], M=1000, other_ns=1000, rounds=1, warmup=3, min_runs=5, max_runs=30, budget_s=0.25,
             inproc_warmup=5, inproc_runs=50, phase_timeout=60, deadline=240)
FULL = dict(Ns=[0, 1000, 10000, 50000], M=10000, other_ns=10000, rounds=9, warmup=10, min_runs=40, max_runs=1500,
            budget_s=3.0, inproc_warmup=50, inproc_runs=2000, phase_timeout=300, deadline=900)


def log(msg):
    print("[bench %6.1fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


# ---------------------------------------------------------------- setup
def kernel_header_dir(work):
    """musl-gcc sees no kernel headers: point it at the system's linux/, asm/, asm-generic/."""
    inc = work / "kinc"
    inc.mkdir(exist_ok=True)
    arch = ""
    for cc in ("gcc", "cc"):
        if shutil.which(cc):
            arch = run([cc, "-print-multiarch"]).out.strip()
            if arch:
                break
    asm = Path("/usr/include") / arch / "asm" if arch else None
    if not asm or not asm.is_dir():
        cands = sorted(Path("/usr/include").glob("*/asm"))
        asm = cands[0] if cands else Path("/usr/include/asm")
    for name, target in (("linux", Path("/usr/include/linux")), ("asm", asm),
                         ("asm-generic", Path("/usr/include/asm-generic"))):
        (inc / name).symlink_to(target)
    return inc


def build_floors(work):
    cc = shutil.which("musl-gcc")
    note = "musl-gcc -static -O2"
    if not cc:  # bench-deps names musl-tools; run.py alone still works with the system's cc
        cc, note = (shutil.which("cc") or "gcc"), "cc -static -O2 (musl-gcc not found: Debian package musl-tools)"
    inc = kernel_header_dir(work)
    out = {}
    for name in ("floor_netlink", "floor_empty", "floor_connect", "floor_http"):
        exe = work / name
        run([cc, "-static", "-O2", "-Wall", "-idirafter", str(inc), "-o", str(exe),
             str(BENCH / (name + ".c"))], timeout=120, check=True)
        run(["strip", str(exe)])
        out[name] = exe
    return out, note


def clean_install(work, notes):
    """A venv like a user's: the package installed from a copy of the source (regular, not
    editable: no coverage or editable .pth files), with the dev venv's base interpreter."""
    base = sys.executable
    cfg = ROOT / ".venv" / "pyvenv.cfg"
    if cfg.exists():
        for line in cfg.read_text().splitlines():
            if line.startswith("executable") and "=" in line:
                base = line.split("=", 1)[1].strip()
    src = work / "src-copy"
    try:
        shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        for f in ("pyproject.toml", "README.md", "LICENSE"):
            if (ROOT / f).exists():
                shutil.copy(ROOT / f, src / f)
        venv = work / "user-venv"
        run([base, "-m", "venv", "--without-pip", str(venv)], timeout=120, check=True)
        run([str(ROOT / ".venv" / "bin" / "python"), "-m", "pip", "--python", str(venv / "bin" / "python"),
             "install", "--quiet", "--no-deps", "--no-cache-dir", str(src)], timeout=300, check=True)
        return venv / "bin"
    except (HarnessError, OSError) as e:
        notes.append("clean-venv install failed, that row is left out: %s" % str(e)[-300:])
        return None


def make_methods(floors, notes, user_bin=None):
    dist = DIST / ("linux-" + ARCH) / "healthcheck"
    venv = ROOT / ".venv" / "bin"
    ss = shutil.which("ss")
    fl, fe, fc = str(floors["floor_netlink"]), str(floors["floor_empty"]), str(floors["floor_connect"])
    M = []

    def add(key, label, group, exe, args_for, extra_env=None, checks="exit", fails=(1, 1)):
        """fails: the exit codes for a closed port and (HTTP) for a 404."""
        if exe is None or not Path(exe).exists():
            notes.append("missing: %s (%s not measured)" % (exe, label))
            return
        M.append(dict(key=key, label=label, group=group, exe=str(exe), args_for=args_for,
                      env=extra_env or {}, checks=checks, fails=fails))

    for proto, tool in (("tcp", "TCP"), ("udp", "UDP")):
        g = proto
        add(g + "-static", "static binary (netlink)", g, dist / tool, lambda p: [str(p)])
        add(g + "-static-proc", "static binary, HEALTHCHECK_BACKEND=proc", g, dist / tool,
            lambda p: [str(p)], {"HEALTHCHECK_BACKEND": "proc"})
        # A failing check (nothing on the port) must read the whole table: no early exit.
        add(g + "-static-closed", "static binary, port not listening (exit 1)", g, dist / tool,
            lambda p: [str(PCLOSED)], checks="closed")
        add(g + "-static-proc-closed", "static binary, proc, port not listening (exit 1)", g,
            dist / tool, lambda p: [str(PCLOSED)], {"HEALTHCHECK_BACKEND": "proc"}, checks="closed")
        add(g + "-cpython", "CPython console script (dev venv, editable)", g, venv / tool, lambda p: [str(p)])
        if user_bin:
            add(g + "-cpython-clean", "CPython console script (clean venv, regular install)", g,
                user_bin / tool, lambda p: [str(p)])
        flag = "-Hltn" if proto == "tcp" else "-Hlun"
        add(g + "-ss", "ss %s 'sport = :PORT'" % flag, g, ss,
            lambda p, f=flag: [f, "sport = :%d" % p], checks="ss")
        add(g + "-floor", "C floor: netlink query", g, fl, lambda p, pr=proto: [pr, str(p)])
        add(g + "-floor-closed", "C floor: netlink query, port not listening (exit 1)", g, fl,
            lambda p, pr=proto: [pr, str(PCLOSED)], checks="closed")
        # The tools ask the kernel's lookup first, the dumps only when it finds no wildcard socket
        # (docs/rules.md, "Asking the kernel"): a C program asking the same, for a fair comparison.
        add(g + "-floor-lookup", "C: the tools' question (lookup, then dumps)", g, fl,
            lambda p, pr=proto: [pr, str(p), "-l"] + (["-b"] if pr == "udp" else []))
        add(g + "-floor-lookup-closed", "C: the tools' question, port not listening (exit 1)", g, fl,
            lambda p, pr=proto: [pr, str(PCLOSED), "-l"] + (["-b"] if pr == "udp" else []), checks="closed")
        if proto == "tcp":  # a connect() says nothing about UDP
            add(g + "-connect", "C connect() probe (127.0.0.1)", g, fc, lambda p: [str(p)])
            add(g + "-connect-closed", "C connect() probe, port not listening (exit 1)", g, fc,
                lambda p: [str(PCLOSED)], checks="closed")
        if proto == "udp":
            add(g + "-floor-bc", "C floor: netlink query + port bytecode filter", g, fl,
                lambda p: ["udp", str(p), "-b"])
        add(g + "-empty", "C floor: empty process", g, fe, lambda p: [], checks="none")

    # HTTP against busybox httpd on 127.0.0.1 (measure_served): args_for(port, path).
    def url(p, path):
        return "http://127.0.0.1:%d%s" % (p, path)

    bb, curl = shutil.which("busybox"), shutil.which("curl")
    add("http-static", "static binary `HTTP PORT/healthz`", "http", dist / "HTTP",
        lambda p, path="/healthz": ["%d%s" % (p, path)])
    add("http-static-tcp", "static binary `TCP PORT` (the kernel's answer alone)", "http", dist / "TCP",
        lambda p, path=None: [str(p)], checks="kernel")
    add("http-floor", "C HTTP floor: connect, GET, status line", "http", floors["floor_http"],
        lambda p, path="/healthz": [str(p), path])
    add("http-floor-kernel", "C HTTP floor asking the kernel first (floor_netlink's question, then the same GET)",
        "http", floors["floor_http"], lambda p, path="/healthz": [str(p), path, "-k"])
    add("http-wget", "busybox wget -q -O /dev/null URL", "http", bb,
        lambda p, path="/healthz": ["wget", "-q", "-O", "/dev/null", url(p, path)])
    # curl -f: exit 7 when it cannot connect, 22 for a status of 400 or more
    add("http-curl", "curl -fsS -o /dev/null URL", "http", curl,
        lambda p, path="/healthz": ["-fsS", "-o", "/dev/null", url(p, path)], fails=(7, 22))

    # HTTPS against openssl s_server on 127.0.0.1 (measure_served): args_for(port, path).
    add("https-static", "static binary `HTTPS PORT/healthz` (healthcheck-tls)", "https", dist / "HTTPS",
        lambda p, path="/healthz": ["%d%s" % (p, path)])
    add("https-static-tcp", "static binary `TCP PORT` (the kernel's answer alone)", "https", dist / "TCP",
        lambda p, path=None: [str(p)], checks="kernel")
    add("https-curl", "curl -k -fsS -o /dev/null https://127.0.0.1:PORT/healthz", "https", curl,
        lambda p, path="/healthz": ["-k", "-fsS", "-o", "/dev/null", "https://127.0.0.1:%d%s" % (p, path)],
        fails=(7, 22))

    # gRPC health against a grpcio server on 127.0.0.1 (measure_served): args_for(port, service).
    add("grpc-static", "static binary `GRPC PORT`", "grpc", dist / "GRPC",
        lambda p, svc=None: [str(p)] + (["--service", svc] if svc else []))
    add("grpc-static-tcp", "static binary `TCP PORT` (the kernel's answer alone)", "grpc", dist / "TCP",
        lambda p, svc=None: [str(p)], checks="kernel")
    # One process per check, as a health check runs; the dev venv has grpcio (test extras).
    client = str(BENCH / "grpc_client.py")
    if grpc_importable(venv / "python"):
        add("grpc-grpcio", "Python grpcio client (`HealthStub.Check`, one process each)", "grpc", venv / "python",
            lambda p, svc=None: [client, str(p)] + ([svc] if svc else []))
    else:
        notes.append("missing: %s with grpcio and grpcio-health-checking (the test extras: the Python "
                     "grpcio client and the gRPC server are not run)" % (venv / "python"))
    return M


def grpc_importable(py):
    return py.exists() and run([str(py), "-c", "import grpc, grpc_health.v1.health_pb2_grpc"], cwd="/").rc == 0


def verify(ns, m, listening_ports):
    """The method must answer right before it is timed. Returns a rough seconds/run: the best of
    the cases with the timed answer (a closed port or a 404 can cost far less than the answer
    timed, an HTTPS handshake or a gRPC call, and would make the budget buy far too many runs)."""
    closed_rc, missing_rc = m["fails"]
    cases = [(p, (), 0) for p in listening_ports] + [(PCLOSED, (), closed_rc)]
    if m["group"] in NO_ARG and m["checks"] == "exit":  # the server's no: a 404, NOT_SERVING
        cases.append((listening_ports[0], (NO_ARG[m["group"]],), missing_rc))
    if m["checks"] == "closed":  # argv always names the closed port
        cases, m = [(PCLOSED, (), closed_rc)], dict(m, checks="exit")
    if m["checks"] == "kernel":  # only the kernel is asked: any answer from the server is a yes
        m = dict(m, checks="exit")
    t_best, timed_rc = None, cases[0][2]
    for port, path, want in cases:
        p = ns.run([m["exe"]] + m["args_for"](port, *path), clean_env(**m["env"]), timeout=60, cwd="/")
        if want == timed_rc:
            t_best = p.seconds if t_best is None else min(t_best, p.seconds)
        if m["checks"] == "exit" and p.rc != want:
            raise HarnessError("wrong answer: %s on port %d%s exited %d, expected %d\n%s%s" % (
                m["label"], port, "".join(path), p.rc, want, p.out, p.err))
        if m["checks"] == "ss":
            found = (":%d " % port) in (p.out + " ")
            if p.rc != 0 or found != (want == 0):
                raise HarnessError("wrong answer: %s on port %d: %r" % (m["label"], port, p.out))
        if m["checks"] == "none":
            break
    return t_best


# ---------------------------------------------------------------- timing
def stats(times_s):
    ts = sorted(t * 1000.0 for t in times_s)
    deciles = statistics.quantiles(ts * 2 if len(ts) == 1 else ts, n=10, method="inclusive")
    return {"median": statistics.median(ts), "mean": statistics.fmean(ts),
            "stdev": statistics.stdev(ts) if len(ts) > 1 else 0.0, "p10": deciles[0],
            "p90": deciles[-1], "min": ts[0], "max": ts[-1], "runs": len(ts)}


class Timer:
    """hyperfine -N inside the namespace, a budget of seconds per method and round."""

    def __init__(self, ns, cfg, work):
        self.ns, self.cfg, self.work = ns, cfg, work
        self.k = 0
        self.misses = {}

    def runs_for(self, rough_s, rounds=None):
        """(runs, warm-up runs) for one round. The budget is split over the rounds (methods
        interleaved, so background load is shared); a slow method (>= 0.1 s a check: the /proc
        backend on a big table) gets fewer runs, at least 3 a round, so the whole stays bounded.
        The rough figure comes through `ip netns exec` (a few ms more), so it errs low."""
        rounds = rounds or self.cfg["rounds"]
        rough_s = max(rough_s, 1e-4)
        want = int(self.cfg["budget_s"] / rounds / rough_s)
        lo = -(-self.cfg["min_runs"] // rounds) if rough_s < 0.1 else 3
        warm = max(1, min(self.cfg["warmup"], int(0.5 / rough_s)))
        return max(lo, min(self.cfg["max_runs"], want)), warm

    def time(self, argv, extra_env, rough_s, rounds=None, expect=0, tolerate=False):
        """Raw seconds of `runs` one-process checks (after warm-up). A wrong exit code
        while timed is a harness failure, except for a reference method (`tolerate`: the
        connect() probe, whose outcome depends on the listener's accept loop), where the
        runs that went wrong are counted in self.misses and left out."""
        runs, warm = self.runs_for(rough_s, rounds)
        self.k += 1
        out = self.work / ("hf-%d.json" % self.k)
        cmd = PIN + ["hyperfine", "-N", "--style", "none", "--warmup", str(warm)]
        cmd += ["-i"] if expect or tolerate else []
        cmd += ["--runs", str(runs), "--export-json", str(out), shlex.join(argv)]
        self.ns.run(cmd, clean_env(**extra_env), timeout=self.cfg["phase_timeout"], cwd="/", check=True)
        res = json.loads(out.read_text())["results"][0]
        codes = res.get("exit_codes") or [expect] * len(res["times"])
        bad = [c for c in codes if c not in (expect, None)]
        if bad and not tolerate:
            raise HarnessError("%s exited %s while timed" % (shlex.join(argv), bad[:3]))
        if bad:
            self.misses[shlex.join(argv)] = self.misses.get(shlex.join(argv), 0) + len(bad)
        return [t for t, c in zip(res["times"], codes) if c in (expect, None)]


def socket_summary(ns):
    out = ns.run(["ss", "-s"]).out
    m = re.search(r"TCP:\s+(\d+)\s+\(estab (\d+), closed (\d+), orphaned (\d+), timewait (\d+)", out)
    if not m:
        return {}
    total, estab, closed, orphaned, tw = map(int, m.groups())
    return {"tcp_total": total, "estab": estab, "timewait": tw}


# ---------------------------------------------------------------- CPython
def cpython_startup(ns, timer, py, results, notes):
    """Start-up of the interpreter and of the CLI module; -X importtime for the CLI's imports."""
    out = {}
    cmds = [("python -c pass", [py, "-c", "pass"]),
            ("python -I -S -c pass", [py, "-I", "-S", "-c", "pass"]),
            ("python -c 'import healthcheck.cli'", [py, "-c", "import healthcheck.cli"])]
    for label, argv in cmds:
        p = ns.run(argv, timeout=60, cwd="/")
        if p.rc != 0:
            notes.append("CPython start-up: %s failed: %s" % (label, p.err.strip()[-200:]))
            continue
        out[label] = stats(timer.time(argv, {}, 0.02, rounds=1))
        log("  %-40s median %.2f ms" % (label, out[label]["median"]))
    results["cpython_startup"] = out

    def importtime(args):
        p = ns.run([py, "-X", "importtime"] + args, timeout=60, cwd="/")
        rows = []
        for line in p.err.splitlines():
            m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
            if m:
                rows.append((m.group(4).strip(), int(m.group(1)), int(m.group(2))))
        return p.rc, rows

    _, base = importtime(["-c", "pass"])
    base_mods = {r[0] for r in base}
    script = str(Path(py).parent / "TCP")
    it = {}
    for key, args, want in (("import healthcheck.cli", ["-c", "import healthcheck.cli"], 0),
                            ("console script TCP PORT", [script, str(P4)], 0)):
        if key.startswith("console") and not Path(script).exists():
            continue
        totals, rows = [], []
        for _ in range(7):
            code, rows = importtime(args)
            if code != want:
                notes.append("-X importtime %s: exit %d" % (key, code))
                break
            totals.append(sum(r[1] for r in rows if r[0] not in base_mods))
        if not totals:
            continue
        extra = [r for r in rows if r[0] not in base_mods]
        it[key] = {"extra_self_us_median": statistics.median(totals),
                   "modules": [r[0] for r in extra],
                   "top_self_us": sorted(((r[1], r[0]) for r in extra), reverse=True)[:6]}
        log("  -X importtime %s: %d modules beyond a bare interpreter, %.1f ms of their own" % (
            key, len(extra), statistics.median(totals) / 1000))
    results["importtime"] = it


def inproc(ns, py, tool, port, backend, cfg, notes):
    argv = [py, str(BENCH / "probe.py"), "inproc", "--tool", tool, "--port", str(port),
            "--backend", backend, "--warmup", str(cfg["inproc_warmup"]),
            "--runs", str(cfg["inproc_runs"]), "--max-seconds", str(cfg["budget_s"])]
    p = ns.run(argv, timeout=cfg["phase_timeout"], cwd="/")
    if p.rc != 0:
        why = (p.err or p.out).strip()[-300:]
        notes.append("in-process %s/%s not measured: %s" % (tool, backend, why))
        return None
    res = json.loads(p.out.strip().splitlines()[-1])
    if any(c != 0 for c in res["exit_codes"]):
        raise HarnessError("in-process check %s %d (%s) said not listening" % (tool, port, backend))
    s = stats(res["times"])
    s["call"] = res.get("call")
    return s


def machine_info():
    def first(cmd):
        try:
            return run(cmd, timeout=10).out.strip().splitlines()[0]
        except (IndexError, OSError, HarnessError):
            return "?"

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(open("/proc/meminfo").readline().split()[1])
        mem = "%.0f GiB" % (kb / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "kernel": " ".join(platform.uname()[i] for i in (0, 2, 4)),
        "cpu": "%s, %d CPUs, %s RAM" % (cpu, os.cpu_count() or 0, mem),
        "timer": "hyperfine -N (%s)%s" % (first(["hyperfine", "--version"]),
                                          ", pinned to CPU %s (taskset)" % PIN[-1] if PIN else ""),
        "ss": first(["ss", "-V"]),
        "openssl": first(["openssl", "version"]),
        "curl": " ".join(first(["curl", "--version"]).split()[:2]),
        "grpcio": first([str(ROOT / ".venv" / "bin" / "python"), "-c", "import grpc; print(grpc.__version__)"]),
        "commit": first(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "tcp_ehash_entries": first(["cat", "/proc/sys/net/ipv4/tcp_ehash_entries"]),
        "load": open("/proc/loadavg").read().split()[:3],
        "nofile": "%d" % resource.getrlimit(resource.RLIMIT_NOFILE)[1],
    }


# ---------------------------------------------------------------- the per-N loop
def time_group(ns, timer, cfg, methods, results, group, key_n, ports):
    """Verify, then time, every method of `group` with `key_n` sockets in the tables."""
    ms, rough = [], {}
    for m in (m for m in methods if m["group"] == group):
        try:
            rough[m["key"]] = verify(ns, m, ports)
            ms.append(m)
        except HarnessError as e:  # report it, time the others, fail at the end
            msg = "%s %s = %s: %s" % (group.upper(), {"tcp": "N", "udp": "M"}.get(group, "N"), key_n,
                                      " ".join(str(e).split())[:400])
            log("WRONG ANSWER: " + msg)
            results["wrong_answers"].append(msg)
            results["notes"].append("WRONG ANSWER (not timed): " + msg)
    times = {m["key"]: [] for m in ms}
    for _ in range(cfg["rounds"]):
        for m in ms:
            argv = [m["exe"]] + m["args_for"](ports[0])
            times[m["key"]] += timer.time(argv, m["env"], rough[m["key"]], expect=1 if m["checks"] == "closed" else 0,
                                          tolerate=m["key"].endswith("-connect"))
    for m in ms:
        s = stats(times[m["key"]])
        results[group].setdefault(m["key"], {})[str(key_n)] = s
        log("  %-4s %-6s %-48s median %8.3f ms  p10 %8.3f  p90 %8.3f  (%d runs)" % (
            group, key_n, m["label"], s["median"], s["p10"], s["p90"], s["runs"]))


def pairs_per_holder():
    """Connections (both ends) one holder can keep under its raised RLIMIT_NOFILE."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return max(100, min(9000, (hard - 200) // 2)) if hard != resource.RLIM_INFINITY else 9000


def measure_other_ns(ns, timer, cfg, methods, results):
    """TCP with no connection here and `other_ns` established in another namespace: the
    kernel's tables are shared, the answer must not pay for the neighbours'."""
    other = Netns(peer=False, name=ns.name + "o")
    try:
        left = cfg["other_ns"]
        while left > 0:  # a holder keeps both ends: at most pairs_per_holder() each
            h = other.holder()
            left -= h.establish(h.open("tcp", 4, "127.0.0.1")[0], min(left, pairs_per_holder()))
        key = "%d-other" % cfg["other_ns"]
        log("%d established connections in namespace %s" % (cfg["other_ns"], other.name))
        time_group(ns, timer, cfg, methods, results, "tcp", key, [P4, P6])
    finally:
        other.delete()


def measure(ns, timer, cfg, methods, results, py):
    """Grow the tables to every N in turn and time every method there (UDP at the first N)."""
    measure_other_ns(ns, timer, cfg, methods, results)
    per = results["pairs_per_holder"] = pairs_per_holder()
    conns = []  # (holder, its listener) for each `per` connections
    for N in cfg["Ns"]:
        t = time.monotonic()
        while len(conns) < -(-N // per):
            h = ns.holder()
            conns.append((h, h.open("tcp", 4, "127.0.0.1")[0]))
        for i, (h, sid) in enumerate(conns):
            h.establish(sid, max(0, min(per, N - i * per)))
        sock = socket_summary(ns)
        results["sockets"][str(N)] = sock
        log("N=%d: %d holder(s), %s, set up in %.1fs" % (N, len(conns), sock, time.monotonic() - t))
        if sock and sock.get("estab", 2 * N) < 2 * N:
            raise HarnessError("expected %d established sockets, ss -s says %s" % (2 * N, sock))
        time_group(ns, timer, cfg, methods, results, "tcp", N, [P4, P6])
        if py:
            for backend in ("netlink", "proc"):
                s = inproc(ns, py, "TCP", P4, backend, cfg, results["notes"])
                if s:
                    results["inproc"].setdefault(backend, {})[str(N)] = s
                    log("  in-process CPython check (%s): median %.3f ms" % (backend, s["median"]))
        if N == cfg["Ns"][0]:
            time_group(ns, timer, cfg, methods, results, "udp", 0, [PU])
            udps = ns.holder()
            udps.cmd("repeat %d udp 4 127.0.0.1 0" % cfg["M"], timeout=cfg["phase_timeout"])
            log("M=%d bound UDP sockets up" % cfg["M"])
            time_group(ns, timer, cfg, methods, results, "udp", cfg["M"], [PU])
            udps.stop()
            ns.holders.remove(udps)
            if py:
                cpython_startup(ns, timer, py, results, results["notes"])


def wait_listening(ns, port, proc, seconds=10):
    """Until `ss` in the namespace shows a TCP listener on `port` (proc still running)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise HarnessError("the server exited (%d) before listening on %d" % (proc.returncode, port))
        if ns.run(["ss", "-Hltn", "sport = :%d" % port]).out.strip():
            return
        time.sleep(0.05)
    raise HarnessError("nothing listening on %d after %d s" % (port, seconds))


def httpd_server(d, notes):
    """busybox httpd serving one file (a 404 for anything else)."""
    bb = shutil.which("busybox")
    if not bb:
        notes.append("missing: busybox (busybox-static: the HTTP checks need its httpd)")
        return None
    (d / "www").mkdir()
    (d / "www" / "healthz").write_text("ok\n")
    (d / "httpd.conf").write_text("")  # empty: no /etc/httpd.conf of this machine's
    return [bb, "httpd", "-f", "-p", "127.0.0.1:%d" % PH, "-h", str(d / "www"), "-c", str(d / "httpd.conf")], "/"


def tls_server(d, notes):
    """openssl s_server -HTTP (C, one connection at a time, as busybox httpd) with a self-signed
    ECDSA P-256 certificate made here; -HTTP sends a file of the current directory as the
    whole answer, so /missing can be a real 404."""
    ossl = shutil.which("openssl")
    if not ossl:
        notes.append("missing: openssl (the HTTPS checks need its s_server)")
        return None
    run([ossl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"], timeout=60, check=True)
    www = d / "www"
    www.mkdir()
    (www / "healthz").write_bytes(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")
    (www / "missing").write_bytes(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    return [ossl, "s_server", "-quiet", "-HTTP", "-accept", "127.0.0.1:%d" % PS, "-cert", str(d / "cert.pem"),
            "-key", str(d / "key.pem")], str(www)


def grpc_server(d, notes):
    """The tests' grpcio server with the standard health service: "" SERVING, "down" NOT_SERVING."""
    py = ROOT / ".venv" / "bin" / "python"
    if not grpc_importable(py):
        return None  # make_methods has said so
    return [str(py), str(ROOT / "tests" / "integration" / "grpc_server.py"), "127.0.0.1", str(PG),
            "down=NOT_SERVING"], "/"


# group -> (port, server, what), in the order they run
SERVED = {"http": (PH, httpd_server, "busybox httpd"),
          "https": (PS, tls_server, "openssl s_server -HTTP"),
          "grpc": (PG, grpc_server, "grpcio server (grpc.health.v1)")}


def measure_served(ns_name, group, cfg, methods, results, work):
    """The checks of `group` against their server on 127.0.0.1, in a namespace of its own
    (module docstring: the TIME_WAIT sockets). The server runs on the timed CPU too: it works
    while the check waits for its answer, and on another CPU every check would also pay for
    waking it there and for whatever else runs on that CPU."""
    if not any(m["group"] == group for m in methods):
        return
    port, server, what = SERVED[group]
    d = work / group
    d.mkdir()
    spec = server(d, results["notes"])
    if spec is None:
        return
    argv, cwd = spec
    ns = Netns(peer=False, name=ns_name)
    log_path = d / "server.log"
    proc = None
    try:
        with open(log_path, "wb") as log_f:
            proc = subprocess.Popen(ns.prefix + PIN + argv, stdin=subprocess.DEVNULL, stdout=log_f,
                                    stderr=subprocess.STDOUT, cwd=cwd)
        try:
            wait_listening(ns, port, proc, seconds=30)  # grpcio's import takes a while on a busy machine
        except HarnessError as e:
            raise HarnessError("%s: %s: %s" % (what, e, log_path.read_text(errors="replace")[-300:]))
        log("%s on 127.0.0.1:%d in namespace %s" % (what, port, ns.name))
        timer = Timer(ns, cfg, d / "hf")
        timer.work.mkdir()
        time_group(ns, timer, cfg, methods, results, group, 0, [port])
        for argv, n in timer.misses.items():
            results["notes"].append("%s: %d timed run(s) failed and were left out" % (os.path.basename(argv), n))
        if proc.poll() is not None:
            raise HarnessError("%s exited (%d) during the %s checks: %s" % (
                what, proc.returncode, group.upper(), log_path.read_text(errors="replace")[-300:]))
        results["%s_timewait" % group] = socket_summary(ns).get("timewait")
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        ns.delete()


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="N=0,1000, M=1000, few runs; output to a temp dir")
    ap.add_argument("--out", help="output directory (default: docs/ for a full run, a temp dir for --smoke)")
    ap.add_argument("--ns", type=lambda s: [int(x) for x in s.split(",")], help="comma list of N")
    ap.add_argument("--udp-m", type=int)
    ap.add_argument("--no-clean-venv", action="store_true",
                    help="skip the console script from a clean (non-editable) venv (full run only)")
    ap.add_argument("--no-pin", action="store_true", help="let the timed processes run on any CPU")
    a = ap.parse_args()
    if a.no_pin:
        PIN[:] = []
    if os.geteuid() != 0:
        print("bench: must run as root (it creates a network namespace)", file=sys.stderr)
        return 1
    cfg = dict(SMOKE if a.smoke else FULL)
    cfg["Ns"] = a.ns or cfg["Ns"]
    cfg["M"] = cfg["M"] if a.udp_m is None else a.udp_m
    out_dir = Path(a.out) if a.out else (Path(tempfile.mkdtemp(prefix="hcbench-smoke-")) if a.smoke
                                         else ROOT / "docs")
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hcbench-work-"))

    def on_signal(signum, frame):
        raise HarnessError("stopped by signal %d" % signum)

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    for sig in (signal.SIGTERM, signal.SIGALRM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    signal.alarm(cfg["deadline"])

    ns, notes = None, []
    results = {"mode": "smoke" if a.smoke else "full", "Ns": cfg["Ns"], "M": cfg["M"],
               "rounds": cfg["rounds"], "wrong_answers": [],
               "tcp": {}, "udp": {}, "http": {}, "https": {}, "grpc": {}, "inproc": {}, "sockets": {},
               "notes": notes, "methods": {}}
    status = 0
    try:
        floors, results["floor_compiler"] = build_floors(work)
        user_bin = None
        if not a.smoke and not a.no_clean_venv and (ROOT / ".venv" / "bin" / "python").exists():
            log("installing the package into a clean venv (a user's install)")
            user_bin = clean_install(work, notes)
        methods = make_methods(floors, notes, user_bin)
        for n in notes:
            log(n)
        results["methods"] = {m["key"]: m["label"] for m in methods}
        ns = Netns(peer=False, name="hcbench-%d" % os.getpid())
        log("namespace %s up" % ns.name)
        results["machine"] = machine_info()
        base = ns.holder()
        base.cmd("accepting %d" % base.open("tcp", 4, "0.0.0.0", P4)[0])  # the connect() probe's handshakes
        base.open("tcp", 6, "::", P6, v6only=0)
        base.open("udp", 4, "0.0.0.0", PU)
        py = str(ROOT / ".venv" / "bin" / "python")
        if run([py, "-c", "import healthcheck"], cwd="/").rc != 0:
            notes.append("missing: %s with package healthcheck (CPython in-process and start-up not measured)" % py)
            py = None
        timer = Timer(ns, cfg, work)
        measure(ns, timer, cfg, methods, results, py)
        for argv, n in timer.misses.items():
            notes.append("%s: %d timed run(s) failed and were left out" % (os.path.basename(argv), n))
        for group, suffix in (("http", "h"), ("https", "s"), ("grpc", "g")):
            measure_served(ns.name + suffix, group, cfg, methods, results, work)
        results["duration_s"] = round(time.monotonic() - T0, 1)
        status = 1 if results["wrong_answers"] else 0
        results["load_end"] = open("/proc/loadavg").read().split()[:3]
    except (HarnessError, OSError) as e:
        log("HARNESS FAILURE: %s" % e)
        results["failure"] = str(e)
        status = 1
    except KeyboardInterrupt:
        log("interrupted")
        status = 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if ns is not None:
            ns.delete()
            log("namespace %s deleted" % ns.name)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        shutil.rmtree(work, ignore_errors=True)
    if status == 0 or results["wrong_answers"]:
        print(report.write(results, out_dir, "bench-smoke" if a.smoke else "bench", notes, log))
    return status


if __name__ == "__main__":
    sys.exit(main())
