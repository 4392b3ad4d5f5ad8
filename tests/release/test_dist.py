"""dist/: per platform, two static ELFs of the right machine, TCP and
healthcheck-tls, within their size budgets, every link pointing to the one it
should, both in SHA256SUMS; answering real questions under qemu-user (the
/proc path) in a fresh network namespace, and healthcheck-tls real TLS
handshakes there. s390x is big-endian: its /proc decoding and its TLS are
checked here against real listeners and servers, not against recorded text.
static/dist.sh finds qemu-user under either name, before it builds."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import OTHER_ARCH, TLS_TOOLS, need_qemu, platform, qemu
from tests.integration.http_servers import Servers

from .conftest import (
    ALL_LINKS,
    BINARIES,
    DIST,
    PLATFORMS,
    REPO,
    TLS_BINARY,
    limit,
    link_target,
    need_dist,
    need_tool,
    run,
    unavailable,
)
from .pki import make_pki

TLS_SERVER = REPO / "tests" / "integration" / "tls_server.py"


def readelf(*args) -> str:
    need_tool("readelf", "binutils")
    cp = run(["readelf", *args])
    assert cp.returncode == 0, cp.stderr
    return cp.stdout


def header(text: str, key: str) -> str:
    m = re.search(r"^\s*%s:\s*(.*)$" % re.escape(key), text, re.M)
    assert m, "no %s in readelf -h" % key
    return m.group(1).strip()


@pytest.mark.parametrize("binary", BINARIES)
@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_static_elf_of_its_machine(p, binary):
    need_dist(p)
    path = str(p.dir / binary)
    h = readelf("-h", path)
    assert header(h, "Class") == p.elf_class
    assert header(h, "Data").endswith(p.elf_data + " endian")
    assert header(h, "Machine") == p.machine
    assert header(h, "Type").startswith("EXEC") or header(h, "Type").startswith("DYN")
    # static: no program interpreter, no dynamic section, nothing to load
    assert "INTERP" not in readelf("-l", path)
    assert "There is no dynamic section" in readelf("-d", path)
    need_tool("file", "file")
    assert "statically linked" in run(["file", "-b", path]).stdout
    size = os.path.getsize(path)
    assert size <= limit(p.arch, binary), "%s %s: %d bytes, over %d" % (p.arch, binary, size, limit(p.arch, binary))


@pytest.mark.parametrize("binary", BINARIES)
@pytest.mark.parametrize("want", [("arm-v6", "v6"), ("arm-v7", "v7")], ids=lambda w: w[0])
def test_arm_variant_is_the_one_named(want, binary):
    arch, cpu_arch = want
    p = platform(arch)
    need_dist(p)
    attrs = readelf("-A", str(p.dir / binary))
    assert re.search(r"Tag_CPU_arch: %s\b" % cpu_arch, attrs), attrs


def sums() -> dict[str, str]:
    """dist/SHA256SUMS: path under dist/ -> sha256."""
    path = DIST / "SHA256SUMS"
    if not path.is_file():
        unavailable("%s missing: run make dist" % path)
    got = {}
    for line in path.read_text().splitlines():
        digest, name = line.split("  ", 1)
        got[name] = digest
    return got


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_folder_links_and_sums(p):
    """The folder users copy holds the two binaries and the links, nothing
    else; each link points to its binary by a relative name (the folder
    works wherever it is copied); both binaries are in SHA256SUMS."""
    need_dist(p)
    assert sorted(os.listdir(p.dir)) == sorted(list(BINARIES) + list(ALL_LINKS))
    for binary in BINARIES:
        assert not (p.dir / binary).is_symlink() and os.stat(p.dir / binary).st_mode & 0o777 == 0o755, binary
    links = {t: os.readlink(p.dir / t) if (p.dir / t).is_symlink() else "(not a link)" for t in ALL_LINKS}
    wrong = {t: to for t, to in links.items() if to != link_target(t)}
    assert not wrong, "%s: links that point elsewhere: %s" % (p.arch, wrong)
    assert link_target("HTTPS") == TLS_BINARY and "HTTPS" in TLS_TOOLS
    listed = sums()
    for binary in BINARIES:
        name = "linux-%s/healthcheck/%s" % (p.arch, binary)
        assert listed.get(name) == hashlib.sha256((p.dir / binary).read_bytes()).hexdigest(), name


def test_sums_name_only_the_binaries():
    """`sha256sum -c SHA256SUMS` in dist/ checks every line: the two binaries
    of each platform built, no link, no SBOM, nothing missing."""
    listed = sums()
    built = [p for p in PLATFORMS if (p.dir / "TCP").is_file()]
    assert sorted(listed) == sorted("linux-%s/healthcheck/%s" % (p.arch, b) for p in built for b in BINARIES)
    cp = run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=DIST)
    assert cp.returncode == 0, cp.stdout + cp.stderr


@pytest.fixture(scope="module")
def listeners(netns):
    """Real sockets: port -> what listens there."""
    ports = {
        "tcp_lo": netns.open("tcp 4 127.0.0.1 0"),
        "tcp_lo2": netns.open("tcp 4 127.0.0.2 0"),
        "tcp_any": netns.open("tcp 4 0.0.0.0 0"),
        "tcp6_lo": netns.open("tcp 6 ::1 0 v6only=1"),
        "udp_any": netns.open("udp 4 0.0.0.0 0"),
        "udp6_lo": netns.open("udp 6 ::1 0 v6only=1"),
    }
    # a port nobody holds: one the kernel gave and took back
    sid_port = netns.open("tcp 4 127.0.0.1 0 nolisten")
    ports["closed"] = sid_port
    return ports


def expectations(ports):
    """(tool, args, exit status): every line is a question a user could ask."""
    return [
        ("TCP", [ports["tcp_lo"]], 0),
        ("TCP", [ports["tcp_lo"], "127.0.0.1"], 0),
        ("TCP", [ports["tcp_lo"], "127.0.0.2"], 1),     # bound to another address
        ("TCP", [ports["tcp_lo2"], "127.0.0.2"], 0),
        ("TCP", [ports["tcp_lo2"], "127.0.0.1"], 1),
        ("TCP", [ports["tcp_any"], "127.0.0.1"], 0),    # the wildcard accepts on every address
        ("TCP6", [ports["tcp6_lo"], "::1"], 0),
        ("TCP", [ports["tcp6_lo"]], 1),                  # v6only: not an IPv4 listener
        ("UDP", [ports["udp_any"]], 0),
        ("UDP6", [ports["udp6_lo"], "::1"], 0),
        ("UDP", [ports["tcp_lo"]], 1),                   # a TCP port is no UDP listener
        ("TCP", [ports["closed"]], 1),                   # bound, never listen()ed
        ("TCP", ["%d,%d" % (ports["tcp_lo"], ports["tcp_any"])], 0),
        ("TCP", ["%d,%d" % (ports["tcp_lo"], ports["closed"])], 1),
        # every binary under every name: the links, and the tool as the first argument
        ("HTTP", [ports["closed"]], 1),
        ("GRPC", [ports["closed"]], 1),
        ("HTTPS", [ports["closed"]], 1),
        ("healthcheck", ["UDP", ports["udp_any"]], 0),
        ("healthcheck", ["UNIX", "@hc-release-nobody"], 1),
        (TLS_BINARY, ["TCP", ports["tcp_lo"]], 0),
    ]


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_answers_under_qemu(p, netns, listeners):
    need_dist(p)
    qemu = need_qemu(p.arch)
    env = {"PATH": "/usr/bin:/bin", "HEALTHCHECK_BACKEND": "proc"}
    wrong = []
    for tool, args, want in expectations(listeners):
        argv = netns.exec + ["env", "-i"] + ["%s=%s" % kv for kv in env.items()]
        argv += qemu + [str(p.dir / tool)] + [str(a) for a in args] + ["--debug"]
        cp = run(argv, timeout=120)
        if cp.returncode != want:
            wrong.append("%s %s -> %d, want %d\n%s%s" % (tool, args, cp.returncode, want, cp.stdout, cp.stderr))
    assert not wrong, "\n".join(wrong)
    # and the automatic choice falls back to /proc by itself (no sock_diag under qemu-user)
    cp = run(netns.exec + qemu + [str(p.dir / "TCP"), str(listeners["tcp_lo"]), "--debug"], timeout=120)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "/proc" in cp.stdout + cp.stderr


@pytest.mark.parametrize("arch", ["arm64", "arm-v6"])
def test_qemu_user_under_either_name(arch, tmp_path, monkeypatch):
    """Debian 12's qemu-user-static installs qemu-ARCH-static, Debian 13's
    qemu-user (static from then on) qemu-ARCH: the harness runs the other
    platforms' binaries under whichever there is, with the -cpu of
    static/platforms. The program here is this machine's own qemu, under
    each name in a PATH of its own."""
    p = next(x for x in PLATFORMS if x.arch == arch)
    need_dist(p)
    real = need_qemu(arch)[0]
    base = os.path.basename(real)[:-len("-static")] if real.endswith("-static") else os.path.basename(real)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert qemu(arch) is None
    for name in (base, base + "-static"):
        os.symlink(real, tmp_path / name)
        argv = qemu(arch)
        assert argv[0] == str(tmp_path / name), argv
        assert argv[1:] == ([] if arch != "arm-v6" else ["-cpu", "arm1176"])
        cp = run(argv + [str(p.dir / "TCP"), "--version"])
        assert cp.returncode == 0 and "linux/" + p.platform.split("/", 1)[1] in cp.stdout, cp.stdout + cp.stderr


# ------------------------------------------------------------ healthcheck-tls
@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    need_tool("openssl", "openssl")
    return make_pki(tmp_path_factory.mktemp("pki"))


# TLS version -> (port, certificate): TLS 1.2 with an RSA key is the RSA-PSS
# key exchange of static/tls/mbedtls-tls12-pss.patch.
TLS_SERVERS = {"1.3": (8443, "ec"), "1.2": (8444, "rsa")}


@pytest.fixture(scope="module")
def tls_servers(netns, pki, tmp_path_factory):
    """Python ssl servers (tests/integration/tls_server.py) in the namespace,
    one TLS version each."""
    servers = Servers(netns.ns, tmp_path_factory.mktemp("tls-servers"))
    try:
        for version, (port, cert) in TLS_SERVERS.items():
            servers._start([sys.executable, "-I", str(TLS_SERVER), "https", "127.0.0.1", str(port),
                            str(pki / (cert + ".pem")), str(pki / (cert + ".key")), "--tls", version], port)
        yield TLS_SERVERS
    finally:
        servers.stop()


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_tls_binary_under_qemu(p, netns, pki, tls_servers):
    """Each platform's healthcheck-tls, under qemu-user: HTTPS to a port
    nobody listens on fails in one line (its own, not the main binary's "TLS
    is not in this binary"), and verified TLS 1.3 and 1.2 handshakes with
    real servers succeed; the main binary asked for HTTPS says where TLS is."""
    need_dist(p)
    qemu = need_qemu(p.arch)

    def tool(name, *args):
        return run(netns.exec + ["env", "-i", "PATH=/usr/bin:/bin"] + qemu + [str(p.dir / name), *args],
                   timeout=120)

    cp = tool(TLS_BINARY, "--version")
    assert cp.returncode == 0 and "linux/" + p.platform.split("/", 1)[1] in cp.stdout, cp.stdout + cp.stderr
    cp = tool("HTTPS", "1")
    assert cp.returncode == 1 and cp.stdout == "" and cp.stderr.count("\n") == 1, cp
    assert "Traceback" not in cp.stderr and "not in this binary" not in cp.stderr, cp.stderr
    cp = tool("healthcheck", "HTTPS", "1")
    assert cp.returncode == 1 and "TLS is not in this binary" in cp.stderr and "/healthcheck/HTTPS" in cp.stderr, cp
    for version, (port, _) in tls_servers.items():
        cp = tool("HTTPS", str(port), "--cacert", str(pki / "ca.pem"), "--debug")
        assert cp.returncode == 0, (version, cp.stdout, cp.stderr)
        assert "TLSv" + version in cp.stderr and "verification: chain and name 127.0.0.1" in cp.stderr, cp.stderr
    cp = tool("HTTPS", str(TLS_SERVERS["1.3"][0]), "--cacert", str(pki / "other-ca.pem"))
    assert cp.returncode == 1 and "not signed by the CA of --cacert" in cp.stderr, cp


# ------------------------------------------------- static/dist.sh finds qemu
def _path_without_qemu(d: Path) -> str:
    """A PATH of one folder: every program of this machine but qemu's."""
    d.mkdir()
    for folder in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            if not name.startswith("qemu-") and not os.path.lexists(d / name):
                os.symlink(os.path.join(folder, name), d / name)
    return str(d)


def _dist_sh(arches: str, path: str, dist: Path) -> subprocess.CompletedProcess:
    env = {"PATH": path, "HEALTHCHECK_ARCHES": arches, "HEALTHCHECK_DIST": str(dist),
           "HEALTHCHECK_CACHE": str(dist.parent / "cache")}
    return run(["sh", str(REPO / "static" / "dist.sh")], env=env, cwd=REPO)


def test_dist_sh_finds_qemu_under_either_name(tmp_path):
    """static/dist.sh decides how to run every platform's binaries before it
    builds any: natively here, else qemu-ARCH-static (Debian 12's
    qemu-user-static) or else qemu-ARCH (Debian 13's qemu-user), with the
    -cpu of static/platforms; neither stops it with one line that names both
    packages. An architecture that is not in static/platforms stops it too,
    so nothing is built here. The programs are stand-ins (/bin/true): only
    the names are looked up."""
    here = platform(OTHER_ARCH)
    native = next((x.arch for x in PLATFORMS if x.debian == run(["dpkg", "--print-architecture"]).stdout.strip()),
                  None)
    path = _path_without_qemu(tmp_path / "bin")
    dist = tmp_path / "dist"
    qemu_arm = platform("arm-v6").qemu_name[:-len("-static")]     # qemu-arm
    cp = _dist_sh("arm-v6", path, dist)
    assert cp.returncode == 1 and cp.stderr.count("\n") == 1, cp
    for word in (qemu_arm + "-static", qemu_arm + " ", "qemu-user-static", "qemu-user ", "arm-v6"):
        assert word in cp.stderr, (word, cp.stderr)
    os.symlink(shutil.which("true"), tmp_path / "bin" / qemu_arm)
    other = here.qemu_name[:-len("-static")]
    os.symlink(shutil.which("true"), tmp_path / "bin" / (other + "-static"))
    arches = " ".join(([native] if native else []) + ["arm-v6", here.arch, "nosuch"])
    cp = _dist_sh(arches, path, dist)
    assert cp.returncode == 1 and cp.stderr == "dist.sh: no architecture nosuch in %s\n" % (
        REPO / "static" / "platforms"), cp
    want = (["dist.sh: %s: runs natively" % native] if native else []) + [
        "dist.sh: arm-v6: runs under %s/%s -cpu arm1176" % (path, qemu_arm),
        "dist.sh: %s: runs under %s/%s-static" % (here.arch, path, other)]
    assert cp.stdout.splitlines() == want, cp.stdout
    # both names: the -static one first
    os.symlink(shutil.which("true"), tmp_path / "bin" / (qemu_arm + "-static"))
    cp = _dist_sh("arm-v6 nosuch", path, dist)
    assert cp.stdout.splitlines() == ["dist.sh: arm-v6: runs under %s/%s-static -cpu arm1176" % (path, qemu_arm)], cp
    assert not dist.exists()
