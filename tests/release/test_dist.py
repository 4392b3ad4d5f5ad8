"""dist/: one static ELF of the right machine per platform, within the size
budget, answering real questions under qemu-user (the /proc path) in a fresh
network namespace. s390x is big-endian: its /proc decoding is checked here
against real listeners, not against recorded text."""

from __future__ import annotations

import hashlib
import os
import re

import pytest

from tests.harness import LINKS

from .conftest import DIST, PLATFORMS, SIZE_LIMIT, need_dist, need_tool, run


def readelf(*args) -> str:
    need_tool("readelf", "binutils")
    cp = run(["readelf", *args])
    assert cp.returncode == 0, cp.stderr
    return cp.stdout


def header(text: str, key: str) -> str:
    m = re.search(r"^\s*%s:\s*(.*)$" % re.escape(key), text, re.M)
    assert m, "no %s in readelf -h" % key
    return m.group(1).strip()


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_static_elf_of_its_machine(p):
    need_dist(p)
    tcp = str(p.dir / "TCP")
    h = readelf("-h", tcp)
    assert header(h, "Class") == p.elf_class
    assert header(h, "Data").endswith(p.elf_data + " endian")
    assert header(h, "Machine") == p.machine
    assert header(h, "Type").startswith("EXEC") or header(h, "Type").startswith("DYN")
    # static: no program interpreter, no dynamic section, nothing to load
    assert "INTERP" not in readelf("-l", tcp)
    assert "There is no dynamic section" in readelf("-d", tcp)
    need_tool("file", "file")
    assert "statically linked" in run(["file", "-b", tcp]).stdout
    size = os.path.getsize(tcp)
    assert size <= SIZE_LIMIT, "%s: %d bytes" % (p.arch, size)


@pytest.mark.parametrize("want", [("arm-v6", "v6"), ("arm-v7", "v7")], ids=lambda w: w[0])
def test_arm_variant_is_the_one_named(want):
    arch, cpu_arch = want
    p = next(x for x in PLATFORMS if x.arch == arch)
    need_dist(p)
    attrs = readelf("-A", str(p.dir / "TCP"))
    assert re.search(r"Tag_CPU_arch: %s\b" % cpu_arch, attrs), attrs


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_symlinks_and_sums(p):
    need_dist(p)
    for tool in LINKS:
        assert os.readlink(p.dir / tool) == "TCP"
    sums = (DIST / "SHA256SUMS").read_text()
    digest = hashlib.sha256((p.dir / "TCP").read_bytes()).hexdigest()
    assert "%s  linux-%s/healthcheck/TCP\n" % (digest, p.arch) in sums


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
    ]


@pytest.mark.parametrize("p", PLATFORMS, ids=repr)
def test_answers_under_qemu(p, netns, listeners):
    need_dist(p)
    need_tool(p.qemu[0], "qemu-user-static")
    env = {"PATH": "/usr/bin:/bin", "HEALTHCHECK_BACKEND": "proc"}
    wrong = []
    for tool, args, want in expectations(listeners):
        argv = netns.exec + ["env", "-i"] + ["%s=%s" % kv for kv in env.items()]
        argv += p.qemu + [str(p.dir / tool)] + [str(a) for a in args] + ["--debug"]
        cp = run(argv, timeout=120)
        if cp.returncode != want:
            wrong.append("%s %s -> %d, want %d\n%s%s" % (tool, args, cp.returncode, want, cp.stdout, cp.stderr))
    assert not wrong, "\n".join(wrong)
    # and the automatic choice falls back to /proc by itself (no sock_diag under qemu-user)
    cp = run(netns.exec + p.qemu + [str(p.dir / "TCP"), str(listeners["tcp_lo"]), "--debug"], timeout=120)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "/proc" in cp.stdout + cp.stderr
