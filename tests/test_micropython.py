"""The pure modules' checks (tests/mpy/pure_checks.py) run by the static
binary's own frozen MicroPython: this is how we know the frozen modules use
no CPython-only construct. The binary is started as `hc-micropython`, the
one name under which it behaves as a plain `micropython`."""

import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
BIN_DIR = Path(os.environ.get("HC_BIN_DIR") or ROOT / "dist" / ("linux-" + ARCH) / "healthcheck")


@pytest.fixture(scope="module")
def micropython(tmp_path_factory):
    binary = BIN_DIR / "TCP"
    if not binary.exists() or binary.read_bytes()[:4] != b"\x7fELF":
        if os.environ.get("CI") == "true":
            pytest.fail("no static binary at %s (make dist)" % binary)
        pytest.skip("no static binary at %s (make dist)" % binary)
    path = tmp_path_factory.mktemp("mpy") / "hc-micropython"  # the one name that is not tool mode
    shutil.copy(binary, path)
    return path


def test_pure_checks_pass_on_frozen_micropython(micropython):
    proc = subprocess.run([str(micropython), str(ROOT / "tests/mpy/pure_checks.py"), str(ROOT / "tests/fixtures")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "6 passed, 0 failed", proc.stdout


def test_frozen_modules_are_the_ones_imported(micropython, tmp_path):
    # Nothing named healthcheck on disk next to the script or in the working
    # directory: an import that works comes from the frozen modules.
    script = tmp_path / "where.py"
    script.write_text("import sys, healthcheck.cli\nprint(healthcheck.cli.__file__, sys.path)\n")
    proc = subprocess.run([str(micropython), str(script)], capture_output=True, text=True, timeout=30,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("healthcheck/cli.py ") and ".frozen" in proc.stdout, proc.stdout
    assert not (tmp_path / "healthcheck").exists()
