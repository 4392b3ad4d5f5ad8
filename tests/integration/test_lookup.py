"""The kernel's own lookup, asked first by a plain TCP/UDP check (#12,
docs/rules.md "Asking the kernel"): one small request a port and no dump when
every asked port has a wildcard socket that counts; the dumps, as before,
for anything else. Real sockets; strace shows the requests each check sends."""

import json
import re
import subprocess
import sys

from tests.harness import ROOT, clean_env, require

LOOKUP = """import json, sys
from healthcheck import netlink
from healthcheck.tools import find_tool
sock = netlink.open_socket()
out = []
for tool, port in json.loads(sys.argv[1]):
    recs = netlink.lookup(sock, find_tool(tool), (port,))
    out.append(None if recs is None else [recs[0].family, recs[0].port, recs[0].v6only])
print(json.dumps(out))
"""


def test_the_kernel_lookup_finds_the_wildcard_socket_and_nothing_else(ns):
    # TCP and UDP take the port at different ends of the request: a wrong
    # end would find nothing, and every check would fall back to the dumps.
    h = ns.holder()
    p = {}
    for name, kind, family, addr, opts in (
            ("tcp4", "tcp", 4, "0.0.0.0", {}), ("tcp46", "tcp", 6, "::", {"v6only": 0}),
            ("tcp6", "tcp", 6, "::", {"v6only": 1}), ("tcplo", "tcp", 4, "127.0.0.1", {}),
            ("udp4", "udp", 4, "0.0.0.0", {}), ("udp46", "udp", 6, "::", {"v6only": 0}),
            ("udplo", "udp", 4, "127.0.0.1", {})):
        _, p[name] = h.open(kind, family, addr, **opts)
    asks = [("TCP", p["tcp4"]), ("TCP", p["tcp46"]), ("TCP6", p["tcp46"]), ("TCP", p["tcp6"]),
            ("TCP6", p["tcp6"]), ("TCP", p["tcplo"]), ("TCP6", p["tcp4"]), ("UDP", p["udp4"]),
            ("UDP", p["udp46"]), ("UDP6", p["udp46"]), ("UDP", p["udplo"]), ("UDP6", p["udp4"])]
    res = ns.run([sys.executable, "-c", LOOKUP, json.dumps(asks)], env=clean_env(PYTHONPATH=str(ROOT / "src")))
    assert res.rc == 0, res
    assert json.loads(res.out) == [
        [2, p["tcp4"], None], [10, p["tcp46"], False], [10, p["tcp46"], False],
        None,  # IPv6-only: no IPv4 lookup finds it
        [10, p["tcp6"], True], None, None,  # a loopback listener is no wildcard; 0.0.0.0 is not IPv6
        [2, p["udp4"], None], [10, p["udp46"], False], [10, p["udp46"], False], None, None]


def diag_requests(ns, tools, *args):
    """The sock_diag requests one check sends: ["lookup" | "dump" | "dump46", ...]
    ("dump46": TCPDIAG_GETSOCK, the TCP sockets of both families in one dump)."""
    out = subprocess.run(["mktemp"], capture_output=True, text=True).stdout.strip()
    env = clean_env(HEALTHCHECK_BACKEND=None if tools.backend == "auto" else tools.backend)
    cmd = ns.prefix + ["strace", "-f", "-qq", "-s", "32", "-e", "trace=sendto,sendmsg", "-o", out]
    proc = subprocess.run(cmd + tools.build.argv(*args), env=env, capture_output=True, text=True, timeout=60)
    with open(out) as f:
        trace = f.read()
    kinds = []
    for line in trace.splitlines():
        if re.search(r"nlmsg_type=(SOCK_DIAG_BY_FAMILY|0x14)\b", line):
            kinds.append("dump" if "NLM_F_DUMP" in line or "|0x300" in line else "lookup")
        elif re.search(r"nlmsg_type=(TCPDIAG_GETSOCK|0x12)\b", line):
            kinds.append("dump46")
    return proc.returncode, kinds


def test_a_plain_check_asks_the_lookup_and_dumps_only_when_it_cannot_answer(ns, tools):
    require("strace")
    h = ns.holder()
    _, dual = h.open("tcp", 6, "::", v6only=0)
    _, v6only = h.open("tcp", 6, "::", v6only=1)
    _, udp = h.open("udp", 4, "0.0.0.0")
    _, lo = h.open("tcp", 4, "127.0.0.1")
    cases = [  # (arguments, exit code, the sock_diag requests where netlink answers)
        (("TCP", dual), 0, ["lookup"]),
        (("UDP", udp), 0, ["lookup"]),
        (("TCP6", v6only), 0, ["lookup"]),
        # An IPv4 TCP question's dump is one for both families; the others dump per family.
        (("TCP", "%d,%d" % (dual, dual + 1 if dual < 65535 else 1)), 1,
         ["lookup", "lookup", "dump46"]),  # stops at the first port without one
        (("TCP", lo), 0, ["lookup", "dump46"]),  # loopback: the dump says so
        (("TCP", v6only), 1, ["lookup", "dump46"]),
        (("UDP", udp + 1 if udp < 65535 else 1), 1, ["lookup", "dump", "dump"]),
        (("TCP6", dual + 1 if dual < 65535 else 1), 1, ["lookup", "dump"]),
        # Where the lookup cannot answer, it is not asked.
        (("TCP", dual, "--debug"), 0, ["dump46"]),
        (("TCP", dual, "--accepting"), 0, ["dump46"]),
        (("TCP", dual, "127.0.0.1"), 0, ["dump46"]),
    ]
    # Forced /proc, or no sock_diag (qemu-user refuses it): the same
    # answers, and not one sock_diag request.
    on_proc = tools.backend == "proc" or bool(tools.build.wrapper)
    assert tools.on_proc() == on_proc, (tools.build.name, tools.backend)
    for args, rc, kinds in cases:
        assert diag_requests(ns, tools, *args) == (rc, [] if on_proc else kinds), (args, tools.backend)
