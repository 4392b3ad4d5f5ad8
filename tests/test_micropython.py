"""The unit suite (tests/unit/) run by the static binary's own frozen
MicroPython: the same files CPython runs under pytest, so a module that
uses a CPython-only construct fails here. The binary is started as
`hc-micropython`, the one name under which it is a plain `micropython`."""

import os
import shutil
import subprocess
import sys

import pytest

from tests.harness import ROOT, build, require

RUNNER = ROOT / "tests" / "unit" / "run.py"


@pytest.fixture(scope="module")
def micropython(tmp_path_factory):
    path = tmp_path_factory.mktemp("mpy") / "hc-micropython"  # the one name that is not tool mode
    shutil.copy(build("static").path("TCP"), path)
    return path


def summary(argv):
    proc = subprocess.run(argv + [str(RUNNER)], capture_output=True, text=True, timeout=120,
                          cwd="/", env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                        "PYTHONPATH": str(ROOT / "src")})
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    return lines[-1]


def test_unit_suite_passes_on_frozen_micropython_as_on_cpython(micropython):
    on_cpython = summary([sys.executable])
    on_micropython = summary([str(micropython)])
    assert on_cpython.endswith(" passed, 0 failed") and int(on_cpython.split()[0]) > 50, on_cpython
    assert on_micropython == on_cpython


def test_frozen_modules_are_the_ones_imported(micropython, tmp_path):
    # Nothing named healthcheck on disk next to the script or in the working
    # directory: an import that works comes from the frozen modules.
    script = tmp_path / "where.py"
    script.write_text("import sys, healthcheck.cli, healthcheck.procnet\n"
                      "print(healthcheck.cli.__file__, healthcheck.procnet.__file__, sys.path)\n")
    proc = subprocess.run([str(micropython), str(script)], capture_output=True, text=True, timeout=30,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # cli is in the bundle of the modules a check runs (static/bundle.py), procnet beside it
    assert proc.stdout.startswith("healthcheck/__init__.py healthcheck/procnet.py "), proc.stdout
    assert ".frozen" in proc.stdout, proc.stdout
    assert not (tmp_path / "healthcheck").exists()


RECV = """import socket, struct
here = struct.pack("@H", 2) + struct.pack(">H", 19999) + bytes((127, 0, 0, 1)) + bytes(8)
s = socket.socket(2, 2)  # AF_INET, SOCK_DGRAM
s.bind(here)
out = []
for size, sent in ((9000, 20000), (8192, 8192), (100, 300), (0, 5)):
    s.sendto(b"x" * sent, here)
    out.append(len(s.recv(size)))
s.sendto(b"x" * 20000, here)  # waiting, so a recv() of the wrong size would write it
try:
    s.recv(-1)
    out.append("no error")
except MemoryError:
    out.append("MemoryError")
print(out)
"""


def test_recv_of_any_size_in_the_static_buffer_or_the_heap(micropython, ns, tmp_path):
    # The tool-mode hunk in ports/unix/modsocket.c (static/README.md, "Speed"):
    # up to 8 KB lands in one static buffer, more on the heap, and a negative
    # size is refused before recv() could write past the buffer.
    script = tmp_path / "recv.py"
    script.write_text(RECV)
    res = ns.run([str(micropython), str(script)])
    assert res.rc == 0 and res.out.strip() == "[9000, 8192, 100, 0, 'MemoryError']", res


def anonymous_mmaps(ns, argv, trace):
    """(Result, the anonymous memory argv maps: mmap() with MAP_ANONYMOUS)."""
    res = ns.run(["strace", "-qq", "-e", "trace=mmap", "-o", str(trace)] + argv)
    return res, [line for line in trace.read_text().splitlines() if "MAP_ANONYMOUS" in line]


def test_tool_mode_heap_starts_small_and_grows_for_a_big_question(ns, tmp_path):
    # The tool-mode heap (static/micropython-tool-mode.patch, static/README.md,
    # "Speed"): a check starts on a 64 KB area in .bss and maps nothing; a
    # question that needs more (1,000 ports, --debug) gets areas from malloc()
    # and answers as a small one does.
    require("strace")
    tcp = str(build("static").path("TCP"))
    _, port = ns.holder().open("tcp", 4, "0.0.0.0")
    res, maps = anonymous_mmaps(ns, [tcp, str(port)], tmp_path / "one")
    assert res.rc == 0 and "TCP port %d is listening" % port in res.out, res
    assert maps == [], maps
    others = [p for p in range(1, 1002) if p != port][:999]
    asked = ",".join(str(p) for p in [port] + others)
    res, maps = anonymous_mmaps(ns, [tcp, asked, "--debug"], tmp_path / "many")
    assert res.rc == 1 and "port %d: 1 socket" % port in res.err, res
    assert res.err.rstrip().splitlines()[-1].startswith(
        "TCP port %d is not listening (no TCP socket listens on this port); also not: %d,%d,"
        % tuple(others[:3])), res
    assert maps, "the heap never grew: the question asks too little to test it"
