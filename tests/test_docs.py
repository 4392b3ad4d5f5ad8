"""What the repository says about itself stays whole as tools and targets are
added: the license, every tool named where users look for the tools, every
make target in `make help`, every floor program of the bench in its README."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import harness

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_mit_as_the_package_and_image_say():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert re.search(r"^Copyright \(c\) \d{4} the healthcheck authors$", text, re.M)
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()
    assert 'org.opencontainers.image.licenses="MIT"' in (ROOT / "Dockerfile").read_text()


def test_pyproject_description_names_every_tool():
    description = re.search(r'^description = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    missing = [t for t in harness.TOOLS if not re.search(r"\b%s\b" % t, description)]
    assert not missing, description


def test_examples_readme_names_every_tool():
    text = (ROOT / "examples" / "README.md").read_text()
    missing = [t for t in harness.TOOLS + ("healthcheck",) if "`%s`" % t not in text]
    assert not missing, "examples/README.md does not name %s" % missing


def test_examples_readme_has_no_issue_numbers():
    text = (ROOT / "examples" / "README.md").read_text()
    assert not re.findall(r"(?<![\w&])#\d+\b", text)


def phony_targets():
    names = set()
    for path in (ROOT / "Makefile", ROOT / "bench" / "Makefile.inc"):
        for line in path.read_text().splitlines():
            if line.startswith(".PHONY:"):
                names.update(line.split(":", 1)[1].split())
    return names - {"help"}


def test_make_help_names_every_target():
    if shutil.which("make") is None:
        pytest.skip("no make")
    out = subprocess.run(["make", "-s", "-C", str(ROOT), "help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    listed = set(re.findall(r"^make (\S+)", out.stdout, re.M))
    targets = phony_targets()
    assert {"test", "dist", "publish", "bench-smoke"} <= targets
    assert targets - listed == set(), "make help leaves out %s" % sorted(targets - listed)
    assert listed - targets == set(), "make help names %s, no .PHONY target" % sorted(listed - targets)


def test_bench_readme_names_every_floor_program():
    text = (ROOT / "bench" / "README.md").read_text()
    floors = sorted(p.name for p in (ROOT / "bench").glob("floor_*.c"))
    assert floors, "no bench/floor_*.c"
    missing = [f for f in floors if "`%s`" % f not in text]
    assert not missing, "bench/README.md does not name %s" % missing


def test_readme_speaks_to_users():
    # Every tool is named and shown in a usage line; no issue numbers or
    # history ("#12"); the build reference stays a reference.
    text = (ROOT / "README.md").read_text()
    for tool in harness.TOOLS:
        assert re.search(r"^\| `%s` +\|" % tool, text, re.M), "README's table of tools lacks %s" % tool
    assert not re.search(r"(?<![\w&/])#\d+\b", text), re.findall(r".{30}#\d+.{10}", text)
    assert len((ROOT / "static" / "README.md").read_bytes()) <= 12 * 1024


def test_every_tool_has_help():
    for tool in harness.TOOLS:
        proc = subprocess.run([str(harness.build("cpython").path(tool)), "--help"], capture_output=True,
                              text=True, timeout=30)
        assert proc.returncode == 0 and proc.stdout.startswith("usage: %s " % tool), (tool, proc)
