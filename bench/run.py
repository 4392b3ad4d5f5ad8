#!/usr/bin/env python3
"""Benchmark of one health check, per process, against growing socket tables.

Run as root (it makes its own network namespace):
    python3 bench/run.py            full run: N = 0, 1k, 10k, 50k; M = 10k UDP;
                                    writes docs/bench.md, docs/bench.png, docs/bench.json
    python3 bench/run.py --smoke    N = 0, 1k; M = 1k; few runs; writes to a temp dir
                                    (or --out DIR); exit 0 if the harness worked

Inside a fresh namespace "hcbench-<pid>" it opens a TCP listener on 0.0.0.0, a
dual-stack one on [::], a bound UDP socket, then N established loopback TCP
connections (both ends held by holder processes, at most ~18,000 descriptors
each, from several 127.0.0.x sources, SO_LINGER 0 so closing resets them) and,
for the UDP case, M more bound UDP sockets. For each N every method is first
checked for the right answer (listening port -> 0, closed port -> 1), then
timed one process per check, by hyperfine -N if installed (else an own
posix_spawn loop), from a driver that has already entered the namespace.

Timing figures are reported, never asserted. Exit status: 0 when the harness
worked (missing methods are skipped with a note), 1 when it broke (namespace,
holders, a method giving a wrong answer, a timeout).
"""

import argparse
import json
import math
import os
import platform
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
P4, P6, PU, PCLOSED = 18080, 18081, 18082, 18099  # below the ephemeral range
CONN_PORT_BASE = 20000
T0 = time.monotonic()


class HarnessError(Exception):
    pass


def log(msg):
    print("[bench %6.1fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


def run(argv, timeout=60, check=True, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    try:
        p = subprocess.run(argv, timeout=timeout, text=True, **kw)
    except subprocess.TimeoutExpired:
        raise HarnessError("timeout after %ss: %s" % (timeout, shlex.join(map(str, argv))))
    if check and p.returncode != 0:
        raise HarnessError("failed (%d): %s\n%s" % (p.returncode, shlex.join(map(str, argv)), p.stderr))
    return p


# ---------------------------------------------------------------- build floors
def kernel_header_dir(work):
    """musl-gcc sees no kernel headers: point it at the system's linux/, asm/, asm-generic/."""
    inc = work / "kinc"
    inc.mkdir(exist_ok=True)
    arch = ""
    for cc in ("gcc", "cc"):
        if shutil.which(cc):
            arch = run([cc, "-print-multiarch"], check=False).stdout.strip()
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
    if not cc and shutil.which("apt-get"):
        log("musl-gcc missing: apt-get install -y musl-tools")
        run(["apt-get", "install", "-y", "-q", "musl-tools"], timeout=300, check=False)
        cc = shutil.which("musl-gcc")
    note = "musl-gcc -static -O2"
    if not cc:
        cc, note = (shutil.which("cc") or "gcc"), "cc -static -O2 (musl-gcc not found)"
    inc = kernel_header_dir(work)
    out = {}
    for name in ("floor_netlink", "floor_empty"):
        exe = work / name
        run([cc, "-static", "-O2", "-Wall", "-idirafter", str(inc), "-o", str(exe),
             str(BENCH / (name + ".c"))], timeout=120)
        run(["strip", str(exe)], check=False)
        out[name] = exe
    return out, note


# ---------------------------------------------------------------- namespace
class Netns:
    def __init__(self):
        self.name = "hcbench-%d" % os.getpid()
        self.made = False

    def create(self):
        run(["ip", "netns", "add", self.name], timeout=20)
        self.made = True
        run(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"], timeout=20)

    @property
    def prefix(self):
        return ["ip", "netns", "exec", self.name]

    def delete(self):
        if not self.made:
            return
        # Any process still inside is one of ours (holders, timers): end it by pid.
        pids = run(["ip", "netns", "pids", self.name], timeout=10, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        run(["ip", "netns", "del", self.name], timeout=30, check=False)
        self.made = False


class Holder:
    def __init__(self, ns, label):
        self.label = label
        self.p = subprocess.Popen(ns.prefix + [sys.executable, "-I", str(BENCH / "holder.py")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  bufsize=1, cwd="/", env=clean_env())
        self.count = 0

    def cmd(self, line, timeout=30):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise HarnessError("holder %s: no answer to %r within %ss" % (self.label, line, timeout))
        reply = self.p.stdout.readline().strip()
        if not reply or reply.startswith("error"):
            raise HarnessError("holder %s: %r -> %r" % (self.label, line, reply))
        return reply

    def close(self):
        if self.p.poll() is None:
            try:
                self.cmd("quit", timeout=20)
            except (HarnessError, OSError, ValueError):
                pass
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=10)


def clean_env(extra=None):
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LC_ALL": "C"}
    env.update(extra or {})
    return env


# ---------------------------------------------------------------- methods
def arch_dir():
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(m, m)


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
        run([base, "-m", "venv", "--without-pip", str(venv)], timeout=120)
        run([str(ROOT / ".venv" / "bin" / "python"), "-m", "pip", "--python", str(venv / "bin" / "python"),
             "install", "--quiet", "--no-deps", "--no-cache-dir", str(src)], timeout=300)
        return venv / "bin"
    except (HarnessError, OSError) as e:
        notes.append("clean-venv install failed, that row is left out: %s" % str(e)[-300:])
        return None


def make_methods(floors, notes, user_bin=None):
    dist = ROOT / "dist" / ("linux-" + arch_dir()) / "healthcheck"
    venv = ROOT / ".venv" / "bin"
    ss = shutil.which("ss")
    fl, fe = str(floors["floor_netlink"]), str(floors["floor_empty"])
    M = []

    def add(key, label, group, exe, args_for, extra_env=None, checks="exit"):
        if exe is None or not Path(exe).exists():
            notes.append("missing: %s (%s not measured)" % (exe, label))
            return
        M.append(dict(key=key, label=label, group=group, exe=str(exe), args_for=args_for,
                      env=extra_env or {}, checks=checks))

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
        if proto == "udp":
            add(g + "-floor-bc", "C floor: netlink query + port bytecode filter", g, fl,
                lambda p: ["udp", str(p), "-b"])
        add(g + "-empty", "C floor: empty process", g, fe, lambda p: [], checks="none")
    return M


def verify(ns, m, listening_ports):
    """The method must answer right before it is timed. Returns a rough seconds/run."""
    cases = [(p, 0) for p in listening_ports] + [(PCLOSED, 1)]
    if m["checks"] == "closed":  # argv always names the closed port
        cases, m = [(PCLOSED, 1)], dict(m, checks="exit")
    t_best = None
    for port, want in cases:
        argv = [m["exe"]] + m["args_for"](port)
        t = time.perf_counter()
        p = run(ns.prefix + argv, timeout=60, check=False, env=clean_env(m["env"]), cwd="/")
        dt = time.perf_counter() - t
        t_best = dt if t_best is None else min(t_best, dt)
        if m["checks"] == "exit" and p.returncode != want:
            raise HarnessError("wrong answer: %s on port %d exited %d, expected %d\n%s%s" % (
                m["label"], port, p.returncode, want, p.stdout, p.stderr))
        if m["checks"] == "ss":
            found = (":%d " % port) in (p.stdout + " ")
            if p.returncode != 0 or found != (want == 0):
                raise HarnessError("wrong answer: %s on port %d: %r" % (m["label"], port, p.stdout))
        if m["checks"] == "none":
            break
    return t_best


# ---------------------------------------------------------------- timing
def stats(times_s):
    ts = sorted(t * 1000.0 for t in times_s)
    n = len(ts)

    def pct(q):
        if n == 1:
            return ts[0]
        k = (n - 1) * q
        lo = math.floor(k)
        hi = min(lo + 1, n - 1)
        return ts[lo] + (ts[hi] - ts[lo]) * (k - lo)

    return {"median": statistics.median(ts), "mean": statistics.fmean(ts),
            "stdev": statistics.stdev(ts) if n > 1 else 0.0, "p10": pct(0.10),
            "p90": pct(0.90), "min": ts[0], "max": ts[-1], "runs": n}


class Timer:
    def __init__(self, ns, cfg, work, use_hyperfine):
        self.ns, self.cfg, self.work = ns, cfg, work
        self.hyperfine = shutil.which("hyperfine") if use_hyperfine else None
        self.k = 0

    @property
    def name(self):
        return "hyperfine -N" if self.hyperfine else "own posix_spawn loop"

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

    def time(self, argv, extra_env, rough_s, rounds=None, expect=0):
        """Raw seconds of `runs` one-process checks (after warm-up)."""
        runs, warm = self.runs_for(rough_s, rounds)
        env = clean_env(extra_env)
        if self.hyperfine:
            self.k += 1
            out = self.work / ("hf-%d.json" % self.k)
            cmd = self.ns.prefix + [self.hyperfine, "-N", "--style", "none", "--warmup", str(warm)]
            cmd += ["-i"] if expect else []
            cmd += ["--runs", str(runs), "--export-json", str(out), shlex.join(argv)]
            run(cmd, timeout=self.cfg["phase_timeout"], env=env, cwd="/")
            res = json.loads(out.read_text())["results"][0]
            times, codes = res["times"], res.get("exit_codes", [])
        else:
            cmd = self.ns.prefix + [sys.executable, "-I", str(BENCH / "probe.py"), "spawn",
                                    "--warmup", str(warm), "--runs", str(runs),
                                    "--max-seconds", str(self.cfg["budget_s"] * 3), "--"] + argv
            res = json.loads(run(cmd, timeout=self.cfg["phase_timeout"], env=env, cwd="/").stdout)
            times, codes = res["times"], res["exit_codes"]
        bad = [c for c in codes if c not in (expect, None)]
        if bad:
            raise HarnessError("%s exited %s while timed" % (shlex.join(argv), bad[:3]))
        return times


def socket_summary(ns):
    out = run(ns.prefix + ["ss", "-s"], timeout=30, check=False).stdout
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
        p = run(ns.prefix + argv, timeout=60, check=False, env=clean_env(), cwd="/")
        if p.returncode != 0:
            notes.append("CPython start-up: %s failed: %s" % (label, p.stderr.strip()[-200:]))
            continue
        out[label] = stats(timer.time(argv, {}, 0.02, rounds=1))
        log("  %-40s median %.2f ms" % (label, out[label]["median"]))
    results["cpython_startup"] = out

    def importtime(args):
        p = run(ns.prefix + [py, "-X", "importtime"] + args, timeout=60, check=False,
                env=clean_env(), cwd="/")
        rows = []
        for line in p.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
            if m:
                rows.append((m.group(4).strip(), int(m.group(1)), int(m.group(2))))
        return p.returncode, rows

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
    p = run(ns.prefix + argv, timeout=cfg["phase_timeout"], check=False, env=clean_env(), cwd="/")
    if p.returncode != 0:
        why = (p.stderr or p.stdout).strip()[-300:]
        notes.append("in-process %s/%s not measured: %s" % (tool, backend, why))
        return None
    res = json.loads(p.stdout.strip().splitlines()[-1])
    if any(c != 0 for c in res["exit_codes"]):
        raise HarnessError("in-process check %s %d (%s) said not listening" % (tool, port, backend))
    s = stats(res["times"])
    s["call"] = res.get("call")
    return s


# ---------------------------------------------------------------- main flow
def machine_info(timer):
    def first(cmd):
        try:
            return run(cmd, timeout=10, check=False).stdout.strip().splitlines()[0]
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
        "timer": timer.name + (" (%s)" % first([timer.hyperfine, "--version"]) if timer.hyperfine else ""),
        "ss": first(["ss", "-V"]),
        "commit": first(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "tcp_ehash_entries": first(["cat", "/proc/sys/net/ipv4/tcp_ehash_entries"]),
        "load": open("/proc/loadavg").read().split()[:3],
        "nofile": "%d" % __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)[1],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="N=0,1000, M=1000, few runs; output to a temp dir")
    ap.add_argument("--out", help="output directory (default: docs/ for a full run, a temp dir for --smoke)")
    ap.add_argument("--ns", type=lambda s: [int(x) for x in s.split(",")], help="comma list of N")
    ap.add_argument("--udp-m", type=int)
    ap.add_argument("--no-clean-venv", action="store_true",
                    help="skip the console script from a clean (non-editable) venv (full run only)")
    ap.add_argument("--no-hyperfine", action="store_true", help="time with the own posix_spawn loop")
    a = ap.parse_args()

    if os.geteuid() != 0:
        print("bench: must run as root (it creates a network namespace)", file=sys.stderr)
        return 1
    if a.smoke:
        cfg = dict(Ns=[0, 1000], M=1000, rounds=1, warmup=3, min_runs=5, max_runs=30, budget_s=0.25,
                   inproc_warmup=5, inproc_runs=50, phase_timeout=60, deadline=240)
    else:
        cfg = dict(Ns=[0, 1000, 10000, 50000], M=10000, rounds=3, warmup=10, min_runs=40, max_runs=1500,
                   budget_s=3.0, inproc_warmup=50, inproc_runs=2000, phase_timeout=300, deadline=900)
    if a.ns:
        cfg["Ns"] = a.ns
    if a.udp_m is not None:
        cfg["M"] = a.udp_m
    out_dir = Path(a.out) if a.out else (Path(tempfile.mkdtemp(prefix="hcbench-smoke-")) if a.smoke
                                         else ROOT / "docs")
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hcbench-work-"))

    def on_signal(signum, frame):
        raise HarnessError("stopped by signal %d" % signum)

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.alarm(cfg["deadline"])

    ns, holders, notes = Netns(), [], []
    results = {"mode": "smoke" if a.smoke else "full", "Ns": cfg["Ns"], "M": cfg["M"],
               "rounds": cfg["rounds"], "wrong_answers": [],
               "tcp": {}, "udp": {}, "inproc": {}, "sockets": {}, "notes": notes, "methods": {}}
    status = 0
    try:
        floors, cc_note = build_floors(work)
        results["floor_compiler"] = cc_note
        user_bin = None
        if not a.smoke and not a.no_clean_venv and (ROOT / ".venv" / "bin" / "python").exists():
            log("installing the package into a clean venv (a user's install)")
            user_bin = clean_install(work, notes)
        methods = make_methods(floors, notes, user_bin)
        for n in notes:
            log(n)
        results["methods"] = {m["key"]: m["label"] for m in methods}
        ns.create()
        log("namespace %s up" % ns.name)
        timer = Timer(ns, cfg, work, not a.no_hyperfine)
        results["machine"] = machine_info(timer)
        base = Holder(ns, "listeners")
        holders.append(base)
        base.cmd("listen4 %d" % P4)
        base.cmd("listen6 %d" % P6)
        base.cmd("udp %d" % PU)

        import resource
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        per = max(100, min(9000, (hard - 200) // 2)) if hard != resource.RLIM_INFINITY else 9000
        results["pairs_per_holder"] = per
        conn_holders = []
        py = str(ROOT / ".venv" / "bin" / "python")
        have_pkg = Path(py).exists() and run([py, "-c", "import healthcheck"], check=False,
                                             env=clean_env(), cwd="/").returncode == 0
        if not have_pkg:
            notes.append("missing: %s with package healthcheck "
                         "(CPython in-process and start-up not measured)" % py)

        def time_group(group, key_n, ports):
            ms, rough = [], {}
            for m in (m for m in methods if m["group"] == group):
                try:
                    rough[m["key"]] = verify(ns, m, ports)
                    ms.append(m)
                except HarnessError as e:  # report it, time the others, fail at the end
                    what = ("N = %s" if group == "tcp" else "M = %s") % key_n
                    msg = "%s %s: %s" % (group.upper(), what, " ".join(str(e).split())[:400])
                    log("WRONG ANSWER: " + msg)
                    results["wrong_answers"].append(msg)
                    notes.append("WRONG ANSWER (not timed): " + msg)
            times = {m["key"]: [] for m in ms}
            for _ in range(cfg["rounds"]):
                for m in ms:
                    argv = [m["exe"]] + m["args_for"](ports[0])
                    times[m["key"]] += timer.time(argv, m["env"], rough[m["key"]],
                                                  expect=1 if m["checks"] == "closed" else 0)
            for m in ms:
                s = stats(times[m["key"]])
                results[group].setdefault(m["key"], {})[str(key_n)] = s
                log("  %-4s %-6s %-48s median %8.3f ms  p10 %8.3f  p90 %8.3f  (%d runs)" % (
                    group, key_n, m["label"], s["median"], s["p10"], s["p90"], s["runs"]))

        for N in cfg["Ns"]:
            t = time.monotonic()
            need = -(-N // per)
            while len(conn_holders) < need:
                conn_holders.append(Holder(ns, "conns%d" % len(conn_holders)))
                holders.append(conn_holders[-1])
            for i, h in enumerate(conn_holders):
                target = max(0, min(per, N - i * per))
                if target > h.count:
                    h.cmd("conns %d %d" % (CONN_PORT_BASE + i, target), timeout=cfg["phase_timeout"])
                    h.count = target
            sock = socket_summary(ns)
            results["sockets"][str(N)] = sock
            log("N=%d: %d holder(s), %s, set up in %.1fs" % (
                N, len(conn_holders), sock, time.monotonic() - t))
            if sock and sock.get("estab", 2 * N) < 2 * N:
                raise HarnessError("expected %d established sockets, ss -s says %s" % (2 * N, sock))
            time_group("tcp", N, [P4, P6])
            if have_pkg:
                for backend in ("netlink", "proc"):
                    s = inproc(ns, py, "TCP", P4, backend, cfg, notes)
                    if s:
                        results["inproc"].setdefault(backend, {})[str(N)] = s
                        log("  in-process CPython check (%s): median %.3f ms" % (backend, s["median"]))
            if N == cfg["Ns"][0]:
                time_group("udp", 0, [PU])
                uh = Holder(ns, "udps")
                holders.append(uh)
                uh.cmd("udps %d" % cfg["M"], timeout=cfg["phase_timeout"])
                log("M=%d bound UDP sockets up" % cfg["M"])
                time_group("udp", cfg["M"], [PU])
                uh.close()
                holders.remove(uh)
                if have_pkg:
                    cpython_startup(ns, timer, py, results, notes)
        results["duration_s"] = round(time.monotonic() - T0, 1)
        if results["wrong_answers"]:
            status = 1
        results["load_end"] = open("/proc/loadavg").read().split()[:3]
    except HarnessError as e:
        log("HARNESS FAILURE: %s" % e)
        results["failure"] = str(e)
        status = 1
    except KeyboardInterrupt:
        log("interrupted")
        status = 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for h in holders:
            try:
                h.close()
            except Exception as e:  # teardown must go on
                log("holder %s close: %s" % (h.label, e))
        ns.delete()
        log("namespace %s deleted" % ns.name)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        shutil.rmtree(work, ignore_errors=True)

    if status == 0 or results["wrong_answers"]:
        sizes = payload_size()
        results["payload"] = sizes
        name = "bench-smoke" if a.smoke else "bench"
        jpath = out_dir / (name + ".json")
        jpath.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        png = out_dir / (name + ".png")
        plotted = make_plot(jpath, png, notes)
        md = out_dir / (name + ".md")
        md.write_text(render_markdown(results, png.name if plotted else None))
        log("wrote %s, %s%s (total %.0fs)" % (md, jpath.name, ", " + png.name if plotted else "",
                                              time.monotonic() - T0))
        print(md)
    return status


def payload_size():
    d = ROOT / "dist" / ("linux-" + arch_dir()) / "healthcheck"
    if not d.is_dir():
        return None
    files = {p.name: p.lstat().st_size for p in sorted(d.iterdir()) if p.is_file() and not p.is_symlink()}
    return {"dir": str(d.relative_to(ROOT)), "files": files, "bytes": sum(files.values())}


def make_plot(jpath, png, notes):
    """Plot with a Python that has matplotlib: this one, else the project's venv."""
    for py in (sys.executable, str(ROOT / ".venv" / "bin" / "python")):
        if not Path(py).exists():
            continue
        if run([py, "-c", "import matplotlib"], check=False).returncode != 0:
            continue
        p = run([py, str(BENCH / "plot.py"), str(jpath), str(png)], check=False, timeout=120)
        if p.returncode == 0:
            return True
        notes.append("plot failed: %s" % p.stderr.strip()[-300:])
        return False
    notes.append("no plot: matplotlib not importable (make bench installs it into .venv)")
    return False


# ---------------------------------------------------------------- report
ORDER = ["static", "static-proc", "static-closed", "static-proc-closed", "cpython", "cpython-clean", "ss",
         "floor", "floor-bc", "empty"]


def fmt_ms(v):
    return "%.2f" % v if v < 10 else "%.1f" % v if v < 1000 else "{:,.0f}".format(v)


def fmt_ratio(x):
    return "%.2f×" % x if x < 10 else "%.1f×" % x if x < 100 else "{:,.0f}×".format(x)


def render_markdown(r, png):
    L = []
    smoke = r["mode"] == "smoke"
    L.append("# Benchmark: the cost of one health check%s\n" % (" (smoke run)" if smoke else ""))
    L.append("Generated by `bench/run.py`%s (`make bench%s`). Figures describe this one machine on "
             "this one day; they are reported, never asserted.\n" % (" --smoke" if smoke else "",
                                                                      "-smoke" if smoke else ""))
    m = r.get("machine", {})
    L.append("- Date: %s; commit %s" % (m.get("date", "?"), m.get("commit", "?")))
    L.append("- Machine: %s; %s" % (m.get("kernel", "?"), m.get("cpu", "?")))
    L.append("- Timer: %s, warm-up then one process per check, methods interleaved in %d round(s); %s" % (
        m.get("timer", "?"), r.get("rounds", 1), m.get("ss", "")))
    L.append("- Load average (1, 5, 15 min) at start: %s; at end: %s (other work on the machine adds "
             "noise: compare medians, read the spread)" % (
                 " ".join(m.get("load", ["?"])), " ".join(r.get("load_end", ["?"]))))
    L.append("- Floors compiled with %s (`bench/floor_netlink.c`, `bench/floor_empty.c`)"
             % r.get("floor_compiler"))
    L.append("- Each check runs inside a fresh network namespace holding a TCP listener on `0.0.0.0`, a "
             "dual-stack one on `[::]`, a bound UDP socket and N established loopback TCP connections "
             "(both ends in the namespace, so the kernel's table holds 2N established sockets). "
             "Before timing, every method is checked for the right answer (listening → 0, closed → 1).")
    L.append("")
    if png:
        L.append("![median time of one check vs N](%s)\n" % png)

    FLOOR = {"tcp": "tcp-floor", "udp": "udp-floor-bc"}

    def rows_of(group, head, cell):
        rows = r[group]
        L.append("| method | " + " | ".join(head) + " |")
        L.append("|---|" + "---:|" * len(head))
        for suffix in ORDER:
            k = group + "-" + suffix
            if k in rows:
                L.append("| %s | %s |" % (r["methods"][k], " | ".join(cell(rows, k))))

    def table(group, keys_n, head):
        floor = r[group].get(FLOOR[group], {})

        def median(rows, k):
            cells = []
            for n in keys_n:
                s = rows[k].get(str(n))
                f = floor.get(str(n))
                if not s:
                    cells.append("–")
                    continue
                ratio = " (%s)" % fmt_ratio(s["median"] / f["median"]) if f else ""
                cells.append("%s%s" % (fmt_ms(s["median"]), ratio))
            return cells

        def spread(rows, k):
            return ["%s – %s (%d)" % (fmt_ms(rows[k][str(n)]["p10"]), fmt_ms(rows[k][str(n)]["p90"]),
                                      rows[k][str(n)]["runs"]) if str(n) in rows[k] else "–" for n in keys_n]

        rows_of(group, head, median)
        L.append("")
        L.append("<details><summary>spread: p10 – p90 ms (runs)</summary>\n")
        rows_of(group, head, spread)
        L.append("\n</details>\n")

    Ns = r["Ns"]
    L.append("## TCP: `TCP PORT` against N established connections\n")
    L.append("Median ms per check (one process each), and in brackets the ratio to the C netlink floor "
             "at the same N.\n")
    table("tcp", Ns, ["N = {:,}".format(n) for n in Ns])
    L.append("Why the rows grow or not: a netlink dump asking only for state LISTEN makes the kernel walk "
             "its listening table alone, whatever N is. `ss -l` asks for LISTEN *and* CLOSE "
             "(`idiag_states=1<<TCP_CLOSE|1<<TCP_LISTEN` under strace), and a CLOSE request makes the "
             "kernel walk the established table too. Reading `/proc/net/tcp` walks every bucket of the "
             "established hash table (%s entries on this machine, shared by all namespaces unless "
             "`tcp_child_ehash_entries` is set) and prints every socket of the namespace, so it costs "
             "milliseconds even in an empty namespace and grows with N.\n" % (
                 "{:,}".format(abs(int(m["tcp_ehash_entries"])))
                 if m.get("tcp_ehash_entries", "?").lstrip("-").isdigit() else "?"))
    L.append("## UDP: `UDP PORT` against M other bound UDP sockets\n")
    L.append("Bound, unconnected UDP sockets are all in state CLOSE, so the state filter alone cannot "
             "leave them out: every one comes back from the dump unless the request also filters on "
             "the port (the bytecode row). The kernel still visits every socket, but copies only "
             "the match. Ratios here are to that bytecode floor, the least a UDP check can do.\n")
    table("udp", [0, r["M"]], ["M = 0", "M = {:,}".format(r["M"])])

    if r["inproc"]:
        L.append("## CPython: the check itself, without process start-up\n")
        call = next(iter(next(iter(r["inproc"].values())).values())).get("call")
        L.append("One interpreter calls `%s` in a loop (after warm-up); median ms per call.\n" % call)
        L.append("| backend | " + " | ".join("N = {:,}".format(n) for n in Ns) + " |")
        L.append("|---|" + "---:|" * len(Ns))
        for b, rows in r["inproc"].items():
            L.append("| %s | %s |" % (b, " | ".join("%.3f" % rows[str(n)]["median"] if str(n) in rows else "–"
                                                   for n in Ns)))
        L.append("")
    if r.get("cpython_startup"):
        L.append("## CPython start-up\n")
        L.append("| command (venv python) | median ms | p10 – p90 |")
        L.append("|---|---:|---:|")
        for k, s in r["cpython_startup"].items():
            L.append("| `%s` | %s | %s – %s |" % (k, fmt_ms(s["median"]), fmt_ms(s["p10"]), fmt_ms(s["p90"])))
        for key, it in (r.get("importtime") or {}).items():
            L.append("\n`python -X importtime` of `%s` (inside the namespace, median of 7): %d modules "
                     "beyond those a bare `python -c pass` imports, %.1f ms of import time of their own; "
                     "the largest: %s. All of them: %s." % (
                         key, len(it["modules"]), it["extra_self_us_median"] / 1000,
                         ", ".join("`%s` %.1f ms" % (m, us / 1000) for us, m in it["top_self_us"]),
                         ", ".join("`%s`" % m for m in it["modules"]) or "none"))
        L.append("")

    L.append("## Targets (printed, not asserted)\n")
    tcp = r["tcp"]
    fl = tcp.get("tcp-floor", {})

    def mark(ok):
        return "met" if ok else "**not met**"

    st = tcp.get("tcp-static")
    if st and fl:
        ratios = [st[str(n)]["median"] / fl[str(n)]["median"] for n in Ns if str(n) in st and str(n) in fl]
        L.append("- Static binary ≤ 1.5× the C netlink floor at every N: ratios %s → %s" % (
            ", ".join("%.2f×" % x for x in ratios), mark(max(ratios) <= 1.5)))
        grow = st[str(Ns[-1])]["median"] / st[str(Ns[0])]["median"]
        L.append("- Static binary flat from N = %s to N = {:,}: median ratio %.2f× → %s".format(Ns[-1]) % (
            Ns[0], grow, mark(grow <= 1.2)))
    else:
        L.append("- Static binary vs floor: not measured (binary missing)")
    us, ub = r["udp"].get("udp-static"), r["udp"].get("udp-floor-bc")
    if us and ub:
        L.append("- UDP (no target set): static binary / bytecode floor = %s" % ", ".join(
            "%.2f× at M = {:,}".format(int(k)) % (us[k]["median"] / ub[k]["median"])
            for k in sorted(us, key=int) if k in ub))
    sp = tcp.get("tcp-static-proc-closed") or tcp.get("tcp-static-proc")
    if sp:
        L.append(("- /proc backend growth, %s: %s ms at N = %s → %s ms at N = {:,} (%.1f×); it reads every "
                  "row of /proc/net/tcp (2N established sockets), about %.1f µs per row here; the netlink "
                  "dump with a state filter does not").format(Ns[-1]) % (
                     "port not listening (the whole table is read)" if "tcp-static-proc-closed" in tcp
                     else "port listening", fmt_ms(sp[str(Ns[0])]["median"]), Ns[0], fmt_ms(sp[str(Ns[-1])]["median"]),
                     sp[str(Ns[-1])]["median"] / sp[str(Ns[0])]["median"],
                     1000 * (sp[str(Ns[-1])]["median"] - sp[str(Ns[0])]["median"]) / max(1, 2 * (Ns[-1] - Ns[0]))))
    if "tcp-static-proc-closed" in tcp and "tcp-static-proc" in tcp:
        L.append("- When the port is listening, the /proc backend may stop at the first match, so its "
                 "cost then depends on where the listener's row falls and on how much the kernel "
                 "prints before that (it fills a whole buffer per read): %s ms across N" % ", ".join(
                     fmt_ms(tcp["tcp-static-proc"][str(n)]["median"])
                     for n in Ns if str(n) in tcp["tcp-static-proc"]))
    ip = r["inproc"].get("proc", {})
    if ip and str(Ns[-1]) in ip and str(Ns[0]) in ip:
        L.append("- For comparison, CPython's /proc parser in-process: %s ms at N = %s → %s ms at N = {:,} "
                 "(about %.1f µs per row)".format(Ns[-1]) % (
                     fmt_ms(ip[str(Ns[0])]["median"]), Ns[0], fmt_ms(ip[str(Ns[-1])]["median"]),
                     1000 * (ip[str(Ns[-1])]["median"] - ip[str(Ns[0])]["median"]) / max(1, 2 * (Ns[-1] - Ns[0]))))
    cp = tcp.get("tcp-cpython")
    if cp and "0" in cp:
        L.append("- CPython console script ≤ 30 ms at N = 0: %s ms → %s" % (
            fmt_ms(cp["0"]["median"]), mark(cp["0"]["median"] <= 30)))
    pay = r.get("payload")
    if pay:
        L.append("- Image payload ≤ 300 KB: `%s` holds %s bytes (%.0f KB; %s) → %s" % (
            pay["dir"], "{:,}".format(pay["bytes"]), pay["bytes"] / 1000,
            ", ".join("%s %s" % (k, "{:,}".format(v)) for k, v in pay["files"].items()),
            mark(pay["bytes"] <= 300_000)))
    else:
        L.append("- Image payload: not measured (dist/ missing)")
    L.append("")
    socks = r.get("sockets", {})
    if socks:
        L.append("Sockets in the namespace at each N (`ss -s`): " + "; ".join(
            "N = {:,}: {} established, {} TIME_WAIT".format(int(n), s.get("estab"), s.get("timewait"))
            for n, s in socks.items()) + ".\n")
    if r["notes"]:
        L.append("## Notes\n")
        L.extend("- " + n for n in r["notes"])
        L.append("")
    L.append("Reproduce: `sudo make bench` (full, about %s) or `sudo make bench-smoke`; raw figures in "
             "`%s`.\n" % ("%d s" % r.get("duration_s", 0), "bench-smoke.json" if smoke else "bench.json"))
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
