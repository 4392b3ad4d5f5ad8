"""The one test and bench harness: network namespaces, the socket holder,
the builds of the tools and how to run them.

    ns = Netns()                       # fresh namespace, veth to ns.peer
    h = ns.holder()                    # a process in it holding sockets
    sid, port = h.open("tcp", 4, "127.0.0.1")
    tools = Tools(ns, build("static"), "netlink")
    tools.ok("TCP", port); h.close(sid); tools.no("TCP", port)

Run as a script (`python harness.py holder`) it is the holder itself: one
command per stdin line, one "ok ..." or "error ..." line back (see serve()).
Only the standard library, so the bench and the holder can use it outside
pytest; pytest is imported where a test is skipped or failed.
"""

import itertools
import os
import resource
import select
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI") == "true"


def _tool_names():
    """The package's one list of tool names (healthcheck.tools.NAMES), read
    as static/names.sh reads it: the harness imports nothing of the package."""
    import ast

    for node in ast.parse((ROOT / "src" / "healthcheck" / "tools.py").read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "NAMES":
            return tuple(ast.literal_eval(node.value))
    raise RuntimeError("no NAMES in src/healthcheck/tools.py")


TOOLS = _tool_names()
# TLS hook: the names whose link is to healthcheck-tls, the second static
# binary (static/static.sh TLS_NAMES, static/tls/README.md), not to TCP.
TLS_TOOLS = ("HTTPS",)
# The symlinks to TCP in dist/ and the image.
LINKS = tuple(t for t in TOOLS[1:] if t not in TLS_TOOLS) + ("healthcheck",)
V4_ADDR, V4_PEER = "10.77.0.1", "10.77.0.2"
V6_ADDR, V6_PEER = "fd77::1", "fd77::2"


class HarnessError(Exception):
    """The harness itself broke (not a wrong answer of the tools)."""


def missing(reason):
    """A prerequisite is missing: a visible skip on a laptop, a failure in CI."""
    import pytest

    if IN_CI:
        pytest.fail("%s (CI=true: this must run)" % reason, pytrace=False)
    pytest.skip(reason)


def require(*commands, root=True):
    lack = (["root"] if root and os.geteuid() != 0 else []) + [c for c in commands if not shutil.which(c)]
    if lack:
        missing("needs %s" % ", ".join(lack))


class Platform:
    """One line of static/platforms, the one map of architectures."""

    def __init__(self, line):
        f = line.split(None, 9)
        self.arch, self.platform, self.zig_target, self.mcpu = f[0], f[1], f[2], f[3]
        self.qemu_name, self.qemu_cpu, self.debian = f[4], f[5], f[6]
        self.elf_class, self.elf_data, self.machine = f[7], f[8], f[9].strip()

    def __repr__(self):
        return self.arch

    @property
    def dir(self):
        """Where `make dist` puts its binaries: dist/linux-ARCH/healthcheck."""
        return DIST / ("linux-" + self.arch) / "healthcheck"


PLATFORMS = [Platform(line) for line in (ROOT / "static" / "platforms").read_text().splitlines()
             if line.strip() and not line.startswith("#")]


def platform(arch):
    for p in PLATFORMS:
        if p.arch == arch:
            return p
    raise HarnessError("%s is not in static/platforms" % arch)


def qemu(arch):
    """The argv prefix that runs `arch`'s binaries here under qemu-user:
    Debian 12's qemu-user-static names the program qemu-ARCH-static, Debian
    13's qemu-user (static too, from then on) qemu-ARCH. The -static one
    first: Debian 12's qemu-ARCH is dynamic and would not start inside a
    jail (tests/hardening). None when neither is installed."""
    p = platform(arch)
    base = p.qemu_name[:-len("-static")] if p.qemu_name.endswith("-static") else p.qemu_name
    for name in (base + "-static", base):
        path = shutil.which(name)
        if path:
            return [path] + ([] if p.qemu_cpu == "-" else ["-cpu", p.qemu_cpu])
    return None


def need_qemu(arch):
    """qemu(arch), or a skip (a failure in CI) that names both packages."""
    base = platform(arch).qemu_name.replace("-static", "")
    return qemu(arch) or missing("neither %s-static nor %s is installed (Debian package qemu-user-static, "
                                 "or qemu-user from Debian 13 on; scripts/deps.sh installs it)" % (base, base))


_DPKG_ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
# This machine's platform (dist/linux-ARCH) and another one that runs under qemu-user.
ARCH = next((p.arch for p in PLATFORMS if p.debian == _DPKG_ARCH), _DPKG_ARCH)
OTHER_ARCH = "arm64" if ARCH == "amd64" else "amd64"


def clean_env(**extra):
    """The caller's environment minus HEALTHCHECK_*, PYTHON*, MICROPY*, plus
    `extra` (None removes a key): what a tool meets in a container."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALTHCHECK_", "PYTHON", "MICROPY"))}
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


class Result:
    def __init__(self, rc, out, err, seconds=0.0):
        self.rc, self.out, self.err, self.seconds = rc, out, err, seconds

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r, %.2fs)" % (self.rc, self.out, self.err, self.seconds)


def run(argv, env=None, timeout=30, check=False, **kw):
    """-> Result; `check` raises HarnessError unless the exit code is 0."""
    start = time.monotonic()
    try:
        proc = subprocess.run([a if isinstance(a, bytes) else str(a) for a in argv], capture_output=True,
                              text=True, env=clean_env() if env is None else env, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise HarnessError("no exit within %ss: %s" % (timeout, shlex.join(map(str, argv))))
    res = Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
    if check and res.rc != 0:
        raise HarnessError("%s -> %r" % (shlex.join(map(str, argv)), res))
    return res


# ---------------------------------------------------------------- namespaces
_names = itertools.count()


class Netns:
    """A fresh network namespace with lo up. With peer=True (the default) a
    second one, ns.peer, is joined by a veth: 10.77.0.1/24 and fd77::1/64
    here, .2 and ::2 there."""

    def __init__(self, peer=True, name=None):
        self.name = name or "hc%d-%d" % (os.getpid(), next(_names))
        self.holders = []
        self.peer = None
        run(["ip", "netns", "add", self.name], check=True)
        self.ip("link", "set", "lo", "up")
        if peer:
            self.peer = Netns(peer=False, name=self.name + "p")
            self.ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", self.peer.name)
            for space, dev, v4, v6 in ((self, "veth0", V4_ADDR, V6_ADDR), (self.peer, "veth1", V4_PEER, V6_PEER)):
                space.ip("addr", "add", v4 + "/24", "dev", dev)
                space.ip("addr", "add", v6 + "/64", "dev", dev, "nodad")
                space.ip("link", "set", dev, "up")

    @property
    def prefix(self):
        return ["ip", "netns", "exec", self.name]

    def ip(self, *args):
        return run(["ip", "-n", self.name, *args], check=True)

    def sysctl(self, key, value):
        run(self.prefix + ["sysctl", "-qw", "%s=%s" % (key, value)], check=True)

    def run(self, argv, env=None, uid=None, **kw):
        """argv inside the namespace (as `uid`, with no groups): -> Result."""
        setpriv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] if uid is not None else []
        return run(self.prefix + setpriv + list(argv), env, **kw)

    def holder(self):
        h = Holder(self.prefix)
        self.holders.append(h)
        return h

    def delete(self):
        for h in self.holders:
            h.stop()
        if self.peer:
            self.peer.delete()
        run(["ip", "netns", "del", self.name])


class Holder:
    """Client of one holder process (serve() below) running in a namespace."""

    def __init__(self, prefix=()):
        self.proc = subprocess.Popen(list(prefix) + [sys.executable, "-I", __file__, "holder"], cwd="/",
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean_env())

    def cmd(self, line, timeout=60):
        """Send one command; -> the words after "ok"."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise HarnessError("holder: no answer to %r within %ss" % (line, timeout))
        reply = self.proc.stdout.readline().split()
        if reply[:1] != ["ok"]:
            raise HarnessError("holder: %s -> %s" % (line, " ".join(reply) or "(exited)"))
        return [int(w) for w in reply[1:]]

    def open(self, kind, family, addr, port=0, **opts):
        """A tcp/udp socket -> (id, port). opts: v6only=0|1, reuseport=1,
        nolisten=1, backlog=N, rcvbuf=BYTES, connect="ADDR,PORT"."""
        return tuple(self.cmd(" ".join([kind, str(family), addr, str(port)] + ["%s=%s" % o for o in opts.items()])))

    def unix(self, kind, path, **opts):
        """An AF_UNIX stream|dgram|seqpacket socket on PATH or @abstract -> id.
        opts as open(); stream and seqpacket ones listen unless nolisten=1."""
        return self.cmd(" ".join(["unix", kind, path] + ["%s=%s" % o for o in opts.items()]))[0]

    def client(self, kind, family, addr, port):
        """A tcp/udp socket connected to ADDR PORT -> (id, local port)."""
        return self.open(kind, family, "::" if family == 6 else "0.0.0.0", nolisten=1, connect="%s,%d" % (addr, port))

    def establish(self, sid, count):
        """Grow to `count` accepted connections to listener `sid`, both ends held."""
        return self.cmd("established %d %d" % (sid, count), timeout=600)[0]

    def clients(self, sid, count):
        """`count` more clients connected to listener `sid` and never
        accepted (they fill its accept queue) -> how many connected."""
        return self.cmd("clients %d %d" % (sid, count))[0]

    def flood(self, sid, count):
        """Send `count` datagrams to datagram socket `sid`, which never reads."""
        return self.cmd("flood %d %d" % (sid, count))[0]

    def datagrams(self, sid, count, size):
        """Send `count` datagrams of `size` bytes to datagram socket `sid` -> how many were sent."""
        return self.cmd("datagrams %d %d %d" % (sid, count, size))[0]

    def read(self, sid, count):
        """Read up to `count` datagrams queued on socket `sid`, without waiting -> how many."""
        return self.cmd("read %d %d" % (sid, count))[0]

    def later(self, seconds, line):
        """Run holder command `line` after `seconds` (e.g. "listen ID")."""
        self.cmd("later %s %s" % (seconds, line))

    def close(self, sid):
        self.cmd("close %d" % sid)

    def stop(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- builds
class Build:
    """One build of the tools: bin_dir holds TCP and the LINKS;
    wrapper is an argv prefix (qemu-user); static marks the one-file binary."""

    def __init__(self, name, bin_dir, wrapper=(), static=False):
        self.name, self.bin_dir, self.wrapper, self.static = name, Path(bin_dir), list(wrapper), static

    def path(self, tool="TCP"):
        return self.bin_dir / tool

    def argv(self, tool, *args):
        return self.wrapper + [str(self.path(tool))] + [a if isinstance(a, bytes) else str(a) for a in args]


DIST = Path(os.environ.get("HEALTHCHECK_DIST") or ROOT / "dist")


def build(name):
    """cpython (the console scripts beside this Python), static (dist/ of
    this machine) or qemu (the other architecture's under qemu-user)."""
    if name == "cpython":
        b = Build("cpython", Path(sys.executable).parent)
    else:
        arch = ARCH if name == "static" else OTHER_ARCH
        wrapper = [] if name == "static" else need_qemu(arch)
        b = Build(name, platform(arch).dir, wrapper, static=True)
    if not b.path().exists():
        missing("no %s build at %s (make venv / make dist)" % (name, b.bin_dir))
    return b


BUILD = os.environ.get("HEALTHCHECK_TEST_BUILD", "cpython")
BACKENDS = [b for b in os.environ.get("HEALTHCHECK_TEST_BACKENDS", "netlink,proc").split(",") if b]


class Tools:
    """The tools of `build` run in namespace `ns`, HEALTHCHECK_BACKEND=backend
    ("auto" leaves it unset)."""

    def __init__(self, ns, build, backend="auto"):
        self.ns, self.build, self.backend = ns, build, backend

    def __call__(self, tool, *args, uid=None, backend=None, **kw):
        backend = backend or self.backend
        env = clean_env(HEALTHCHECK_BACKEND=None if backend == "auto" else backend)
        return self.ns.run(self.build.argv(tool, *args), env, uid=uid, **kw)

    def on_proc(self, tool="TCP"):
        """Whether `tool` answers from /proc here (forced, or netlink refused)."""
        return "kernel interface: /proc" in self(tool, "@hc-probe" if tool == "UNIX" else "1", "--debug").err

    def ok(self, tool, *args, **kw):
        res = self(tool, *args, **kw)
        assert res.rc == 0 and res.err == "" and res.out.count("\n") == 1, \
            "expected listening: %s %s -> %r" % (tool, args, res)
        return res

    def no(self, tool, *args, **kw):
        res = self(tool, *args, **kw)
        assert res.rc == 1 and res.out == "" and res.err.count("\n") == 1 and "Traceback" not in res.err, \
            "expected not listening: %s %s -> %r" % (tool, args, res)
        return res


# ---------------------------------------------------------------- holder
# Every TCP socket closes with SO_LINGER {on, 0}: a reset, no TIME_WAIT left
# behind by tens of thousands of connections.
LINGER_RST = struct.pack("ii", 1, 0)
IP_BIND_ADDRESS_NO_PORT = 24
KINDS = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM, "stream": socket.SOCK_STREAM,
         "dgram": socket.SOCK_DGRAM, "seqpacket": socket.SOCK_SEQPACKET}


class Served:
    def __init__(self):
        self.socks = {}
        self.accepted = {}  # listener id -> how many connections to it are held

    def keep(self, sock):
        if sock.type == socket.SOCK_STREAM and sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
        self.socks[sock.fileno()] = sock
        return sock

    def make(self, family, kind, opts):
        sock = socket.socket(family, KINDS[kind])
        for name, level, opt in (("v6only", socket.IPPROTO_IPV6, socket.IPV6_V6ONLY),
                                 ("reuseport", socket.SOL_SOCKET, socket.SO_REUSEPORT),
                                 ("rcvbuf", socket.SOL_SOCKET, socket.SO_RCVBUF)):
            if name in opts:
                sock.setsockopt(level, opt, int(opts[name]))
        return self.keep(sock)

    def bound(self, sock, addr, opts):
        sock.bind(addr)
        if sock.type in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET) and "nolisten" not in opts:
            sock.listen(int(opts.get("backlog", 4096)))
        if "connect" in opts:
            host, port = opts["connect"].split(",")
            sock.connect((host, int(port)))
        return "%d %d" % (sock.fileno(), sock.getsockname()[1] if sock.family != socket.AF_UNIX else 0)

    def address(self, sid):
        """Where to reach socket `sid`: a wildcard one on loopback."""
        sock = self.socks[sid]
        addr = sock.getsockname()
        if sock.family == socket.AF_UNIX:
            return b"\0" + addr[1:] if isinstance(addr, bytes) else addr
        if addr[0] in ("0.0.0.0", "::"):
            return ("127.0.0.1" if sock.family == socket.AF_INET else "::1", addr[1])
        return addr[:2]

    def client(self, sid, timeout=None):
        """A new socket connected to socket `sid` (a wildcard one via loopback)."""
        server, addr = self.socks[sid], self.address(sid)
        c = self.make(server.family, "stream" if server.type == socket.SOCK_STREAM else "seqpacket", {})
        if addr[0] == "127.0.0.1":
            # sources across 127.0.0.2-9, against running out of ephemeral ports
            c.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            c.bind(("127.0.0.%d" % (2 + c.fileno() % 8), 0))
        c.settimeout(timeout)
        c.connect(addr)
        return c

    def establish(self, sid, count):
        listener = self.socks[sid]
        while self.accepted.get(sid, 0) < count:
            # up to 512 handshakes wait in the accept queue at a time
            batch = [self.client(sid) for _ in range(min(512, count - self.accepted.get(sid, 0)))]
            for _ in batch:
                self.keep(listener.accept()[0])
            self.accepted[sid] = self.accepted.get(sid, 0) + len(batch)
        return str(self.accepted.get(sid, 0))

    def clients(self, sid, count):
        for done in range(count):
            try:
                self.client(sid, timeout=0.5)
            except OSError:  # the accept queue is full: the handshake stays pending
                return str(done)
        return str(count)

    def flood(self, sid, count, size=512):
        target = self.socks[sid]
        sender = self.make(target.family, "dgram", {})
        sender.setblocking(False)
        addr = self.address(sid)
        for sent in range(count):
            try:
                sender.sendto(b"x" * size, addr)
            except BlockingIOError:  # a full receive buffer (AF_UNIX); UDP drops instead
                return str(sent)
        return str(count)

    def handle(self, words):
        cmd, args = words[0], words[1:]
        opts = dict(w.split("=", 1) if "=" in w else (w, "1") for w in args)
        if cmd in ("tcp", "udp"):
            fam = socket.AF_INET6 if args[0] == "6" else socket.AF_INET
            return self.bound(self.make(fam, cmd, opts), (args[1], int(args[2])), opts)
        if cmd == "unix":
            path = "\0" + args[1][1:] if args[1].startswith("@") else args[1]
            if path.startswith("hex:"):  # a name of any bytes, UTF-8 or not ("@" as 40)
                path = bytes.fromhex(path[4:]).replace(b"@", b"\0", 1)
            return self.bound(self.make(socket.AF_UNIX, args[0], opts), path, opts).split()[0]
        if cmd in ("established", "clients", "flood"):
            return {"established": self.establish, "clients": self.clients, "flood": self.flood}[cmd](
                int(args[0]), int(args[1]))
        if cmd == "datagrams":
            return self.flood(int(args[0]), int(args[1]), int(args[2]))
        if cmd == "read":
            sock, done = self.socks[int(args[0])], 0
            sock.setblocking(False)
            try:
                while done < int(args[1]):
                    sock.recv(65536)
                    done += 1
            except BlockingIOError:  # the queue is empty
                pass
            sock.setblocking(True)
            return str(done)
        if cmd == "listen":
            self.socks[int(args[0])].listen(int(args[1]) if args[1:] else 4096)
            return ""
        if cmd == "accepting":  # accept and close every connection, in the background
            listener = self.socks[int(args[0])]
            thread = threading.Thread(target=lambda: [c.close() for c, _ in iter(listener.accept, None)])
            thread.daemon = True
            thread.start()
            return ""
        if cmd == "later":
            timer = threading.Timer(float(args[0]), self.handle, [args[1:]])
            timer.daemon = True  # end of input ends the holder, pending or not
            timer.start()
            return ""
        if cmd == "repeat":
            return [self.handle(args[1:]) for _ in range(int(args[0]))][-1]
        if cmd == "close":
            self.socks.pop(int(args[0])).close()
            return ""
        raise ValueError("unknown command %r" % cmd)


def serve():
    """The holder. Commands (PORT 0: the kernel picks, the reply says which):
      tcp|udp 4|6 ADDR PORT [v6only=0|1] [reuseport] [nolisten] [backlog=N]
              [rcvbuf=BYTES] [connect=ADDR,PORT]                 -> ok ID PORT
      unix stream|dgram|seqpacket PATH|@NAME|hex:BYTES [nolisten] [backlog=N] -> ok ID
      established ID N   grow to N accepted connections to ID    -> ok N
      clients ID N       N more connects to ID, never accepted   -> ok N
      flood ID N         N datagrams to ID, never read           -> ok SENT
      datagrams ID N SIZE  N datagrams of SIZE bytes to ID, never read -> ok SENT
      read ID N          read up to N datagrams queued on ID     -> ok READ
      listen ID [BACKLOG]; later SECONDS COMMAND...; repeat N COMMAND...; close ID
      accepting ID       accept (and close) every connection to ID from now on
    End of input closes everything."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    served = Served()
    for line in sys.stdin:
        if line.split():
            try:
                reply = "ok " + served.handle(line.split())
            except Exception as err:  # report and keep serving: the caller decides
                reply = "error %s: %s" % (type(err).__name__, err)
            print(reply, flush=True)


if __name__ == "__main__" and sys.argv[1:] == ["holder"]:
    serve()
