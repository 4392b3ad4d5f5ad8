"""A hundred thousand sockets in the tables: both backends, both builds,
still the right answer in bounded time.

50,400 established loopback pairs (100,800 sockets) held by six processes
(the fd limit here is 20,000 per process) in a fresh network namespace.
Holder 0 keeps its listener; holder 1 closes its own, so its port has
16,800 established sockets and no listener: a port that is "busy" but not
listening. Sockets close with SO_LINGER 0 (RST, no TIME_WAIT), and the
namespace is deleted at the end."""

import subprocess
import sys
import time

import pytest

from .conftest import clean_env

HOLDERS = 6
PAIRS = 8400  # per holder: 16,800 fds + a listener
BOUND = 30.0  # seconds per answer: a hang detector on a busy 2-core machine

HOLDER = r"""
import resource, socket, struct, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
pairs, keep = int(sys.argv[1]), sys.argv[2] == "keep"
linger = struct.pack("ii", 1, 0)
lst = socket.socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
lst.bind(("127.0.0.1", 0))
lst.listen(4096)
port = lst.getsockname()[1]
held = []
for _ in range(pairs):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    c.connect(("127.0.0.1", port))
    s, _ = lst.accept()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    held += [c, s]
if not keep:
    lst.close()
print(port, flush=True)
sys.stdin.readline()
for s in held:
    s.close()
"""


@pytest.fixture(scope="module")
def crowded():
    from tests.integration.conftest import Namespace

    from .conftest import require_root

    require_root()
    ns = Namespace()
    procs = []
    try:
        start = time.monotonic()
        for i in range(HOLDERS):
            procs.append(subprocess.Popen(
                ["ip", "netns", "exec", ns.name, sys.executable, "-c", HOLDER, str(PAIRS),
                 "keep" if i != 1 else "close"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        ports = [int(p.stdout.readline()) for p in procs]
        count = subprocess.run(["ip", "netns", "exec", ns.name, "ss", "-tanH"], capture_output=True,
                               text=True).stdout.count("\n")
        print("%d TCP sockets in the namespace after %.1fs" % (count, time.monotonic() - start))
        assert count >= HOLDERS * PAIRS * 2
        yield ns, ports
    finally:
        for p in procs:
            try:
                p.stdin.write("quit\n")
                p.stdin.close()
                p.wait(60)
            except Exception:
                p.kill()
                p.wait()
        ns.delete()


@pytest.mark.parametrize("backend", ["netlink", "proc"])
def test_answers_among_a_hundred_thousand_sockets(build, crowded, backend):
    from .conftest import ns_run

    ns, ports = crowded
    env = clean_env(HEALTHCHECK_BACKEND=backend)
    slowest = 0.0
    for args, rc in [((ports[0],), 0), ((ports[1],), 1), (("%d,%d" % (ports[0], ports[2]),), 0),
                     (("%d,%d" % (ports[0], ports[1]),), 1), ((ports[0], "127.0.0.1"), 0)]:
        res = ns_run(ns, build.argv("TCP", *args), env=env, timeout=120)
        assert res.rc == rc, (args, res)
        assert "Traceback" not in res.err and len(res.out + res.err) < 400, res
        slowest = max(slowest, res.seconds)
    res = ns_run(ns, build.argv("TCP6", ports[0]), env=env, timeout=120)
    assert res.rc == 1, res
    res = ns_run(ns, build.argv("TCP", ports[1], "--debug"), env=env, timeout=120)
    assert res.rc == 1 and "port %d: 0 candidate sockets" % ports[1] in res.err, res
    print("%s/%s: slowest answer %.2fs" % (build.name, backend, slowest))
    assert slowest < BOUND
