"""The report of bench/run.py: docs/bench.md (and .json, .png) from its results."""

import json
import sys
from pathlib import Path

from tests.harness import ARCH, DIST, ROOT, run

BENCH = ROOT / "bench"


def write(results, out_dir, name, notes, log):
    """bench.json, bench.png (if matplotlib is there) and bench.md in out_dir -> the .md path."""
    results["payload"] = payload_size()
    jpath = out_dir / (name + ".json")
    jpath.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    png = out_dir / (name + ".png")
    plotted = make_plot(jpath, png, notes)
    md = out_dir / (name + ".md")
    md.write_text(render_markdown(results, png.name if plotted else None))
    log("wrote %s, %s%s" % (md, jpath.name, ", " + png.name if plotted else ""))
    return md


def payload_size():
    d = DIST / ("linux-" + ARCH) / "healthcheck"
    if not d.is_dir():
        return None
    files = {p.name: p.lstat().st_size for p in sorted(d.iterdir()) if p.is_file() and not p.is_symlink()}
    shown = str(d.relative_to(ROOT)) if d.is_relative_to(ROOT) else str(d)
    return {"dir": shown, "arch": ARCH, "files": files, "bytes": sum(files.values())}


def make_plot(jpath, png, notes):
    """Plot with a Python that has matplotlib: this one, else the project's venv."""
    for py in (sys.executable, str(ROOT / ".venv" / "bin" / "python")):
        if not Path(py).exists():
            continue
        if run([py, "-c", "import matplotlib"]).rc != 0:
            continue
        p = run([py, str(BENCH / "plot.py"), str(jpath), str(png)], timeout=120)
        if p.rc == 0:
            return True
        notes.append("plot failed: %s" % p.err.strip()[-300:])
        return False
    notes.append("no plot: matplotlib not importable (make bench installs it into .venv)")
    return False


# ---------------------------------------------------------------- report
ORDER = ["static", "static-closed", "static-proc", "static-proc-closed", "static-tcp", "cpython", "cpython-clean",
         "grpcio", "ss", "floor", "floor-kernel", "floor-closed", "floor-bc", "floor-lookup", "floor-lookup-closed",
         "connect", "connect-closed", "wget", "curl", "empty"]
HTTP_GOAL = 1.2


def fmt_ms(v):
    return "%.2f" % v if v < 10 else "%.1f" % v if v < 1000 else "{:,.0f}".format(v)


def fmt_ratio(x):
    return "%.2f×" % x if x < 10 else "%.1f×" % x if x < 100 else "{:,.0f}×".format(x)


def goal_lines(r, keys):
    """The performance goal, as read from this run (reported, not asserted)."""
    tcp = r["tcp"]
    lines = []
    # The goal's floor is floor_netlink; the tools' own requests written in C are shown beside it.
    nl = ("the C netlink floor", "goal: at most 1.5×")
    same = ("a C program asking the tools' question (lookup first)",
            "for reference: its own requests written in C; the goal is against the netlink floor")
    for ours, floor, (who, said), port in (("tcp-static", "tcp-floor", nl, "listening port"),
                                           ("tcp-static-closed", "tcp-floor-closed", nl, "closed port"),
                                           ("tcp-static", "tcp-floor-lookup", same, "listening port"),
                                           ("tcp-static-closed", "tcp-floor-lookup-closed", same, "closed port")):
        ratios = [tcp[ours][str(k)]["median"] / tcp[floor][str(k)]["median"] for k in keys
                  if str(k) in tcp.get(ours, {}) and str(k) in tcp.get(floor, {})]
        if ratios:
            lines.append("- Static binary vs %s, %s: %s to %s (%s)" % (
                who, port, fmt_ratio(min(ratios)), fmt_ratio(max(ratios)), said))
    conn = [tcp["tcp-static"][str(k)]["median"] / tcp["tcp-connect"][str(k)]["median"] for k in keys
            if str(k) in tcp.get("tcp-connect", {}) and str(k) in tcp.get("tcp-static", {})]
    if conn:
        lines.append("- Static binary vs the C connect() probe, listening port: %s to %s (goal: below 1×)" % (
            fmt_ratio(min(conn)), fmt_ratio(max(conn))))
    return lines + [""] if lines else []


def http_ratio(r, key):
    """median of `key` / median of the C HTTP floor in this run, or None."""
    h = r.get("http", {})
    if "0" not in h.get(key, {}) or "0" not in h.get("http-floor", {}):
        return None
    return h[key]["0"]["median"] / h["http-floor"]["0"]["median"]


def http_goal_lines(r):
    lines = []
    x = http_ratio(r, "http-static")
    if x is not None:
        lines.append("- Static `HTTP PORT/healthz` vs the C HTTP floor: %s (goal: at most %s×)" % (
            fmt_ratio(x), HTTP_GOAL))
    k = http_ratio(r, "http-floor-kernel")
    if k is not None:
        lines.append("- The C HTTP floor asking the kernel first vs the C HTTP floor: %s (the least a check "
                     "that asks the kernel before it connects can take, written in C)" % fmt_ratio(k))
    for key, what in (("http-wget", "busybox wget"), ("http-curl", "curl")):
        y = http_ratio(r, key)
        if y is not None:
            lines.append("- %s vs the C HTTP floor: %s" % (what, fmt_ratio(y)))
    return lines + [""] if lines else []


def ratio(r, group, key, ref):
    """median of `key` / median of `ref` (both of `group`, measured at N = 0), or None."""
    g = r.get(group, {})
    if "0" not in g.get(key, {}) or "0" not in g.get(ref, {}):
        return None
    return g[key]["0"]["median"] / g[ref]["0"]["median"]


def served_lines(r):
    """The HTTPS and GRPC comparisons (no goal set: printed as read) -> (https lines, grpc lines)."""
    def line(x, what, other):
        if x is None:
            return []
        return ["- %s: %s%s" % (what, fmt_ratio(x), " (%s takes %s as long)" % (other, fmt_ratio(1 / x))
                                 if x < 1 else "")]

    https = line(ratio(r, "https", "https-static", "https-curl"), "Static `HTTPS PORT/healthz` vs `curl -k`",
                 "curl")
    grpc = (line(ratio(r, "grpc", "grpc-static", "grpc-grpcio"), "Static `GRPC PORT` vs Python's grpcio client",
                 "the grpcio client")
            + line(ratio(r, "grpc", "grpc-static", "grpc-static-tcp"), "Static `GRPC PORT` vs the plain `TCP PORT`",
                   "TCP"))
    return https, grpc


# Why the C peer's TLS checker has no row (issue 22 asks for it if its TLS library can be had).
PEER_TLS = (
    "The C peer's TLS checker (`httpscheck` of microcheck, about 500 KB) is not measured: it is written for "
    "mbedTLS 4.0 (TF-PSA-Crypto: it calls `psa_crypto_init()` and sets no random generator, which mbedTLS 2 "
    "and 3 require for a handshake), and its build downloads the mbedTLS 4.0.0 release tarball from upstream, "
    "not from a package registry. None of the registries this project builds from has mbedTLS 4: Debian "
    "bookworm ships `libmbedtls-dev` 2.28.3 (`apt-cache policy libmbedtls-dev`; `apt-cache search mbedtls` "
    "finds only the 2.28 packages and lighttpd's module) and trixie 3.6.6 (the source `static/tls/` builds "
    "from); on PyPI, `pip download python-mbedtls` gives a 2.10.1 wheel carrying shared mbedTLS 2.28.8 "
    "libraries without headers, and `mbedtls` 0.0.1 is an unrelated 70 KB extension with no library; the npm "
    "registry has no `mbedtls` package (`npm view mbedtls`: 404). Building it against mbedTLS 2 or 3 would "
    "mean changing its TLS code, and then it would no longer be the peer's checker.")


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
    L.append("- Floors compiled with %s (`bench/floor_netlink.c`, `bench/floor_empty.c`, "
             "`bench/floor_connect.c`, `bench/floor_http.c`)"
             % r.get("floor_compiler"))
    L.append("- Each check runs inside a fresh network namespace holding a TCP listener on `0.0.0.0`, a "
             "dual-stack one on `[::]`, a bound UDP socket and N established loopback TCP connections "
             "(both ends in the namespace, so the kernel's table holds 2N established sockets). "
             "Before timing, every method is checked for the right answer (listening → 0, closed → 1).")
    L.append("")
    if png:
        L.append("![median time of one check vs N](%s)\n" % png)

    # the reference in brackets: the C floors; curl -k for HTTPS (no C TLS floor); for GRPC the
    # plain TCP check (what a GRPC check adds to the kernel's answer)
    FLOOR = {"tcp": "tcp-floor", "udp": "udp-floor-bc", "http": "http-floor", "https": "https-curl",
             "grpc": "grpc-static-tcp"}

    def rows_of(group, head, cell):
        rows = r[group]
        L.append("| method | " + " | ".join(head) + " |")
        L.append("|---|" + "---:|" * len(head))
        for suffix in ORDER:
            k = group + "-" + suffix
            if k in rows:
                L.append("| %s | %s |" % (r["methods"][k], " | ".join(cell(rows, k))))

    def table(group, keys_n, head):
        def median(rows, k):
            # a check of a closed port is compared with the floor's answer for a closed port
            floor = r[group].get(FLOOR[group] + ("-closed" if k.endswith("-closed") and group == "tcp" else ""), {})
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
    other = [k for k in next(iter(r["tcp"].values()), {}) if k.endswith("-other")]
    L.append("## TCP: `TCP PORT` against N established connections\n")
    L.append("Median ms per check (one process each), and in brackets the ratio to the C netlink floor "
             "at the same N (for a closed port, to the floor's answer for a closed port). The last "
             "column has no connection in the namespace and N in another one.\n")
    table("tcp", Ns + other, ["N = {:,}".format(n) for n in Ns] + ["%s in another namespace" % "{:,}".format(
        int(k.split("-")[0])) for k in other])
    L.extend(goal_lines(r, Ns + other))
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

    if r.get("http"):
        L.append("## HTTP: `HTTP PORT/healthz` against busybox httpd\n")
        L.append("busybox httpd (`-f -p 127.0.0.1:PORT`, one static file, a process forked per request, "
                 "on the timed CPU too) in a namespace of its own, with no other socket. Every check is one "
                 "HTTP/1.1 GET; before timing each method is checked: 200 → 0, 404 → failure, nothing "
                 "listening → failure. `HTTP` asks the kernel first (the listener is on 127.0.0.1, not a "
                 "wildcard, so that takes the lookup and then the LISTEN dump), then connects and reads the "
                 "head of the answer; the C floor only connects, sends the same request and reads the status "
                 "line (with -k it first asks the kernel as floor_netlink does); wget and curl read the "
                 "whole answer. Median ms per check, and in brackets the ratio to the C HTTP floor.\n")
        table("http", [0], ["busybox httpd on 127.0.0.1"])
        L.extend(http_goal_lines(r))

    https_lines, grpc_lines = served_lines(r)
    if r.get("https"):
        L.append("## HTTPS: `HTTPS PORT/healthz` against openssl s_server\n")
        L.append("`openssl s_server -HTTP` (%s: C, one connection at a time, as busybox httpd above; it "
                 "sends a file as the whole answer) on 127.0.0.1:PORT, with a self-signed ECDSA P-256 "
                 "certificate made at the start of the run, on the timed CPU too, in a namespace of its own. "
                 "Every check is one TLS handshake (TLS 1.3, which both sides prefer; the certificate is not "
                 "verified: `HTTPS` does not by default, `curl -k` neither) and one GET. `HTTPS` is the "
                 "second static binary, `healthcheck-tls` (mbedTLS); curl uses the system's OpenSSL (%s). "
                 "Before timing each method is checked: 200 → 0, 404 → failure, nothing listening → failure. "
                 "Median ms per check, and in brackets the ratio to `curl -k` (there is no C TLS floor).\n" % (
                     " ".join(m.get("openssl", "?").split()[:2]), m.get("curl", "?")))
        table("https", [0], ["openssl s_server on 127.0.0.1"])
        L.extend(https_lines + [""] if https_lines else [])
    if r.get("https") is not None:
        L.append(PEER_TLS + "\n")

    if r.get("grpc"):
        L.append("## GRPC: `GRPC PORT` against a grpcio server\n")
        L.append("The tests' grpcio server (`tests/integration/grpc_server.py`, grpcio %s: the standard "
                 "health service, \"\" SERVING and \"down\" NOT_SERVING) on 127.0.0.1:PORT, cleartext "
                 "HTTP/2, on the timed CPU too, in a namespace of its own. `GRPC` asks the kernel first, then "
                 "makes one `grpc.health.v1.Health/Check` call over h2c. The same question asked with "
                 "Python's grpcio client is `bench/grpc_client.py` (`grpc.insecure_channel` + "
                 "`HealthStub(channel).Check(..., timeout=5)`) run by the dev venv's python, a process per "
                 "check as a health check runs. Before timing each method is checked: SERVING → 0, the "
                 "NOT_SERVING service → 1, nothing listening → 1. Median ms per check, and in brackets the "
                 "ratio to the plain `TCP PORT` (the kernel's answer alone).\n" % m.get("grpcio", "?"))
        table("grpc", [0], ["grpcio server on 127.0.0.1"])
        L.extend(grpc_lines + [""] if grpc_lines else [])

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
    hx = http_ratio(r, "http-static")
    if hx is not None:
        L.append("- Static `HTTP PORT/healthz` ≤ %s× the C HTTP floor: %s → %s" % (
            HTTP_GOAL, fmt_ratio(hx), mark(hx <= HTTP_GOAL)))
        kx = http_ratio(r, "http-floor-kernel")
        if kx is not None:
            L.append("  - the C HTTP floor asking the kernel first: %s (%s); what is left of the goal over it is "
                     "what any other part of a kernel-first check may cost" % (
                         fmt_ratio(kx), "over the goal" if kx > HTTP_GOAL else "within the goal"))
    elif r.get("http") is not None:
        L.append("- Static HTTP vs the C HTTP floor: not measured (binary, busybox or floor missing)")
    if https_lines or grpc_lines:
        L.extend(x.replace("- ", "- (no target set) ", 1) for x in https_lines + grpc_lines)
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
        # issue 22: the main binary keeps its budget, TLS lives in a second binary, the image < 1 MB
        budget = 300_000 if pay.get("arch", ARCH) == "amd64" else 340_000
        main = pay["files"].get("TCP")
        if main is not None:
            L.append("- Main binary (`TCP` and its links) ≤ %s KB: %s bytes → %s" % (
                budget // 1000, "{:,}".format(main), mark(main <= budget)))
        L.append("- Image payload < 1 MB: `%s` holds %s bytes (%.0f KB; %s) → %s" % (
            pay["dir"], "{:,}".format(pay["bytes"]), pay["bytes"] / 1000,
            ", ".join("%s %s" % (k, "{:,}".format(v)) for k, v in pay["files"].items()),
            mark(pay["bytes"] < 1_000_000)))
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

